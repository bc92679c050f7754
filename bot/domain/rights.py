"""What the bot needs to do its work in a group, and what is missing, as data."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum


class Gap(StrEnum):
    """One thing the bot cannot see or do, named for the fix a person makes."""

    NOT_ADMIN = "not_admin"
    PRIVACY_MODE = "privacy_mode"
    CANNOT_DELETE = "can_delete_messages"
    CANNOT_RESTRICT = "can_restrict_members"
    CANNOT_PIN = "can_pin_messages"
    CANNOT_INVITE = "can_invite_users"


# Every admin right a feature may ask for, in the order people are told. A group is asked only
# for those the composed features declare (`Feature.rights`; see `needed_rights`).
ADMIN_RIGHTS: tuple[Gap, ...] = (
    Gap.CANNOT_DELETE,
    Gap.CANNOT_RESTRICT,
    Gap.CANNOT_PIN,
    Gap.CANNOT_INVITE,
)


# The chat member statuses Telegram gives an admin (the owner is "creator").
ADMIN_STATUSES = frozenset({"administrator", "creator"})


def needed_rights(declared: Iterable[Gap]) -> tuple[Gap, ...]:
    """The admin rights the features declare, each once, in the order people are told."""
    wanted = set(declared)
    unknown = wanted - set(ADMIN_RIGHTS)
    if unknown:
        raise ValueError(f"not an admin right: {', '.join(sorted(unknown))}")
    return tuple(gap for gap in ADMIN_RIGHTS if gap in wanted)


@dataclass(frozen=True, slots=True)
class Readiness:
    """The bot's standing in one group: what it lacks (empty when it lacks nothing)."""

    chat_id: int
    gaps: tuple[Gap, ...]

    @property
    def ready(self) -> bool:
        return not self.gaps

    @property
    def sees_all_messages(self) -> bool:
        # An admin bot sees every message even with privacy mode on.
        return Gap.NOT_ADMIN not in self.gaps or Gap.PRIVACY_MODE not in self.gaps


def assess(
    chat_id: int,
    *,
    status: str,
    rights: frozenset[str],
    reads_all_group_messages: bool,
    needed: Sequence[Gap] = ADMIN_RIGHTS,
) -> Readiness:
    """Compare the bot's member status and rights in a group with what the features need.

    The bot is asked to be an admin whatever the features: only an admin bot hears of members
    joining and leaving (`chat_member`), which the figures count.
    """
    gaps: list[Gap] = []
    is_admin = status in ADMIN_STATUSES
    if not is_admin:
        gaps.append(Gap.NOT_ADMIN)
        if not reads_all_group_messages:
            gaps.append(Gap.PRIVACY_MODE)
        gaps.extend(needed)
    elif status == "administrator":
        gaps.extend(gap for gap in needed if gap.value not in rights)
    return Readiness(chat_id=chat_id, gaps=tuple(gaps))
