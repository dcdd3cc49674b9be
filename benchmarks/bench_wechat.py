"""The official-account callback under load, as WeChat delivers it: ``rongyiban serve --workers 2``
in safe (AES) mode, 200 concurrent callbacks of which 30 % are retries of the others (arriving up to
2 s later, as WeChat's retries come in while the first delivery is being answered), and a local
WeChat API server receiving the late answers as customer-service messages.

Prints callback latency p50/p99 under load and unloaded (one at a time, the baseline), how many
answers went passive and how many late, and checks that no message was answered twice (a passive
reply and a customer-service message, or two messages) and none was lost.

    .venv/bin/python benchmarks/bench_wechat.py [--callbacks 200] [--retry-share 0.3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sqlite3
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.e2e.served import served  # noqa: E402
from tests.wechat.conftest import AES_KEY, TOKEN, PlaysWeChat, text_xml  # noqa: E402
from tests.wechat.local_wechat import APPID, SECRET, LocalWeChat  # noqa: E402

QUERIES = ROOT / "benchmarks" / "queries" / "demo_queries.jsonl"
BASELINE = 20  # callbacks one at a time before the load


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(int(share * len(ordered)), len(ordered) - 1)]


async def deliver(base: str, xml: str, delay: float) -> tuple[float, str]:
    """One callback; the time is the HTTP round trip only (signing, encrypting and decrypting are
    WeChat's side and happen outside it)."""
    wechat = PlaysWeChat(httpx.AsyncClient(base_url=base, timeout=30))  # a connection per callback, as WeChat
    query, body = wechat.sign_and_encrypt(xml)
    await asyncio.sleep(delay)
    async with wechat.http:
        started = time.perf_counter()
        response = await wechat.http.post("/wechat/callback", params=query, content=body)
        took = (time.perf_counter() - started) * 1000
    delivery = wechat.read(response, query, encrypted=True)
    assert delivery.status == 200, delivery.body
    return took, delivery.content


def server_side_latencies(log: Path, skip: int) -> list[float]:
    """The callback durations the service itself logged (request read to response ready), less
    the first ``skip`` (the baseline's)."""
    lines = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines() if line.startswith("{")]
    return [line["duration_ms"] for line in lines if line.get("path") == "/wechat/callback"][skip:]


async def run(base: str, local: LocalWeChat, questions: list[str], callbacks: int, retry_share: float) -> dict:
    rng = random.Random(7)
    # the baseline: one callback at a time on the same service
    unloaded = [(await deliver(base, text_xml(f"o_base_{n}", q, msg_id=8_000_000 + n), 0))[0]
                for n, q in enumerate(questions[:BASELINE])]
    unique = round(callbacks / (1 + retry_share))
    messages = [(f"o_load_{n}", text_xml(f"o_load_{n}", questions[n % len(questions)], msg_id=9_000_000 + n))
                for n in range(unique)]
    plan = [(openid, xml, 0.0) for openid, xml in messages]
    plan += [(*rng.choice(messages), rng.uniform(0.2, 2.0)) for _ in range(callbacks - unique)]
    started = time.perf_counter()
    results = await asyncio.gather(*(deliver(base, xml, delay) for _, xml, delay in plan))
    wall = time.perf_counter() - started

    passive: dict[str, set[str]] = defaultdict(set)
    for (openid, _, _), (_, content) in zip(plan, results, strict=True):
        if content:
            passive[openid].add(content)
    expected_late = sum(1 for openid, _ in messages if openid not in passive)
    for _ in range(600):  # late answers arrive through the outbox
        late = Counter(c.body["touser"] for c in local.calls("/cgi-bin/message/custom/send"))
        if sum(late.values()) >= expected_late:
            break
        await asyncio.sleep(0.1)
    await asyncio.sleep(2.0)  # room for a duplicate to show up, were there one
    late = Counter(c.body["touser"] for c in local.calls("/cgi-bin/message/custom/send"))
    duplicates = sum(1 for openid, _ in messages if len(passive[openid]) > 1 or late[openid] > 1
                     or (passive[openid] and late[openid]))
    lost = sum(1 for openid, _ in messages if not passive[openid] and not late[openid])
    latencies = [took for took, _ in results]
    return {
        "callbacks": len(plan), "unique_messages": unique, "retries": len(plan) - unique,
        "wall_seconds": round(wall, 2),
        "latency_ms": {"p50": round(percentile(latencies, 0.5)), "p99": round(percentile(latencies, 0.99)),
                       "max": round(max(latencies))},
        "unloaded_latency_ms": {"p50": round(percentile(unloaded, 0.5)), "p99": round(percentile(unloaded, 0.99))},
        "p50_ratio_to_unloaded": round(percentile(latencies, 0.5) / percentile(unloaded, 0.5), 1),
        "answered_passively": sum(1 for openid, _ in messages if passive[openid]),
        "answered_late": sum(1 for openid, _ in messages if late[openid]),
        "duplicates": duplicates, "lost": lost,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--callbacks", type=int, default=200)
    parser.add_argument("--retry-share", type=float, default=0.3)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    questions = [json.loads(line)["query"] for line in QUERIES.read_text(encoding="utf-8").splitlines() if line.strip()]
    random.Random(1).shuffle(questions)
    with tempfile.TemporaryDirectory(prefix="ryb-bench-wechat-") as scratch, LocalWeChat() as local:
        env = {k: v for k, v in os.environ.items() if not k.startswith("RYB_")}
        env.update(RYB_DATA_DIR=f"{scratch}/var", RYB_EMBEDDING_CACHE_FILE=str(ROOT / "var" / "embeddings.sqlite3"),
                   RYB_LOG_LEVEL="INFO", RYB_WECHAT_TOKEN=TOKEN, RYB_WECHAT_AES_KEY=AES_KEY,
                   RYB_WECHAT_APPID=APPID, RYB_WECHAT_SECRET=SECRET, RYB_WECHAT_API_BASE=local.base_url)
        with served(env, workers=args.workers) as base:
            report = asyncio.run(run(base, local, questions, args.callbacks, args.retry_share))
        server = server_side_latencies(Path(scratch) / "serve.log", skip=BASELINE)
        report["server_side_latency_ms"] = {"p50": round(percentile(server, 0.5)), "p99": round(percentile(server, 0.99)),
                                            "max": round(max(server))}
        with sqlite3.connect(f"{scratch}/var/rongyiban.db") as db:
            report["assistant_turns_for_load"] = db.execute(
                "SELECT count(*) FROM chat_turns WHERE session_key LIKE 'wechat:o_load_%'").fetchone()[0]
    print(json.dumps(report, ensure_ascii=False, indent=2))
    ok = report["duplicates"] == 0 and report["lost"] == 0 and report["assistant_turns_for_load"] == report["unique_messages"]
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
