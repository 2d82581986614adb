from django.urls import include, path

from masspost.api.main import api

urlpatterns = [
    path("api/", api.urls),
    path("", include("masspost.web.urls")),
]

# An exception nothing else handled: the busy page for a busy database, else Django's 500 (masspost.web.views.errors).
handler500 = "masspost.web.views.errors.server_error"
