"""Where budgets live: every store holds, applies and expires them alike, sync and async."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from langgraph_failover.health.budgets import BudgetStore
from langgraph_failover.health.redis_store import RedisStore
from langgraph_failover.health.store import MemoryStore, make_store
from langgraph_failover.pacing.budget import Budget, empty, exhausted, reserve
from langgraph_failover.pacing.headless import MAX_KEYS, QUIET, Headless
from tests.conftest import T0

SPENT: Budget = {**empty(), "heard": True,
                 "requests": {"limit": 2, "remaining": 0, "reset_at": T0 + 30}}  # fmt: skip


def stores(redis_url: str) -> dict[str, BudgetStore]:
    """An in-process store, a Redis store, and the fail-open store settings build."""
    return {"memory": MemoryStore(), "redis": RedisStore(redis_url),
            "failopen": make_store(redis_url)}  # type: ignore[dict-item]  # fmt: skip


@pytest.mark.parametrize("kind", ["memory", "redis", "failopen"])
async def test_a_budget_reads_back_as_written(kind: str, redis_url: str) -> None:
    """What `pace` wrote, `budget` and `abudget` read (the entry edge's reads), until it lapses."""
    store, key = stores(redis_url)[kind], f"test-{uuid.uuid4()}"
    assert store.budget(key, T0) is None and await store.abudget(key, T0) is None
    assert store.pace(key, T0, lambda _: (SPENT, "written")) == "written"
    assert store.budget(key, T0) == SPENT
    assert exhausted(await store.abudget(key, T0), T0) is not None
    verdict = await store.apace(key, T0, lambda b: reserve(b, "t", 1, T0 + 31, 5.0))
    assert verdict.action == "go"  # the window has reset: the whole limit again
    held = store.budget(key, T0 + 31)
    assert held is not None and list(held["flight"]) == ["t"]


def test_the_memory_store_is_bounded() -> None:
    """Past `max_budgets`, lapsed budgets go first, then the soonest to lapse."""
    store = MemoryStore()
    store.max_budgets = 3
    for number in range(3):  # k0 lapses first, at T0 + 90
        window = {"limit": 2, "remaining": 0, "reset_at": T0 + 30 + number}
        budget: Budget = {**SPENT, "requests": window}  # type: ignore[typeddict-item]
        store.pace(f"k{number}", T0, lambda _, b=budget: (b, None))
    store.pace("new", T0 + 3, lambda _: (SPENT, None))
    assert [k for k in ("k0", "k1", "k2", "new") if store.budget(k, T0 + 3)] == ["k1", "k2", "new"]
    store.clear()
    assert store.budget("new", T0 + 3) is None


def test_an_upstream_without_headers_goes_quiet_for_a_while() -> None:
    """Heard without headers: unpaced for QUIET seconds; headers end that; memory bounded."""
    memory = Headless()
    memory.heard("vllm", T0, headers=False)
    assert memory.quiet("vllm", T0 + QUIET - 1) and not memory.quiet("vllm", T0 + QUIET)
    memory.heard("vllm", T0, headers=True)
    assert not memory.quiet("vllm", T0)
    keys: list[Any] = [f"k{n}" for n in range(MAX_KEYS + 1)]
    for key in keys:
        memory.heard(key, T0, headers=False)
    assert memory.quiet(keys[-1], T0) and not memory.quiet(keys[0], T0)
