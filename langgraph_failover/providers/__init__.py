"""Provider types as data: what each reads, how its client is built, who it is.

`registry` is the table of types (built in, or OpenAI-compatible by environment);
`entry` the shape of one entry and of the endpoint it resolves to; the other modules
build the clients (`openai_compatible`, `ollama`, `mock`, with `transport` for loop-safe
async HTTP); `mock_schema` makes the mock's schema-valid answers (the emulators use it too).
"""

from langgraph_failover.providers.entry import Endpoint, ProviderType, injected
from langgraph_failover.providers.registry import BUILT_IN, compatible, endpoint, provider_type

__all__ = [
    "BUILT_IN",
    "Endpoint",
    "ProviderType",
    "compatible",
    "endpoint",
    "injected",
    "provider_type",
]
