from django.urls import path

from masspost.web.query import id_converter
from masspost.web.views import audit, campaigns

id_converter()

urlpatterns = [
    path("campaigns/", campaigns.campaign_list, name="campaigns"),
    path("campaigns/<id:campaign_id>/", campaigns.campaign_detail, name="campaign"),
    path("campaigns/<id:campaign_id>/progress/", campaigns.campaign_progress, name="campaign_progress"),
    path("campaigns/<id:campaign_id>/messages/", campaigns.campaign_messages, name="campaign_messages"),
    path("campaigns/<id:campaign_id>/email/<slug:language>/", campaigns.campaign_email, name="campaign_email"),
    path("campaigns/<id:campaign_id>/messages.csv", campaigns.campaign_export, name="campaign_export"),
    path("campaigns/<id:campaign_id>/<slug:action>/", campaigns.campaign_control, name="campaign_control"),
    path("audit/", audit.audit_log, name="audit"),
]
