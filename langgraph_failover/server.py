"""The graph `langgraph dev` and the LangGraph server load (see `langgraph.json`).

Compiled without a checkpointer, because the server supplies its own; settings come from
the environment (and the `.env` file `langgraph.json` names) when the server imports it.
"""

from langgraph_failover.graph.builder import build_graph

graph = build_graph()
