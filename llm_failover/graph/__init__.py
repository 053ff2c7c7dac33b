"""The failover graph: its state, settings, routing and builder (one module each)."""
