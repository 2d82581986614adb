from django.apps import AppConfig


class CliConfig(AppConfig):
    name = "masspost.cli"
    label = "masspost_cli"
