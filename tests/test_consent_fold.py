"""The consent a patient's ledger gives (masspost.consent, pure): before any event service messages on both
channels and no marketing; the latest event of a (channel, purpose) is its consent; marketing on a channel needs
the channel as a whole too (a hard opt-out stops everything on it)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from masspost.consent import CHANNELS, FIELDS, NONE_RECORDED, PURPOSES, ConsentState, consent_fold

EVENT = st.tuples(st.sampled_from(CHANNELS), st.sampled_from(PURPOSES), st.booleans())


def test_before_any_event_service_on_both_channels_and_no_marketing() -> None:
    assert consent_fold([]) == NONE_RECORDED == ConsentState(accepts_sms=True, accepts_email=True,
                                                             marketing_sms=False, marketing_email=False)
    for channel in CHANNELS:
        assert NONE_RECORDED.allows(channel, marketing=False) is True
        assert NONE_RECORDED.allows(channel, marketing=True) is False


def test_the_latest_event_of_a_channel_and_purpose_wins_and_touches_nothing_else() -> None:
    state = consent_fold([("sms", "marketing", True), ("email", "service", False), ("sms", "marketing", False),
                          ("sms", "marketing", True)])
    assert state == ConsentState(accepts_sms=True, accepts_email=False, marketing_sms=True, marketing_email=False)


def test_a_hard_opt_out_stops_marketing_on_the_channel_and_leaves_the_other_channel() -> None:
    state = consent_fold([("sms", "marketing", True), ("email", "marketing", True), ("sms", "service", False)])
    assert state.marketing_sms is True  # the marketing consent is kept on record…
    assert (state.allows("sms", marketing=True), state.allows("sms", marketing=False)) == (False, False)  # …unused
    assert (state.allows("email", marketing=True), state.allows("email", marketing=False)) == (True, True)


def test_a_marketing_opt_out_leaves_service_messages() -> None:
    state = consent_fold([("email", "marketing", True), ("email", "marketing", False)])
    assert (state.allows("email", marketing=True), state.allows("email", marketing=False)) == (False, True)


def test_a_fold_can_start_from_a_state() -> None:
    start = ConsentState(accepts_sms=False)
    assert consent_fold([("email", "marketing", True)], start) == ConsentState(accepts_sms=False,
                                                                               marketing_email=True)


def test_get_and_columns_name_the_patients_columns() -> None:
    state = ConsentState(accepts_email=False, marketing_sms=True)
    assert state.columns() == {"accepts_sms": True, "accepts_email": False, "marketing_sms": True,
                               "marketing_email": False}
    assert {key: state.get(*key) for key in FIELDS} == {("sms", "service"): True, ("email", "service"): False,
                                                        ("sms", "marketing"): True, ("email", "marketing"): False}


@given(st.lists(EVENT, max_size=30))
def test_each_consent_is_its_latest_event_or_the_default(events: list[tuple[str, str, bool]]) -> None:
    state = consent_fold(events)
    for (channel, purpose), field in FIELDS.items():
        latest = [accepts for c, p, accepts in events if (c, p) == (channel, purpose)]
        assert getattr(state, field) == (latest[-1] if latest else getattr(NONE_RECORDED, field))
        assert state.get(channel, purpose) == getattr(state, field)


@given(st.lists(EVENT, max_size=20), st.lists(EVENT, max_size=20))
def test_folding_in_two_parts_is_folding_the_whole(first: list[tuple[str, str, bool]],
                                                   then: list[tuple[str, str, bool]]) -> None:
    assert consent_fold(then, consent_fold(first)) == consent_fold(first + then)


@given(st.lists(EVENT, max_size=20))
def test_marketing_is_allowed_only_with_both_consents(events: list[tuple[str, str, bool]]) -> None:
    state = consent_fold(events)
    for channel in CHANNELS:
        assert state.allows(channel, marketing=False) == state.get(channel, "service")
        assert state.allows(channel, marketing=True) == (state.get(channel, "service")
                                                         and state.get(channel, "marketing"))
