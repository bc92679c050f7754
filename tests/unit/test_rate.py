"""A member's commands: five a minute, then one notice and silence until the window has room."""

from __future__ import annotations

from bot.domain.rate import CommandRate, RateVerdict

RUN, NOTICE, IGNORE = RateVerdict.RUN, RateVerdict.NOTICE, RateVerdict.IGNORE


def test_five_a_minute_then_one_notice_then_silence() -> None:
    rate = CommandRate(limit=5, window=60)
    verdicts = [rate.check(-1, 7, now=float(second)) for second in range(10)]
    assert verdicts == [RUN] * 5 + [NOTICE] + [IGNORE] * 4


def test_the_window_slides_and_the_notice_comes_again_after_a_quiet_spell() -> None:
    rate = CommandRate(limit=2, window=60)
    assert [rate.check(-1, 7, t) for t in (0, 1, 2, 3)] == [RUN, RUN, NOTICE, IGNORE]
    assert rate.check(-1, 7, 60.5) is RUN  # the command at 0 s left the window
    assert rate.check(-1, 7, 60.6) is NOTICE  # a new spell past the limit: told again
    assert rate.check(-1, 7, 61.5) is RUN


def test_members_and_chats_are_counted_apart() -> None:
    rate = CommandRate(limit=1, window=60)
    assert rate.check(-1, 7, 0) is RUN
    assert rate.check(-1, 8, 0) is RUN
    assert rate.check(-2, 7, 0) is RUN
    assert rate.check(-1, 7, 1) is NOTICE


def test_memory_is_bounded() -> None:
    rate = CommandRate(limit=1, window=60, max_members=10)
    for user in range(1000):
        rate.check(-1, user, 0)
    assert len(rate._runs) <= 10
