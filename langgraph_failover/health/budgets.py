"""Where rate-limit budgets live: beside the circuits, in the same stores.

A store keeps one `pacing.budget.Budget` per circuit key and applies a change to it
atomically (`pace`), as it does a circuit transition: two calls reserving at once both
see the other's reservation. The rules are `pacing.budget`'s; a store only holds, applies
and expires. `MemoryBudgets` is the in-process half of `MemoryStore`, `FailOpenBudgets`
routes through `FailOpenStore`'s outage handling (Redis down: the in-process budgets),
and `redis_budgets.RedisBudgets` shares them across workers.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Protocol, TypeVar, cast, runtime_checkable

from langgraph_failover.pacing.budget import Budget, keep_for

T = TypeVar("T")
Change = Callable[[Budget | None], tuple[Budget, T]]
"""The current record -> (the new record, what the caller learns)."""


@runtime_checkable
class BudgetStore(Protocol):
    """Holds budgets by circuit key; sync methods for sync callers, `a*` for async ones."""

    def pace(self, key: str, now: float, change: Change[T]) -> T:
        """Apply `change` to the key's budget atomically; return what it returned."""
        ...

    def budget(self, key: str, now: float) -> Budget | None:
        """The key's budget as it stands (None: nothing known), changing nothing."""
        ...

    async def apace(self, key: str, now: float, change: Change[T]) -> T:
        """`pace` for async callers."""
        ...

    async def abudget(self, key: str, now: float) -> Budget | None:
        """`budget` for async callers."""
        ...


class MemoryBudgets:
    """Budgets in this process's memory, bounded like the circuit records."""

    max_budgets = 4096

    def __init__(self) -> None:
        self._budget_lock = threading.Lock()
        self._budgets: dict[str, tuple[Budget, float]] = {}  # key -> (budget, expires)

    def _held(self, key: str, now: float) -> Budget | None:
        held = self._budgets.get(key)
        return held[0] if held is not None and held[1] > now else None

    def pace(self, key: str, now: float, change: Change[T]) -> T:
        """Apply `change` to the key's budget atomically; return what it returned."""
        with self._budget_lock:
            new, result = change(self._held(key, now))
            if key not in self._budgets and len(self._budgets) >= self.max_budgets:
                live = {k: v for k, v in self._budgets.items() if v[1] > now}
                if len(live) >= self.max_budgets:
                    del live[min(live, key=lambda k: live[k][1])]
                self._budgets = live
            self._budgets[key] = (new, now + keep_for(new, now))
            return result

    def budget(self, key: str, now: float) -> Budget | None:
        """The key's budget as it stands (None: nothing known), changing nothing."""
        with self._budget_lock:
            return self._held(key, now)

    async def apace(self, key: str, now: float, change: Change[T]) -> T:
        """`pace` for async callers (no I/O here)."""
        return self.pace(key, now, change)

    async def abudget(self, key: str, now: float) -> Budget | None:
        """`budget` for async callers."""
        return self.budget(key, now)

    def clear_budgets(self) -> None:
        """Forget every budget (tests)."""
        with self._budget_lock:
            self._budgets.clear()


class FailOpenBudgets:
    """`FailOpenStore`'s budget methods: the shared store while it answers, else local."""

    _call: Callable[[Callable[[Any], Any]], Any]
    _acall: Callable[[Callable[[Any], Any]], Any]

    def pace(self, key: str, now: float, change: Change[T]) -> T:
        """Apply `change` to the key's budget atomically; return what it returned."""
        return cast(T, self._call(lambda store: store.pace(key, now, change)))

    def budget(self, key: str, now: float) -> Budget | None:
        """The key's budget as it stands (None: nothing known), changing nothing."""
        return cast(Budget | None, self._call(lambda store: store.budget(key, now)))

    async def apace(self, key: str, now: float, change: Change[T]) -> T:
        """`pace` for async callers."""
        return cast(T, await self._acall(lambda store: store.apace(key, now, change)))

    async def abudget(self, key: str, now: float) -> Budget | None:
        """`budget` for async callers."""
        return cast(Budget | None, await self._acall(lambda store: store.abudget(key, now)))
