"""The emulators' own ceiling: raw HTTP against them, with no SDK and no graph.

A round trip with a bare `httpx.Client` is the latency floor under every tool; requests
per second from a bare `aiohttp` client at high concurrency bound the throughput the
emulators allow. Both are lower bounds on the emulators themselves, since the load
generator shares the machine's two cores with them.
"""

from __future__ import annotations

import asyncio
import time

import aiohttp
import httpx

from bench.env import Env
from bench.harness import stats, time_call

_BODY = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}], "stream": False}


def _paths(env: Env) -> dict[str, str]:
    return {"OpenAI": f"{env.up.openai}/chat/completions", "Ollama": f"{env.up.ollama}/api/chat"}


def _sequential(url: str, n: int) -> float:
    with httpx.Client() as client:
        for _ in range(20):
            client.post(url, json=_BODY)
        return stats([time_call(lambda: client.post(url, json=_BODY)) for _ in range(n)]).median


async def _concurrent(url: str, total: int, concurrency: int) -> float:
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        left = total

        async def worker() -> None:
            nonlocal left
            while left > 0:
                left -= 1
                async with session.post(url, json=_BODY) as response:
                    await response.read()

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return total / (time.perf_counter() - started)


def run(env: Env) -> list[str]:
    """One line per emulator: its round trip and its requests per second."""
    env.reset()
    lines = []
    for name, url in _paths(env).items():
        latency = _sequential(url, env.size(500, 50))
        rate = asyncio.run(_concurrent(url, env.size(20_000, 2_000), 200))
        lines.append(f"{name} emulator: {latency:.2f} ms per request from a bare httpx client "
                     f"(median); {rate:,.0f} requests/s from a bare aiohttp client at 200 "
                     f"concurrent connections.")  # fmt: skip
    env.reset()  # forget the requests recorded here
    return lines
