"""The bot starts without the numeric libraries: each costs about a second at import, paid only
by what needs it (the promo model's training thread, a group's FAQ, /experiment, charts)."""

from __future__ import annotations

import subprocess
import sys


def test_building_the_bot_imports_no_numeric_library() -> None:
    heavy = ("sklearn", "scipy", "matplotlib")
    probe = (
        "import sys, bot.app, bot.cli, handlers.features; "
        f"print(','.join(m for m in {heavy!r} if m in sys.modules))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert loaded == ""
