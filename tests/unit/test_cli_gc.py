"""Every `groupops` command runs with full collections put off (the analytics' kept days)."""

from __future__ import annotations

import gc

import pytest

from bot.cli import FULL_COLLECTION_AFTER, main


def test_every_command_collects_the_oldest_generation_less_often() -> None:
    before = gc.get_threshold()
    try:
        gc.set_threshold(700, 10, 10)  # CPython's defaults
        with pytest.raises(SystemExit):
            main(["--help"])
        assert gc.get_threshold() == (700, 10, FULL_COLLECTION_AFTER)
    finally:
        gc.set_threshold(*before)
