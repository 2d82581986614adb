"""A patient's consent in words, for the patient page and the audit log: the channels a consent is for, how the
patient gave or withdrew it, where a change came from, and how a patient opted out themselves. One table each, so
that every screen names them alike."""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _lazy

from masspost.clinic.models import PROVIDER_SOURCE, ConsentMethod

CHANNELS: list[tuple[str, Promise]] = [("sms", _lazy("SMS")), ("email", _lazy("E-mail")),
                                       ("marketing", _lazy("Marketing"))]
METHODS: dict[ConsentMethod, Promise] = {
    ConsentMethod.IN_PERSON: _lazy("in person, at the clinic"),
    ConsentMethod.SIGNED_FORM: _lazy("signed form"),
    ConsentMethod.PHONE: _lazy("phone call"),
    ConsentMethod.EMAIL: _lazy("e-mail from the patient"),
    ConsentMethod.OTHER: _lazy("other (say how in the note)"),
}
# Where a consent change came from (ConsentEvent.source; staff's own are worded with their name and method).
SOURCES: dict[str, Promise] = {
    "import": _lazy("import from the clinic's system"),
    "sms-stop": _lazy("the patient's SMS STOP"),
    "unsubscribe": _lazy("the patient's unsubscribe link"),
    PROVIDER_SOURCE: _lazy("the patient's opt-out with the SMS provider"),
}
# A channel the patient switched off themselves (clinic.models.PATIENT_OWN_SOURCES: one sentence each), and when.
PATIENT_OPT_OUT: dict[str, Promise] = {
    "sms-stop": _lazy("The patient opted out with an SMS STOP on %(date)s."),
    "unsubscribe": _lazy("The patient opted out with an e-mail's unsubscribe link on %(date)s."),
    PROVIDER_SOURCE: _lazy("The patient opted out with the SMS provider: it refused a message on %(date)s."),
}
