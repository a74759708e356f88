"""Reading request bodies ourselves, where one bad item must not reject the whole request
and where the errors must say exactly what is wrong (content type, size, JSON syntax)."""

from __future__ import annotations

import json
import sys
from typing import Any

from django.http import HttpRequest
from pydantic import BaseModel, ValidationError

from cityops.api.errors import ApiError, validation_details

JSON_TYPES = ("application/json",)


def content_type(request: HttpRequest) -> str:
    return (request.META.get("CONTENT_TYPE") or "").split(";")[0].strip().lower()


def read_body(request: HttpRequest, *, max_bytes: int) -> bytes:
    """The raw body, refusing bodies over `max_bytes` without reading them whole.

    Reads the stream directly, so the limit is ours and not DATA_UPLOAD_MAX_MEMORY_SIZE."""
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > max_bytes:
        raise ApiError(413, "payload_too_large", f"请求体过大（{declared} 字节），上限为 {max_bytes} 字节。",
                       {"max_bytes": max_bytes, "content_length": declared})
    # Someone may already have read the body (request.body); otherwise read at most one byte too many.
    data = request._body if hasattr(request, "_body") else request.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise ApiError(413, "payload_too_large", f"请求体过大，上限为 {max_bytes} 字节。", {"max_bytes": max_bytes})
    return data


def read_json(request: HttpRequest, *, max_bytes: int) -> Any:
    """The parsed JSON body, or an ApiError: 415 wrong content type, 413 too large, 400 invalid JSON."""
    kind = content_type(request)
    if not kind and not request.META.get("CONTENT_LENGTH"):
        raise ApiError(400, "invalid_json", "请求体为空，须为 JSON。")
    if kind not in JSON_TYPES:
        raise ApiError(415, "unsupported_media_type", f"请求体须为 JSON（Content-Type: application/json），收到的是 {kind or '空'}。",
                       {"content_type": kind or None, "expected": "application/json"})
    raw = read_body(request, max_bytes=max_bytes)
    if not raw.strip():
        raise ApiError(400, "invalid_json", "请求体为空，须为 JSON。")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ApiError(400, "invalid_json", "请求体不是 UTF-8 编码。", {"position": exc.start}) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ApiError(400, "invalid_json", f"请求体不是有效的 JSON（第 {exc.lineno} 行第 {exc.colno} 列：{exc.msg}）。",
                       {"line": exc.lineno, "column": exc.colno, "position": exc.pos}) from None
    except RecursionError:
        raise ApiError(400, "invalid_json", "请求体的 JSON 嵌套过深。") from None
    except ValueError:  # an integer longer than Python converts (4,300 digits by default)
        limit = sys.get_int_max_str_digits()
        raise ApiError(400, "invalid_json", f"请求体含有过长的数字（整数最多 {limit} 位）。", {"max_digits": limit}) from None
    refuse_nul(data)
    return data


def refuse_nul(data: Any) -> None:
    """NUL characters in any string of a parsed body are a 400: PostgreSQL cannot store them
    (a 500 there) and no legitimate client sends them. Iterative: the depth is the client's."""
    stack = [data]
    while stack:
        node = stack.pop()
        if isinstance(node, str):
            if "\x00" in node:
                raise ApiError(400, "invalid_characters", "请求内容含有不允许的控制字符（NUL）。")
        elif isinstance(node, dict):
            stack.extend(node.keys())
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)


def validate(schema: type[BaseModel], data: Any) -> tuple[BaseModel | None, dict[str, str] | None]:
    """(instance, None) or (None, {field: message}) with the API's Chinese messages."""
    if not isinstance(data, dict):
        return None, {"body": "须为 JSON 对象"}
    try:
        return schema.model_validate(data), None
    except ValidationError as exc:
        return None, validation_details(exc.errors())


def summary(details: dict[str, str]) -> str:
    return "；".join(f"{name}：{message}" for name, message in details.items())


def inline_refs(schema: dict[str, Any]) -> dict[str, Any]:
    """A pydantic JSON schema with its `$defs` inlined, for use inside `openapi_extra`."""
    defs = schema.pop("$defs", {})

    def walk(node):
        if isinstance(node, dict):
            ref = node.get("$ref", "")
            if ref.startswith("#/$defs/"):
                return walk(dict(defs[ref.rsplit("/", 1)[-1]]))
            return {k: walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    return walk(schema)
