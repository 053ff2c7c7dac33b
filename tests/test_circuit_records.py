"""Only the exact shape of a circuit record is trusted from a shared Redis."""

from __future__ import annotations

import pytest

from langgraph_failover.health import records
from langgraph_failover.health.circuit import Circuit

GOOD: Circuit = {
    "failures": 2,
    "open_until": 1_800_000_030.5,
    "reason": "timeout",
    "since": 1_800_000_000.5,
}


def test_a_record_round_trips() -> None:
    """What the store writes, it reads back unchanged; no value is no record."""
    assert records.loads(records.dumps(GOOD)) == GOOD
    # a record written before `since` was kept
    assert records.loads('{"failures": 0, "open_until": null, "reason": "x"}') is not None
    assert records.loads(None) is None


@pytest.mark.parametrize(
    "raw",
    [
        "not json",
        "5",
        "[]",
        '{"failures": 1, "open_until": null}',  # a field missing
        '{"failures": 1, "open_until": null, "reason": "x", "extra": 1}',
        '{"failures": "1", "open_until": null, "reason": "x"}',
        '{"failures": true, "open_until": null, "reason": "x"}',
        '{"failures": -1, "open_until": null, "reason": "x"}',
        '{"failures": 1, "open_until": NaN, "reason": "x"}',
        '{"failures": 1, "open_until": 1e308, "reason": "x"}',
        '{"failures": 1, "open_until": "soon", "reason": "x"}',
        '{"failures": 1, "open_until": null, "reason": 5}',
        '{"failures": 1, "open_until": null, "reason": "x", "since": NaN}',
        '{"failures": 1, "open_until": null, "reason": "x", "since": "then"}',
        records.WRONG_TYPE,
    ],
)
def test_anything_else_is_not_a_record(raw: object) -> None:
    """Garbage, near misses and absurd numbers are refused, not half-read."""
    with pytest.raises(records.NotARecord):
        records.loads(raw)
