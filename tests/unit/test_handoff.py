"""Hand-off rules: what answers a question, the escalation state machine on a fake clock, and the
on-call rota across time zones and DST changes."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from bot.domain.handoff import (
    FOLLOW_UP_SECONDS,
    Answered,
    Answerer,
    Claim,
    Close,
    Deadlines,
    Handoff,
    HandoffState,
    Judgement,
    MessageRole,
    OpenQuestion,
    Refusal,
    Refuse,
    Reopen,
    Rota,
    RotaEntry,
    SeenMessage,
    SendEscalation,
    SendHandoff,
    Shift,
    ShiftInputError,
    Tick,
    UpdateHandoff,
    deadlines,
    is_no_answer,
    judge_message,
    moderators,
    next_on_call,
    on_call,
    open_handoff,
    parse_shift,
    rota_with,
    rota_without,
    says_solved,
    step,
    with_follow_up,
)
from tests.fakes import FakeClock

ASKER, MEMBER, MOD, OTHER_MOD = 10, 20, 30, 40
HANDOFF_AFTER, SLA = 600, 1800
WEEKDAYS = frozenset(range(5))

# --- answered ----------------------------------------------------------------------------------


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 11, 25, 12, 0, tzinfo=UTC))


def asked(clock: FakeClock) -> OpenQuestion:
    return OpenQuestion(ASKER, frozenset({100}), clock.now())


def seen(
    clock: FakeClock, author: int, text: str = "try restarting it", **kw: object
) -> SeenMessage:
    return SeenMessage(author, 200, clock.now(), text, **kw)  # type: ignore[arg-type]


def test_a_reply_from_someone_else_answers(clock: FakeClock) -> None:
    clock.advance(3_600)  # replies answer however late they come
    judged = judge_message(asked(clock), seen(clock, MEMBER, reply_to=100))
    assert judged == Judgement(MessageRole.ANSWER, Answerer.MEMBER)


def test_a_quote_answers_too(clock: FakeClock) -> None:
    assert judge_message(asked(clock), seen(clock, MEMBER, quotes=100)).role is MessageRole.ANSWER


def test_a_moderators_reply_is_the_moderators_answer(clock: FakeClock) -> None:
    judged = judge_message(asked(clock), seen(clock, MOD, reply_to=100, by_moderator=True))
    assert judged == Judgement(MessageRole.ANSWER, Answerer.MODERATOR)


def test_a_message_that_is_no_reply_answers_nothing(clock: FakeClock) -> None:
    for author, by_moderator in ((MEMBER, False), (MOD, True)):
        message = seen(clock, author, reply_to=99, by_moderator=by_moderator)
        assert judge_message(asked(clock), message).role is MessageRole.UNRELATED


def test_a_reply_to_a_follow_up_answers_the_question(clock: FakeClock) -> None:
    question = asked(clock)
    clock.advance(60)
    question = with_follow_up(question, SeenMessage(ASKER, 101, clock.now(), "on android"))
    assert question.message_ids == {100, 101}
    assert question.last_message_at == clock.now()
    assert judge_message(question, seen(clock, MEMBER, reply_to=101)).role is MessageRole.ANSWER


@pytest.mark.parametrize(
    "text", ["+1", "+1 same here", "same", "Same!!", "me too", "me too 😭", "同问", "同问同问+1",
             "顶", "👍", "👍👍🔥", "???", "мне тоже", "same question", ""],
)  # fmt: skip
def test_me_too_and_emoji_are_no_answer(clock: FakeClock, text: str) -> None:
    assert is_no_answer(text)
    judged = judge_message(asked(clock), seen(clock, MEMBER, text, reply_to=100))
    assert judged.role is MessageRole.NO_ANSWER


@pytest.mark.parametrize("text", ["same, try restarting", "+1 use the web app", "重启一下", "ok"])
def test_a_reply_with_content_answers(text: str) -> None:
    assert not is_no_answer(text)


def test_the_askers_messages_within_the_window_follow_up(clock: FakeClock) -> None:
    question = asked(clock)
    clock.advance(FOLLOW_UP_SECONDS)
    assert judge_message(question, seen(clock, ASKER)).role is MessageRole.FOLLOW_UP
    clock.advance(1)
    assert judge_message(question, seen(clock, ASKER)).role is MessageRole.UNRELATED


def test_the_window_runs_from_the_last_follow_up(clock: FakeClock) -> None:
    question = asked(clock)
    clock.advance(FOLLOW_UP_SECONDS)
    question = with_follow_up(question, SeenMessage(ASKER, 101, clock.now(), "more"))
    clock.advance(FOLLOW_UP_SECONDS)
    assert judge_message(question, seen(clock, ASKER)).role is MessageRole.FOLLOW_UP


def test_the_askers_late_reply_to_the_question_still_follows_up(clock: FakeClock) -> None:
    question = asked(clock)
    clock.advance(3_600)
    judged = judge_message(question, seen(clock, ASKER, "anyone?", reply_to=100))
    assert judged.role is MessageRole.FOLLOW_UP


@pytest.mark.parametrize(
    "text", ["fixed it, thanks", "Solved!", "nvm figured it out", "never mind, works now",
             "解决了，谢谢", "搞定了", "всё, разобрался"],
)  # fmt: skip
def test_the_asker_says_it_is_solved(clock: FakeClock, text: str) -> None:
    assert says_solved(text)
    clock.advance(3_600)  # at any time while it is open
    assert judge_message(asked(clock), seen(clock, ASKER, text)) == Judgement(
        MessageRole.SOLVED, Answerer.ASKER
    )


@pytest.mark.parametrize(
    "text",
    [
        "still not fixed",
        "it isn't solved",
        "还没解决",
        "не решено",
        "how do I fix it",
        "solved now?",
        "可以了吗",
    ],
)
def test_not_solved_is_not_solved(text: str) -> None:
    assert not says_solved(text)


def test_someone_else_saying_solved_is_an_answer_not_the_askers(clock: FakeClock) -> None:
    judged = judge_message(asked(clock), seen(clock, MEMBER, "fixed in 2.3", reply_to=100))
    assert judged == Judgement(MessageRole.ANSWER, Answerer.MEMBER)


# --- escalation --------------------------------------------------------------------------------


def opened(clock: FakeClock) -> Handoff:
    return open_handoff(ASKER, clock.now(), deadlines(clock.now(), HANDOFF_AFTER, SLA))


def tick(handoff: Handoff, clock: FakeClock) -> tuple[Handoff, tuple[object, ...]]:
    moved = step(handoff, Tick(), clock.now())
    return moved.handoff, moved.actions


def test_nothing_happens_before_the_handoff_deadline(clock: FakeClock) -> None:
    handoff = opened(clock)
    clock.advance(HANDOFF_AFTER - 1)
    assert tick(handoff, clock) == (handoff, ())
    assert handoff.next_deadline == clock.now() + timedelta(seconds=1)


def test_hands_off_once_at_the_deadline(clock: FakeClock) -> None:
    handoff = opened(clock)
    clock.advance(HANDOFF_AFTER)
    handoff, actions = tick(handoff, clock)
    assert actions == (SendHandoff(),)
    assert (handoff.state, handoff.handed_off_at) == (HandoffState.HANDED_OFF, clock.now())
    clock.advance(1)
    assert tick(handoff, clock)[1] == ()  # never twice
    assert handoff.next_deadline == handoff.asked_at + timedelta(seconds=SLA)


def test_escalates_once_at_the_sla_with_no_human_answer(clock: FakeClock) -> None:
    handoff = opened(clock)
    clock.advance(HANDOFF_AFTER)
    handoff, _ = tick(handoff, clock)
    clock.advance(SLA - HANDOFF_AFTER - 1)
    assert tick(handoff, clock)[1] == ()
    clock.advance(1)
    handoff, actions = tick(handoff, clock)
    assert actions == (SendEscalation(),)
    assert (handoff.state, handoff.breached_at) == (HandoffState.ESCALATED, clock.now())
    assert handoff.next_deadline is None
    clock.advance(3_600)
    assert tick(handoff, clock)[1] == ()


def test_a_claimed_question_still_breaches(clock: FakeClock) -> None:
    handoff = opened(clock)
    clock.advance(HANDOFF_AFTER)
    handoff, _ = tick(handoff, clock)
    handoff = step(handoff, Claim(MOD, by_moderator=True), clock.now()).handoff
    assert (handoff.state, handoff.claimed_by) == (HandoffState.CLAIMED, MOD)
    clock.advance(SLA)
    handoff, actions = tick(handoff, clock)
    assert actions == (SendEscalation(),)
    assert handoff.claimed_by == MOD


def test_down_past_both_deadlines_hands_off_and_escalates_in_one_tick(clock: FakeClock) -> None:
    handoff = opened(clock)
    clock.advance(SLA + 120)
    handoff, actions = tick(handoff, clock)
    assert actions == (SendHandoff(), SendEscalation())
    assert handoff.state is HandoffState.ESCALATED


def test_a_restart_changes_nothing(clock: FakeClock) -> None:
    """The record as stored is all a new process needs: the same tick decides the same once."""
    before = opened(clock)
    clock.advance(HANDOFF_AFTER + 3)
    restored = Handoff(
        asker_id=before.asker_id, asked_at=before.asked_at, deadlines=before.deadlines
    )
    assert tick(restored, clock) == tick(before, clock)
    after, actions = tick(restored, clock)
    assert actions == (SendHandoff(),)
    assert tick(after, clock)[1] == ()  # the stored new state never hands off again


@pytest.mark.parametrize(
    "answerer", [Answerer.MEMBER, Answerer.MODERATOR, Answerer.FAQ, Answerer.ASKER]
)
def test_an_answered_question_never_hands_off_or_escalates(
    clock: FakeClock, answerer: Answerer
) -> None:
    handoff = opened(clock)
    clock.advance(60)
    moved = step(handoff, Answered(answerer, MEMBER), clock.now())
    assert moved.actions == ()  # nothing was sent, so nothing to update
    assert (moved.handoff.state, moved.handoff.answerer) == (HandoffState.ANSWERED, answerer)
    assert moved.handoff.next_deadline is None
    clock.advance(SLA * 2)
    assert tick(moved.handoff, clock)[1] == ()


def test_an_answer_after_the_handoff_updates_it(clock: FakeClock) -> None:
    handoff = opened(clock)
    clock.advance(HANDOFF_AFTER)
    handoff, _ = tick(handoff, clock)
    clock.advance(5)
    moved = step(handoff, Answered(Answerer.MEMBER, MEMBER), clock.now())
    assert moved.actions == (UpdateHandoff(HandoffState.ANSWERED),)
    assert (moved.handoff.closed_at, moved.handoff.closed_by) == (clock.now(), MEMBER)


def test_an_answer_after_the_breach_closes_it_and_keeps_the_breach(clock: FakeClock) -> None:
    handoff = opened(clock)
    clock.advance(SLA)
    handoff, _ = tick(handoff, clock)
    breached_at = handoff.breached_at
    moved = step(handoff, Answered(Answerer.MODERATOR, MOD), clock.now())
    assert moved.handoff.state is HandoffState.ANSWERED
    assert moved.handoff.breached_at == breached_at


def test_a_second_answer_changes_nothing(clock: FakeClock) -> None:
    handoff = step(opened(clock), Answered(Answerer.MEMBER, MEMBER), clock.now()).handoff
    clock.advance(10)
    assert step(handoff, Answered(Answerer.MODERATOR, MOD), clock.now()) == step(
        handoff, Tick(), clock.now()
    )


def test_buttons_from_non_moderators_are_refused(clock: FakeClock) -> None:
    handoff = opened(clock)
    for event in (
        Claim(MEMBER, by_moderator=False),
        Close(MEMBER, by_moderator=False),
        Close(MEMBER, by_moderator=False, not_a_question=True),
    ):
        moved = step(handoff, event, clock.now())
        assert moved.handoff == handoff
        assert moved.actions == (Refuse(Refusal.NOT_A_MODERATOR),)


def test_a_claimed_question_is_refused_to_another_moderator(clock: FakeClock) -> None:
    handoff = step(opened(clock), Claim(MOD, by_moderator=True), clock.now()).handoff
    moved = step(handoff, Claim(OTHER_MOD, by_moderator=True), clock.now())
    assert moved.actions == (Refuse(Refusal.ALREADY_CLAIMED),)
    again = step(handoff, Claim(MOD, by_moderator=True), clock.now())
    assert again.handoff == handoff  # the claimer pressing twice is harmless


def test_a_claim_after_the_breach_stays_escalated(clock: FakeClock) -> None:
    handoff = opened(clock)
    clock.advance(SLA)
    handoff, _ = tick(handoff, clock)
    moved = step(handoff, Claim(MOD, by_moderator=True), clock.now())
    assert (moved.handoff.state, moved.handoff.claimed_by) == (HandoffState.ESCALATED, MOD)
    assert moved.actions == (UpdateHandoff(HandoffState.ESCALATED),)


@pytest.mark.parametrize(
    ("not_a_question", "state", "answerer"),
    [(False, HandoffState.ANSWERED, Answerer.MODERATOR), (True, HandoffState.NOT_A_QUESTION, None)],
)
def test_moderators_close_with_the_buttons(
    clock: FakeClock, not_a_question: bool, state: HandoffState, answerer: Answerer | None
) -> None:
    handoff = opened(clock)
    clock.advance(HANDOFF_AFTER)
    handoff, _ = tick(handoff, clock)
    moved = step(handoff, Close(MOD, True, not_a_question), clock.now())
    assert moved.actions == (UpdateHandoff(state),)
    assert (moved.handoff.state, moved.handoff.answerer) == (state, answerer)
    for event in (Close(OTHER_MOD, True), Claim(OTHER_MOD, True)):
        refused = step(moved.handoff, event, clock.now())
        assert refused.actions == (Refuse(Refusal.ALREADY_CLOSED),)
    clock.advance(SLA)
    assert tick(moved.handoff, clock)[1] == ()


def test_not_what_i_asked_reopens_an_faq_answer_for_humans(clock: FakeClock) -> None:
    handoff = step(opened(clock), Answered(Answerer.FAQ), clock.now()).handoff
    clock.advance(120)
    fresh = deadlines(clock.now(), HANDOFF_AFTER, SLA)
    moved = step(handoff, Reopen(ASKER, fresh), clock.now())
    assert (moved.handoff.state, moved.handoff.deadlines) == (HandoffState.OPEN, fresh)
    assert moved.handoff.answerer is None
    clock.advance(HANDOFF_AFTER)
    assert tick(moved.handoff, clock)[1] == (SendHandoff(),)


def test_only_the_asker_reopens_and_only_an_faq_answer(clock: FakeClock) -> None:
    fresh = deadlines(clock.now(), HANDOFF_AFTER, SLA)
    by_faq = step(opened(clock), Answered(Answerer.FAQ), clock.now()).handoff
    by_member = step(opened(clock), Answered(Answerer.MEMBER, MEMBER), clock.now()).handoff
    assert step(by_faq, Reopen(MEMBER, fresh), clock.now()).actions == (
        Refuse(Refusal.NOT_THE_ASKER),
    )
    for handoff in (by_member, opened(clock)):
        assert step(handoff, Reopen(ASKER, fresh), clock.now()).actions == (
            Refuse(Refusal.NOT_ANSWERED_BY_FAQ),
        )


# --- rota ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "shift"),
    [
        ("Mon-Fri 09:00-18:00", Shift(WEEKDAYS, time(9), time(18))),
        ("mon-fri 9-18", Shift(WEEKDAYS, time(9), time(18))),
        ("Sat,Sun 10:30-16:00", Shift(frozenset({5, 6}), time(10, 30), time(16))),
        ("Sat Sun 10:30-16:00", Shift(frozenset({5, 6}), time(10, 30), time(16))),
        ("Fri-Mon 22:00-06:00", Shift(frozenset({4, 5, 6, 0}), time(22), time(6))),
        ("daily 00:00-24:00", Shift(frozenset(range(7)), time(0), time(0))),
        ("周一-周五 9:00-18:00", Shift(WEEKDAYS, time(9), time(18))),
        ("周六、周日 10-16", Shift(frozenset({5, 6}), time(10), time(16))),
        ("пн-пт 09:00–18:00", Shift(WEEKDAYS, time(9), time(18))),
        ("Monday 08:00-12:00", Shift(frozenset({0}), time(8), time(12))),
        ("Mon - Fri 09:00 – 18:00", Shift(WEEKDAYS, time(9), time(18))),
        ("周一至周五 9:00-18:00", Shift(WEEKDAYS, time(9), time(18))),
        ("Sat 9am-6pm", Shift(frozenset({5}), time(9), time(18))),
        ("Sun 12pm-12am", Shift(frozenset({6}), time(12), time(0))),
    ],
)
def test_reads_shifts(text: str, shift: Shift) -> None:
    assert parse_shift(text) == shift


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "Give days and hours"),
        ("Mon-Fri", "Give days and hours"),
        ("Mon-Fri 09:00", "has no hours"),
        ("Mon-Fri 25:00-18:00", "has no hours"),
        ("Mon-Fri 09:60-18:00", "has no hours"),
        ("Mon-Fri nine-five", "has no hours"),
        ("Mon-Fri 13pm-18:00", "has no hours"),
        ("Weekdays 09:00-18:00", "not days of the week"),
        ("Mon-Xyz 09:00-18:00", "not days of the week"),
    ],
)
def test_refuses_what_is_not_a_shift(text: str, problem: str) -> None:
    with pytest.raises(ShiftInputError) as caught:
        parse_shift(text)
    assert problem in str(caught.value)


@pytest.mark.parametrize(
    "text",
    ["Mon-Fri 09:00-18:00", "Sat,Sun 10:30-16:00", "Fri-Mon 22:00-06:00", "daily 00:00-24:00"],
)
def test_a_shift_reads_back_from_its_text(text: str) -> None:
    assert parse_shift(str(parse_shift(text))) == parse_shift(text)


def rota(timezone: str, *entries: tuple[int, str]) -> Rota:
    return Rota(timezone, tuple(RotaEntry(mod, parse_shift(text)) for mod, text in entries))


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


def test_on_call_in_the_groups_time_zone() -> None:
    shanghai = rota("Asia/Shanghai", (MOD, "Mon-Fri 09:00-18:00"))
    # Monday 2026-11-23 09:00 in Shanghai is 01:00 UTC; 18:00 is 10:00 UTC.
    assert on_call(shanghai, utc(2026, 11, 23, 0, 59)) == ()
    assert on_call(shanghai, utc(2026, 11, 23, 1, 0)) == (MOD,)
    assert on_call(shanghai, utc(2026, 11, 23, 9, 59)) == (MOD,)
    assert on_call(shanghai, utc(2026, 11, 23, 10, 0)) == ()
    assert on_call(shanghai, utc(2026, 11, 28, 3, 0)) == ()  # Saturday
    berlin = rota("Europe/Berlin", (MOD, "Mon-Fri 09:00-18:00"))
    assert on_call(berlin, utc(2026, 11, 23, 1, 0)) == ()  # 02:00 in Berlin


def test_a_night_shift_runs_past_midnight() -> None:
    nights = rota("UTC", (MOD, "Fri 22:00-06:00"))
    assert on_call(nights, utc(2026, 11, 27, 21, 59)) == ()
    assert on_call(nights, utc(2026, 11, 27, 22, 0)) == (MOD,)
    assert on_call(nights, utc(2026, 11, 28, 5, 59)) == (MOD,)  # Saturday morning
    assert on_call(nights, utc(2026, 11, 28, 6, 0)) == ()


def test_everyone_on_call_each_once_in_rota_order() -> None:
    team = rota(
        "UTC", (OTHER_MOD, "daily 08:00-20:00"), (MOD, "Mon-Fri 09:00-18:00"),
        (OTHER_MOD, "Mon 10:00-11:00"),
    )  # fmt: skip
    assert on_call(team, utc(2026, 11, 23, 10, 30)) == (OTHER_MOD, MOD)
    assert moderators(team) == (OTHER_MOD, MOD)


def test_shifts_keep_their_wall_clock_hours_across_dst() -> None:
    berlin = rota("Europe/Berlin", (MOD, "Mon-Fri 09:00-18:00"))
    # Clocks go forward on Sunday 2026-03-29: Friday's 09:00 is 08:00 UTC, Monday's 07:00 UTC.
    assert on_call(berlin, utc(2026, 3, 27, 8, 0)) == (MOD,)
    assert on_call(berlin, utc(2026, 3, 30, 7, 0)) == (MOD,)
    assert on_call(berlin, utc(2026, 3, 30, 6, 59)) == ()
    assert next_on_call(berlin, utc(2026, 3, 28, 12, 0)) == utc(2026, 3, 30, 7, 0)
    # And back on Sunday 2026-10-25: Monday's 09:00 is 08:00 UTC again.
    assert next_on_call(berlin, utc(2026, 10, 24, 12, 0)) == utc(2026, 10, 26, 8, 0)


def test_a_night_shift_over_the_dst_change_is_an_hour_shorter() -> None:
    new_york = rota("America/New_York", (MOD, "Sat 22:00-06:00"))
    # 2026-03-07 22:00 EST is 03:00 UTC; 2026-03-08 06:00 EDT is 10:00 UTC: seven hours.
    assert on_call(new_york, utc(2026, 3, 8, 2, 59)) == ()
    assert on_call(new_york, utc(2026, 3, 8, 3, 0)) == (MOD,)
    assert on_call(new_york, utc(2026, 3, 8, 9, 59)) == (MOD,)
    assert on_call(new_york, utc(2026, 3, 8, 10, 0)) == ()


def test_a_shift_starting_in_the_skipped_hour_starts_after_the_gap() -> None:
    new_york = rota("America/New_York", (MOD, "Sun 02:30-04:00"))
    # 02:30 does not exist on 2026-03-08; the shift starts at 03:30 EDT (07:30 UTC).
    assert next_on_call(new_york, utc(2026, 3, 8, 6, 0)) == utc(2026, 3, 8, 7, 30)


def test_next_on_call_is_now_during_hours_and_the_earliest_shift_otherwise() -> None:
    team = rota("UTC", (MOD, "Mon-Fri 09:00-18:00"), (OTHER_MOD, "Sat 12:00-14:00"))
    monday_noon = utc(2026, 11, 23, 12, 0)
    assert next_on_call(team, monday_noon) == monday_noon
    assert next_on_call(team, utc(2026, 11, 27, 18, 0)) == utc(2026, 11, 28, 12, 0)
    assert next_on_call(team, utc(2026, 11, 28, 14, 0)) == utc(2026, 11, 30, 9, 0)
    assert next_on_call(Rota("UTC"), monday_noon) is None


def test_deadlines_are_plain_seconds_around_the_clock() -> None:
    asked_at = utc(2026, 11, 28, 3, 0)  # a Saturday night: 24/7 does not care
    assert deadlines(asked_at, 600, 1800) == Deadlines(
        asked_at + timedelta(seconds=600), asked_at + timedelta(seconds=1800)
    )
    assert deadlines(asked_at, 1, 1, Rota("UTC")) == Deadlines(
        asked_at + timedelta(seconds=1), asked_at + timedelta(seconds=1)
    )  # an empty rota is no office hours


def test_an_office_hours_sla_counts_only_on_call_time() -> None:
    shanghai = rota("Asia/Shanghai", (MOD, "Mon-Fri 09:00-18:00"))
    # Friday 2026-11-27 17:50 in Shanghai (09:50 UTC): ten minutes left today, twenty on Monday.
    friday = utc(2026, 11, 27, 9, 50)
    assert deadlines(friday, 600, 1800, shanghai) == Deadlines(
        utc(2026, 11, 27, 10, 0), utc(2026, 11, 30, 1, 20)
    )
    saturday = utc(2026, 11, 28, 4, 0)
    assert deadlines(saturday, 600, 1800, shanghai).sla_at == utc(2026, 11, 30, 1, 30)


def test_overlapping_shifts_count_once_and_long_slas_span_days() -> None:
    team = rota("UTC", (MOD, "Mon-Fri 09:00-18:00"), (OTHER_MOD, "Mon-Fri 12:00-20:00"))
    monday = utc(2026, 11, 23, 9, 0)
    assert deadlines(monday, 11 * 3600, 12 * 3600, team) == Deadlines(
        utc(2026, 11, 23, 20, 0), utc(2026, 11, 24, 10, 0)
    )


def test_an_sla_longer_than_a_weeks_hours_runs_on_over_weeks() -> None:
    weekly_hour = rota("UTC", (MOD, "Mon 09:00-10:00"))
    monday = utc(2026, 11, 23, 9, 0)
    assert deadlines(monday, 60, 10 * 3600, weekly_hour).sla_at == utc(2027, 1, 25, 10, 0)


def test_rota_changes() -> None:
    shift = parse_shift("Mon-Fri 09:00-18:00")
    team = rota_with(rota_with(Rota("UTC"), MOD, shift), OTHER_MOD, shift)
    assert rota_with(team, MOD, shift) == team  # the same shift twice is once
    assert moderators(rota_without(team, MOD)) == (OTHER_MOD,)
