from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "masspost.web"
    label = "web"
