from django.urls import include, path

urlpatterns = [
    path("", include("masspost.web.urls")),
]
