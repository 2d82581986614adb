from django.apps import AppConfig


class ApiConfig(AppConfig):
    """An app so that the API's own pages (templates/api/: the Swagger UI page, the guide) and their stylesheet
    (static/masspost/api-docs.css) are found beside it, not in the web package."""

    name = "masspost.api"
    label = "api"
