"""Provider health: the circuit breaker's rules and the stores that share them.

`circuit` holds the rules (pure functions over a plain-dict record), `store` where records
live (this process, by default), `redis_store` and `records` the shared store in Redis
(records checked before they are trusted), `failopen` what keeps turns going while Redis
is down (in-process circuits, one warning per outage). Each upstream's rate-limit budget
is kept beside its circuit: `budgets` in process, `redis_budgets` in Redis (the rules are
`pacing.budget`'s).
"""
