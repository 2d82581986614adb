from django.urls import include, path

from masspost.web.query import id_converter
from masspost.web.views import account, approvals, bulk, clinics, patients, unsubscribe, users

id_converter()  # <id:…>: an id the database holds, else no match (404)

app_name = "web"

urlpatterns = [
    path("", bulk.home, name="home"),
    path("sign-in/", account.SignInView.as_view(), name="sign_in"),
    path("sign-out/", account.sign_out, name="sign_out"),
    path("language/", account.language, name="language"),
    path("bulk/", bulk.bulk, name="bulk"),
    path("bulk/count/", bulk.count, name="bulk_count"),
    path("bulk/sms/", bulk.sms_counter, name="sms_counter"),
    path("bulk/sms/fix/", bulk.sms_fix, name="sms_fix"),
    path("bulk/text/", bulk.text_check, name="text_check"),
    path("bulk/preview/", bulk.preview, name="preview"),
    path("bulk/preview/<str:kind>.csv", bulk.preview_csv, name="preview_csv"),
    path("bulk/send/", bulk.send, name="send"),
    path("bulk/test/", bulk.test_send, name="test_send"),
    path("patients/", patients.patients, name="patients"),
    path("account/", account.profile, name="profile"),
    path("clinics/", clinics.clinics, name="clinics"),
    path("clinics/<str:code>/", clinics.clinic, name="clinic"),
    path("approvals/", approvals.approvals, name="approvals"),
    path("users/", users.users, name="users"),
    path("users/tokens/", users.token_create, name="token_create"),
    path("users/tokens/revoke/", users.token_revoke, name="token_revoke"),
    path("users/<id:user_id>/role/", users.user_role, name="user_role"),
    path("users/<id:user_id>/disable/", users.user_disable, name="user_disable"),
    # A patient's unsubscribe / preferences link (delivery.optout): public, no sign-in, the key the credential.
    path("u/<str:key>", unsubscribe.unsubscribe, name="unsubscribe"),
    path("", include("masspost.web.urls_campaigns")),
]
