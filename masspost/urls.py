from django.urls import include, path

from masspost.api.main import api

urlpatterns = [
    path("api/", api.urls),
    path("", include("masspost.web.urls")),
]
