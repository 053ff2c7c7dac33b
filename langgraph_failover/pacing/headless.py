"""Upstreams that answer without rate-limit headers, remembered by one node for a while.

Pacing such an upstream would cost two store writes per call (reserve, settle) for
nothing: with Redis, a healthy turn would no longer be one GET. So once a node hears an
upstream answer with none of the headers, it leaves that upstream unpaced for `QUIET`
seconds; an answer that carries them (a 429's too) ends that at once.
"""

from __future__ import annotations

import threading

QUIET = 600.0
"""Seconds an upstream heard without rate-limit headers goes unpaced."""
MAX_KEYS = 1024
"""At most this many upstreams remembered per node (each model a run names is one)."""


class Headless:
    """One node's memory of the upstreams that send no rate-limit headers."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._until: dict[str, float] = {}

    def quiet(self, key: str, now: float) -> bool:
        """Whether `key` was heard without headers in the last `QUIET` seconds."""
        return self._until.get(key, 0.0) > now

    def heard(self, key: str, now: float, *, headers: bool) -> None:
        """Note an answer of `key`, with or without rate-limit headers."""
        with self._lock:
            if headers:
                self._until.pop(key, None)
                return
            if len(self._until) >= MAX_KEYS:
                self._until = {k: t for k, t in self._until.items() if t > now}
                if len(self._until) >= MAX_KEYS:
                    self._until.clear()  # a bound, not a cache policy: rare and harmless
            self._until[key] = now + QUIET
