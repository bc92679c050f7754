"""`groupops bench analytics` at a small scale: every report timed, the slowest named."""

from __future__ import annotations

import re

import pytest

from bot.cli import main

REPORTS = (
    "/stats 7d",
    "/stats 30d",
    "/stats 90d",
    "overview 30d",
    "/top 30d",
    "/segments",
    "/atrisk",
    "/retention",
    "/heatmap",
)


def test_every_report_is_timed_and_the_slowest_is_the_largest_warm_time(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["bench", "analytics", "--events", "3000"]) == 0
    out = capsys.readouterr().out
    warm = {
        (group, report.strip()): float(ms)
        for group, report, ms in re.findall(r"^(big|small) +(.+?) +warm +([\d.]+) ms", out, re.M)
    }
    for group in ("big", "small"):
        for report in REPORTS:
            assert any(g == group and r.startswith(report) for g, r in warm), (group, report)
    assert re.search(r"^heavy /mydata +warm", out, re.M)
    assert re.search(r"^churn back-test \(big group\): [\d,]+ warnings", out, re.M)
    slowest = re.search(r"^slowest report: (\d+) ms$", out, re.M)
    assert slowest is not None
    assert int(slowest.group(1)) == round(max(warm.values()))
