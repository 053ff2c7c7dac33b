"""The langgraph-failover test suite."""
