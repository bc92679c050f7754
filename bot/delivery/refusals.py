"""Turn Telegram's 400/403 descriptions into the failure reasons callers act on."""

from __future__ import annotations

from bot.ports import FailureReason

# First match wins; descriptions are compared lower-cased. Telegram's wording is the only signal
# (the error codes are 400 or 403 for almost everything), so these phrases are the contract.
_RULES: tuple[tuple[FailureReason, tuple[str, ...]], ...] = (
    (
        FailureReason.MISSING_RIGHTS,
        ("not enough rights", "have no rights", "chat_admin_required", "need administrator rights"),
    ),
    (FailureReason.MESSAGE_TOO_OLD, ("message can't be deleted",)),
    (
        FailureReason.MESSAGE_NOT_FOUND,
        ("message to delete not found", "message to edit not found", "message not found"),
    ),
    (
        FailureReason.BOT_REMOVED,
        (
            "bot was kicked",
            "bot is not a member",
            "chat was deleted",
            "group chat was upgraded",
            "bot was blocked by the user",
            "user is deactivated",
        ),
    ),
    (FailureReason.CHAT_NOT_FOUND, ("chat not found",)),
)


def refusal_reason(description: str) -> FailureReason:
    """The reason behind a refusal, from Telegram's description (BAD_REQUEST when unknown)."""
    text = description.lower()
    for reason, phrases in _RULES:
        if any(phrase in text for phrase in phrases):
            return reason
    return FailureReason.BAD_REQUEST
