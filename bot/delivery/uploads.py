"""Files in outbound calls: photo and document parameters, and how an upload is kept in the outbox.

A call's parameters carry a file as a `bot.ports.Upload` value; the transport sends it as a
multipart part. The outbox stores parameters as JSON, so an upload is written there as its
name, type and base64 bytes, and read back as an `Upload` before it is sent again.
"""

from __future__ import annotations

import base64
from typing import Any

from bot.ports import Upload

_MARK = "__upload__"
CAPTION_LIMIT = 1024  # Telegram's limit on a caption's characters


def media_params(
    chat_id: int,
    kind: str,
    upload: Upload,
    *,
    caption: str | None = None,
    reply_to_message_id: int | None = None,
    thread_id: int | None = None,
) -> dict[str, Any]:
    """Parameters of `sendPhoto` (kind "photo") or `sendDocument` (kind "document")."""
    if kind not in ("photo", "document"):
        raise ValueError(f"kind is photo or document, not {kind!r}")
    params: dict[str, Any] = {"chat_id": chat_id, kind: upload}
    if caption:
        if len(caption) > CAPTION_LIMIT:
            raise ValueError(f"a caption holds at most {CAPTION_LIMIT} characters")
        params["caption"] = caption
    if reply_to_message_id is not None:
        params["reply_parameters"] = {
            "message_id": reply_to_message_id,
            "allow_sending_without_reply": True,
        }
    if thread_id is not None:
        params["message_thread_id"] = thread_id
    return params


def stored(params: dict[str, Any]) -> dict[str, Any]:
    """`params` as JSON can hold them: each upload as its name, type and base64 bytes."""
    if not any(isinstance(value, Upload) for value in params.values()):
        return params
    return {
        key: {
            _MARK: value.filename,
            "content_type": value.content_type,
            "base64": base64.b64encode(value.data).decode("ascii"),
        }
        if isinstance(value, Upload)
        else value
        for key, value in params.items()
    }


def live(params: dict[str, Any]) -> dict[str, Any]:
    """Stored parameters with their uploads back as `Upload` values (the inverse of `stored`)."""
    if not any(isinstance(value, dict) and _MARK in value for value in params.values()):
        return params
    return {
        key: Upload(
            str(value[_MARK]), base64.b64decode(value["base64"]), str(value["content_type"])
        )
        if isinstance(value, dict) and _MARK in value
        else value
        for key, value in params.items()
    }
