"""1,000 applications submitted at once while the approval back end flaps.

``rongyiban serve --workers 2`` on SQLite (or ``--database-url`` PostgreSQL) hands applications to a local approval server (a real
HTTP server) that is down (HTTP 503) for one second out of every two, and otherwise fails 10 % of
requests and stalls 5 % past our timeout. 1,000 signed-in users, each with a filled-in draft of
个体工商户设立登记, press submit at the same moment.

Prints: failed user requests, submit latency p50/p99 (and unloaded, one at a time, as the
baseline), time until the approval server has every application, delivery attempts, and whether
each application was applied exactly once (by idempotency key).

    .venv/bin/python benchmarks/bench_applications.py [--applications 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from miniapp_api.auth import SessionTokens  # noqa: E402
from server import DEMO_DIR, prepare_database  # noqa: E402
from settings import Settings  # noqa: E402
from smartform.base_library import DemoBaseLibrary, Subject  # noqa: E402
from smartform.consent import ConsentService  # noqa: E402
from smartform.drafts import DraftService  # noqa: E402
from smartform.identity import Identities  # noqa: E402
from smartform.prefill import PrefillService  # noqa: E402
from smartform.schemas import load_forms  # noqa: E402
from store.audit import AuditLog  # noqa: E402
from tests.e2e.served import served  # noqa: E402
from tests.smartform.local_approval import LocalApproval  # noqa: E402

SECRET = "bench-approval-secret"
DATA = {"operator_name": "王示例明", "operator_id_number": "510104199003071230", "operator_phone": "13800001234",
        "use_name": False, "organisation_form": "个人经营", "premises_district": "510104",
        "premises_address": "成都市锦江区示例路1号", "premises_proof": "申报承诺", "business_scope": "小吃服务",
        "capital": "5", "employees": 2, "by_agent": False}


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(int(share * len(ordered)), len(ordered) - 1)]


async def prepare(settings: Settings, count: int) -> list[tuple[str, str]]:
    """Users with a session token and a filled-in draft each: (token, draft id)."""
    from smartform.validators import id_check_digit
    DATA["operator_id_number"] = DATA["operator_id_number"][:17] + id_check_digit(DATA["operator_id_number"][:17])
    db = await prepare_database(settings)
    audit = AuditLog(db)
    library = DemoBaseLibrary(db)
    form = load_forms(DEMO_DIR / "forms")["CD-0053"]
    drafts = DraftService(db, PrefillService(db, audit, ConsentService(db, audit), library), settings.attachment_path)
    identities, tokens = Identities(db, library, settings.secret_key), SessionTokens(db)
    prepared = []
    for n in range(count):
        user = await identities.user_for_openid(f"o_bench_{n}")
        draft, _ = await drafts.open(user, form, Subject())
        await drafts.save(user, form, draft.id, DATA, draft.revision)
        prepared.append(((await tokens.issue(user))[0], draft.id))
    await db.dispose()
    return prepared


async def submit_all(base: str, prepared: list[tuple[str, str]]) -> tuple[list[float], list[int], float]:
    latencies: list[float] = []
    statuses: list[int] = []
    limits = httpx.Limits(max_connections=200)
    async with httpx.AsyncClient(base_url=base, timeout=120, limits=limits) as http:
        async def one(token: str, draft: str) -> None:
            started = time.perf_counter()
            response = await http.post(f"/api/v1/drafts/{draft}/submit", headers={"Authorization": f"Bearer {token}"})
            latencies.append((time.perf_counter() - started) * 1000)
            statuses.append(response.status_code)

        started = time.perf_counter()
        await asyncio.gather(*(one(token, draft) for token, draft in prepared))
        return latencies, statuses, time.perf_counter() - started


def flap(approval: LocalApproval, stop: threading.Event) -> None:
    down = False
    while not stop.wait(1.0):
        down = not down
        approval.fail_rate = 1.0 if down else 0.10


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--applications", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--database-url", default="", help="an empty PostgreSQL database (default: SQLite)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ryb-bench-apps-") as scratch, \
            LocalApproval(SECRET, fail_rate=0.10, stall_rate=0.05, stall_seconds=3.0, seed=3) as approval:
        env = {k: v for k, v in os.environ.items() if not k.startswith("RYB_")}
        env.update(RYB_DATA_DIR=f"{scratch}/var", RYB_EMBEDDING_CACHE_FILE=str(ROOT / "var" / "embeddings.sqlite3"),
                   RYB_ASSISTANT="false", RYB_LOG_LEVEL="WARNING", RYB_APPROVAL_URL=approval.base_url,
                   RYB_APPROVAL_SECRET=SECRET, RYB_APPROVAL_TIMEOUT_SECONDS="2", RYB_OUTBOX_BACKOFF_BASE_SECONDS="0.5",
                   RYB_OUTBOX_BACKOFF_MAX_SECONDS="4", RYB_OUTBOX_MAX_ATTEMPTS="30", RYB_OUTBOX_BATCH_SIZE="50",
                   RYB_OUTBOX_POLL_SECONDS="0.2", RYB_DATABASE_URL=args.database_url,
                   # one client sends the whole burst: the per-IP rate limit is not what is measured
                   RYB_RATE_LIMIT_IP_PER_SECOND="1000000", RYB_RATE_LIMIT_IP_BURST="1000000")
        settings = Settings(data_dir=Path(f"{scratch}/var"), embedding_cache_file=env["RYB_EMBEDDING_CACHE_FILE"],
                            database_url=args.database_url)
        prepared = asyncio.run(prepare(settings, args.applications + 20))
        baseline, work = prepared[:20], prepared[20:]
        with served(env, workers=args.workers) as base:
            unloaded, _, _ = asyncio.run(submit_all_sequentially(base, baseline))
            stop = threading.Event()
            threading.Thread(target=flap, args=(approval, stop), daemon=True).start()
            started = time.perf_counter()
            latencies, statuses, wall = asyncio.run(submit_all(base, work))
            while len(approval.applied) < len(prepared) and time.perf_counter() - started < 600:
                time.sleep(0.1)
            drained = time.perf_counter() - started
            stop.set()
        applied_numbers = [body["number"] for body in approval.applied.values()]
        report = {
            "applications": len(work), "failed_user_requests": sum(1 for s in statuses if s not in (200, 201)),
            "submit_wall_seconds": round(wall, 2),
            "submit_latency_ms": {"p50": round(percentile(latencies, 0.5)), "p99": round(percentile(latencies, 0.99))},
            "unloaded_submit_latency_ms": {"p50": round(percentile(unloaded, 0.5)), "p99": round(percentile(unloaded, 0.99))},
            "seconds_until_all_delivered": round(drained, 1),
            "delivered": len(approval.applied), "expected": len(prepared),
            "delivery_attempts": sum(approval.attempts.values()),
            "applied_more_than_once": len(applied_numbers) - len(set(applied_numbers)),
            "refused_signatures": approval.refused_signatures,
        }
    print(json.dumps(report, ensure_ascii=False, indent=2))
    ok = report["failed_user_requests"] == 0 and report["delivered"] == report["expected"] and not report["applied_more_than_once"]
    return 0 if ok else 1


async def submit_all_sequentially(base: str, prepared: list[tuple[str, str]]) -> tuple[list[float], list[int], float]:
    latencies: list[float] = []
    async with httpx.AsyncClient(base_url=base, timeout=60) as http:
        for token, draft in prepared:
            started = time.perf_counter()
            response = await http.post(f"/api/v1/drafts/{draft}/submit", headers={"Authorization": f"Bearer {token}"})
            latencies.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 201, response.text
    return latencies, [], 0.0


if __name__ == "__main__":
    sys.exit(main())
