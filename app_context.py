"""``AppContext``: what ``app.ctx`` holds — every service ``server.create_app`` builds, with its type.

The settings, the readiness board and the rate limits are set in ``create_app``; the services
are assigned once, in ``before_server_start`` (``server.build_services``), before the first request.
The attributes with a default of None stay None when their channel or back end is not configured.
Sanic and sanic-ext add attributes of their own (``cors`` and private ones), so this is a plain
class rather than one with slots.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sanic import Request
from sanic.response import HTTPResponse

from assistant.analytics import Analytics
from assistant.catalog import CatalogService
from assistant.demands import DemandDesk
from assistant.dialogue import DialogueManager
from assistant.guide_drafts import GuideDrafts
from assistant.hit_test import HitTester
from assistant.search import SearchService
from assistant.unanswered import UnansweredService
from console.accounts import StaffAccounts
from miniapp_api.auth import SessionTokens
from miniapp_api.health import Readiness
from miniapp_api.login import IdentityProvider
from policy_graph.advisor import PolicyAdvisor
from policy_graph.curation import PolicyCuration
from policy_graph.enterprise_facts import EnterpriseFacts
from policy_graph.facts import FactCatalogue
from policy_graph.graph import PolicyGraph
from policy_graph.matching import MatchService
from policy_graph.push import PushPlanner
from settings import Settings
from smartform.applications import ApplicationService
from smartform.approval import ApprovalBackend, Workbench
from smartform.base_library import BaseLibrary
from smartform.consent import ConsentService
from smartform.drafts import DraftService
from smartform.evaluations import Evaluations
from smartform.identity import Identities
from smartform.identity_platform import OidcIdentityPlatform
from smartform.messages import MessageCentre, Subscriptions
from smartform.schemas import FormSchema
from store.audit import AuditLog
from store.database import Database
from store.outbox import Outbox, OutboxWorker
from web.rate_limits import RateLimits
from wechat.api import WeChatApi
from wechat.callback import WeChatCallback
from wechat.senders import WeChatSenders

# how an HTTP layer renders an error as a page under its path prefix (request, status, code, message, details)
ErrorPage = Callable[[Request, int, str, str, Any], HTTPResponse]


class AppContext:
    # from create_app on
    settings: Settings
    readiness: Readiness
    rate_limits: RateLimits
    html_errors: dict[str, ErrorPage]
    # the store and the CPU pool
    db: Database
    audit: AuditLog
    outbox: Outbox
    outbox_worker: OutboxWorker
    executor: ThreadPoolExecutor
    # the guide catalog, search and the assistant
    catalog: CatalogService
    guide_drafts: GuideDrafts
    demand_desk: DemandDesk
    analytics: Analytics
    search: SearchService
    unanswered: UnansweredService
    hit_tester: HitTester
    dialogue: DialogueManager | None = None  # None until the assistant's models are built (or when off)
    dialogue_task: asyncio.Task[None]
    # smart forms
    forms: dict[str, FormSchema]
    base_library: BaseLibrary
    tokens: SessionTokens
    identity_platform: OidcIdentityPlatform | None = None
    identities: Identities
    identity_provider: IdentityProvider | None = None
    miniapp_wechat: WeChatApi | None = None
    consents: ConsentService
    drafts: DraftService
    applications: ApplicationService
    evaluations: Evaluations
    messages: MessageCentre
    subscriptions: Subscriptions
    approval: ApprovalBackend
    workbench: Workbench | None = None  # the approval back end when it is the embedded workbench
    # the policy graph
    fact_catalogue: FactCatalogue
    policy_graph: PolicyGraph  # reading: matching, the advisor, push, the mini-program, console pages
    policy_curation: PolicyCuration  # drafts, review, publishing: the staff console only
    enterprise_facts: EnterpriseFacts
    matches: MatchService
    policy_advisor: PolicyAdvisor
    push_planner: PushPlanner
    policy_refresh: asyncio.Event  # set by staff publishing: rematch now, not at the next round
    policy_task: asyncio.Task[None]
    # the WeChat official account, when configured
    wechat: WeChatCallback | None = None
    wechat_api: WeChatApi | None = None
    wechat_senders: WeChatSenders | None = None
    # the console
    staff_accounts: StaffAccounts

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.readiness = Readiness()
        self.html_errors = {}

    def current_dialogue(self) -> DialogueManager | None:
        """The assistant, or None while it is starting (it is built after the server starts)."""
        return self.dialogue

    def wake_outbox(self) -> None:
        """Deliver due jobs now rather than at the worker's next poll (the worker is built last)."""
        self.outbox_worker.wake()
