"""A patient's consent in words, for the patient page and the audit log: the channels a consent is for, and how
the patient gave or withdrew it. One table each, so that both screens name them alike."""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _lazy

from masspost.clinic.models import ConsentMethod

CHANNELS: list[tuple[str, Promise]] = [("sms", _lazy("SMS")), ("email", _lazy("E-mail")),
                                       ("marketing", _lazy("Marketing"))]
METHODS: dict[ConsentMethod, Promise] = {
    ConsentMethod.IN_PERSON: _lazy("in person, at the clinic"),
    ConsentMethod.SIGNED_FORM: _lazy("signed form"),
    ConsentMethod.PHONE: _lazy("phone call"),
    ConsentMethod.EMAIL: _lazy("e-mail from the patient"),
    ConsentMethod.OTHER: _lazy("other (say how in the note)"),
}
