from django.apps import AppConfig


class DeliveryConfig(AppConfig):
    name = "masspost.delivery"
    default_auto_field = "django.db.models.BigAutoField"
