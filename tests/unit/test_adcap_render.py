"""What the ad-share cap says, in every language: each string of handlers/adcap.py and the
/adcap refusals translated; the notices name the reason; the report reads the budget."""

from __future__ import annotations

import ast
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.domain.adshare import AdShare, Budget, PromoRuling, ShareLevel
from bot.ports import AdCapPolicyName, AdCapSettings
from bot.services.adshare import AdCapReport
from handlers import adcap
from handlers.i18n import gettext, translations

ROOT = Path(__file__).resolve().parents[2]


def _source_strings() -> set[str]:
    """English strings handlers/adcap.py translates, and the problems of /adcap's parser."""
    strings: set[str] = set()
    for path, calls in (
        (ROOT / "handlers" / "adcap.py", {"_": 1, "MenuEntry": 2, "HealthLine": 0}),
        (ROOT / "bot" / "domain" / "adcap_args.py", {"AdCapInputError": 0}),
    ):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") in calls:
                position = calls[node.func.id]  # type: ignore[attr-defined]
                if len(node.args) > position and isinstance(node.args[position], ast.Constant):
                    strings.add(node.args[position].value)
    strings.update(adcap._POLICY_NAMES.values(), adcap._RULING_NAMES.values())
    strings.add("Reply with /{command} to the message (or to my note about a removed one).")
    return strings


@pytest.mark.parametrize("locale", ["zh_Hans", "ru"])
def test_every_adcap_string_is_translated(locale: str) -> None:
    strings = _source_strings()
    assert len(strings) > 30
    assert sorted(s for s in strings if gettext(locale, s) == s) == []
    plural = translations(locale)
    singular, many = "Budget: {n} more promotion fits now.", "Budget: {n} more promotions fit now."
    assert plural.ngettext(singular, many, 5) not in (singular, many)


def test_notices_name_the_reason() -> None:
    new = adcap.notice(PromoRuling.NO_STANDING, AdCapPolicyName.DELETE, "en")
    over = adcap.notice(PromoRuling.OVER_BUDGET, AdCapPolicyName.DELETE, "en")
    warned = adcap.notice(PromoRuling.OVER_BUDGET, AdCapPolicyName.WARN, "en")
    muted = adcap.notice(PromoRuling.OVER_BUDGET, AdCapPolicyName.MUTE, "en")
    assert "new members" in new
    assert "share of promotions" in over and "Removed" in over
    assert "hold promotions" in warned and "Removed" not in warned
    assert "muted" in muted
    # A new member's promo goes whatever the policy: the notice says why, not the policy.
    assert adcap.notice(PromoRuling.NO_STANDING, AdCapPolicyName.WARN, "en") == new
    assert "新成员" in adcap.notice(PromoRuling.NO_STANDING, AdCapPolicyName.DELETE, "zh-hans")


def _report(fit: int, next_fit: datetime) -> AdCapReport:
    share = AdShare(timedelta(days=7), messages=101, promos=15)
    return AdCapReport(
        title="Makers",
        settings=AdCapSettings(1, policy=AdCapPolicyName.MUTE, mute=timedelta(hours=2)),
        budget=Budget(share, ShareLevel.WARNING, fit, next_fit),
        last_day=AdShare(timedelta(hours=24), messages=10, promos=1),
        top_sources=[("Nina", 3)],
        exempt=["Partner"],
    )


def test_the_report_reads_share_budget_policy_and_sources() -> None:
    now = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)
    text = adcap.report_text(_report(0, now + timedelta(hours=3)), "en")
    assert "🟡 Ad share: 14.9% over 7d (15 of 101 messages), 10% over 24h · cap 15%" in text
    assert "the next promotion fits on Dec 1, 2026 at 18:00 UTC" in text
    assert "Over the budget: delete and mute for 2h" in text
    assert "Top promotion sources: Nina (3)" in text
    assert "Exempt partners: Partner" in text
    assert "Budget: 1 more promotion fits now." in adcap.report_text(_report(1, now), "en")
    assert "Budget: 2 more promotions fit now." in adcap.report_text(_report(2, now), "en")


def test_the_ops_summary_is_one_line_per_group() -> None:
    now = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)
    line = adcap.summary_line(Counter({"over_budget": 2, "no_standing": 1}), _report(0, now), "en")
    assert line == "• Makers: from new members 1, over the budget 2 · ad share 14.9% of 15%"
