"""The `langgraph-failover` command: a scripted demo against the emulators, and a chat REPL.

`langgraph-failover demo` is the README's main job: the real graph, the real OpenAI and Ollama
clients and the SQLite checkpointer, with the built-in emulators playing the providers
(healthy, then out of quota, then Ollama down too). `langgraph-failover chat --thread ID`
talks to the providers configured in the environment.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from langchain_core.messages import HumanMessage

from langgraph_failover.checkpoint import sqlite_checkpointer
from langgraph_failover.errors import AllProvidersFailed, ConfigError
from langgraph_failover.extras import require
from langgraph_failover.graph.builder import FailoverGraph, build_graph
from langgraph_failover.health.store import MemoryStore
from langgraph_failover.outcomes import ending, raised

DEMO_KEY = "sk-demo-not-a-real-key"

# (what the providers do, what the user says)
DEMO_SCRIPT: tuple[tuple[str, str], ...] = (
    ("healthy", "Hi! I'm Aiko and I keep mixing up particles."),
    ("healthy", "How do I say 'thank you' politely?"),
    ("openai out of quota", "And how about 'good morning'?"),
    ("openai out of quota", "Do you still remember my name?"),
    ("openai out of quota, ollama busy", "Quiz me on what we covered."),
    ("openai healthy again, 5 minutes later", "Thanks, see you tomorrow!"),
)
LATER = 301.0  # seconds the demo jumps ahead: past the default quota cooldown (300 s)


def run_demo(out: TextIO, db: Path) -> int:
    """Run the scripted conversation and print a table per turn."""
    require("testing", "the demo (it runs the emulators)")
    from langgraph_failover.testing import (
        FakeClock,
        OllamaEmulator,
        OpenAIEmulator,
        busy,
        ok,
        quota,
    )

    with (
        OpenAIEmulator() as openai_emu,
        OllamaEmulator() as ollama_emu,
        sqlite_checkpointer(db) as saver,
    ):
        clock = FakeClock(start=time.time())  # so the demo can skip the 5-minute cooldown
        graph = build_graph(
            checkpointer=saver,
            clock=clock.clock,
            circuit_store=MemoryStore(),
            provider="openai",
            fallback_provider="ollama,mock",
            openai_api_key=DEMO_KEY,
            openai_base_url=openai_emu.base_url,
            ollama_base_url=ollama_emu.base_url,
            timeout=5,
        )
        config: Any = {"configurable": {"thread_id": "demo"}}
        out.write(f"checkpoint: {db} (thread 'demo')\n\n")
        for number, (condition, text) in enumerate(DEMO_SCRIPT, start=1):
            if "minutes later" in condition:
                clock.advance(LATER)
            openai_emu.always(quota() if "openai out of quota" in condition else ok())
            ollama_emu.always(busy() if "ollama busy" in condition else ok())
            seen = {emu: len(emu.requests) for emu in (openai_emu, ollama_emu)}
            started = time.perf_counter()
            state = graph.invoke({"messages": [HumanMessage(text)]}, config)
            elapsed = (time.perf_counter() - started) * 1000
            _print_turn(out, number, condition, text, state, elapsed, clock.now())
            for emu, before in seen.items():
                for request in emu.requests[before:]:
                    out.write(f"  {emu.provider} was sent {len(request.messages)} messages\n")
                if len(emu.requests) == before:
                    out.write(f"  {emu.provider} was sent nothing\n")
            out.write("\n")
        kept = len(graph.get_state(config).values["messages"])
    out.write(f"the checkpoint holds all {kept} messages of the conversation\n")
    return 0


def _print_turn(
    out: TextIO,
    number: int,
    condition: str,
    text: str,
    state: dict[str, Any],
    ms: float,
    now: float,
) -> None:
    answer = str(state["messages"][-1].content)
    out.write(f"turn {number}  [{condition}]\n")
    out.write(f"  user:    {text}\n")
    out.write(f"  answer:  {answer[:90]}\n")
    out.write(f"  served_by={state['served_by']}  degraded={state['degraded']}  "
              f"turn {ms:.1f} ms\n")  # fmt: skip
    if sticky := state.get("sticky"):
        out.write(f"  sticky: this thread skips {', '.join(sticky['skip'])} "
                  f"({sticky['reason']}) for {sticky['until'] - now:.0f} s more\n")  # fmt: skip
    out.write(f"  {'provider':<8} {'model':<14} {'ok':<4} {'error':<20} {'status':<6} ms\n")
    for a in state["attempts"]:
        out.write(
            f"  {a['provider']:<8} {a['model']:<14} {'yes' if a['ok'] else 'no':<4} "
            f"{a['error'] or '-':<20} {a['status_code'] or '-'!s:<6} {a['latency_ms']:.1f}\n"
        )


def run_chat(graph: FailoverGraph, thread: str, lines: TextIO, out: TextIO) -> int:
    """Read user lines, answer each on the configured chain, say who answered."""
    config: Any = {"configurable": {"thread_id": thread}}
    out.write(f"thread {thread}; an empty line or Ctrl-D ends\n")
    for line in lines:
        if not line.strip():
            break
        try:
            state = graph.invoke({"messages": [HumanMessage(line.strip())]}, config)
        except AllProvidersFailed as exc:
            out.write(f"! {exc} (your message is kept in the thread)\n")
            continue
        out.write(f"{state['messages'][-1].content}\n  [served_by={state['served_by']}]\n")
    return 0


def run_history(db: Path, thread: str, out: TextIO) -> int:
    """Print a thread's turns: who answered each, and why the providers before it did not.

    A turn not answered says why: every provider failed, or one refused it (`outcomes`).
    """
    config: Any = {"configurable": {"thread_id": thread}}
    with sqlite_checkpointer(db) as saver:
        saved, errors = saver.get_tuple(config), raised(saver, thread)
    if saved is None:
        out.write(f"no thread {thread!r} in {db}\n")
        return 1
    messages = saved.checkpoint["channel_values"].get("messages", [])
    asked: Any = None
    for message in messages:
        facts = message.response_metadata.get("failover") if message.type == "ai" else None
        if facts is None:
            if asked is not None and message.type == "human" and asked.type == "human":
                out.write(f"{_line(asked)}\n  {ending(errors.get(str(asked.id)))}\n")
            asked = message if message.type in ("human", "tool") else asked
            continue
        out.write(
            f"{_line(asked)}\n  served_by={facts['served_by']} degraded={facts['degraded']}\n"
        )
        for a in facts["attempts"]:
            why = "answered" if a["ok"] else f"{a['error']} {a['status_code'] or ''}".strip()
            out.write(f"    {a['provider']:<7} {a['model']:<14} {why:<24} {a['latency_ms']:.1f} ms"
                      f"{'  ' + a['detail'] if a.get('detail') else ''}\n")  # fmt: skip
        asked = None
    if asked is not None and asked.type == "human":
        out.write(f"{_line(asked)}\n  {ending(errors.get(str(asked.id)))}\n")
    return 0


def _line(message: Any) -> str:
    text = str(message.content if message is not None else "").replace("\n", " ")
    return f"{getattr(message, 'type', '?')}: {text[:80]}"


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `langgraph-failover` command."""
    parser = argparse.ArgumentParser(prog="langgraph-failover", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="scripted failover demo against the emulators")
    demo.add_argument("--db", type=Path, help="SQLite checkpoint file (default: a temp file)")
    chat = commands.add_parser("chat", help="chat with the configured providers")
    chat.add_argument("--thread", required=True, help="conversation id; reuse it to resume")
    chat.add_argument("--db", type=Path, default=Path("llm-failover.sqlite"),
                      help="SQLite checkpoint file (default: ./llm-failover.sqlite)")  # fmt: skip
    history = commands.add_parser("history", help="show a thread's turns and their attempts")
    history.add_argument("--thread", required=True, help="conversation id")
    history.add_argument("--db", type=Path, default=Path("llm-failover.sqlite"),
                         help="SQLite checkpoint file")  # fmt: skip
    args = parser.parse_args(argv)
    try:
        if args.command == "demo":
            if args.db is not None:
                return run_demo(sys.stdout, args.db)
            with tempfile.TemporaryDirectory() as tmp:
                return run_demo(sys.stdout, Path(tmp) / "demo.sqlite")
        if args.command == "history":
            return run_history(args.db, args.thread, sys.stdout)
        with sqlite_checkpointer(args.db) as saver:
            return run_chat(build_graph(checkpointer=saver), args.thread, sys.stdin, sys.stdout)
    except ConfigError as exc:
        parser.exit(2, f"langgraph-failover: configuration error: {exc}\n")


if __name__ == "__main__":
    raise SystemExit(main())
