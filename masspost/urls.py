from django.urls import include, path

from masspost.api.main import api
from masspost.web import hooks

urlpatterns = [
    path("api/", api.urls),
    # The HTTP SMS providers' receipts and replies (delivery.webhooks); outside the web UI's namespace: no sign-in.
    path("hooks/<str:provider>/<str:kind>", hooks.receive, name="hook"),
    path("hooks/<str:provider>/<str:kind>/<str:secret>", hooks.receive, name="hook_with_secret"),
    path("", include("masspost.web.urls")),
]

# An exception nothing else handled: the busy page for a busy database, else Django's 500 (masspost.web.views.errors).
handler500 = "masspost.web.views.errors.server_error"
