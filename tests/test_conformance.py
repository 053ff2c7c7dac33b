"""LangChain's standard chat-model suites (`langchain-tests`) on the drop-in, on every tier.

`ChatModelUnitTests` and `ChatModelIntegrationTests` are what every LangChain chat-model
integration is held to. Each runs here three times, offline, against the shipped
emulators: the primary answers; the primary is out of quota and Ollama answers; the
primary and Ollama are down and the mock answers. After every test the attempt counters
must show that no other tier answered, so a pass on one tier is never another's.

A test that needs a model to understand the prompt is an expected failure (strict: it
fails the run if it ever passes) with that reason; the media tests, which download their
files from the internet, are skipped. docs/conformance.md lists every xfail and skip, and why.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

import pytest
from langchain_core.exceptions import OutputParserException
from langchain_tests.integration_tests import ChatModelIntegrationTests
from langchain_tests.unit_tests import ChatModelUnitTests

from langgraph_failover import FailoverChatModel, build_graph, metrics
from langgraph_failover.graph.builder import FailoverGraph
from langgraph_failover.graph.settings import ENV_NAMES
from langgraph_failover.testing import OllamaEmulator, OpenAIEmulator, busy, quota
from tests.conftest import FAKE_KEY

VALUE_IN_PROMPT = (
    "needs a model that reads the prompt: the expected argument value appears only in "
    "the prompt text, and a schema-valid example is not it"
)
UNICODE_NAME = "needs a model that reads the prompt: the customer's name must be copied from it"
JSON_MODE_KEYS = (
    "needs a model that reads the prompt: JSON mode sends no schema, the key names are "
    "only in the prompt text"
)
TOOL_UNFORCED = (
    "needs a model that reads the prompt: without tool_choice, seeing that the question "
    "needs the tool is understanding; the OpenAI emulator and the mock call a tool only "
    "when the request forces one"
)
MODEL_OVERRIDE = (
    "a per-call model= names one provider's model, and the drop-in answers from a chain "
    "of providers; traces name the chain when a run starts and who answered when it ends"
)
OFFLINE = "downloads its media files from the internet; this suite runs offline"

# Offline, enforced (pytest-socket, a langchain-tests dependency): any connection but to
# the emulators on the loopback fails the test.
pytestmark = pytest.mark.allow_hosts(["127.0.0.1"])

MEDIA = (
    "test_image_inputs",
    "test_image_tool_message",
    "test_pdf_inputs",
    "test_pdf_tool_message",
    "test_audio_inputs",
    "test_anthropic_inputs",
)


@pytest.fixture(scope="module")
def _graph(openai_server: OpenAIEmulator, ollama_server: OllamaEmulator) -> FailoverGraph:
    """One graph for the module (building one costs ~0.15 s), pointed at the emulators."""
    with pytest.MonkeyPatch.context() as env:
        for name in ENV_NAMES.values():
            env.delenv(name, raising=False)
        return build_graph(
            openai_api_key=FAKE_KEY,
            openai_base_url=openai_server.base_url,
            ollama_base_url=ollama_server.base_url,
            timeout=2,
        )


def _answered(before: dict[tuple[str, ...], float]) -> set[str]:
    """Providers that answered since `before` (the attempt counters with error "none")."""
    after = metrics.snapshot()["attempts"]
    return {key[0] for key, n in after.items() if key[2] == "none" and n > before.get(key, 0)}


class _Tier:
    """The drop-in under one of the three configurations."""

    tier: ClassVar[str]
    """Who answers: "openai", "ollama" or "mock"."""
    xfails: ClassVar[dict[str, tuple[str, type[Exception]]]] = {}
    """Tests expected to fail on this tier, by name: the reason, and the error it gives."""

    @pytest.fixture(autouse=True)
    def _configure(
        self,
        request: pytest.FixtureRequest,
        openai_emu: OpenAIEmulator,
        ollama_emu: OllamaEmulator,
        _graph: FailoverGraph,
    ) -> Iterator[None]:
        """Set the providers' health, mark expected failures, check who answered."""
        name = request.node.originalname
        if name in MEDIA:
            pytest.skip(OFFLINE)
        if name in self.xfails:
            reason, error = self.xfails[name]
            mark = pytest.mark.xfail(reason=reason, raises=error, strict=True)
            request.node.add_marker(mark)
        if self.tier != "openai":
            openai_emu.always(quota())
        if self.tier == "mock":
            ollama_emu.always(busy())
        self._graph = _graph
        before = metrics.snapshot()["attempts"]
        yield
        assert _answered(before) <= {self.tier}

    @property
    def chat_model_class(self) -> type[FailoverChatModel]:
        """The drop-in model class."""
        return FailoverChatModel

    @property
    def chat_model_params(self) -> dict[str, Any]:
        """The graph `create_chat_model` would share, here pointed at the emulators."""
        return {"graph": self._graph}

    @property
    def supports_json_mode(self) -> bool:
        """`with_structured_output(method="json_mode")` asks every provider for JSON."""
        return True

    @property
    def supports_model_override(self) -> bool:
        """No per-call `model=`: see MODEL_OVERRIDE."""
        return False


UNIT_XFAILS = {"test_standard_params_model_override": (MODEL_OVERRIDE, AssertionError)}
INTEGRATION_XFAILS = {
    "test_tool_calling": (VALUE_IN_PROMPT, AssertionError),
    "test_tool_calling_async": (VALUE_IN_PROMPT, AssertionError),
    "test_unicode_tool_call_integration": (UNICODE_NAME, AssertionError),
    "test_json_mode": (JSON_MODE_KEYS, OutputParserException),
}
UNFORCED = {"test_agent_loop": (TOOL_UNFORCED, AssertionError)}


class TestUnitOpenAI(_Tier, ChatModelUnitTests):
    """The unit suite; the primary answers."""

    tier = "openai"
    xfails = UNIT_XFAILS


class TestUnitOllama(_Tier, ChatModelUnitTests):
    """The unit suite; the primary is out of quota and Ollama answers."""

    tier = "ollama"
    xfails = UNIT_XFAILS


class TestUnitMock(_Tier, ChatModelUnitTests):
    """The unit suite; the primary and Ollama are down and the mock answers."""

    tier = "mock"
    xfails = UNIT_XFAILS


class TestIntegrationOpenAI(_Tier, ChatModelIntegrationTests):
    """The integration suite; the primary answers."""

    tier = "openai"
    xfails = INTEGRATION_XFAILS | UNFORCED


class TestIntegrationOllama(_Tier, ChatModelIntegrationTests):
    """The integration suite; the primary is out of quota and Ollama answers."""

    tier = "ollama"
    xfails = INTEGRATION_XFAILS


class TestIntegrationMock(_Tier, ChatModelIntegrationTests):
    """The integration suite; the primary and Ollama are down and the mock answers."""

    tier = "mock"
    xfails = INTEGRATION_XFAILS | UNFORCED
