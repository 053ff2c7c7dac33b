"""The failover graph: its state, settings, per-run settings, routing and builder.

Settings: `declared` (each setting once), `values` (numbers within their bounds),
`by_name` (values per provider or node name), `settings` (read from the environment),
`chain` (providers, models, nodes), `policy` (the failure policy), `keywords` (an
unknown keyword refused, with the nearest valid one). A run: `context`
(what a run may ask), `limits` (what its deployer lets it set), `run` (its settings,
resolved). The graph: `state`, `history` (the messages reducer), `entry` (where a turn
starts: past the providers known to be down), `routing`, `builder`;
`guarded` wraps the compiled graph, with `guard` (input checked before it is stored),
`turns` and `advisory` (one turn per thread, in process and across PostgreSQL workers).
The docs: `reference` renders the reference tables, `docs` writes them into the pages.
"""
