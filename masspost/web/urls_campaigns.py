from django.urls import path

from masspost.web.views import audit, campaigns

urlpatterns = [
    path("campaigns/", campaigns.campaign_list, name="campaigns"),
    path("campaigns/<int:campaign_id>/", campaigns.campaign_detail, name="campaign"),
    path("audit/", audit.audit_log, name="audit"),
]
