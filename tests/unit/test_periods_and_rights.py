"""Pure rules: reporting windows in a group's time zone, and what rights the bot lacks."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.domain.periods import trailing_windows
from bot.domain.rights import Gap, assess, needed_rights


def test_today_starts_at_local_midnight() -> None:
    now = datetime(2026, 11, 25, 3, 30, tzinfo=UTC)  # 11:30 in Shanghai
    today, week, month = trailing_windows(now, "Asia/Shanghai")
    assert today.since == datetime(2026, 11, 24, 16, 0, tzinfo=UTC)
    assert week.since == datetime(2026, 11, 18, 16, 0, tzinfo=UTC)
    assert month.since == datetime(2026, 10, 26, 16, 0, tzinfo=UTC)
    assert today.until == week.until == now


def test_local_day_differs_from_utc_day() -> None:
    now = datetime(2026, 11, 25, 23, 0, tzinfo=UTC)  # already the 26th in Shanghai
    (today,) = trailing_windows(now, "Asia/Shanghai", days=(1,))
    assert today.since == datetime(2026, 11, 25, 16, 0, tzinfo=UTC)


def test_dst_day_is_measured_as_lived() -> None:
    now = datetime(2026, 3, 30, 12, 0, tzinfo=UTC)  # the day after Europe's spring change
    (_, two_days) = trailing_windows(now, "Europe/Berlin", days=(1, 2))
    assert two_days.since == datetime(2026, 3, 28, 23, 0, tzinfo=UTC)  # CET midnight


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError):
        trailing_windows(datetime(2026, 1, 1), "UTC")


def test_member_bot_with_privacy_mode_lacks_everything() -> None:
    report = assess(-1, status="member", rights=frozenset(), reads_all_group_messages=False)
    assert report.gaps[:2] == (Gap.NOT_ADMIN, Gap.PRIVACY_MODE)
    assert Gap.CANNOT_DELETE in report.gaps
    assert not report.ready
    assert not report.sees_all_messages


def test_admin_missing_one_right() -> None:
    rights = frozenset({"can_delete_messages", "can_restrict_members", "can_invite_users"})
    report = assess(-1, status="administrator", rights=rights, reads_all_group_messages=False)
    assert report.gaps == (Gap.CANNOT_PIN,)
    assert report.sees_all_messages


def test_creator_lacks_nothing() -> None:
    report = assess(-1, status="creator", rights=frozenset(), reads_all_group_messages=False)
    assert report.ready


def test_member_bot_without_privacy_mode_sees_all() -> None:
    report = assess(-1, status="member", rights=frozenset(), reads_all_group_messages=True)
    assert Gap.PRIVACY_MODE not in report.gaps
    assert report.sees_all_messages


def test_an_admin_is_asked_only_for_the_rights_the_features_need() -> None:
    needed = (Gap.CANNOT_DELETE,)
    report = assess(
        -1, status="administrator", rights=frozenset(), reads_all_group_messages=True, needed=needed
    )
    assert report.gaps == (Gap.CANNOT_DELETE,)
    member = assess(
        -1, status="member", rights=frozenset(), reads_all_group_messages=True, needed=()
    )
    assert member.gaps == (Gap.NOT_ADMIN,)  # still asked to be an admin: joins are seen so


def test_needed_rights_are_each_named_once_in_the_order_people_are_told() -> None:
    declared = [Gap.CANNOT_INVITE, Gap.CANNOT_DELETE, Gap.CANNOT_INVITE]
    assert needed_rights(declared) == (Gap.CANNOT_DELETE, Gap.CANNOT_INVITE)
    assert needed_rights([]) == ()
    with pytest.raises(ValueError, match="not an admin right"):
        needed_rights([Gap.NOT_ADMIN])
