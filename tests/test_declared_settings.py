"""Each setting declared once: the declaration, and everything derived from it.

`graph/declared.py` is the one place a setting's variable, keyword, run field, default,
range and meaning are written. These tests hold the rest to it: the parsers and their
messages, `load_settings`, `Policy`, the descriptions Studio shows, the configuration
reference and the README's few settings, the defaults their prose quotes, `.env.example`.
(That every generated page is fresh, and how `--check` and `--write` work, is in
`test_docs.py`.)
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

import pytest

from langgraph_failover import ConfigError
from langgraph_failover.graph import context, docs
from langgraph_failover.graph.declared import BY_ENV, BY_KEYWORD, SETTINGS, run_description
from langgraph_failover.graph.policy import Policy
from langgraph_failover.graph.settings import ENV_NAMES, load_settings
from langgraph_failover.providers.registry import BUILT_IN
from tests.conftest import MakeGraph

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
CONFIGURATION = ROOT / "docs" / "configuration.md"
NUMBERS = [s for s in SETTINGS if s.bound]


@pytest.mark.parametrize(
    ("env", "value", "expected"),
    [
        ("LLM_FAILOVER_TIMEOUT", "3600", 3600.0),
        ("LLM_FAILOVER_TIMEOUT", 0.25, 0.25),
        ("LLM_FAILOVER_TURN_BUDGET", "7200", 7200.0),
        ("LLM_FAILOVER_RETRY_BUDGET", " 600 ", 600.0),
        ("LLM_FAILOVER_QUOTA_COOLDOWN", "0", 0.0),
        ("LLM_FAILOVER_RATE_LIMIT_COOLDOWN", "86400", 86400.0),
        ("LLM_FAILOVER_FAILURE_COOLDOWN", "1e3", 1000.0),
        ("LLM_FAILOVER_FAILURE_THRESHOLD", "1", 1),
        ("LLM_FAILOVER_FAILURE_THRESHOLD", 1000, 1000),
        ("LLM_FAILOVER_CHECKPOINT_TIMEOUT", "2", 2.0),
        ("LLM_FAILOVER_REDIS_URL", "redis://r:6379/0", "redis://r:6379/0"),
        ("LLM_FAILOVER_TIMEOUT", None, 30.0),
        ("LLM_FAILOVER_FAILURE_THRESHOLD", None, 3),
    ],
)
def test_parsers_accept_values_within_bounds(env: str, value: Any, expected: Any) -> None:
    """A declared setting parses values up to its bounds; None gives its declared default."""
    parsed = BY_ENV[env].parse(value)
    assert parsed == expected and type(parsed) is type(expected)


@pytest.mark.parametrize(
    ("env", "value", "message"),
    [
        ("LLM_FAILOVER_TURN_BUDGET", "0", "must be a positive number of seconds, got '0'"),
        ("LLM_FAILOVER_TIMEOUT", "3600.5", "must be at most 3600 seconds, got '3600.5'"),
        ("LLM_FAILOVER_TIMEOUT", True, "expected a number of seconds, got True"),
        ("LLM_FAILOVER_TIMEOUT", "inf", "must be a positive number of seconds, got 'inf'"),
        ("LLM_FAILOVER_RETRY_BUDGET", "601", "must be at most 600 seconds, got '601'"),
        ("LLM_FAILOVER_TURN_BUDGET", "7201", "must be at most 7200 seconds, got '7201'"),
        ("LLM_FAILOVER_QUOTA_COOLDOWN", "-1", "must be zero or more seconds, got '-1'"),
        ("LLM_FAILOVER_QUOTA_COOLDOWN", "86401", "must be at most 86400 seconds, got '86401'"),
        ("LLM_FAILOVER_RATE_LIMIT_COOLDOWN", "0", "must be a positive number of seconds, got '0'"),
        ("LLM_FAILOVER_FAILURE_THRESHOLD", "0", "must be 1 or more and at most 1000, got '0'"),
        ("LLM_FAILOVER_FAILURE_THRESHOLD", 1001, "must be 1 or more and at most 1000, got 1001"),
        ("LLM_FAILOVER_FAILURE_THRESHOLD", "2.5", "expected a whole number, got '2.5'"),
        ("LLM_FAILOVER_CHECKPOINT_TIMEOUT", "soon", "expected a number of seconds, got 'soon'"),
    ],
)
def test_parsers_refuse_values_out_of_bounds(env: str, value: Any, message: str) -> None:
    """A value out of its declared range is refused, named by the variable or a given name."""
    with pytest.raises(ConfigError) as by_env:
        BY_ENV[env].parse(value)
    assert str(by_env.value) == f"{env}: {message}"
    with pytest.raises(ConfigError, match=r"^context x: "):
        BY_ENV[env].parse(value, "context x")


@pytest.mark.parametrize("setting", [s for s in NUMBERS if s.keyword], ids=lambda s: s.env)
def test_every_declared_number_reaches_load_settings(setting: Any) -> None:
    """Its highest value, set by its variable or its keyword, is what the graph gets."""
    high = setting.parse(setting.bound.high)
    for settings in (load_settings({setting.env: str(high)}),
                     load_settings({}, **{setting.keyword: high})):  # fmt: skip
        got = settings if setting.keyword == "timeout" else settings.policy
        assert getattr(got, setting.keyword) == high


def test_the_declaration_is_consistent() -> None:
    """Names are unique, run fields exist in Context, and Policy's defaults are declared."""
    assert len(BY_ENV) == len(SETTINGS)
    assert len(BY_KEYWORD) == len([s for s in SETTINGS if s.keyword])
    assert set(BY_KEYWORD) <= set(ENV_NAMES)
    assert {s.field for s in SETTINGS if s.field} == set(context.SETTINGS)
    assert all(s.field for s in SETTINGS if s.run), "a run text without a run field"
    assert all(s.bound and s.field for s in SETTINGS if s.capped), "capped, yet not a run number"
    for field in dataclasses.fields(Policy):
        assert getattr(Policy(), field.name) == BY_KEYWORD[field.name].default


def test_context_fields_are_described_from_the_declaration(make_graph: MakeGraph) -> None:
    """Studio's description of each run setting is derived, its declared default included."""
    properties = make_graph().get_context_jsonschema()["properties"]
    for field in context.SETTINGS:
        described = properties[field]["description"]
        assert described == run_description(field)
        for setting in (s for s in SETTINGS if s.field == field):
            assert setting.env in described
            if setting.bound:
                assert f"{setting.text} when unset" in described


def test_configuration_reference_is_generated_from_the_code() -> None:
    """The configuration page's settings and per-run tables equal what the code declares."""
    text = CONFIGURATION.read_text(encoding="utf-8")
    assert docs.render(text, docs.PAGES["docs/configuration.md"]) == text, "stale: run dev.py docs"
    for setting in SETTINGS:
        assert f"\n### `{setting.env}`\n" in text


def test_readme_settings_are_the_declared_ones() -> None:
    """The README's few settings are rendered from the declaration, links into docs/."""
    text = README.read_text(encoding="utf-8")
    assert docs.render(text, docs.PAGES["README.md"]) == text, "stale: run dev.py docs"
    assert "| `LLM_PROVIDER` | `openai` |" in text
    assert "(docs/configuration.md#providers)" in text


def test_defaults_quoted_in_the_prose_are_the_declared_ones() -> None:
    """`LLM_FAILOVER_X` (300 s) and the like, in the README and docs prose, match the code."""
    quoted = re.compile(r"`(LLM_\w+)`(?: \(|, | seconds \(|, default )`?([\w./:=-]+?)`?(?: s)?[),]")
    pages = [README, *sorted((ROOT / "docs").glob("*.md"))]
    found = [pair for page in pages for pair in quoted.findall(page.read_text(encoding="utf-8"))]
    assert len(found) >= 3  # the drop-in, the checkpointer, context fitting: the scan works
    assert [(env, BY_ENV[env].text) for env, _ in found] == found


def test_env_example_uses_declared_names_and_defaults() -> None:
    """Every variable in `.env.example` is known; a declared one shown is at its default."""
    lines = (ROOT / ".env.example").read_text(encoding="utf-8").splitlines()
    pairs = [m.groups() for line in lines if (m := re.match(r"#? ?([A-Z][A-Z0-9_]+)=(.*)", line))]
    assert pairs and {name for name, _ in pairs} <= {*BY_ENV, *ENV_NAMES.values()}
    for name, value in pairs:
        setting = BY_ENV.get(name)
        if setting is not None and setting.default is not None:
            assert setting.parse(value) == setting.parse(setting.text), name


def test_the_declared_context_window_default_is_the_registrys() -> None:
    """`LLM_FAILOVER_CONTEXT_TOKENS`'s shown default is Ollama's window in the registry."""
    windows = {n: t.context_tokens for n, t in BUILT_IN.items() if t.context_tokens}
    shown = ",".join(f"{name}={tokens}" for name, tokens in windows.items())
    assert BY_ENV["LLM_FAILOVER_CONTEXT_TOKENS"].text == shown
