"""A patient's consent in words, for the patient page and the audit log: the channels and purposes a consent is
for, how the patient gave or withdrew it, where a change came from, and how a patient opted out themselves. One
table each, so that every screen names them alike."""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from masspost.clinic.models import (
    DEMO_WORDING,
    IMPORT_FILE_WORDING,
    MIGRATED_WORDING,
    NO_FILE_NAME,
    PROVIDER_SOURCE,
    ConsentMethod,
)

# The channels a consent is for. "marketing" is the one consent of before issue 20 (purpose marketing on both
# channels): older audit rows name it; no form offers it.
CHANNELS: list[tuple[str, Promise]] = [("sms", _lazy("SMS")), ("email", _lazy("E-mail")),
                                       ("marketing", _lazy("Marketing"))]
FORM_CHANNELS: list[tuple[str, Promise]] = CHANNELS[:2]
# What a consent is for on its channel (masspost.consent.PURPOSES): the short words of the "Consent now" table's
# columns, and the longer ones of the form and the history.
PURPOSE_COLUMNS: dict[str, Promise] = {"service": _lazy("All messages"), "marketing": _lazy("Offers")}
PURPOSES: list[tuple[str, Promise]] = [
    ("service", _lazy("all messages (reminders too)")),
    ("marketing", _lazy("offers (marketing)")),
]
METHODS: dict[ConsentMethod, Promise] = {
    ConsentMethod.IN_PERSON: _lazy("in person, at the clinic"),
    ConsentMethod.SIGNED_FORM: _lazy("signed form"),
    ConsentMethod.PHONE: _lazy("phone call"),
    ConsentMethod.EMAIL: _lazy("e-mail from the patient"),
    ConsentMethod.OTHER: _lazy("other (say how in the note)"),
}
# Where a consent change came from (the source's kind, clinic.selectors.consent_source; staff's own are worded
# with their name and method).
SOURCES: dict[str, Promise] = {
    "import": _lazy("import from the clinic's system"),
    "sms-stop": _lazy("the patient's SMS STOP"),
    "unsubscribe": _lazy("the patient's unsubscribe link"),
    PROVIDER_SOURCE: _lazy("the patient's opt-out with the SMS provider"),
    "migrated": _lazy("consent held before the history was kept"),
}
# A channel the patient switched off themselves (clinic.models.PATIENT_OWN_SOURCES: one sentence each), and when.
PATIENT_OPT_OUT: dict[str, Promise] = {
    "sms-stop": _lazy("The patient opted out with an SMS STOP on %(date)s."),
    "unsubscribe": _lazy("The patient opted out with an e-mail's unsubscribe link on %(date)s."),
    PROVIDER_SOURCE: _lazy("The patient opted out with the SMS provider: it refused a message on %(date)s."),
}


# What masspost itself wrote as an event's wording (stored in English: the proof stays one text), said in the
# user's language; any other wording is what the patient was shown, quoted as it was.


def wording_words(source: str, wording: str) -> tuple[str, bool]:
    """An event's wording for the page, and whether it is the patient's own text (shown in quotes)."""
    if source == "import" and wording.startswith(IMPORT_FILE_WORDING):
        name = wording.removeprefix(IMPORT_FILE_WORDING)
        if name == NO_FILE_NAME:
            return _("a file without a name"), False
        return _("file “%(name)s”") % {"name": name}, False
    if source == "import" and wording == DEMO_WORDING:
        return _("demo data"), False
    if source == "migrated" and wording == MIGRATED_WORDING:
        return _("consent as masspost held it before the ledger (no record of how it was given)"), False
    return wording, True
