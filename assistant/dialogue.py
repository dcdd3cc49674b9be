"""The dialogue manager (对话管理): one turn in, one channel-neutral ``Reply`` out.

It keeps per-user, per-channel state in the database with a time-to-live (the current item, the
options it offered), so follow-ups ("那要多久", "这个在哪办") resolve against the current item, a
numbered choice ("2", "第二个", or the item's name) picks one of the offered options, a new topic
replaces the old one, and "重新开始" resets. Answers are rendered from curated records only; when
retrieval is not confident it says so, offers the closest items as options (never as the answer)
and points to the 12345 hotline or a human.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from typing import TYPE_CHECKING, Any, Protocol

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from assistant import situations
from assistant.answers import AnswerRenderer
from assistant.catalog import CatalogService, ItemRecord
from assistant.demands import DemandService
from assistant.item_answers import ItemAnswerer
from assistant.reply import Card, Reply, Source
from assistant.search import SearchResult, SearchService
from intents.aspects import (
    ASPECT_PATTERNS,
    ASPECT_WORDS,
    AspectClassifier,
    pattern_aspects,
    read_aspects,
    yes_no_form,
)
from intents.classifier import IntentClassifier, IntentDecision
from intents.slots import RegionTable, extract_slots, find_aspect
from logs import mask_personal_data
from retrieval.lexical import Tokenizer, normalize_text
from retrieval.vector import VectorIndex
from store.database import Database
from store.tables.base import utcnow
from store.tables.dialogue import chat_turns, dialogue_sessions

if TYPE_CHECKING:
    from policy_graph.advisor import PolicyAnswer

MAX_TEXT = 2000  # longer pastes are cut here; the rest is not read
RESET = re.compile(r"^(重新开始|重来|重新来|清空|从头开始|reset|restart)[。.!！]*$")
_THANKS = re.compile(r"谢|感谢|thank|辛苦")
_PRONOUN = re.compile(r"这个|那个|它|这|那|上面|刚才")
_FILLER = re.compile(r"有没有|[吗呢吧啊呀哦嘛了的么要得需我你是还请问一下就都也能可以怎么样如何什么啥子咋个多少一般才]")
_CHINESE_NUMERALS = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5}
_CHOICE = re.compile(r"^(?:第)?\s*([1-5一二两三四五])\s*(?:个|项|条|号)?(?:吧|呀|啊|。)?$")
CLARIFY_BAND = 0.9  # results within this share of the top fused score are "just as likely"
IN_SCOPE_AFTER_ALL = 0.9  # a search this sure overrules an out-of-scope intent ("公积金利率多少")
UNKNOWN_TOPIC_COSINE = 0.9  # below it, a best match for a question with unknown words is a guess
CONTEXT_BAND = 0.75  # the current item wins if it is at least this close to the top result
MAX_OPTIONS = 4
# words of doing anything, not of doing one thing: they never tell two items apart
_PROCEDURE_WORDS = {"申请", "办理", "申领", "登记", "办证", "手续", "证明", "补办", "怎么", "需要", "材料", "多久"}


LONG_STORY = 40  # characters; a message longer than this is searched again on its question clauses
_CLAUSE_END = re.compile(r"[，。！？!?；;,\s]+")
_ASKS = re.compile(r"吗|呢|嘛|怎么|咋|哪|多少|好多|几|什么|啥|能不能|可不可以|要不要|需不需要|[?？]|不$")


def asking_clauses(text: str) -> list[str]:
    """The clauses of a long message that ask something, last first; the message itself when short."""
    if len(text) <= LONG_STORY:
        return [text]
    asking = [c for c in _CLAUSE_END.split(text) if c and _ASKS.search(c)]
    return asking[::-1] or [text]


def question_clauses(text: str, names_an_item: Callable[[str], bool]) -> str:
    """Of a long message, the clauses that name an item and the clause that asks; the message
    itself when it is short or no clause asks."""
    if len(text) <= LONG_STORY:
        return text
    clauses = [c for c in _CLAUSE_END.split(text) if c]
    asking = [n for n, c in enumerate(clauses) if _ASKS.search(c)]
    if not asking:
        return text
    kept = [c for n, c in enumerate(clauses) if n == asking[-1] or names_an_item(c)]
    return "，".join(kept)


class ApplicationStatus(Protocol):
    """An application as the progress answer shows it (``smartform.applications.Application``)."""

    def to_json(self) -> dict[str, Any]: ...


class ApplicationLookup(Protocol):
    """``ApplicationService.get``: the application with that number, or None if absent or (with
    ``owner``) someone else's."""

    async def __call__(self, number: str, owner: str | None = None) -> ApplicationStatus | None: ...


class PolicyLookup(Protocol):
    """``PolicyAdvisor.for_user``: what the policy graph says about a question from ``owner`` (or
    nobody), with ``current`` the policy item the conversation is about; None if nothing."""

    async def __call__(self, text: str, owner: str | None, current: str | None) -> PolicyAnswer | None: ...


@dataclass
class DialogueState:
    item: str | None = None  # the current item's code
    options: list[str] = field(default_factory=list)  # codes offered in the last clarification
    pending_aspect: str | None = None  # the aspect asked before we had to clarify
    policy: str | None = None  # the policy item last answered about
    situation: str | None = None  # the current item's situation (its id), once named or chosen
    situation_options: list[str] = field(default_factory=list)  # situation ids offered in the last question
    aspect: str | None = None  # the aspect last answered ("那丢了的话呢" asks it again for another situation)

    def to_json(self) -> dict[str, Any]:
        return {"item": self.item, "options": self.options, "pending_aspect": self.pending_aspect,
                "policy": self.policy, "situation": self.situation, "situation_options": self.situation_options,
                "aspect": self.aspect}


SIGNED_IN = "u"  # the marker of a signed-in user's session in its key; a channel's own ids have no ":"


def signed_in_session(owner: str, session_id: str) -> str:
    """The dialogue ``user`` of a signed-in user's session. Their user id is part of the session's
    key (``<channel>:u:<user id>:<session id>``), so every turn logged under it is provably theirs
    (``session_owner``) and nobody holding only the session id can continue it or rate its answers."""
    return f"{SIGNED_IN}:{owner}:{session_id}"


def session_owner(session_key: str) -> str | None:
    """The signed-in user a session key belongs to; None for an anonymous session or another channel's
    user (session ids and WeChat openids contain no ":", so none of them looks like a signed-in key)."""
    parts = session_key.split(":", 3)
    return parts[2] if len(parts) == 4 and parts[1] == SIGNED_IN and parts[2] else None


@dataclass
class Turn:
    turn_id: int
    reply: Reply


@dataclass
class DryRun:
    """What the assistant would answer to a first message, and how it classified it (for the
    console's hit testing); ``decision`` is None when the message never reached the classifier."""

    reply: Reply
    decision: IntentDecision | None


class FaqMatcher:
    """Nearest curated FAQ question, compared as query to query."""

    def __init__(self, search: SearchService) -> None:
        self.search = search
        self.index: VectorIndex | None = None
        self.entries: dict[str, Any] = {}
        self.versions: dict[str, int] = {}
        self._kb_version: int | None = None

    async def refresh(self, catalog: CatalogService) -> None:
        if self.search.embedder is None:
            return
        version = await catalog.kb_version()
        if version == self._kb_version:
            return
        entries = {e.id: e for e in await catalog.faq()}
        versions = await catalog.faq_versions()
        ids = list(entries)
        loop = asyncio.get_running_loop()
        vectors = await loop.run_in_executor(
            self.search.executor, self.search.embedder.embed_examples, [normalize_text(entries[i].question) for i in ids])
        index = VectorIndex(self.search.embedder.dim)
        for faq_id, vector in zip(ids, vectors, strict=True):
            index.upsert(faq_id, vector, ["question"])
        self.index, self.entries, self.versions, self._kb_version = index, entries, versions, version

    def best(self, query_vector: Any) -> tuple[Any, float] | None:
        if self.index is None or query_vector is None:
            return None
        hits = self.index.search(query_vector, 1)
        return (self.entries[hits[0][0]], hits[0][1]) if hits else None


class DialogueManager:
    def __init__(
        self,
        db: Database,
        catalog: CatalogService,
        search: SearchService,
        intents: IntentClassifier,
        regions: RegionTable,
        demands: DemandService,
        *,
        session_ttl_seconds: float = 1800,
        faq_min_similarity: float = 0.95,
        applications: ApplicationLookup | None = None,
        policies: PolicyLookup | None = None,
        aspects: AspectClassifier | None = None,
    ) -> None:
        self.db = db
        self.catalog = catalog
        self.search = search
        self.intents = intents
        self.regions = regions
        self.demands = demands
        self.renderer = AnswerRenderer()
        self.faq = FaqMatcher(search)
        self.aspects = aspects  # None: aspects from their words only
        embedder = search.embedder
        self.answerer = ItemAnswerer(
            self.renderer, Tokenizer(), embedder,
            (lambda question: embedder.embed_queries([normalize_text(question)])[0]) if embedder is not None else None)
        self.session_ttl = timedelta(seconds=session_ttl_seconds)
        self.faq_min_similarity = faq_min_similarity
        # None where there are no smart forms (progress questions then name tickets only) or no
        # policy graph (policy questions then go to the guide search)
        self.applications = applications
        self.policies = policies

    # --- one turn ---------------------------------------------------------------------
    async def handle(self, channel: str, user: str, text: str, *, owner: str | None = None) -> Turn:
        """One turn. ``owner`` is the signed-in user, when the channel knows one: only they can
        hear about their applications, and about the 12345 tickets they filed from another session
        (a ticket is otherwise heard about only in the session that filed it — for WeChat, the
        follower's openid)."""
        started = time.perf_counter()
        session_key = f"{channel}:{user}"[:200]
        text = (text or "").strip()[:MAX_TEXT]
        state = await self._load(session_key)
        reply = await self._respond(session_key, channel, text, state, owner)
        await self._save(session_key, state)
        turn_id = await self._log(session_key, channel, text, reply, (time.perf_counter() - started) * 1000)
        return Turn(turn_id, reply)

    async def dry_run(self, text: str) -> DryRun:
        """The reply a citizen starting a new conversation with ``text`` would get, through the very
        same answering path, but stored nowhere: no session is read or written, no turn is logged,
        no 12345 ticket is registered (the reply shows the ticket without a number), and the search
        is not logged either."""
        text = (text or "").strip()[:MAX_TEXT]
        decisions: list[IntentDecision] = []
        reply = await self._respond("console:dry-run", "console", text, DialogueState(), None,
                                    dry_run=True, decisions=decisions)
        return DryRun(reply, decisions[0] if decisions else None)

    async def _respond(self, session_key: str, channel: str, text: str, state: DialogueState,
                       owner: str | None = None, *, dry_run: bool = False,
                       decisions: list[IntentDecision] | None = None) -> Reply:
        norm = normalize_text(text)
        if not norm:
            return Reply(self.renderer.text("empty.j2"), intent="greeting", confidence=1.0, no_answer=True)
        if RESET.match(norm):
            state.item, state.options, state.pending_aspect, state.policy = None, [], None, None
            state.situation, state.situation_options, state.aspect = None, [], None
            return Reply(self.renderer.text("greeting.j2", thanks=False), intent="greeting")

        slots = extract_slots(text, self.regions)
        # a long story's background ("单位说要办些手续") is not what it asks: read its asking clause
        aspects: list[str] = []
        for clause in asking_clauses(text):
            aspects = read_aspects(clause, self.aspects)
            if aspects:
                break
        if not aspects and yes_no_form(text) == "can":
            aspects = ["条件"]  # "还没结婚能办生育登记吗": whether one may is a question of conditions
        slots.aspect = aspects[0] if aspects else None
        if state.situation_options and state.item:
            reply = await self._situation_chosen(text, aspects, state)
            if reply is not None:
                return reply
        if state.options:
            chosen = self._choice(norm, state.options)
            if chosen is not None:
                chosen_aspects = aspects or ([state.pending_aspect] if state.pending_aspect else [])
                state.item, state.options, state.pending_aspect = chosen, [], None
                return await self._answer_item(chosen, chosen_aspects, text, state, intent="consult", confidence=1.0)

        loop = asyncio.get_running_loop()
        decision = await loop.run_in_executor(self.search.executor, self.intents.classify, text)
        if decisions is not None:
            decisions.append(decision)
        intent = decision.intent
        if intent == "human":
            return Reply(self.renderer.text("human.j2"), intent="human", confidence=decision.confidence,
                         no_answer=True)
        if intent == "greeting":
            return Reply(self.renderer.text("greeting.j2", thanks=bool(_THANKS.search(norm))), intent="greeting",
                         confidence=decision.confidence, no_answer=True)
        # "审批要几天" without a number is a question about an item, not about an application
        if intent == "progress" and (slots.ticket_numbers or slots.application_numbers or not slots.aspect):
            return await self._progress(slots, decision.confidence, session_key, owner)
        if intent == "demand":
            ticket = (self.demands.draft(session_key, text) if dry_run
                      else await self.demands.create(session_key, channel, text, user_id=owner))
            return Reply(self.renderer.text("demand_created.j2", ticket=ticket), intent="demand",
                         confidence=decision.confidence, no_answer=True,
                         quick_replies=[f"查询工单{ticket.number}"] if ticket.number else [])
        if self.policies is not None and (intent == "policy" or state.policy):
            reply = await self._policy(text, state, owner, decision.confidence)
            if reply is not None:
                return reply
        result = await self.search.search(text, top_k=MAX_OPTIONS + 1, channel=None)
        focus = question_clauses(text, self.search.names_an_item)
        if focus != text:
            # a long story: the question is usually in its last sentences, the rest is background
            # that pulls the search elsewhere; the more confident of the two searches wins
            focused = await self.search.search(focus, top_k=MAX_OPTIONS + 1, channel=None)
            if focused.confidence > result.confidence:
                result = focused
        if intent == "out_of_scope" and result.confidence < IN_SCOPE_AFTER_ALL:
            return Reply(self.renderer.text("out_of_scope.j2"), intent="out_of_scope",
                         confidence=decision.confidence, no_answer=True)
        return await self._consult(text, norm, slots, aspects, state, result,
                                   "policy" if intent == "policy" else "consult")

    async def _consult(self, text: str, norm: str, slots, aspects: list[str], state: DialogueState,  # type: ignore[no-untyped-def]
                       result: SearchResult, intent: str) -> Reply:
        content = self._content_left(norm)
        if (state.item and not pattern_aspects(text) and len(content) <= 6
                and await self._names_situation(state.item, text)):
            # "那丢了的话呢": the current item in another situation, the aspect asked last
            return await self._answer_item(state.item, [state.aspect] if state.aspect else [], text, state,
                                           intent=intent, confidence=1.0)
        if state.item and slots.aspect and ((len(content) <= 4 and not self.search.names_an_item(content))
                                            or (result.results and result.results[0].code == state.item)):
            # "那要多久", "收不收费", "多久能批下来": about the current item, not a new one
            return await self._answer_item(state.item, aspects, text, state, intent=intent, confidence=1.0)
        if slots.aspect and len(content) <= 1:  # "要多久" with no item in the conversation
            return Reply(self.renderer.text("which_item.j2"), intent=intent, confidence=1.0, aspect=slots.aspect,
                         no_answer=True)

        codes = [hit.code for hit in result.results]
        named = [hit for hit in result.results
                 if any(normalize_text(n) in norm for n in (hit.name, *self.search.items[hit.code].aliases) if len(n) >= 3)]
        if result.no_good_match or not codes or (not named and self._about_something_else(norm, result)):
            state.options, state.pending_aspect = codes[:3], slots.aspect
            return Reply(self.renderer.text("not_sure.j2", options=[h.name for h in result.results[:3]]),
                         intent=intent, confidence=result.confidence, aspect=slots.aspect, no_answer=True,
                         quick_replies=[*(h.name for h in result.results[:3]), "转人工"])
        top = result.results[0].score
        close = [hit for hit in result.results if hit.score >= top * CLARIFY_BAND][:MAX_OPTIONS]
        current = next((hit for hit in result.results if hit.code == state.item), None)
        if len(named) == 1:
            close = named  # the person named one of them
        elif current is not None and current.score >= top * CONTEXT_BAND:
            close = [current]  # the conversation is already about one of the likely items
        alternatives: list[str] = []
        if len(close) > 1:
            lead = await self._leading(norm, close)
            if lead is not None:
                # the person's words point to one of them: answer it, offer the others
                alternatives = [h.name for h in close if h is not lead]
                close = [lead]
        if len(close) > 1:
            close.sort(key=lambda hit: hit.code)  # a stable order, so "2" means the same thing every time
            state.options, state.pending_aspect = [h.code for h in close], slots.aspect
            return Reply(self.renderer.text("clarify.j2", options=[h.name for h in close]), intent=intent,
                         confidence=result.confidence, aspect=slots.aspect, needs_clarification=True,
                         quick_replies=[h.name for h in close],
                         cards=[Card(title=h.name, description=h.department, item_code=h.code) for h in close])
        codes = [close[0].code, *codes]
        if state.item != codes[0]:
            state.situation = None  # a new item: the old one's situation says nothing about it
        state.item, state.options, state.pending_aspect = codes[0], [], None
        # a curated FAQ answer, when the question is (nearly) one of that item's FAQ questions
        reply = await self._faq(norm, slots.aspect, codes[0])
        if reply is None:
            reply = await self._answer_item(codes[0], aspects, text, state, intent=intent,
                                            confidence=result.confidence)
        elif (record := await self.catalog.get_item(codes[0])) is not None:
            case = situations.detect(record.item, text)
            reply.situation = case.name if case else None
        if alternatives:
            reply.quick_replies = [*alternatives[:2], *reply.quick_replies][:5]
        return reply

    async def _leading(self, norm: str, close: list[Any]) -> Any | None:
        """The one of several equally likely items that the person's own words point to: a word of its
        name, aliases or situations ("租房" → 住房公积金提取, "补贴" → 残疾人两项补贴) that none of
        the others has. None when no word, or words of several, tell them apart."""
        words: dict[str, set[str]] = {}
        for hit in close:
            record = await self.catalog.get_item(hit.code)
            if record is None:
                return None
            item = record.item
            names = [item.name, *item.aliases, *(n for s in item.situations for n in (s.name, *s.aliases))]
            words[hit.code] = {t for n in names for t in self.answerer.tokenizer.tokenize(n) if len(t) >= 2}
        asked = {t for t in self.answerer.tokenizer.tokenize(norm) if len(t) >= 2 and t not in _PROCEDURE_WORDS}
        strength = {}
        for hit in close:
            others = set().union(*(w for code, w in words.items() if code != hit.code))
            strength[hit.code] = sum(len(t) for t in asked & words[hit.code] - others)
        best = max(strength.values())
        leaders = [hit for hit in close if strength[hit.code] == best]
        return leaders[0] if best > 0 and len(leaders) == 1 else None

    async def _policy(self, text: str, state: DialogueState, owner: str | None, confidence: float) -> Reply | None:
        """A question the policy graph answers: rendered from its records, citing them."""
        answer = await self.policies(text, owner, state.policy) if self.policies is not None else None
        if answer is None:
            return None
        sources = [Source("policy_item", node_id, name, version) for node_id, name, version in answer.sources]
        if answer.kind == "need_enterprise":
            return Reply(self.renderer.text("policy_login.j2", need=answer.topic), intent="policy", confidence=confidence,
                         no_answer=True)
        if answer.kind == "mine":
            return Reply(self.renderer.text("policy_mine.j2", answer=answer), intent="policy", confidence=confidence,
                         sources=sources)
        if answer.kind == "item":
            state.policy = answer.items[0]["id"]
            return Reply(self.renderer.text("policy_item.j2", answer=answer), intent="policy", confidence=confidence,
                         aspect=answer.aspect, sources=sources, quick_replies=["找哪个部门办", "要什么条件"])
        return Reply(self.renderer.text("policy_items.j2", answer=answer), intent="policy", confidence=confidence,
                     sources=sources, quick_replies=[f"{i['name']}要什么条件" for i in answer.items[:3]])

    def _about_something_else(self, norm: str, result: SearchResult) -> bool:
        """"考研报名在哪里报": words no guide contains, and a best match that is only loosely similar —
        a service we do not have, however well one shared word ("报名") matches."""
        loose = result.signals is not None and 0 < result.signals.vector < UNKNOWN_TOPIC_COSINE
        return loose and bool(self.search.unknown_words(norm))

    @staticmethod
    def _content_left(norm: str) -> str:
        """What remains of a message once aspect words, pronouns and filler are taken out."""
        rest = norm
        for _, pattern in ASPECT_PATTERNS:
            rest = pattern.sub("", rest)
        rest = _FILLER.sub("", _PRONOUN.sub("", rest))
        return re.sub(r"[\W\d_]+", "", rest)

    async def _faq(self, norm: str, aspect: str | None, item_code: str) -> Reply | None:
        await self.faq.refresh(self.catalog)
        if self.search.embedder is None:
            return None
        loop = asyncio.get_running_loop()
        vector = (await loop.run_in_executor(self.search.executor, self.search.embedder.embed_queries, [norm]))[0]
        best = self.faq.best(vector)
        if best is None or best[1] < self.faq_min_similarity or item_code not in best[0].items:
            return None
        if aspect is not None and find_aspect(best[0].question) != aspect:
            return None  # asked for one part of the guide: the template for that part answers it
        entry, similarity = best
        records = [r for r in [await self.catalog.get_item(code) for code in entry.items] if r]
        return self.renderer.faq_answer(entry, self.faq.versions.get(entry.id, 1), records, confidence=similarity,
                                        aspect=aspect)

    async def _answer_item(self, code: str, aspects: list[str], text: str, state: DialogueState, *, intent: str,
                           confidence: float) -> Reply:
        """The answer about one item for the person's situation — read from this message, or
        remembered — or, when the answer differs by situation and none is known, the question which."""
        record: ItemRecord | None = await self.catalog.get_item(code)
        if record is None or record.item.status != "active":
            return Reply(self.renderer.text("not_sure.j2", options=[]), intent=intent, confidence=0.0, no_answer=True)
        item = record.item
        aspects = self._own_subject_dropped(item, text, aspects)
        situation = situations.detect(item, text) or (item.situation(state.situation) if state.situation else None)
        depends = situations.matters(item, aspects)
        if situation is None and depends:
            situation = next((s for s in item.situations if s.usual), None)
        offer = situation is None and depends
        if offer:
            # answered at once from the item's own rows, the situations offered beside them; asked
            # first only when the item's own rows say nothing of it
            state.situation, state.situation_options = None, [s.id for s in item.situations]
            state.pending_aspect = aspects[0] if aspects else None
            if not situations.item_says(item, aspects):
                return self.answerer.ask_situation(record, intent=intent, confidence=confidence)
        else:
            state.situation, state.situation_options = (situation.id if situation else None), []
        state.aspect = aspects[0] if aspects else state.aspect
        await self.faq.refresh(self.catalog)
        faq = [entry for entry in self.faq.entries.values() if code in entry.items]
        return await asyncio.get_running_loop().run_in_executor(
            self.search.executor, partial(self.answerer.answer, record, faq, text, aspects, situation,
                                          intent=intent, confidence=confidence, offer_situations=offer))

    def _own_subject_dropped(self, item: Any, text: str, aspects: list[str]) -> list[str]:
        """"去外地看病怎么备案" asks how to do 异地就医备案, not whether it can be done from afar: an
        aspect whose words are the item's own subject is read again without them."""
        if "异地远程" not in aspects or not any(w in n for n in item.all_names for w in ("异地", "外地", "跨省", "转移", "迁")):
            return aspects
        rest = [a for a in aspects if a != "异地远程"]
        return rest or read_aspects(ASPECT_WORDS["异地远程"].sub("", text), self.aspects)

    async def _situation_chosen(self, text: str, aspects: list[str], state: DialogueState) -> Reply | None:
        """The reply to "which situation": answered with the aspect asked before; None when the
        message is not a choice (the person asked something else, which is then answered)."""
        offered, state.situation_options = state.situation_options, []
        record = await self.catalog.get_item(state.item) if state.item else None
        if record is None:
            return None
        chosen = situations.choose(record.item, text, offered)
        if chosen is None:
            return None
        state.situation = chosen.id
        asked = aspects or ([state.pending_aspect] if state.pending_aspect else [])
        state.pending_aspect = None
        return await self._answer_item(record.item.code, asked, text, state, intent="consult", confidence=1.0)

    async def _names_situation(self, code: str, text: str) -> bool:
        record = await self.catalog.get_item(code)
        return record is not None and situations.detect(record.item, text) is not None

    async def _progress(self, slots, confidence: float, session_key: str,  # type: ignore[no-untyped-def]
                        owner: str | None) -> Reply:
        number = (slots.ticket_numbers or slots.application_numbers or [None])[0]
        if number and number in slots.application_numbers and self.applications is not None:
            if owner is None:
                return Reply(self.renderer.text("progress_login.j2", number=number), intent="progress",
                             confidence=confidence, no_answer=True)
            application = await self.applications(number, owner=owner)
            if application is not None:
                shown = application.to_json()
                return Reply(self.renderer.text("application_status.j2", application=shown, last=shown["timeline"][-1]),
                             intent="progress", confidence=confidence, no_answer=True)
        if number and number in slots.ticket_numbers:
            # someone else's ticket falls through to "not found", word for word as a number that
            # does not exist: the reply must not tell that it does
            ticket = await self.demands.get(number, session_key=session_key, user_id=owner)
            if ticket is not None:
                return Reply(self.renderer.text("demand_status.j2", ticket=ticket), intent="progress",
                             confidence=confidence, no_answer=True)
        return Reply(self.renderer.text("progress_unknown.j2", number=number), intent="progress",
                     confidence=confidence, no_answer=True)

    def _choice(self, norm: str, options: list[str]) -> str | None:
        match = _CHOICE.match(norm.replace(" ", ""))
        if match:
            raw = match.group(1)
            index = int(raw) if raw.isdigit() else _CHINESE_NUMERALS[raw]
            return options[index - 1] if 1 <= index <= len(options) else None
        # "机动车驾驶证补证", "补证", "我要补办那个": a name in the reply, or the reply inside one name
        matching = []
        for code in options:
            item = self.search.items.get(code)
            names = [normalize_text(n) for n in (item.name, *item.aliases)] if item else []
            if any((len(n) >= 2 and n in norm) or (len(norm) >= 2 and norm in n) for n in names):
                matching.append(code)
        return matching[0] if len(matching) == 1 else None

    # --- buttons and greetings of a channel -----------------------------------------------
    async def menu(self, channel: str, user: str, action: str) -> Turn:
        """A menu button (菜单): ``hot`` (what people ask most), ``progress`` (how to look up an
        application or ticket) or ``human`` (转人工)."""
        started = time.perf_counter()
        if action == "hot":
            options = await self.popular_questions()
            reply = Reply(self.renderer.text("popular.j2", options=options), intent="hot", quick_replies=options)
        elif action == "progress":
            reply = Reply(self.renderer.text("progress_unknown.j2", number=None), intent="progress", no_answer=True)
        elif action == "human":
            reply = Reply(self.renderer.text("human.j2"), intent="human", no_answer=True)
        else:
            raise ValueError(f"unknown menu action {action!r}")
        session_key = f"{channel}:{user}"[:200]
        turn_id = await self._log(session_key, channel, f"[菜单] {action}", reply, (time.perf_counter() - started) * 1000)
        return Turn(turn_id, reply)

    def welcome(self) -> Reply:
        """What a new follower is told: what the assistant can do."""
        return Reply(self.renderer.text("welcome.j2"), intent="greeting", no_answer=True)

    async def popular_questions(self, limit: int = 5) -> list[str]:
        """This week's most frequent successful searches, topped up with catalog items in code order
        (a new service has no history yet)."""
        questions = [hot["query"] for hot in await self.search.hot(limit=limit)]
        for item in sorted(self.search.items.values(), key=lambda item: item.code):
            if len(questions) >= limit:
                break
            if item.name not in questions:
                questions.append(item.name)
        return questions

    # --- state and log ------------------------------------------------------------------
    async def _load(self, session_key: str) -> DialogueState:
        async with self.db.read() as conn:
            row = (await conn.execute(sa.select(dialogue_sessions).where(
                dialogue_sessions.c.session_key == session_key))).first()
        if row is None or row.expires_at <= utcnow():
            return DialogueState()
        return DialogueState(**row.state)

    async def _save(self, session_key: str, state: DialogueState) -> None:
        now = utcnow()
        values = dict(session_key=session_key, state=state.to_json(), updated_at=now, expires_at=now + self.session_ttl)
        async with self.db.transaction() as conn:
            dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
            statement = dialect.insert(dialogue_sessions).values(**values)
            await conn.execute(statement.on_conflict_do_update(
                index_elements=["session_key"],
                set_={k: statement.excluded[k] for k in ("state", "updated_at", "expires_at")}))

    async def forget(self, channel: str, user: str) -> None:
        """Drop a user's dialogue state (for example when they unsubscribe)."""
        async with self.db.transaction() as conn:
            await conn.execute(dialogue_sessions.delete().where(dialogue_sessions.c.session_key == f"{channel}:{user}"))

    async def _log(self, session_key: str, channel: str, text: str, reply: Reply, latency_ms: float) -> int:
        kb_version = await self.catalog.kb_version()
        async with self.db.transaction() as conn:
            result = await conn.execute(chat_turns.insert().values(
                at=utcnow(), session_key=session_key, channel=channel, text=mask_personal_data(text)[:2000],
                intent=reply.intent, aspect=reply.aspect, confidence=reply.confidence,
                sources=[s.__dict__ for s in reply.sources], reply=mask_personal_data(reply.text),
                no_answer=reply.no_answer, needs_clarification=reply.needs_clarification,
                kb_version=kb_version, latency_ms=latency_ms).returning(chat_turns.c.id))
            return int(result.scalar_one())

    async def feedback(self, channel: str, user: str, turn_id: int, helpful: bool, reason: str | None) -> bool:
        """Record 有用/没用 on one of this user's turns; False if there is no such turn of theirs."""
        async with self.db.transaction() as conn:
            result = await conn.execute(chat_turns.update().where(
                chat_turns.c.id == turn_id, chat_turns.c.session_key == f"{channel}:{user}"[:200],
            ).values(helpful=helpful, feedback_reason=mask_personal_data(reason or "")[:500] or None))
        return result.rowcount == 1

    async def unanswered(self, limit: int = 100) -> list[dict[str, Any]]:
        """Questions without a good answer or with negative feedback, newest first (for staff)."""
        async with self.db.read() as conn:
            rows = await conn.execute(
                sa.select(chat_turns.c.id, chat_turns.c.at, chat_turns.c.text, chat_turns.c.intent,
                          chat_turns.c.helpful, chat_turns.c.feedback_reason)
                .where(sa.or_(sa.and_(chat_turns.c.no_answer.is_(True), chat_turns.c.intent.in_(["consult", "policy"])),
                              chat_turns.c.helpful.is_(False)))
                .order_by(chat_turns.c.id.desc()).limit(limit))
            return [dict(row._mapping) for row in rows]
