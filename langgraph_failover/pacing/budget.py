"""An upstream's rate-limit budget: pure rules over a plain dict, as the stores hold it.

The record says what the upstream last said per dimension (requests, tokens: `Window`)
and which calls are in flight. Its rules:

- `observe`: within one window the lowest remaining seen is trusted (answers arrive out
  of order); news of a later window (its reset later by more than `SLACK`) replaces it,
  and news of an earlier one is ignored.
- After a reset the budget is the window's limit again (OpenAI's windows reset to their
  initial state), always minus what is in flight.
- `reserve`: a call goes when what remains, minus the requests and estimated tokens in
  flight, covers it; else it must wait (`Verdict.wait`) for the reset, or briefly for
  calls in flight to settle. A reservation lapses at its `until`, so a crashed worker's
  never blocks for long. With no record yet, one call goes first and the others wait
  briefly for the headers of its answer (`cold`), so a fresh process cannot spend the
  whole budget at once.
- `settle`: the call ended; its reservation goes, and what its answers said is observed.

Whether a wait fits the run's retry and turn budgets is the node's to judge.
"""

from __future__ import annotations

from typing import Literal, NamedTuple, TypedDict

from langgraph_failover.pacing.headers import Observed, Window

SLACK = 0.25
"""Seconds two resets of one window may differ by: a reset is read as a duration from
when the client read the headers, which the network or a busy event loop delays."""
POLL = 0.05
"""Seconds to wait before asking again when calls in flight hold what is left."""
MARGIN = 60.0
"""Seconds a record is kept past its last reset or reservation."""
HEADLESS = 600.0
"""Seconds a record of an upstream that sends no rate-limit headers is kept."""


class Flight(TypedDict):
    """One call in flight: what it holds, and until when at most."""

    tokens: int
    until: float


class Budget(TypedDict):
    """One upstream's budget, kept per circuit key."""

    requests: Window | None
    tokens: Window | None
    flight: dict[str, Flight]
    """Calls in flight, by ticket."""
    pioneer: str | None
    """The ticket of the one call let out while nothing is known yet."""
    heard: bool
    """Whether any call was answered (with or without headers) since the record began."""


class Verdict(NamedTuple):
    """What a call may do now."""

    action: Literal["go", "wait", "cold"]
    """`go`: reserved; `wait`: the budget is spent, ask again after `wait` seconds;
    `cold`: nothing known yet and the first call is out, ask again after `wait`."""
    wait: float = 0.0
    detail: str = ""
    """Which budget is spent and until when (for a paced attempt's detail)."""


def empty() -> Budget:
    """A record with nothing known and nothing in flight."""
    return {"requests": None, "tokens": None, "flight": {}, "pioneer": None, "heard": False}


def live(budget: Budget | None, now: float) -> Budget:
    """A copy of `budget` without lapsed reservations (and its pioneer, if it lapsed)."""
    if budget is None:
        return empty()
    flight = {t: f for t, f in budget["flight"].items() if f["until"] > now}
    pioneer = budget["pioneer"] if budget["pioneer"] in flight else None
    return {**budget, "flight": flight, "pioneer": pioneer}


def available(window: Window, now: float) -> int | None:
    """What the window has left now: its remaining, or its limit once reset (None: unknown)."""
    return window["remaining"] if window["reset_at"] > now else window["limit"]


def _spent(window: Window | None, name: str, held: int, need: int, now: float) -> Verdict:
    """Whether one dimension lets a call needing `need` go, with `held` in flight."""
    left = available(window, now) if window else None
    if window is None or left is None or left - held >= need:
        return Verdict("go")
    if window["reset_at"] <= now:
        if need > (window["limit"] or 0):
            return Verdict("go")  # more than a whole window: the upstream decides
        detail = f"{held} {name} in flight fill the limit of {window['limit']}"
        return Verdict("wait", POLL, detail)
    ahead = window["reset_at"] - now
    limit = window["limit"]
    shown = f"{window['remaining']} of {limit}" if limit is not None else f"{window['remaining']}"
    more = f" ({held} in flight)" if held else ""
    needed = f", {need} needed," if name == "tokens" else ""
    detail = (f"{shown} {name} left{more}{needed} until {ahead:.1f} s from now "
              f"(x-ratelimit-reset-{name})")  # fmt: skip
    return Verdict("wait", ahead, detail)


def decide(budget: Budget | None, estimate: int, now: float) -> Verdict:
    """Whether a call of `estimate` tokens may go now (nothing is changed)."""
    held = live(budget, now)
    if budget is None or (held["requests"] is None and held["tokens"] is None):
        if held["pioneer"] is not None and not held["heard"]:
            return Verdict("cold", POLL, "the first call's rate-limit headers are awaited")
        return Verdict("go")
    flights = held["flight"].values()
    verdicts = [
        _spent(held["requests"], "requests", len(flights), 1, now),
        _spent(held["tokens"], "tokens", sum(f["tokens"] for f in flights), estimate, now),
    ]
    stopped = [v for v in verdicts if v.action != "go"]
    if not stopped:
        return Verdict("go")
    longest = max(stopped, key=lambda v: v.wait)
    return Verdict("wait", longest.wait, "paced: " + "; ".join(v.detail for v in stopped))


def reserve(
    budget: Budget | None, ticket: str, estimate: int, now: float, hold: float
) -> tuple[Budget, Verdict]:
    """The record after asking to call, and the verdict; a `go` holds its place in flight."""
    verdict = decide(budget, estimate, now)
    new = live(budget, now)
    if verdict.action == "go":
        new["flight"] = {**new["flight"], ticket: {"tokens": estimate, "until": now + hold}}
        if new["requests"] is None and new["tokens"] is None and not new["heard"]:
            new["pioneer"] = new["pioneer"] or ticket
    return new, verdict


def _merge(old: Window | None, new: Window | None) -> Window | None:
    """One dimension after news: the lowest remaining within one window."""
    if new is None:
        return old
    if old is None or new["reset_at"] > old["reset_at"] + SLACK:
        return new  # a later window replaces the one held
    if new["reset_at"] < old["reset_at"] - SLACK:
        return old  # news of an earlier window, arriving late
    return {"limit": new["limit"] if new["limit"] is not None else old["limit"],
            "remaining": min(old["remaining"], new["remaining"]),
            "reset_at": max(old["reset_at"], new["reset_at"])}  # fmt: skip


def observe(budget: Budget | None, seen: Observed, at: float) -> Budget:
    """The record after one answer's headers, read at epoch `at`."""
    new = live(budget, at)
    new["requests"] = _merge(new["requests"], seen["requests"])
    new["tokens"] = _merge(new["tokens"], seen["tokens"])
    return new


def settle(
    budget: Budget | None,
    ticket: str,
    seen: list[tuple[Observed, float]],
    *,
    heard: bool,
    now: float,
) -> Budget:
    """The record once a call ended: its reservation gone, its answers' headers observed."""
    new = live(budget, now)
    new["flight"] = {t: f for t, f in new["flight"].items() if t != ticket}
    if new["pioneer"] == ticket:
        new["pioneer"] = None
    new["heard"] = new["heard"] or heard
    for observed, at in seen:
        new = observe(new, observed, at)
    return new


def exhausted(budget: Budget | None, now: float, wait_up_to: float = 0.0) -> str | None:
    """Why no request should be made now (None: a call may go, or wait for the reset).

    The requests left, minus those in flight, are 0 and their reset is more than
    `wait_up_to` seconds ahead. For the entry edge, which cannot estimate tokens: the
    node judges those.
    """
    held = live(budget, now)
    window = held["requests"]
    if window is None or window["reset_at"] <= now + wait_up_to:
        return None
    verdict = _spent(window, "requests", len(held["flight"]), 1, now)
    return None if verdict.action == "go" else "paced: " + verdict.detail


def keep_for(budget: Budget, now: float) -> float:
    """Seconds a store keeps the record: past its last reset or reservation."""
    ends = [w["reset_at"] for w in (budget["requests"], budget["tokens"]) if w]
    ends += [f["until"] for f in budget["flight"].values()]
    if not ends and budget["heard"]:
        return HEADLESS
    return max([now, *ends]) - now + MARGIN
