from django.apps import AppConfig


class ClinicConfig(AppConfig):
    name = "masspost.clinic"
    default_auto_field = "django.db.models.BigAutoField"
