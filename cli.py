"""The ``rongyiban`` command line: serve, db upgrade, import-catalog, load-demo, eval-search,
eval-routing, eval-dialogue, load-facts, load-policies, create-staff, bench-matching.

Each command reads the settings once, builds what it needs through ``server``'s builders and
prints a short report; a bad setting or an unreachable database is refused in one line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path

from sanic import Sanic

from assistant.catalog import CatalogService
from assistant.dialogue import DialogueManager
from assistant.dialogue_eval import evaluate_dialogues, format_dialogue_report, load_conversations
from assistant.importers import ImportReport, import_catalog
from assistant.search_eval import evaluate, format_report, load_queries
from console.accounts import AccountError, StaffAccounts
from console.roles import ROLES
from intents.demand_router import NearestCategoryName
from intents.routing_eval import evaluate_routing, format_routing
from logs import configure_logging
from policy_graph import benchmark as matching_benchmark
from policy_graph.curation import PolicyCuration
from policy_graph.enterprise_facts import (
    EnterpriseFacts,
    load_nansha_sample,
    parse_fact_rows,
    records_from_rows,
)
from policy_graph.facts import FactCatalogue
from policy_graph.graph import PolicyGraph
from policy_graph.importer import check as check_policy_file
from policy_graph.importer import demo_item_codes, import_policies
from policy_graph.importer import read as read_policy_file
from server import DEMO_CATALOG_DIR, build_dialogue, build_search, create_app, prepare_database
from settings import Settings, SettingsError, load_settings
from store import migrate
from store.audit import AuditLog
from store.database import Database, DatabaseUnavailable


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rongyiban", description="Rong Yi Ban (蓉易办) assistant backend")
    parser.add_argument("--config", help="TOML settings file (default: $RYB_CONFIG_FILE)")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="start the HTTP service")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--workers", type=int)
    serve.add_argument("--print-settings", action="store_true", help="print the effective settings and exit")

    db = commands.add_parser("db", help="database maintenance")
    db.add_argument("action", choices=["upgrade"])

    importer = commands.add_parser("import-catalog", help="import service items into the guide catalog")
    importer.add_argument("--format", required=True, choices=["gdzwfw", "demo"])
    importer.add_argument("path", type=Path)

    commands.add_parser("load-demo", help="load our demo content (guides, FAQ, synonyms)")

    evaluation = commands.add_parser("eval-search", help="batch hit testing: Recall@k and MRR of the search")
    evaluation.add_argument("--queries", required=True, type=Path, help="JSONL of {query, expected: [...]}")
    evaluation.add_argument("--catalog", help="FORMAT:PATH to import into a fresh temporary database first")
    evaluation.add_argument("--top-k", type=int, default=10)
    evaluation.add_argument("--json", action="store_true", help="print one JSON object")

    routing = commands.add_parser("eval-routing", help="12345 demand routing: accuracy and macro-F1 vs a baseline")
    routing.add_argument("--messages", required=True, type=Path, help="CSV with topic, detail, level1")
    routing.add_argument("--json", action="store_true")

    dialogue = commands.add_parser("eval-dialogue", help="scripted multi-turn conversations")
    dialogue.add_argument("file", type=Path, help="JSONL of {id, turns: [{user, expect}]}")
    dialogue.add_argument("--json", action="store_true")
    facts = commands.add_parser("load-facts", help="load enterprise facts (bad rows are reported, not loaded)")
    facts.add_argument("--format", choices=["csv", "nansha"], required=True,
                       help="csv: uscc,key,value,unit,as_of,source; nansha: the enterprises folder of the sample")
    facts.add_argument("path", type=Path)
    policy_file = commands.add_parser("load-policies", help="check and publish a policy YAML file")
    policy_file.add_argument("path", type=Path)
    staff = commands.add_parser("create-staff", help="create a staff account for the console (the first: --role admin)")
    staff.add_argument("--username", required=True)
    staff.add_argument("--name", required=True, help="the person's name as shown in the console and the audit log")
    staff.add_argument("--role", required=True, choices=ROLES)
    staff.add_argument("--password-stdin", action="store_true",
                       help="read the password from standard input (default: ask twice at the terminal)")
    matching = commands.add_parser("bench-matching", help="speed of policy matching on synthetic enterprises")
    matching.add_argument("--enterprises", type=int, default=1_000_000)
    matching.add_argument("--policies", type=int, default=200)
    matching.add_argument("--json", action="store_true")
    return parser


async def _with_database(settings: Settings, action):  # type: ignore[no-untyped-def]
    db = Database(settings.effective_database_url)
    try:
        await db.check()
        await migrate.upgrade(db)
        return await action(db)
    finally:
        await db.dispose()


async def _import(settings: Settings, fmt: str, path: Path) -> ImportReport:
    async def run(db: Database) -> ImportReport:
        return await import_catalog(db, CatalogService(db, AuditLog(db)), fmt, path)

    return await _with_database(settings, run)


async def _eval_search(settings: Settings, queries: Path, catalog_spec: str | None, top_k: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="ryb-eval-") as scratch:
        if catalog_spec:
            # a fresh database, but the configured embedding cache: unchanged text is never re-embedded
            settings = settings.with_overrides(database_url=f"sqlite+aiosqlite:///{scratch}/eval.db", load_demo=False)
        db = await prepare_database(settings)
        executor = ThreadPoolExecutor(max_workers=2)
        try:
            catalog = CatalogService(db, AuditLog(db))
            if catalog_spec:
                fmt, _, path = catalog_spec.partition(":")
                report = await import_catalog(db, catalog, fmt, Path(path))
                print(f"imported {path}: {report.summary()}", file=sys.stderr)
            search = build_search(settings, catalog, executor)
            await search.start()
            await search.wait_for_vectors()
            try:
                return await evaluate(search, load_queries(queries), top_k)
            finally:
                await search.stop()
        finally:
            executor.shutdown()
            await db.dispose()


async def _with_assistant(settings: Settings, action):  # type: ignore[no-untyped-def]
    """A demo-content assistant on a scratch database, as the evaluation commands need."""
    with tempfile.TemporaryDirectory(prefix="ryb-eval-") as scratch:
        settings = settings.with_overrides(database_url=f"sqlite+aiosqlite:///{scratch}/eval.db", load_demo=True)
        db = await prepare_database(settings)
        executor = ThreadPoolExecutor(max_workers=2)
        search = build_search(settings, CatalogService(db, AuditLog(db)), executor)
        try:
            await search.start()
            await search.wait_for_vectors()
            return await action(await build_dialogue(settings, db, search.catalog, search))
        finally:
            await search.stop()
            executor.shutdown()
            await db.dispose()


async def _eval_routing(settings: Settings, messages: Path) -> dict:
    async def run(manager: DialogueManager) -> dict:
        router = manager.demands.router
        baseline = NearestCategoryName(router.embedder, router.categories)
        return await asyncio.get_running_loop().run_in_executor(
            manager.search.executor, evaluate_routing, router, baseline, messages)

    return await _with_assistant(settings, run)


async def _eval_dialogue(settings: Settings, path: Path) -> dict:
    return await _with_assistant(settings, lambda manager: evaluate_dialogues(manager, load_conversations(path)))


async def _load_facts(args: argparse.Namespace, db: Database) -> int:
    catalogue = FactCatalogue.load()
    if args.format == "nansha":
        records, problems = load_nansha_sample(args.path, catalogue)
    else:
        rows, problems = parse_fact_rows(catalogue, args.path)
        records = records_from_rows(rows)
    for problem in problems:
        print(f"{problem.file} row {problem.row} {problem.column}: {problem.message}", file=sys.stderr)
    stored = await EnterpriseFacts(db, catalogue).store_records(records)
    print(f"{len(records)} enterprises, {sum(len(r.facts) for r in records)} facts read, {stored} new or changed, "
          f"{len(problems)} rows refused")
    return 1 if problems and args.format == "csv" else 0


async def _load_policies(args: argparse.Namespace, db: Database) -> int:
    catalogue = FactCatalogue.load()
    document = read_policy_file(args.path)
    problems = check_policy_file(document, catalogue, demo_item_codes())
    for problem in problems:
        print(f"{args.path.name}: {problem}", file=sys.stderr)
    if problems:
        return 1
    graph = PolicyGraph(db, catalogue)
    print(await import_policies(graph, PolicyCuration(db, AuditLog(db), catalogue, graph), document))
    return 0


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    import getpass

    password = getpass.getpass("password: ")
    if getpass.getpass("again: ") != password:
        raise AccountError("password_mismatch", "两次输入的密码不一致")
    return password


async def _create_staff(args: argparse.Namespace, db: Database) -> int:
    try:
        password = _read_password(args.password_stdin)
        staff = await StaffAccounts(db, AuditLog(db)).create("cli", args.username, args.name, args.role, password)
    except AccountError as exc:
        print(f"rongyiban: {exc}", file=sys.stderr)
        return 1
    print(f"created {staff.role} {staff.username} ({staff.display_name})")
    return 0


def _print_report(report: ImportReport) -> int:
    for problem in report.problems:
        print(problem, file=sys.stderr)
    print(report.summary())
    return 1 if report.read == 0 else 0


def _serve(settings: Settings) -> None:
    from sanic.worker.loader import AppLoader

    async def prepare_once() -> None:
        # migrate and seed here, once, so that the workers never race each other to do it
        db = await prepare_database(settings)
        await db.dispose()

    asyncio.run(prepare_once())
    loader = AppLoader(factory=partial(create_app, settings))
    app = loader.load()
    app.prepare(host=settings.host, port=settings.port, workers=settings.workers,
                access_log=False, motd=False)
    Sanic.serve(primary=app, app_loader=loader)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = load_settings(config_file=args.config)
    except (SettingsError, OSError) as exc:
        print(f"rongyiban: bad settings: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level, settings.log_json)
    try:
        if args.command == "serve":
            overrides = {k: getattr(args, k) for k in ("host", "port", "workers") if getattr(args, k)}
            settings = settings.with_overrides(**overrides)
            if args.print_settings:
                print(json.dumps(settings.masked(), ensure_ascii=False, indent=2))
                return 0
            _serve(settings)
        elif args.command == "db":
            asyncio.run(_with_database(settings, lambda db: asyncio.sleep(0)))
            print(f"database is at migration {migrate.head_revision()}")
        elif args.command == "import-catalog":
            if not args.path.exists():
                print(f"rongyiban: {args.path}: no such file or directory", file=sys.stderr)
                return 2
            return _print_report(asyncio.run(_import(settings, args.format, args.path)))
        elif args.command == "load-demo":
            return _print_report(asyncio.run(_import(settings, "demo", DEMO_CATALOG_DIR)))
        elif args.command == "eval-search":
            report = asyncio.run(_eval_search(settings, args.queries, args.catalog, args.top_k))
            print(json.dumps(report, ensure_ascii=False) if args.json else format_report(report))
        elif args.command == "eval-routing":
            report = asyncio.run(_eval_routing(settings, args.messages))
            print(json.dumps(report, ensure_ascii=False) if args.json else format_routing(report))
        elif args.command == "eval-dialogue":
            report = asyncio.run(_eval_dialogue(settings, args.file))
            print(json.dumps(report, ensure_ascii=False) if args.json else format_dialogue_report(report))
        elif args.command in ("load-facts", "load-policies"):
            if not args.path.exists():
                print(f"rongyiban: {args.path}: no such file or directory", file=sys.stderr)
                return 2
            loader = _load_facts if args.command == "load-facts" else _load_policies
            return asyncio.run(_with_database(settings, partial(loader, args)))
        elif args.command == "create-staff":
            return asyncio.run(_with_database(settings, partial(_create_staff, args)))
        elif args.command == "bench-matching":
            report = matching_benchmark.run(args.enterprises, args.policies)
            print(json.dumps(report, ensure_ascii=False) if args.json else matching_benchmark.format_report(report))
    except DatabaseUnavailable as exc:
        print(f"rongyiban: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
