from django.apps import AppConfig


class CampaignsConfig(AppConfig):
    name = "masspost.campaigns"
    default_auto_field = "django.db.models.BigAutoField"
