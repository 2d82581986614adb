"""Why a message was cancelled before it went (a `suppressed` row's reason, web.campaign_page.SUPPRESSED_REASONS):
every reason a row can carry is worded in the page's language — never the raw code, never English on an Estonian
or Russian page."""

from __future__ import annotations

import pytest
from django.utils import translation

from masspost.web.campaign_page import SUPPRESSED_REASONS

# The opt-outs' source kinds (delivery.suppress), a withdrawal of the ledger's migration, and the claim's own.
REASONS = ("unsubscribe", "sms-stop", "provider", "import", "staff", "api", "operator", "migrated", "opted_out")


@pytest.mark.parametrize("reason", REASONS)
def test_every_reason_is_worded_in_each_language(reason: str) -> None:
    with translation.override("en"):
        english = str(SUPPRESSED_REASONS[reason])
    assert english != reason
    for language in ("et", "ru"):
        with translation.override(language):
            assert str(SUPPRESSED_REASONS[reason]) not in (reason, english)


def test_the_claims_and_the_migrations_reasons_read_as_written() -> None:
    with translation.override("en"):
        assert str(SUPPRESSED_REASONS["opted_out"]) == "opted out before it was sent"
        assert str(SUPPRESSED_REASONS["migrated"]) == "consent held before the history was kept"
    with translation.override("et"):
        assert str(SUPPRESSED_REASONS["opted_out"]) == "loobumine enne selle sõnumi saatmist"
    with translation.override("ru"):
        assert str(SUPPRESSED_REASONS["opted_out"]) == "отказ до отправки этого сообщения"
