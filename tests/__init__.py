"""The llm-failover test suite."""
