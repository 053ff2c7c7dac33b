"""Provider health: the circuit breaker's rules and the stores that share them."""
