"""The composition root: ``create_app(settings)`` builds and wires every service, and ``main()``
is the ``rongyiban`` command line (serve, db upgrade, import-catalog, load-demo, eval-search,
eval-routing, eval-dialogue)."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path

from sanic import Sanic

from assistant.analytics import Analytics
from assistant.catalog import CatalogService
from assistant.demands import DemandDesk, DemandService
from assistant.dialogue import DialogueManager
from assistant.dialogue_eval import evaluate_dialogues, format_dialogue_report, load_conversations
from assistant.guide_drafts import GuideDrafts
from assistant.importers import ImportReport, import_catalog
from assistant.search import SearchService
from assistant.search_eval import evaluate, format_report, load_queries
from console import (
    analytics_pages,
    guide_pages,
    hit_test_pages,
    operations_pages,
    policy_api,
    policy_pages,
    staff_api,
    unanswered_pages,
    web,
    workbench_pages,
)
from console.accounts import AccountError, StaffAccounts
from console.roles import ROLES
from intents.classifier import IntentClassifier, load_examples
from intents.demand_router import DemandRouter, NearestCategoryName, load_demand_examples
from intents.routing_eval import evaluate_routing, format_routing
from intents.slots import RegionTable
from logs import configure_logging
from miniapp_api import chat, common, forms, health, items, login, me, policies, search
from miniapp_api.auth import SessionTokens
from miniapp_api.docs import BEARER, STAFF_BEARER
from miniapp_api.health import Readiness
from miniapp_api.rate_limits import RateLimits, share_between_workers
from policy_graph import benchmark as matching_benchmark
from policy_graph.advisor import PolicyAdvisor
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
from policy_graph.matching import MatchService
from policy_graph.push import PushPlanner, refresh_forever
from retrieval.embedder import make_embedder
from retrieval.embedding_cache import CachedEmbedder, EmbeddingCache
from settings import Settings, SettingsError, load_settings
from smartform.applications import HANDOFF, ApplicationService
from smartform.approval import HttpApprovalBackend, Workbench, handoff_handler
from smartform.base_library import DemoBaseLibrary, HttpBaseLibrary
from smartform.consent import ConsentService
from smartform.drafts import DraftService
from smartform.evaluations import Evaluations
from smartform.identity import Identities
from smartform.identity_platform import OidcIdentityPlatform
from smartform.messages import MessageCentre, Subscriptions
from smartform.prefill import PrefillService
from smartform.review import PreReview
from smartform.schemas import load_forms
from smartform.synthetic import seed_demo_library
from smartform.validators import RegionCodes
from store import migrate
from store.audit import AuditLog
from store.database import Database, DatabaseUnavailable
from store.outbox import Outbox, OutboxWorker
from wechat import callback as wechat_callback
from wechat.api import WeChatApi
from wechat.callback import WeChatCallback
from wechat.conversation import Conversation, parse_menu
from wechat.inbox import MessageInbox
from wechat.security import MessageCrypto
from wechat.senders import WeChatSenders
from wechat.tokens import AccessTokenManager

log = logging.getLogger("rongyiban")

DEMO_DIR = Path(__file__).resolve().parent / "demo"
DEMO_CATALOG_DIR = DEMO_DIR / "catalog"
DEMO_POLICIES_DIR = DEMO_DIR / "policies"


async def prepare_database(settings: Settings) -> Database:
    """Reach the database, bring its schema to the newest migration, and on an empty catalog
    load our demo content (if configured). Safe to run again: it changes nothing the second time."""
    db = Database(settings.effective_database_url)
    try:
        await db.check()
        await migrate.upgrade(db)
        if settings.load_demo:
            catalog = CatalogService(db, AuditLog(db))
            if await catalog.count_items() == 0:
                report = await import_catalog(db, catalog, "demo", DEMO_CATALOG_DIR, actor="startup")
                log.info("loaded demo content: %s", report.summary())
            if added := await seed_demo_library(db):
                log.info("seeded the demo base library with %d synthetic records", added)
            if settings.load_demo_policies:
                graph = PolicyGraph(db, AuditLog(db), FactCatalogue.load())
                if await graph.node_count() == 0:
                    for path in sorted(DEMO_POLICIES_DIR.glob("*.yaml")):
                        log.info("loaded demo policies from %s: %s", path.name,
                                 await import_policies(graph, read_policy_file(path)))
    except BaseException:
        await db.dispose()
        raise
    return db


def build_search(settings: Settings, catalog: CatalogService, executor: ThreadPoolExecutor,
                 readiness: Readiness | None = None) -> SearchService:
    embedder = None  # "none": lexical and fuzzy search only
    if settings.embedder != "none":
        embedder = CachedEmbedder(make_embedder(settings.embedder), EmbeddingCache(settings.embedding_cache_path))
    return SearchService(
        catalog, embedder, executor,
        weights={"lexical": settings.search_weight_lexical, "vector": settings.search_weight_vector,
                 "fuzzy": settings.search_weight_fuzzy},
        rrf_k=settings.search_rrf_k, min_confidence=settings.search_min_confidence,
        max_query_chars=settings.search_max_query_chars, readiness=readiness,
    )


async def build_dialogue(settings: Settings, db: Database, catalog: CatalogService,
                         search: SearchService) -> DialogueManager:
    """The assistant: intent classifier, demand router and region table from our demo content."""
    if search.embedder is None:
        raise RuntimeError("the assistant needs an embedder (RYB_EMBEDDER is 'none')")
    loop = asyncio.get_running_loop()
    intents = await loop.run_in_executor(
        search.executor, partial(IntentClassifier, search.embedder, load_examples(DEMO_DIR / "intents"),
                                 threshold=settings.intent_min_confidence))
    router = await loop.run_in_executor(
        search.executor, DemandRouter, search.embedder, load_demand_examples(DEMO_DIR / "demands"))
    regions = RegionTable.load(DEMO_DIR / "regions" / "chengdu.yaml")
    return DialogueManager(db, catalog, search, intents, regions, DemandService(db, router, regions),
                           session_ttl_seconds=settings.dialogue_ttl_seconds,
                           faq_min_similarity=settings.faq_min_similarity)


async def start_dialogue(app: Sanic, settings: Settings) -> None:
    readiness: Readiness = app.ctx.readiness
    if app.ctx.search.embedder is None or not settings.assistant:
        readiness.report("assistant", ready=True, enabled=False)
        return
    readiness.report("assistant", ready=False)
    try:
        manager = await build_dialogue(settings, app.ctx.db, app.ctx.catalog, app.ctx.search)
        manager.applications = app.ctx.applications.get
        manager.policies = PolicyAdvisor(app.ctx.policy_graph, app.ctx.matches, app.ctx.identities).for_user
        app.ctx.dialogue = manager
    except Exception:
        log.exception("the assistant could not be built")
        readiness.report("assistant", ready=False, error="could not be built; see the log")
        raise
    readiness.report("assistant", ready=True)


def build_policy_graph(app: Sanic) -> None:
    """The policy graph, enterprise facts and matching (CPU work on the shared pool)."""
    ctx = app.ctx
    ctx.fact_catalogue = FactCatalogue.load()
    ctx.policy_graph = PolicyGraph(ctx.db, ctx.audit, ctx.fact_catalogue)
    ctx.enterprise_facts = EnterpriseFacts(ctx.db, ctx.fact_catalogue)
    ctx.matches = MatchService(ctx.db, ctx.policy_graph, ctx.enterprise_facts, ctx.fact_catalogue, ctx.executor)


def build_smartforms(app: Sanic, settings: Settings) -> dict:
    """Forms, base library, consent, drafts, pre-review, applications and the approval back end;
    returns the outbox handlers they need."""
    ctx = app.ctx
    ctx.forms = load_forms(DEMO_DIR / "forms")
    if settings.base_library_url:
        ctx.base_library = HttpBaseLibrary(settings.base_library_url, settings.base_library_app_key,
                                           settings.base_library_secret,
                                           timeout_seconds=settings.base_library_timeout_seconds)
    else:
        ctx.base_library = DemoBaseLibrary(ctx.db)
    regions = RegionCodes.from_csv(Path(settings.region_codes_file)) if settings.region_codes_file else None
    ctx.tokens = SessionTokens(ctx.db, ttl_hours=settings.session_ttl_hours)
    ctx.identity_platform = OidcIdentityPlatform(
        settings.oidc_issuer, settings.oidc_client_id, settings.oidc_client_secret, settings.oidc_redirect_uri,
        high_acr_values=frozenset(v.strip() for v in settings.oidc_high_acr_values.split(",") if v.strip()),
        id_number_claim=settings.oidc_id_number_claim, timeout_seconds=settings.oidc_timeout_seconds,
    ) if settings.oidc_issuer else None
    ctx.identities = Identities(ctx.db, ctx.base_library, settings.secret_key, ctx.audit, ctx.identity_platform)
    ctx.identity_provider = None
    if settings.miniapp_appid and settings.miniapp_secret:
        ctx.miniapp_wechat = WeChatApi(settings.wechat_api_base, settings.miniapp_appid, settings.miniapp_secret,
                                       timeout_seconds=settings.wechat_api_timeout_seconds)
        ctx.identity_provider = login.WeChatLogin(ctx.miniapp_wechat)
    ctx.consents = ConsentService(ctx.db, ctx.audit, ttl_days=settings.consent_ttl_days)
    ctx.drafts = DraftService(ctx.db, PrefillService(ctx.db, ctx.audit, ctx.consents, ctx.base_library),
                              settings.attachment_path, ttl_days=settings.draft_ttl_days)
    ctx.applications = ApplicationService(
        ctx.db, ctx.outbox, ctx.catalog, ctx.drafts, PreReview(ctx.base_library, regions),
        subscribe_template=settings.subscribe_template_application_status, senders=ctx.wechat_senders)
    ctx.evaluations = Evaluations(ctx.db, audit=ctx.audit)
    ctx.messages = MessageCentre(ctx.db)
    ctx.subscriptions = Subscriptions(ctx.db)
    if settings.approval_url:
        ctx.approval = HttpApprovalBackend(settings.approval_url, settings.approval_secret,
                                           timeout_seconds=settings.approval_timeout_seconds)
    else:
        ctx.approval = Workbench(ctx.db, ctx.applications, ctx.audit)
    ctx.workbench = ctx.approval if isinstance(ctx.approval, Workbench) else None
    return {HANDOFF: handoff_handler(ctx.applications, ctx.approval)}


def build_wechat(app: Sanic, settings: Settings, clock: Callable[[], float]) -> WeChatCallback | None:
    """The official-account channel, or None (with a log line saying why) until it is configured."""
    missing = [f"RYB_WECHAT_{name.upper()}" for name in ("token", "appid", "secret")
               if not getattr(settings, f"wechat_{name}")]
    if missing:
        log.info("the WeChat official-account channel is off: %s not set", ", ".join(missing))
        return None
    ctx = app.ctx
    api = WeChatApi(settings.wechat_api_base, settings.wechat_appid, settings.wechat_secret,
                    timeout_seconds=settings.wechat_api_timeout_seconds)
    api.tokens = AccessTokenManager(ctx.db, api, daily_budget=settings.wechat_token_daily_budget)
    senders = WeChatSenders(ctx.db, ctx.outbox, api)
    conversation = Conversation(
        ctx.db, dialogue=lambda: ctx.dialogue,
        assistant_enabled=lambda: ctx.readiness.components.get("assistant", {}).get("enabled", True) is not False,
        menu=parse_menu(settings.wechat_menu))
    inbox = MessageInbox(ctx.db, ctx.outbox, conversation, senders,
                         budget_seconds=settings.wechat_reply_budget_seconds,
                         wake_outbox=lambda: ctx.outbox_worker.wake())
    crypto = None
    if settings.wechat_aes_key:
        crypto = MessageCrypto(settings.wechat_token, settings.wechat_aes_key, settings.wechat_appid)
    ctx.wechat_api, ctx.wechat_senders = api, senders
    log.info("the WeChat official-account channel is on (%s mode%s)", "safe/compatible" if crypto else "plaintext",
             "" if crypto else "; set RYB_WECHAT_AES_KEY for encrypted messages")
    return WeChatCallback(settings.wechat_token, crypto, inbox, settings.wechat_timestamp_window_seconds,
                          settings.wechat_max_body_bytes, clock)


def create_app(settings: Settings | None = None, name: str = "rongyiban", *,
               clock: Callable[[], float] = time.time) -> Sanic:
    """``clock`` is the wall clock the WeChat callback checks timestamps against (tests set it)."""
    settings = settings or load_settings()
    configure_logging(settings.log_level, settings.log_json)
    # env_prefix=None: Sanic reads no environment of its own; settings.py is the one place that does
    app = Sanic(name, configure_logging=False, env_prefix=None)
    # Sanic refuses a larger body (413) before it is read, its Content-Length at once, a chunked one
    # as soon as it passes the limit. The routes that need another limit stream their bodies and
    # enforce their own while reading (common.read_body): attachment uploads (RYB_MAX_ATTACHMENT_BYTES)
    # and the WeChat callback (RYB_WECHAT_MAX_BODY_BYTES)
    app.config.REQUEST_MAX_SIZE = settings.max_body_bytes
    app.config.OAS_TITLE = "Rong Yi Ban (蓉易办) assistant API"
    app.config.OAS_VERSION = "1"
    app.config.FALLBACK_ERROR_FORMAT = "json"
    app.ctx.settings = settings
    app.ctx.readiness = Readiness()
    app.ctx.rate_limits = RateLimits(settings.rate_limit_ip_per_second, settings.rate_limit_ip_burst,
                                     settings.rate_limit_user_per_second, settings.rate_limit_user_burst)
    share_between_workers(app)  # under `rongyiban serve`, one set of buckets for all its workers
    # sanic-ext would add a HEAD route per GET route one at a time, re-finalising the router each
    # time (about a second per start); no client of ours sends HEAD
    app.config.HTTP_AUTO_HEAD = False
    app.config.CORS_ORIGINS = settings.cors_origins  # sanic-ext answers preflights and adds the headers
    app.config.CORS_EXPOSE_HEADERS = "X-Request-ID, ETag, Retry-After"
    # app.ext sets sanic-ext up from app.config: only once the configuration above is complete
    app.ext.openapi.add_security_scheme(BEARER, "http", scheme="bearer", bearer_format="opaque session token",
                                        description="the token from POST /api/v1/auth/login")
    app.ext.openapi.add_security_scheme(STAFF_BEARER, "http", scheme="bearer", bearer_format="opaque session token",
                                        description="a staff token from POST /api/v1/staff/sessions")
    common.install(app)
    app.blueprint(health.bp)
    app.blueprint(items.bp)
    app.blueprint(search.bp)
    app.blueprint(chat.bp)
    app.blueprint(forms.bp)
    app.blueprint(login.bp)
    app.blueprint(me.bp)
    app.blueprint(policies.bp)
    app.blueprint(wechat_callback.bp)
    app.blueprint(staff_api.bp)
    app.blueprint(policy_api.bp)
    web.install(app, [guide_pages.bp, policy_pages.bp, hit_test_pages.bp, unanswered_pages.bp, workbench_pages.bp,
                      operations_pages.bp, analytics_pages.bp])
    common.answer_preflights(app)  # last: it covers every route registered above

    @app.before_server_start
    async def build_services(app: Sanic) -> None:
        db = await prepare_database(settings)
        audit = AuditLog(db)
        outbox = Outbox(
            db, audit,
            max_attempts=settings.outbox_max_attempts,
            backoff_base_seconds=settings.outbox_backoff_base_seconds,
            backoff_max_seconds=settings.outbox_backoff_max_seconds,
        )
        app.ctx.db = db
        app.ctx.audit = audit
        app.ctx.outbox = outbox
        app.ctx.catalog = CatalogService(db, audit)
        app.ctx.guide_drafts = GuideDrafts(db, audit, app.ctx.catalog)
        app.ctx.demand_desk = DemandDesk(db, audit)
        app.ctx.analytics = Analytics(db)
        # CPU work (embedding, index search) runs here, never on the event loop
        app.ctx.executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="ryb-cpu")
        app.ctx.search = build_search(settings, app.ctx.catalog, app.ctx.executor, app.ctx.readiness)
        await app.ctx.search.start(sync_seconds=settings.search_sync_seconds)
        app.ctx.dialogue = None  # the chat answers 503 until the assistant's models are built
        app.ctx.dialogue_task = asyncio.get_running_loop().create_task(start_dialogue(app, settings))
        app.ctx.wechat_api = app.ctx.wechat_senders = None
        app.ctx.wechat = build_wechat(app, settings, clock)
        handlers = build_smartforms(app, settings)
        build_policy_graph(app)
        app.ctx.push_planner = PushPlanner(app.ctx.db, app.ctx.wechat_senders)
        app.ctx.policy_refresh = asyncio.Event()  # set by staff publishing: rematch now, not at the next round
        app.ctx.policy_task = asyncio.get_running_loop().create_task(refresh_forever(
            app.ctx.matches, app.ctx.push_planner, settings.policy_refresh_seconds, app.ctx.policy_refresh))
        app.ctx.staff_accounts = StaffAccounts(db, audit, session_hours=settings.staff_session_hours)
        if app.ctx.wechat is not None:
            handlers.update(app.ctx.wechat_senders.handlers())
            handlers.update(app.ctx.wechat.inbox.handlers())
            await app.ctx.wechat.inbox.prune()
        app.ctx.outbox_worker = OutboxWorker(
            outbox, handlers=handlers,
            poll_seconds=settings.outbox_poll_seconds,
            lease_seconds=settings.outbox_lease_seconds,
            batch_size=settings.outbox_batch_size,
        )
        app.ctx.outbox_worker.start()

    @app.after_server_stop
    async def close_services(app: Sanic) -> None:
        for task in (app.ctx.dialogue_task, app.ctx.policy_task):
            task.cancel()
        await asyncio.gather(app.ctx.dialogue_task, app.ctx.policy_task, return_exceptions=True)
        await app.ctx.outbox_worker.stop()
        if app.ctx.wechat_api is not None:
            await app.ctx.wechat_api.close()
        for client in (app.ctx.base_library, app.ctx.approval, getattr(app.ctx, "miniapp_wechat", None),
                       app.ctx.identity_platform):
            if hasattr(client, "close"):
                await client.close()
        await app.ctx.search.stop()
        app.ctx.executor.shutdown(wait=True)
        await app.ctx.db.dispose()

    return app


# --- the command line --------------------------------------------------------------------
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
    print(await import_policies(PolicyGraph(db, AuditLog(db), catalogue), document))
    return 0


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    import getpass

    password = getpass.getpass("password: ")
    if getpass.getpass("again: ") != password:
        raise AccountError(422, "password_mismatch", "两次输入的密码不一致")
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
