"""OpenAI's error answers, byte for byte: status, `{"error": {...}}` body and headers.

Copied from real api.openai.com responses, so the `openai` SDK raises the same exception
class, with the same `.code` and headers, as against the real service.
"""

from __future__ import annotations

import math
from typing import Any

from langgraph_failover.testing.behaviours import Behaviour
from langgraph_failover.testing.ratelimit import Over, go_duration
from langgraph_failover.testing.wire import RecordedRequest, count_tokens

_QUOTA = (
    "You exceeded your current quota, please check your plan and billing details. For more "
    "information on this error, read the docs: "
    "https://platform.openai.com/docs/guides/error-codes/api-errors."
)
_RATE = (
    "Rate limit reached for {model} in organization org-emulator on requests per min (RPM): "
    "Limit 3, Used 3, Requested 1. Please try again in {wait}s. "
    "Visit https://platform.openai.com/account/rate-limits to learn more."
)
# OpenAI shows a masked key; we show none of it, so no key can leak into a test log.
_AUTH = (
    "Incorrect API key provided: sk-...XXXX. You can find your API key at "
    "https://platform.openai.com/account/api-keys."
)
_SERVER = "The server had an error while processing your request. Sorry about that!"
_REGION = "Country, region, or territory not supported"
_INVALID = "invalid_request_error"
_CONTEXT = (
    "This model's maximum context length is {window} tokens. However, your messages "
    "resulted in {sent} tokens. Please reduce the length of the messages."
)


def _body(message: str, type_: str, code: str | None, param: str | None = None) -> Any:
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


def openai_error(
    recorded: RecordedRequest, behaviour: Behaviour
) -> tuple[int, Any, dict[str, str]]:
    """Return status, JSON body and extra headers of OpenAI's answer to an error behaviour."""
    match behaviour.kind:
        case "quota":
            return 429, _body(_QUOTA, "insufficient_quota", "insufficient_quota"), {}
        case "rate_limited":
            return 429, *_rate_limited(recorded, behaviour)
        case "unauthorized":
            return 401, _body(behaviour.text or _AUTH, _INVALID, "invalid_api_key"), {}
        case "forbidden":
            code = "unsupported_country_region_territory"
            return 403, _body(_REGION, "request_forbidden", code), {}
        case "bad_request":
            return 400, _body(behaviour.text or "", _INVALID, None, "messages"), {}
        case "not_found":
            message = (
                f"The model `{recorded.model}` does not exist or you do not have access to it."
            )
            return 404, _body(message, _INVALID, "model_not_found"), {}
        case "context_length":
            return 400, _context_length(recorded, behaviour.window or 128_000), {}
        case "busy":
            return 503, _body(_SERVER, "server_error", None), {}
        case _:
            wait = behaviour.retry_after  # a 503 may say when to come back
            extra = {"retry-after": f"{wait:g}"} if wait is not None else {}
            return 500, _body(_SERVER, "server_error", None), extra


def _rate_limited(recorded: RecordedRequest, behaviour: Behaviour) -> tuple[Any, dict[str, str]]:
    wait = behaviour.retry_after
    if wait is None:
        wait = 20.0 if behaviour.retry_after_ms is None else behaviour.retry_after_ms / 1000
    headers = {
        "x-ratelimit-limit-requests": "3",
        "x-ratelimit-remaining-requests": "0",
        "x-ratelimit-reset-requests": f"{wait:g}s",
    }
    if behaviour.retry_after is not None:
        headers["retry-after"] = f"{behaviour.retry_after:g}"
    if behaviour.retry_after_ms is not None:
        headers["retry-after-ms"] = f"{behaviour.retry_after_ms:g}"
    message = _RATE.format(model=recorded.model, wait=f"{wait:g}")
    return _body(message, "requests", "rate_limit_exceeded"), headers


def _context_length(recorded: RecordedRequest, window: int) -> Any:
    """OpenAI's `context_length_exceeded` body, stating `window` and more tokens than it."""
    sent = max(count_tokens(recorded.messages), window + 2000)
    message = _CONTEXT.format(window=window, sent=sent)
    return _body(message, _INVALID, "context_length_exceeded", "messages")


_PER = {"requests": "requests per min (RPM)", "tokens": "tokens per min (TPM)"}


def over_limit(model: str, over: Over) -> tuple[Any, dict[str, str]]:
    """OpenAI's 429 body and retry headers for a request its rate limit refused."""
    message = (
        f"Rate limit reached for {model} in organization org-emulator on {_PER[over.dimension]}: "
        f"Limit {over.limit}, Used {over.used}, Requested {over.requested}. Please try again "
        f"in {go_duration(over.wait)}. Visit https://platform.openai.com/account/rate-limits "
        "to learn more."
    )
    headers = {"retry-after": str(max(math.ceil(over.wait), 1)),
               "retry-after-ms": str(max(round(over.wait * 1000), 1))}  # fmt: skip
    return _body(message, over.dimension, "rate_limit_exceeded"), headers
