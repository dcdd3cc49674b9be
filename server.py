"""The composition root: ``create_app(settings)`` builds and wires every service (once, in
``before_server_start``) and puts them on the typed ``app.ctx`` (``app_context.AppContext``). The
builders here are shared with the command line (``cli.py``)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path

from sanic import Sanic
from sanic.config import Config

from app_context import AppContext
from assistant.analytics import Analytics
from assistant.catalog import CatalogService
from assistant.demands import DemandDesk, DemandService
from assistant.dialogue import ApplicationLookup, DialogueManager, PolicyLookup
from assistant.guide_drafts import GuideDrafts
from assistant.hit_test import HitTester
from assistant.importers import import_catalog
from assistant.search import SearchService
from assistant.unanswered import UnansweredService
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
from console.accounts import StaffAccounts
from intents.aspects import AspectClassifier
from intents.classifier import IntentClassifier, load_examples
from intents.demand_router import DemandRouter, load_demand_examples
from intents.slots import RegionTable
from logs import configure_logging
from miniapp_api import chat, forms, health, items, login, me, policies, search
from miniapp_api.auth import SessionTokens, signed_in_person
from miniapp_api.health import Readiness
from policy_graph.advisor import PolicyAdvisor
from policy_graph.curation import PolicyCuration
from policy_graph.enterprise_facts import EnterpriseFacts
from policy_graph.facts import FactCatalogue
from policy_graph.graph import PolicyGraph
from policy_graph.importer import import_policies
from policy_graph.importer import read as read_policy_file
from policy_graph.matching import MatchService
from policy_graph.push import PushPlanner, refresh_forever
from retrieval.embedder import make_embedder
from retrieval.embedding_cache import CachedEmbedder, EmbeddingCache
from settings import Settings, load_settings
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
from store.database import Database
from store.outbox import Handler, Outbox, OutboxWorker
from web import middleware
from web.docs import BEARER, STAFF_BEARER
from web.rate_limits import RateLimits, share_between_workers
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

App = Sanic[Config, AppContext]  # the application, its ``ctx`` typed


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
                fact_catalogue = FactCatalogue.load()
                graph = PolicyGraph(db, fact_catalogue)
                if await graph.node_count() == 0:
                    curation = PolicyCuration(db, AuditLog(db), fact_catalogue, graph)
                    for path in sorted(DEMO_POLICIES_DIR.glob("*.yaml")):
                        log.info("loaded demo policies from %s: %s", path.name,
                                 await import_policies(graph, curation, read_policy_file(path)))
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


async def build_dialogue(settings: Settings, db: Database, catalog: CatalogService, search: SearchService, *,
                         applications: ApplicationLookup | None = None,
                         policies: PolicyLookup | None = None) -> DialogueManager:
    """The assistant: intent classifier, demand router and region table from our demo content;
    ``applications`` and ``policies`` answer progress and policy questions where the server has them."""
    if search.embedder is None:
        raise RuntimeError("the assistant needs an embedder (RYB_EMBEDDER is 'none')")
    loop = asyncio.get_running_loop()
    intents = await loop.run_in_executor(
        search.executor, partial(IntentClassifier, search.embedder, load_examples(DEMO_DIR / "intents"),
                                 threshold=settings.intent_min_confidence))
    router = await loop.run_in_executor(
        search.executor, DemandRouter, search.embedder, load_demand_examples(DEMO_DIR / "demands"))
    aspects = await loop.run_in_executor(search.executor, AspectClassifier.load, DEMO_DIR / "aspects" / "aspects.yaml")
    regions = RegionTable.load(DEMO_DIR / "regions" / "chengdu.yaml")
    return DialogueManager(db, catalog, search, intents, regions, DemandService(db, router, regions),
                           session_ttl_seconds=settings.dialogue_ttl_seconds,
                           faq_min_similarity=settings.faq_min_similarity,
                           applications=applications, policies=policies, aspects=aspects)


async def start_dialogue(ctx: AppContext, settings: Settings) -> None:
    """Build the assistant in the background (its models take a while); the chat answers 503 until
    ``ctx.dialogue`` is set. Started once every service it reads is on ``ctx``."""
    readiness = ctx.readiness
    if ctx.search.embedder is None or not settings.assistant:
        readiness.report("assistant", ready=True, enabled=False)
        return
    readiness.report("assistant", ready=False)
    try:
        ctx.dialogue = await build_dialogue(settings, ctx.db, ctx.catalog, ctx.search,
                                            applications=ctx.applications.get, policies=ctx.policy_advisor.for_user)
    except Exception:
        log.exception("the assistant could not be built")
        readiness.report("assistant", ready=False, error="could not be built; see the log")
        raise
    readiness.report("assistant", ready=True)


def build_policy_graph(ctx: AppContext) -> None:
    """The policy graph, enterprise facts, matching (CPU work on the shared pool) and the advisor
    that answers the assistant's policy questions. Two objects over the graph's tables: the reader,
    for everything that only reads what is published, and the curation state machine for the staff
    console, which reads the dated parameters through that same reader."""
    ctx.fact_catalogue = FactCatalogue.load()
    ctx.policy_graph = PolicyGraph(ctx.db, ctx.fact_catalogue)
    ctx.policy_curation = PolicyCuration(ctx.db, ctx.audit, ctx.fact_catalogue, ctx.policy_graph)
    ctx.enterprise_facts = EnterpriseFacts(ctx.db, ctx.fact_catalogue)
    ctx.matches = MatchService(ctx.db, ctx.policy_graph, ctx.enterprise_facts, ctx.fact_catalogue, ctx.executor)
    ctx.policy_advisor = PolicyAdvisor(ctx.policy_graph, ctx.matches, ctx.identities)


def build_smartforms(ctx: AppContext, settings: Settings) -> dict[str, Handler]:
    """Forms, base library, consent, drafts, pre-review, applications and the approval back end;
    returns the outbox handlers they need."""
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


def build_wechat(ctx: AppContext, settings: Settings, clock: Callable[[], float]) -> WeChatCallback | None:
    """The official-account channel, or None (with a log line saying why) until it is configured."""
    missing = [f"RYB_WECHAT_{name.upper()}" for name in ("token", "appid", "secret")
               if not getattr(settings, f"wechat_{name}")]
    if missing:
        log.info("the WeChat official-account channel is off: %s not set", ", ".join(missing))
        return None
    api = WeChatApi(settings.wechat_api_base, settings.wechat_appid, settings.wechat_secret,
                    timeout_seconds=settings.wechat_api_timeout_seconds,
                    tokens=partial(AccessTokenManager, ctx.db, daily_budget=settings.wechat_token_daily_budget))
    senders = WeChatSenders(ctx.db, ctx.outbox, api)
    conversation = Conversation(
        ctx.db, dialogue=ctx.current_dialogue, assistant_enabled=partial(ctx.readiness.enabled, "assistant"),
        menu=parse_menu(settings.wechat_menu))
    inbox = MessageInbox(ctx.db, ctx.outbox, conversation, senders,
                         budget_seconds=settings.wechat_reply_budget_seconds,
                         wake_outbox=ctx.wake_outbox)
    crypto = None
    if settings.wechat_aes_key:
        crypto = MessageCrypto(settings.wechat_token, settings.wechat_aes_key, settings.wechat_appid)
    ctx.wechat_api, ctx.wechat_senders = api, senders
    log.info("the WeChat official-account channel is on (%s mode%s)", "safe/compatible" if crypto else "plaintext",
             "" if crypto else "; set RYB_WECHAT_AES_KEY for encrypted messages")
    return WeChatCallback(settings.wechat_token, crypto, inbox, settings.wechat_timestamp_window_seconds,
                          settings.wechat_max_body_bytes, clock)


def create_app(settings: Settings | None = None, name: str = "rongyiban", *,
               clock: Callable[[], float] = time.time) -> App:
    """``clock`` is the wall clock the WeChat callback checks timestamps against (tests set it)."""
    settings = settings or load_settings()
    configure_logging(settings.log_level, settings.log_json)
    # env_prefix=None: Sanic reads no environment of its own; settings.py is the one place that does
    app: App = Sanic(name, configure_logging=False, env_prefix=None, ctx=AppContext(settings))
    # Sanic refuses a larger body (413) before it is read, its Content-Length at once, a chunked one
    # as soon as it passes the limit. The routes that need another limit stream their bodies and
    # enforce their own while reading (web.bodies.read_body): attachment uploads (RYB_MAX_ATTACHMENT_BYTES)
    # and the WeChat callback (RYB_WECHAT_MAX_BODY_BYTES)
    app.config.REQUEST_MAX_SIZE = settings.max_body_bytes
    app.config.OAS_TITLE = "Rong Yi Ban (蓉易办) assistant API"
    app.config.OAS_VERSION = "1"
    app.config.FALLBACK_ERROR_FORMAT = "json"
    app.ctx.rate_limits = RateLimits(settings.rate_limit_ip_per_second, settings.rate_limit_ip_burst,
                                     settings.rate_limit_user_per_second, settings.rate_limit_user_burst,
                                     identify=signed_in_person)
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
    middleware.install(app)
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
    middleware.answer_preflights(app)  # last: it covers every route registered above

    @app.before_server_start
    async def build_services(app: App) -> None:
        db = await prepare_database(settings)
        audit = AuditLog(db)
        outbox = Outbox(
            db, audit,
            max_attempts=settings.outbox_max_attempts,
            backoff_base_seconds=settings.outbox_backoff_base_seconds,
            backoff_max_seconds=settings.outbox_backoff_max_seconds,
        )
        ctx = app.ctx
        ctx.db = db
        ctx.audit = audit
        ctx.outbox = outbox
        ctx.catalog = CatalogService(db, audit)
        ctx.guide_drafts = GuideDrafts(db, audit, ctx.catalog)
        ctx.demand_desk = DemandDesk(db, audit)
        ctx.analytics = Analytics(db)
        # CPU work (embedding, index search) runs here, never on the event loop
        ctx.executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="ryb-cpu")
        ctx.search = build_search(settings, ctx.catalog, ctx.executor, ctx.readiness)
        await ctx.search.start(sync_seconds=settings.search_sync_seconds)
        ctx.unanswered = UnansweredService(db, ctx.search, audit)
        ctx.hit_tester = HitTester(ctx.search, ctx.current_dialogue)
        ctx.wechat = build_wechat(ctx, settings, clock)
        handlers = build_smartforms(ctx, settings)
        build_policy_graph(ctx)
        ctx.push_planner = PushPlanner(db, ctx.wechat_senders)
        ctx.policy_refresh = asyncio.Event()
        ctx.staff_accounts = StaffAccounts(db, audit, session_hours=settings.staff_session_hours)
        if ctx.wechat is not None and ctx.wechat_senders is not None:
            handlers.update(ctx.wechat_senders.handlers())
            handlers.update(ctx.wechat.inbox.handlers())
            await ctx.wechat.inbox.prune()
        ctx.outbox_worker = OutboxWorker(
            outbox, handlers=handlers,
            poll_seconds=settings.outbox_poll_seconds,
            lease_seconds=settings.outbox_lease_seconds,
            batch_size=settings.outbox_batch_size,
        )
        # the background work starts last, once every service it reads is on ctx
        ctx.outbox_worker.start()
        loop = asyncio.get_running_loop()
        ctx.policy_task = loop.create_task(refresh_forever(
            ctx.matches, ctx.push_planner, settings.policy_refresh_seconds, ctx.policy_refresh))
        ctx.dialogue_task = loop.create_task(start_dialogue(ctx, settings))

    @app.after_server_stop
    async def close_services(app: App) -> None:
        for task in (app.ctx.dialogue_task, app.ctx.policy_task):
            task.cancel()
        await asyncio.gather(app.ctx.dialogue_task, app.ctx.policy_task, return_exceptions=True)
        await app.ctx.outbox_worker.stop()
        for client in (app.ctx.wechat_api, app.ctx.miniapp_wechat, app.ctx.identity_platform):
            if client is not None:
                await client.close()
        if isinstance(app.ctx.base_library, HttpBaseLibrary):
            await app.ctx.base_library.close()
        if isinstance(app.ctx.approval, HttpApprovalBackend):
            await app.ctx.approval.close()
        await app.ctx.search.stop()
        app.ctx.executor.shutdown(wait=True)
        await app.ctx.db.dispose()

    return app

