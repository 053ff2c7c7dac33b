"""What the graph did, for operators: counters, and structured log lines.

One JSON line on the `langgraph_failover` logger per failover (WARNING when a request failed,
DEBUG when the provider was only skipped: an open circuit would otherwise log a warning
on every call), per circuit that opens or closes (WARNING), and once per model that cut
its prompt to a smaller window than was sent (WARNING, `nodes/truncation.py`). Details
are masked before they get here (`errors.redact`, `secrets.mask_error`).

Counters are `prometheus_client` counters in its default registry, so an app that already
serves `/metrics` exposes them with no extra code; `snapshot()` reads them from Python and
`prometheus_text()` renders them for an app that scrapes another way.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import OrderedDict
from typing import Any

from prometheus_client import REGISTRY, Counter, generate_latest

from langgraph_failover.graph.state import Attempt, Truncated
from langgraph_failover.health.circuit import Circuit, change
from langgraph_failover.kinds import kind_of

log = logging.getLogger("langgraph_failover")
log.addHandler(logging.NullHandler())  # a library logs only where the app says so

ATTEMPTS = Counter(
    "llm_failover_attempts",
    "Provider attempts, by provider, model and error kind ('none' when it answered).",
    ["provider", "model", "error"],
)
FAILOVERS = Counter(
    "llm_failover_failovers",
    "Failovers from one provider to the next, by the error kind that caused them.",
    ["from_provider", "to_provider", "reason"],
)


MAX_MODELS = 64
"""Distinct (provider, model) label sets kept: a run may name models, and each label set
lives in memory until removed, so the least recently used ones are dropped past this."""
_models: OrderedDict[tuple[str, str], set[str]] = OrderedDict()
_models_lock = threading.Lock()


def observe_attempt(attempt: Attempt) -> None:
    """Count one attempt."""
    provider, model, error = attempt["provider"], attempt["model"], attempt["error"] or "none"
    with _models_lock:
        errors = _models.setdefault((provider, model), set())
        errors.add(error)
        _models.move_to_end((provider, model))
        while len(_models) > MAX_MODELS:
            (old_provider, old_model), old_errors = _models.popitem(last=False)
            for old_error in old_errors:
                ATTEMPTS.remove(old_provider, old_model, old_error)
        ATTEMPTS.labels(provider, model, error).inc()
    if (cut := attempt.get("truncated")) is not None:
        _warn_truncated(attempt, cut)


_WARNED_MAX = 256
"""Models warned about a cut prompt, at most: bounded, whatever model names runs send."""
_warned: set[tuple[str, str]] = set()


def _warn_truncated(attempt: Attempt, cut: Truncated) -> None:
    """One WARNING per model in this process: it cut the prompt, raise its window."""
    name = (attempt["node"], attempt["model"])
    with _models_lock:
        if name in _warned or len(_warned) >= _WARNED_MAX:
            return
        _warned.add(name)
    log.warning(
        "%s model %r evaluated %d of about %d prompt tokens sent: it cut the prompt to its "
        "context window, dropping the start of the conversation (system prompt first). "
        "Raise the model's window (Ollama: num_ctx) and set LLM_FAILOVER_CONTEXT_TOKENS "
        "(e.g. %s=<window>) so that the history is fitted to it. Said once per model.",
        attempt["provider"], attempt["model"], cut["evaluated"], cut["sent_tokens"],
        attempt["node"],
    )  # fmt: skip


def observe_failover(event: dict[str, Any], attempt_detail: str | None = None) -> None:
    """Count one failover and log it as one JSON line (no API key can be in it).

    WARNING when the failed attempt was a request; DEBUG when it made none (a circuit
    open, no API key), which is the case on every call while a circuit stays open.
    """
    FAILOVERS.labels(event["from"], event["to"], event["reason"]).inc()
    kind = kind_of(event["reason"])
    level = logging.DEBUG if kind and not kind.provider_error else logging.WARNING
    log.log(level, json.dumps({**event, "detail": attempt_detail}, ensure_ascii=False))


def observe_circuit(attempt: Attempt, old: Circuit | None, new: Circuit | None, now: float) -> None:
    """Log one WARNING line when an attempt's update opened or closed its circuit."""
    what = change(old, new, now)
    if what is None:
        return
    line: dict[str, Any] = {"type": f"circuit_{what}", "node": attempt["node"],
                            "provider": attempt["provider"], "model": attempt["model"]}  # fmt: skip
    if what == "opened" and new is not None:
        line |= {"reason": new["reason"], "open_for": round((new["open_until"] or now) - now, 3),
                 "detail": attempt["detail"]}  # fmt: skip
    elif old is not None:
        line["after"] = old["reason"]
    log.warning(json.dumps(line, ensure_ascii=False))


def snapshot() -> dict[str, dict[tuple[str, ...], float]]:
    """The counters as plain data: `{"attempts": {(provider, model, error): n}, ...}`."""
    out: dict[str, dict[tuple[str, ...], float]] = {"attempts": {}, "failovers": {}}
    for name, counter in (("attempts", ATTEMPTS), ("failovers", FAILOVERS)):
        for metric in counter.collect():
            for sample in metric.samples:
                if sample.name.endswith("_total"):
                    out[name][tuple(sample.labels.values())] = sample.value
    return out


def prometheus_text() -> str:
    """Every metric of the default registry in Prometheus' text format."""
    return generate_latest(REGISTRY).decode()
