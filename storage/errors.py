"""Which storage failures pass (a lost connection, a locked or full database) and which a retry
cannot fix (a value the database refuses), for callers that must tell them apart."""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError, DisconnectionError, OperationalError, TimeoutError


def is_transient(exc: BaseException) -> bool:
    """Whether the same write may succeed later: connection trouble, locks, a full or read-only
    disk, a server restarting. Refused data (bad encodings, NUL bytes, constraints) is not."""
    # OSError includes ConnectionError, a dropped connection as the drivers raise it.
    if isinstance(exc, OperationalError | DisconnectionError | TimeoutError | OSError):
        return True
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)
