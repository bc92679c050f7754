"""The Bot API specification (botapi.json) and the checks every request goes through."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from simulator.errors import BotApiError

SPEC_PATH = Path(__file__).with_name("botapi.json")

# Parameters the documentation dropped but Telegram still honours, and clients still send (aiogram
# 3.31's `reply_to_message_id`): accepted wherever the newer parameter named on the right exists.
LEGACY_PARAMETERS: dict[str, tuple[str, tuple[str, ...]]] = {
    "reply_to_message_id": ("reply_parameters", ("Integer",)),
    "allow_sending_without_reply": ("reply_parameters", ("Boolean",)),
    "disable_web_page_preview": ("link_preview_options", ("Boolean",)),
}

# Deeper nesting than this is never needed by a real request; the cap keeps a hostile body cheap.
_MAX_DEPTH = 8


@dataclass(frozen=True)
class UploadedFile:
    """A file part of a multipart request, kept so getFile can serve it back."""

    filename: str
    content: bytes
    content_type: str = "application/octet-stream"


@dataclass(frozen=True)
class Field:
    """One parameter of a method or field of a type."""

    name: str
    types: tuple[str, ...]
    required: bool


@dataclass(frozen=True)
class Method:
    """A Bot API method with its parameters, keyed by name."""

    name: str
    fields: dict[str, Field]
    returns: tuple[str, ...]


class Spec:
    """The loaded specification: methods (looked up case-insensitively, like Telegram) and types."""

    def __init__(self, raw: dict[str, Any]) -> None:
        self.version: str = raw.get("version", "")
        self.methods: dict[str, Method] = {}
        for name, body in raw["methods"].items():
            fields = {f["name"]: _field(f) for f in body.get("fields", [])}
            self.methods[name.lower()] = Method(name, fields, tuple(body.get("returns", ())))
        self.types: dict[str, dict[str, Field]] = {}
        self.subtypes: dict[str, tuple[str, ...]] = {}
        for name, body in raw["types"].items():
            self.types[name] = {f["name"]: _field(f) for f in body.get("fields", [])}
            if body.get("subtypes"):
                self.subtypes[name] = tuple(body["subtypes"])

    def method(self, name: str) -> Method | None:
        """The method called `name`, whatever its case, or None if the spec has no such method."""
        return self.methods.get(name.lower())

    def coerce_params(
        self, method: Method, raw: dict[str, Any], files: dict[str, UploadedFile]
    ) -> dict[str, Any]:
        """Check `raw` against the method's parameters and return them decoded to JSON types.

        Form and multipart bodies carry every value as a string (objects JSON-encoded), JSON bodies
        carry native values; both end up the same here. Raises BotApiError(400) like Telegram.
        """
        params: dict[str, Any] = {}
        unused_files = dict(files)
        for name, value in raw.items():
            field = method.fields.get(name) or _legacy(method, name)
            if field is None:
                raise BotApiError(400, f'Bad Request: unknown parameter "{name}"')
            if isinstance(value, str) and value.startswith("attach://"):
                # aiogram uploads files as separate parts and points at them with attach://
                part = value.removeprefix("attach://")
                if part not in files:
                    raise BotApiError(400, f'Bad Request: file "{part}" is not attached')
                unused_files.pop(part, None)
                value = files[part]
            params[name] = self._coerce(field.types, value, name, 0)
        for name, upload in unused_files.items():
            field = method.fields.get(name)
            if field is None:
                raise BotApiError(400, f'Bad Request: unknown parameter "{name}"')
            params[name] = self._coerce(field.types, upload, name, 0)
        for field in method.fields.values():
            if field.required and field.name not in params:
                raise BotApiError(400, f'Bad Request: parameter "{field.name}" is required')
        return params

    def _coerce(self, types: tuple[str, ...], value: Any, where: str, depth: int) -> Any:
        if depth > _MAX_DEPTH:
            raise BotApiError(400, f"Bad Request: {where} is nested too deeply")
        for type_name in types:
            try:
                return self._coerce_one(type_name, value, where, depth)
            except _Mismatch:
                continue
        expected = " or ".join(types)
        raise BotApiError(400, f'Bad Request: invalid parameter "{where}": expected {expected}')

    def _coerce_one(self, type_name: str, value: Any, where: str, depth: int) -> Any:
        if type_name == "Integer":
            return _as_int(value)
        if type_name == "Float":
            return _as_float(value)
        if type_name == "Boolean":
            return _as_bool(value)
        if type_name == "String":
            if isinstance(value, bool) or not isinstance(value, str | int):
                raise _Mismatch(type_name)
            # Telegram reads numbers sent for string parameters as their decimal text.
            return value if isinstance(value, str) else str(value)
        if type_name == "InputFile":
            if isinstance(value, UploadedFile):
                return value
            raise _Mismatch(type_name)
        if isinstance(value, UploadedFile):
            raise _Mismatch(type_name)
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError as exc:
                raise _Mismatch(type_name) from exc
        if type_name.startswith("Array of "):
            if not isinstance(value, list):
                raise _Mismatch(type_name)
            inner = type_name.removeprefix("Array of ")
            return [self._coerce((inner,), item, where, depth + 1) for item in value]
        return self._coerce_object(type_name, value, where, depth)

    def _coerce_object(self, type_name: str, value: Any, where: str, depth: int) -> Any:
        if not isinstance(value, dict):
            raise _Mismatch(type_name)
        if type_name in self.subtypes:
            for subtype in self.subtypes[type_name]:
                try:
                    return self._coerce_object(subtype, value, where, depth)
                except (_Mismatch, BotApiError):
                    continue
            raise _Mismatch(type_name)
        fields = self.types.get(type_name)
        if fields is None:
            raise _Mismatch(type_name)
        result: dict[str, Any] = {}
        for key, item in value.items():
            field = fields.get(key)
            if field is None:
                raise _Mismatch(type_name)
            try:
                result[key] = self._coerce(field.types, item, f"{where}.{key}", depth + 1)
            except BotApiError as exc:
                raise _Mismatch(type_name) from exc
        for field in fields.values():
            if field.required and field.name not in result:
                raise _Mismatch(type_name)
        # Subtypes of a union (ReactionTypeEmoji vs ReactionTypeCustomEmoji) differ in a constant
        # "type"/"source"/"status" field the spec only describes in words; the required fields
        # above tell them apart well enough for the types a group bot sends.
        return result


def _legacy(method: Method, name: str) -> Field | None:
    if name in LEGACY_PARAMETERS:
        successor, types = LEGACY_PARAMETERS[name]
        if successor in method.fields:
            return Field(name, types, False)
    return None


class _Mismatch(Exception):
    """A value does not fit one of the types a field allows; the caller tries the next type."""


def _field(raw: dict[str, Any]) -> Field:
    return Field(raw["name"], tuple(raw["types"]), bool(raw.get("required")))


def _as_int(value: Any) -> int:
    if isinstance(value, bool):
        raise _Mismatch("Integer")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        if text.lstrip("-").isdigit():
            return int(text)
    raise _Mismatch("Integer")


def _as_float(value: Any) -> float:
    if isinstance(value, bool):
        raise _Mismatch("Float")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            pass
    raise _Mismatch("Float")


def _as_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.lower() in ("true", "false", "1", "0"):
        return value.lower() in ("true", "1")
    raise _Mismatch("Boolean")


@cache
def load_spec(path: Path = SPEC_PATH) -> Spec:
    """Load and index the specification once per process (it takes ~50 ms to parse)."""
    with path.open(encoding="utf-8") as handle:
        return Spec(json.load(handle))
