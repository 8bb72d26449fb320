"""Outbox delivery: claims due outbox rows and sends them through their channels.

``sender`` runs the claim loop and the lanes, ``rates`` holds the platforms' rate limits and token
buckets, ``ordering`` keeps each chat's messages in order across retries, ``inflight`` bounds the
claimed rows, and ``outcomes`` types what became of each row and writes it.
"""

from bot.channels.base import UNLIMITED, RateLimit
from bot.delivery.outcomes import FailedFinal, Outcome, Released, Retry, Sent
from bot.delivery.rates import TokenBucket
from bot.delivery.sender import MAX_ATTEMPTS, ChannelSender, OutboxSender, backoff_seconds

__all__ = [
    "MAX_ATTEMPTS",
    "UNLIMITED",
    "ChannelSender",
    "FailedFinal",
    "OutboxSender",
    "Outcome",
    "RateLimit",
    "Released",
    "Retry",
    "Sent",
    "TokenBucket",
    "backoff_seconds",
]
