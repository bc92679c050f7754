"""The outbound queue every Telegram call goes through: limits, priorities, retries, outbox."""

from bot.delivery.gateway import DEFAULT_LIMITS, Delivery, DeliveryMetrics, OnRefusal
from bot.delivery.limits import (
    DeliveryLimits,
    PacedWindow,
    SlidingWindow,
    TokenBucket,
    is_posting,
)
from bot.delivery.refusals import refusal_reason
from bot.delivery.scheduler import Backlog

__all__ = [
    "DEFAULT_LIMITS",
    "Backlog",
    "Delivery",
    "DeliveryLimits",
    "DeliveryMetrics",
    "OnRefusal",
    "PacedWindow",
    "SlidingWindow",
    "TokenBucket",
    "is_posting",
    "refusal_reason",
]
