"""Wire-level emulators of the OpenAI and Ollama chat APIs, for tests and demos.

Each emulator is a real HTTP server on 127.0.0.1 (a free port) that the real SDK clients
talk to, scripted request by request and recording what it received::

    with OpenAIEmulator() as emu:
        emu.script(quota(), ok("second try"))
        llm = ChatOpenAI(base_url=emu.base_url, api_key="sk-test", max_retries=0)
        with pytest.raises(openai.RateLimitError):
            llm.invoke("hi")
        assert llm.invoke("hi").content == "second try"

`OllamaEmulator` works the same way with `ChatOllama(base_url=emu.base_url)`.
Needs the `testing` extra (aiohttp): `pip install 'langgraph-failover[testing]'`.

`server` is the emulators' base (an aiohttp app in its own thread), `openai_emulator`
(with `openai_errors`, OpenAI's error answers byte for byte) and `ollama_emulator` the
two APIs; `behaviours` what one request gets (answer, fail, stall, cut), `shaping` how an
answer takes the shape its request asks for, `wire` what travels and is recorded,
`ratelimit` the OpenAI emulator's rate limit (a fixed-window bucket, announced in
`x-ratelimit-*` headers); `clock` the `FakeClock` tests inject into the graph.
"""

from langgraph_failover.extras import missing_message

try:
    import aiohttp  # noqa: F401 - checked first, to name the extra that brings it
except ImportError as exc:
    raise ModuleNotFoundError(
        missing_message("testing", "langgraph_failover.testing"), name=exc.name
    ) from exc

from langgraph_failover.testing.behaviours import (
    Behaviour,
    Kind,
    bad_request,
    busy,
    context_length,
    cut,
    empty,
    forbidden,
    hang,
    malformed,
    not_found,
    ok,
    quota,
    rate_limited,
    server_error,
    slow_first_token,
    stall,
    unauthorized,
    unterminated,
)
from langgraph_failover.testing.clock import FakeClock
from langgraph_failover.testing.ollama_emulator import OllamaEmulator
from langgraph_failover.testing.openai_emulator import OpenAIEmulator
from langgraph_failover.testing.server import Emulator
from langgraph_failover.testing.wire import RecordedRequest

__all__ = [
    "Behaviour",
    "Emulator",
    "FakeClock",
    "Kind",
    "OllamaEmulator",
    "OpenAIEmulator",
    "RecordedRequest",
    "bad_request",
    "busy",
    "context_length",
    "cut",
    "empty",
    "forbidden",
    "hang",
    "malformed",
    "not_found",
    "ok",
    "quota",
    "rate_limited",
    "server_error",
    "slow_first_token",
    "stall",
    "unauthorized",
    "unterminated",
]
