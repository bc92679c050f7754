"""/adcap's words: each form read, each wrong form refused with what is wrong."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.domain.adcap_args import (
    AdCapInputError,
    Exempt,
    SetCap,
    SetPolicy,
    SetWindow,
    ShowAdCap,
    parse_adcap,
)


@pytest.mark.parametrize(
    ("args", "change"),
    [
        (None, ShowAdCap()),
        ("", ShowAdCap()),
        ("12%", SetCap(0.12)),
        ("12", SetCap(0.12)),
        ("7.5%", SetCap(0.075)),
        ("1%", SetCap(0.01)),
        ("90%", SetCap(0.9)),
        ("window 3d", SetWindow(timedelta(days=3))),
        ("WINDOW 24h", SetWindow(timedelta(hours=24))),
        ("window 1h", SetWindow(timedelta(hours=1))),
        ("window 30d", SetWindow(timedelta(days=30))),
        ("policy delete", SetPolicy("delete")),
        ("policy Warn", SetPolicy("warn")),
        ("policy report", SetPolicy("report")),
        ("policy mute", SetPolicy("mute", timedelta(hours=1))),
        ("policy mute 2h", SetPolicy("mute", timedelta(hours=2))),
        ("exempt @partner", Exempt("partner", True)),
        ("unexempt @partner", Exempt("partner", False)),
    ],
)
def test_each_form_is_read(args: str | None, change: object) -> None:
    assert parse_adcap(args) == change


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        ("0%", "The cap must be from {low}% to {high}%, not {cap}."),
        ("0.5%", "The cap must be from {low}% to {high}%, not {cap}."),
        ("91%", "The cap must be from {low}% to {high}%, not {cap}."),
        ("200%", "The cap must be from {low}% to {high}%, not {cap}."),
        ("12%%", "“{cap}” is not a percentage, like 12%."),
        ("twelve", "There is no /adcap setting “{name}”."),
        ("12% 3d", "There is no /adcap setting “{name}”."),
        ("window", "Give the window, like 3d or 24h."),
        ("window 59m", "The window must be from {low} to {high}."),
        ("window 31d", "The window must be from {low} to {high}."),
        ("policy", "Choose the policy: delete, warn, mute 1h or report."),
        ("policy shout", "Choose the policy: delete, warn, mute 1h or report."),
        ("policy delete now", "Choose the policy: delete, warn, mute 1h or report."),
        ("policy mute 1h 2h", "Choose the policy: delete, warn, mute 1h or report."),
        ("exempt", "Name one member by their @username."),
        ("exempt partner", "Name one member by their @username."),
        ("exempt @", "Name one member by their @username."),
        ("unexempt @a @b", "Name one member by their @username."),
    ],
)
def test_wrong_forms_say_what_is_wrong(args: str, problem: str) -> None:
    with pytest.raises(AdCapInputError) as raised:
        parse_adcap(args)
    assert raised.value.problem == problem


def test_a_wrong_duration_says_why() -> None:
    with pytest.raises(AdCapInputError) as raised:
        parse_adcap("window forever")
    assert "is not a duration" in raised.value.problem
    with pytest.raises(AdCapInputError) as raised:
        parse_adcap("policy mute soon")
    assert "is not a duration" in raised.value.problem
