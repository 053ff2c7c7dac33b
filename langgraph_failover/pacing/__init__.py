"""Pacing: route before a 429, from the rate-limit headers an upstream sends on every answer.

`headers` reads OpenAI's six `x-ratelimit-*` headers; `budget` holds the pure rules over
the plain-dict budget kept per upstream (what it said, what is in flight, whether a call
must wait or be skipped); `capture` lets the graph's own OpenAI-compatible clients hand
the headers of each response to the node that made the call. The stores
(`health.budgets`) keep budgets beside the circuits, in process or in Redis.
"""
