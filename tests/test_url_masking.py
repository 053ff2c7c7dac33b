"""Passwords in connection strings are masked before a log or an error shows them."""

from __future__ import annotations

import pytest

from llm_failover.urls import mask_credentials


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("redis://:hunter2@cache:6379/0", "redis://:***@cache:6379/0"),
        ("rediss://app:hunter2@cache/1", "rediss://app:***@cache/1"),
        ("redis://app:hun@ter2@cache/1", "redis://app:***@cache/1"),  # an unescaped "@"
        ("postgresql://u:hunter2@db:5432/x fails", "postgresql://u:***@db:5432/x fails"),
        ('in URI: "postgresql://u:hunter2@[db/x"', 'in URI: "postgresql://u:***@[db/x"'),
        ("redis://cache/0?password=hunter2&db=1", "redis://cache/0?password=***&db=1"),
        ("host=db password=hunter2 port=5432", "host=db password=*** port=5432"),
        ("host=db password='hunter 2' port=5432", "host=db password=*** port=5432"),
        ("redis://app@cache:6379/0", "redis://app@cache:6379/0"),  # no password: unchanged
        ("http://cache:6379/0", "http://cache:6379/0"),
    ],
)
def test_passwords_are_masked_and_the_rest_kept(text: str, shown: str) -> None:
    """Each form a password takes in a URL or a libpq string is masked; host and port stay."""
    assert mask_credentials(text) == shown
