"""The graph's settings, each declared once: name, keyword, run field, default, range, meaning.

One `Setting` per environment variable. Everything else is derived from this table:
`load_settings`'s names and checks, `Policy`'s defaults, which run settings are capped by
the graph's own, the descriptions Studio shows for `Context`'s setting fields, the
configuration reference in `docs/configuration.md` and the README's few settings
(`python -m langgraph_failover.graph.docs --write`; a test fails when a page is stale). A new
setting is one entry here plus the code that uses it; its `about` may link to the docs
pages, relative to `docs/`.

The providers' own variables (API keys, base URLs) are the providers' to declare.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from langgraph_failover.graph.values import DAY, Bound


@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class Setting:
    """One setting of the graph, as every reader of it sees it."""

    env: str
    """The environment variable."""
    keyword: str | None
    """`build_graph`'s (and `load_settings`') keyword; None when only the environment sets it."""
    field: str | None = None
    """The `Context` field a run changes it with; None when runs cannot."""
    default: Any = None
    """The value when unset; None when unset means none, or is derived (see `shown`)."""
    shown: str = ""
    """The default as people read it, when `default` cannot say it (derived defaults)."""
    bound: Bound | None = None
    """A number's range, which also parses it; None: text, parsed by the code that uses it."""
    capped: bool = False
    """Whether a run may only lower it below the graph's own (it holds shared capacity)."""
    about: str
    """What it does, for the docs (Markdown; links relative to `docs/`)."""
    run: str = ""
    """What a run's value does, for Studio's form (plain text); only with a `field`."""

    @property
    def text(self) -> str | None:
        """The default spelled as in the environment (`30`, `tools,providers`); None if none."""
        if self.default is None:
            return None
        if isinstance(self.default, tuple):
            return ",".join(self.default)
        return f"{self.default:g}" if isinstance(self.default, float) else str(self.default)

    def parse(self, value: Any, name: str | None = None) -> Any:
        """`value` within this setting's range, refused naming `name` (else the variable).

        None gives the default; text is returned as given, for the code that uses it.
        """
        if value is None:
            return self.default
        return self.bound.parse(value, name or self.env) if self.bound else value


_JUDGED = "For this run only: seconds it skips a provider"
_SHARED = "shared circuits keep the graph's own."

SETTINGS: tuple[Setting, ...] = (
    Setting(env="LLM_PROVIDER", keyword="provider", field="providers", default="openai",
            about="The primary: `openai`, `groq`, `ollama`, `mock`, or any OpenAI-compatible "
                  "server named by its `<NAME>_BASE_URL` (see "
                  "[Providers](configuration.md#providers)).",
            run='The providers this run may call, in the graph\'s chain order, by provider or '
                'node name: ["ollama", "mock"] skips OpenAI, ["openai", "mock"] skips Ollama; '
                "without the mock a run whose providers all fail raises AllProvidersFailed. "
                "The chain's order is fixed when the graph is built."),
    Setting(env="LLM_MODEL", keyword="model", field="models", shown="per provider",
            about="The primary's model; unset, its `<NAME>_MODEL`, else its default.",
            run='The model per provider or node for this run, e.g. {"openai": "gpt-4.1-nano", '
                '"ollama": "llama3.2"}. The same client sends it per request; each model has '
                "its own circuit, so a quota error on one does not skip the other."),
    Setting(env="LLM_FALLBACK_PROVIDER", keyword="fallback_provider", field="providers",
            shown="`ollama,mock`",
            about="The fallback chain in order; `none` disables fallback. The mock must be "
                  "last. Unset, the default never repeats the primary (`LLM_PROVIDER=ollama` "
                  "gives `ollama,mock`; `mock` gives the mock alone)."),
    Setting(env="LLM_FALLBACK_MODEL", keyword="fallback_model", field="models",
            shown="per provider",
            about="The fallbacks' models, comma-separated in chain order. The mock needs none, "
                  "so values go to the other providers in order; a single value is the first "
                  "fallback's. An empty place takes the provider's `<NAME>_MODEL`, else its "
                  "default."),
    Setting(env="LLM_FAILOVER_TIMEOUT", keyword="timeout", field="timeout", default=30.0,
            bound=Bound(0.0, 3600.0), capped=True,
            about="Seconds allowed per provider call (the Ollama client has none of its own).",
            run="Seconds allowed per provider call. OpenAI takes it per request; Ollama's "
                "client keeps the graph's timeout per read, and async runs also get the run's "
                "limit as a deadline. A call cut by it does not count toward the shared circuit."),
    Setting(env="LLM_FAILOVER_FIRST_TOKEN_TIMEOUT", keyword="first_token_timeout",
            shown="`10`, `ollama=60`",
            about="Seconds allowed until a provider's first token or tool-call fragment, then "
                  "it fails over as a `timeout`: one number, or by provider or node name "
                  "(`openai=10,ollama=60`, as `LLM_FAILOVER_CONTEXT_TOKENS`); `0` turns it "
                  "off. Calls stream from the provider inside the node to watch it, `invoke` "
                  "too. Raise it for reasoning models, which think before their first token."),
    Setting(env="LLM_FAILOVER_STALL_TIMEOUT", keyword="stall_timeout", shown="`15`",
            about="The longest silence allowed between two chunks once a provider streams, "
                  "then it fails over as a `timeout`; same syntax, `0` turns it off."),
    Setting(env="LLM_FAILOVER_HEDGE_AFTER", keyword="hedge_after", shown="off",
            about="Seconds a provider's first token may take before the next provider of the "
                  "run's route starts in parallel (hedging); the first to send a token answers "
                  "and the other is cancelled, recorded as `hedged`. Same syntax as "
                  "`LLM_FAILOVER_FIRST_TOKEN_TIMEOUT`; unset or `0`: off. Never into the mock, "
                  "nor into an open circuit or a probe."),
    Setting(env="LLM_FAILOVER_QUOTA_COOLDOWN", keyword="quota_cooldown", field="quota_cooldown",
            default=300.0, bound=Bound(0.0, DAY, zero_ok=True),
            about="Seconds a circuit stays open after `insufficient_quota`; `0` turns the "
                  "circuit off for quota errors.",
            run=f"{_JUDGED} after insufficient_quota; {_SHARED}"),
    Setting(env="LLM_FAILOVER_RETRY_BUDGET", keyword="retry_budget", field="retry_budget",
            default=5.0, bound=Bound(0.0, 600.0), capped=True,
            about="The longest `Retry-After` waited out (once per turn) before retrying the "
                  "same provider.",
            run="The longest Retry-After waited out (once) before retrying a rate-limited "
                "provider; a longer one fails over at once."),
    Setting(env="LLM_FAILOVER_SERVER_RETRIES", keyword="server_retries",
            field="server_retries", default=1, bound=Bound(0, 3, zero_ok=True, whole=True),
            capped=True,
            about="Retries of the same provider after a transient server error (500, 502, "
                  "503 without `Retry-After`, 504, a connection dropped before any response), "
                  "each after a jittered backoff of 0.2 to 0.5 s, within the turn budget, "
                  "before failing over; `0` fails over at once.",
            run="Retries of the same provider after a transient 5xx or a connection dropped "
                "before any response, before failing over; 0 fails over at once."),
    Setting(env="LLM_FAILOVER_RATE_LIMIT_COOLDOWN", keyword="rate_limit_cooldown",
            field="rate_limit_cooldown", default=30.0, bound=Bound(0.0, DAY),
            about="Circuit cooldown after a 429 that gave no `Retry-After`.",
            run=f"{_JUDGED} after a 429; {_SHARED}"),
    Setting(env="LLM_FAILOVER_FAILURE_THRESHOLD", keyword="failure_threshold",
            field="failure_threshold", default=3, bound=Bound(1, 1000, whole=True),
            about="Consecutive 5xx / timeout / connection / auth / not-found failures that "
                  "open a circuit.",
            run="For this run only: consecutive 5xx, timeout, connection, auth or not-found "
                f"failures after which it skips a provider; {_SHARED}"),
    Setting(env="LLM_FAILOVER_FAILURE_COOLDOWN", keyword="failure_cooldown",
            field="failure_cooldown", default=30.0, bound=Bound(0.0, DAY),
            about="Seconds a circuit opened by `LLM_FAILOVER_FAILURE_THRESHOLD` stays open.",
            run=f"{_JUDGED} past its failure threshold; {_SHARED}"),
    Setting(env="LLM_FAILOVER_TURN_BUDGET", keyword="turn_budget", field="turn_budget",
            default=60.0, bound=Bound(0.0, 7200.0), capped=True,
            about="Seconds of waits plus calls one turn may spend; once spent only the mock "
                  "is asked.",
            run="Seconds of calls and waits one turn may spend before only the mock is left."),
    Setting(env="LLM_FAILOVER_PACING", keyword="pacing", default=1,
            about="Pace OpenAI-compatible upstreams by their `x-ratelimit-*` headers: wait "
                  "for a reset within `LLM_FAILOVER_RETRY_BUDGET`, else skip them without "
                  "a request (`paced`); `0` turns it off (see [Pacing](failure-policy.md"
                  "#pacing-routing-before-a-429))."),
    Setting(env="LLM_FAILOVER_REDIS_URL", keyword="redis_url",
            about="Share circuits across workers through Redis (the `redis` extra); unset "
                  "keeps them in this process. A Redis that is down or hung never blocks a "
                  "turn (see [Run with several workers](serving.md#run-with-several-workers))."),
    Setting(env="LLM_FAILOVER_RUN_SETTINGS", keyword="run_settings",
            default=("tools", "tool_choice", "temperature", "stop", "response_format",
                     "providers"),
            about="The context fields a run may set (comma-separated, `all` or `none`); see "
                  "[running it for untrusted callers]"
                  "(serving.md#running-it-for-untrusted-callers)."),
    Setting(env="LLM_FAILOVER_CONTEXT_TOKENS", keyword="context_tokens",
            default="ollama=4096",  # Ollama's own default window
            about="Context windows by provider or node name (`ollama=2048,openai_gpt_4_1_nano"
                  "=16000`), added to the default's; the history sent there is fitted within it."),
    Setting(env="LLM_FAILOVER_CHECKPOINT_URL", keyword=None, default="./llm-failover.sqlite",
            about="Where the drop-in model checkpoints threads (`create_chat_model(thread_id="
                  "...)`): `postgresql://...` for several workers (the `postgres` extra), "
                  "else a SQLite file."),
    Setting(env="LLM_FAILOVER_CHECKPOINT_TIMEOUT", keyword=None, default=5.0,
            bound=Bound(0.0, DAY),
            about="Seconds `open_checkpointer` / `open_postgres` wait for PostgreSQL (keyword "
                  "`connect_timeout=`); libpq counts whole seconds, 2 at least."),
)  # fmt: skip
"""Every graph-level setting, in the configuration reference's order."""

BY_KEYWORD: Mapping[str, Setting] = {s.keyword: s for s in SETTINGS if s.keyword}
BY_ENV: Mapping[str, Setting] = {s.env: s for s in SETTINGS}
CAPPED: tuple[str, ...] = tuple(s.keyword for s in SETTINGS if s.capped and s.keyword)
"""Run settings a run may only lower: raising them would let one caller hold shared
workers (and the provider's capacity) longer than the deployer allowed."""


def run_description(field: str) -> str:
    """What Studio shows for the context field `field`, from the settings it changes.

    What a run's value does, whether it is capped, and what an empty field keeps: the
    variables' names and their declared defaults, so the text cannot drift from them.
    """
    settings = [s for s in SETTINGS if s.field == field]
    if not settings:
        raise KeyError(f"no setting is changed by the context field {field!r}")
    parts = [s.run for s in settings if s.run]
    if any(s.capped for s in settings):
        parts.append("At most the graph's own.")
    own = ", ".join(f"{s.env}; {s.text} when unset" if s.bound else s.env for s in settings)
    return " ".join([*parts, f"Empty: the graph's own ({own})."])
