"""Secrets: the one place that knows how to keep keys and URL credentials out of text.

Upstreams echo what they were sent (`Incorrect API key provided: sk-...`, a proxy's
`401 for http://user:pass@...`), and anything an error says can end up in state, in a
checkpoint's pending writes (LangGraph stores a raised exception's `repr`), in a
server's thread state or in a log. So error text is masked before it leaves a node:
`mask` for text, `mask_error` for an exception that is raised or recorded. Masked are
every configured secret (whatever its shape), anything shaped like a known API key,
the user info of any URL and a connection string's `password=` (Redis, PostgreSQL).

URL credentials (`http://user:password@host`) never reach the SDK clients' URLs:
`split_url` takes them out, the clients send them as HTTP basic auth, and a circuit key
carries only `fingerprint` of them.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import re
import urllib.parse
from collections.abc import Sequence
from typing import Any

import httpx

try:  # openai>=3 ships its own fork of httpx, whose responses are distinct classes
    import httpx2

    _RESPONSES: tuple[type[Any], ...] = (httpx.Response, httpx2.Response)
except ImportError:  # pragma: no cover - older openai releases use httpx itself
    _RESPONSES = (httpx.Response,)

MASK = "***"
# OpenAI (sk-, sk-proj-), Groq (gsk_), xAI (xai-) and generic key- shapes: keys that are
# not ours (a gateway echoing another key) are masked too.
_KEY_SHAPES = re.compile(r"\b(sk|gsk|xai|key)[-_][A-Za-z0-9_\-*]{6,}")
# The user info of any URL in the text, configured or not: greedy to the authority's last
# "@", as URL parsers read it (a password may hold an unescaped "@").
_URL_USERINFO = re.compile(r"(?<=://)[^\s/?#]*@")
# ?password=..., &password=... and libpq's key=value form (quoted or not).
_PASSWORD = re.compile(r"(\bpassword\s*=\s*)(?:'(?:[^'\\]|\\.)*'|[^&\s]+)", re.IGNORECASE)
# A configured secret shorter than this is masked only as a URL's user info: replacing a
# two-letter password everywhere would garble every message and hide nothing.
_SHORTEST = 4


def mask(text: str, secrets: Sequence[str] = ()) -> str:
    """`text` with every secret, key-shaped string and URL user info masked."""
    for secret in sorted(secrets, key=len, reverse=True):  # "user:pw" before "pw"
        if len(secret) >= _SHORTEST:
            text = text.replace(secret, MASK)
    text = _URL_USERINFO.sub(f"{MASK}@", text)
    text = _PASSWORD.sub(rf"\1{MASK}", text)
    return _KEY_SHAPES.sub(rf"\1-{MASK}", text)


def mask_error(exc: BaseException, secrets: Sequence[str]) -> BaseException:
    """Mask `exc` in place, with every exception chained to it; returns `exc`.

    In place, so the type the caller catches (`openai.BadRequestError`) and the objects
    it carries are kept; its args, text attributes (`message`, `body`, `error`, notes)
    and response body are masked, and so is every `__cause__`/`__context__`, which a
    logged traceback prints too.
    """
    pending, seen = [exc], set()
    while pending:
        error = pending.pop()
        if id(error) in seen:
            continue
        seen.add(id(error))
        error.args = _masked(error.args, secrets)
        attributes = vars(error)
        for name, value in list(attributes.items()):
            attributes[name] = _masked(value, secrets)
        pending += [e for e in (error.__cause__, error.__context__) if e is not None]
        if isinstance(error, BaseExceptionGroup):
            pending += error.exceptions
    return exc


def _masked(value: Any, secrets: Sequence[str]) -> Any:
    """`value` with its text masked: strings, containers of them, an HTTP response."""
    if isinstance(value, str):
        return mask(value, secrets)
    # Exact types only: a subclass (a named tuple, say) may not rebuild from an iterable.
    if type(value) is dict:
        return {key: _masked(item, secrets) for key, item in value.items()}
    if type(value) in (list, tuple):
        return type(value)(_masked(item, secrets) for item in value)
    if isinstance(value, _RESPONSES):
        return _masked_response(value, secrets)
    return value


def _masked_response(response: Any, secrets: Sequence[str]) -> Any:
    """A copy of a read response with its body masked (an unread one has nothing to show)."""
    if not response.is_stream_consumed:
        return response
    # The body is given decoded, so the length and encoding headers no longer apply.
    headers = [(k, v) for k, v in response.headers.multi_items()
               if k.lower() not in ("content-length", "content-encoding")]  # fmt: skip
    return type(response)(
        response.status_code,
        headers=headers,
        content=mask(response.text, secrets).encode(),
        request=response.request,
    )


@dataclasses.dataclass(frozen=True, slots=True)
class UrlAuth:
    """The user and password a URL carried; they never print."""

    username: str = dataclasses.field(repr=False)
    password: str = dataclasses.field(repr=False)


def split_url(url: str | None) -> tuple[str | None, UrlAuth | None]:
    """The URL without its user info, and the (percent-decoded) credentials it held."""
    found = _userinfo(url)
    if url is None or found is None:
        return url, None
    public, userinfo = found
    user, _, password = userinfo.partition(":")
    return public, UrlAuth(urllib.parse.unquote(user), urllib.parse.unquote(password))


def url_secrets(url: str | None) -> tuple[str, ...]:
    """What of `url` is secret: its user info as written and decoded, and the password.

    A URL with a user and no password (`https://TOKEN@host`) holds its secret in the user.
    """
    found = _userinfo(url)
    if found is None:
        return ()
    userinfo = found[1]
    user, _, password = userinfo.partition(":")
    secrets = {userinfo, password or user}
    secrets |= {urllib.parse.unquote(s) for s in secrets}
    return tuple(sorted(s for s in secrets if s))


def _userinfo(url: str | None) -> tuple[str, str] | None:
    """`(url without user info, user info)`, or None; scheme-less (`u:p@host:port`) too."""
    scheme, sep, rest = (url or "").partition("://")
    if not sep:
        scheme, rest = "", scheme
    authority = re.split(r"[/?#]", rest, maxsplit=1)[0]
    if "@" not in authority:
        return None
    userinfo, _, host = authority.rpartition("@")
    return f"{scheme}{sep}{host}{rest[len(authority) :]}", userinfo


@functools.lru_cache(maxsize=64)
def fingerprint(auth: UrlAuth | None) -> str:
    """A short, stable, slow hash of URL credentials, for circuit keys ("" for none).

    Slow (scrypt) because a circuit key is visible to whoever reads a thread's state and
    a URL password, unlike an API key, may be guessable; cached, so it is paid once.
    """
    if auth is None:
        return ""
    secret = f"{auth.username}:{auth.password}".encode()
    digest = hashlib.scrypt(secret, salt=b"llm-failover circuit key", n=2**14, r=8, p=1, dklen=8)
    return digest.hex()
