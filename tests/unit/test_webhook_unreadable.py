"""The webhook answers 200 to a body it can never read, so Telegram does not send it again."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from handlers.webhook import SECRET_HEADER, webhook_app


class Intake:
    def __init__(self) -> None:
        self.accepted: list[Mapping[str, Any]] = []
        self.skipped: list[str] = []

    async def accept(self, raw: Mapping[str, Any]) -> None:
        self.accepted.append(raw)

    async def durable(self) -> None:
        return None

    def skip(self, raw: Mapping[str, Any], exc: BaseException) -> None:
        self.skipped.append(type(exc).__name__)


async def test_unreadable_bodies_are_skipped_with_200() -> None:
    intake = Intake()
    app = webhook_app(intake, "/hook", "s3cret")  # type: ignore[arg-type]
    async with TestClient(TestServer(app)) as client:
        headers = {SECRET_HEADER: "s3cret"}
        deep = "[" * 100_000 + "]" * 100_000
        for body in (deep, "not json", "[1, 2]", '"text"'):
            response = await client.post("/hook", data=body, headers=headers)
            assert response.status == 200
        assert len(intake.skipped) == 4
        assert intake.accepted == []
        ok = await client.post("/hook", json={"update_id": 1}, headers=headers)
        assert ok.status == 200 and intake.accepted == [{"update_id": 1}]
        wrong = await client.post("/hook", json={"update_id": 2}, headers={SECRET_HEADER: "x"})
        assert wrong.status == 401
