"""The answer about one resolved item: for the person's situation and the aspects they asked,
composed from the guide's passages (``assistant.composer``), or a short question when the answer
depends on a situation they have not named.

Whole-section aspects (材料, 时限, …) render that section through the curated templates, with the
situation's rows in place of the item's; fine aspects and yes/no questions quote the passages that
answer them. Every answer names the item, the situation, and the guide's department and version.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from assistant import situations
from assistant.answers import ASPECT_TEMPLATES, AnswerRenderer
from assistant.catalog import ItemRecord
from assistant.composer import (
    MAX_PASSAGES,
    MIN_SCORE,
    WHOLE_SECTION,
    group_by_section,
    named_thing,
    rank,
    settle,
    shorten,
)
from assistant.models import FaqEntry, Situation
from assistant.passages import Passage, for_situation, split_guide
from assistant.reply import Card, Reply, Source
from intents.aspects import yes_no_form
from retrieval.lexical import Tokenizer
from retrieval.passage_index import PassageEmbedder, PassageIndex

# words of the asking, not of the thing asked about
_ASKING = {"需要", "需不需要", "要不要", "是不是", "还要", "还需要", "办理", "申请", "现在", "可以", "一下"}
MAX_ASPECTS = 2  # a mixed question is answered on its first two aspects; more would not fit a screen
_QUICK = {"材料": "要带什么材料", "时限": "多久能办好", "地点": "在哪里办", "在线办理": "网上能办吗"}


class ItemAnswerer:
    def __init__(self, renderer: AnswerRenderer, tokenizer: Tokenizer, embedder: PassageEmbedder | None,
                 embed_question: Callable[[str], np.ndarray] | None) -> None:
        self.renderer = renderer
        self.index = PassageIndex(tokenizer, embedder)
        self.tokenizer = tokenizer
        self.embed_question = embed_question
        # item code → (version and FAQ answers it was split with, passages)
        self._passages: dict[str, tuple[tuple[Any, ...], list[Passage]]] = {}
        self._lock = threading.Lock()

    # --- passages -----------------------------------------------------------------------
    def passages(self, record: ItemRecord, faq: Sequence[FaqEntry]) -> list[Passage]:
        """The item's passages, split once per version (and again when its FAQ changes)."""
        code = record.item.code
        key = (record.version, *((e.id, e.question, e.answer, e.status) for e in faq))
        with self._lock:
            cached = self._passages.get(code)
        if cached is not None and cached[0] == key:
            return cached[1]
        passages = split_guide(record.item, record.version, faq)
        with self._lock:
            self._passages[code] = (key, passages)
        return passages

    # --- answering ----------------------------------------------------------------------
    def answer(self, record: ItemRecord, faq: Sequence[FaqEntry], question: str, aspects: list[str],
               situation: Situation | None, *, intent: str, confidence: float, offer_situations: bool = False) -> Reply:
        """Runs in an executor: it may embed the item's passages the first time they are asked for.
        ``offer_situations``: the answer differs by situation and the person named none — say so
        after the item's own rows and offer the situations as quick replies."""
        item = record.item
        aspects = aspects[:MAX_ASPECTS]
        form = yes_no_form(question)
        applicable = for_situation(self.passages(record, faq), item, situation.id if situation else None)
        resolved = situations.apply(item, situation)
        parts: list[str] = []
        settled: str | None = None
        for aspect in aspects or [None]:  # type: ignore[list-item]
            fine = aspect is not None and (aspect not in WHOLE_SECTION or form is not None)
            if not fine:
                parts.append(self.renderer.text(ASPECT_TEMPLATES.get(aspect, "overview.j2"), item=resolved))
                continue
            chosen = self._best(record, faq, applicable, question, aspect)
            word = settle(aspect, form, chosen, resolved, situation, named_thing(question)) if form else None
            settled = settled or word
            if not chosen and word == "不需要":
                parts.append(f"办事指南所列申请材料中没有“{named_thing(question)}”。")
                parts.append(self.renderer.text("materials.j2", item=resolved))
            elif chosen:
                parts.append(group_by_section(chosen))
            elif aspect in WHOLE_SECTION:
                parts.append(self.renderer.text(ASPECT_TEMPLATES[aspect], item=resolved))
            else:
                parts.append(self.renderer.text("not_in_guide.j2", item=item, aspect=aspect))
        head = f"【{item.name}{f'·{situation.name}' if situation else ''}】"
        body = "\n".join(parts)
        if situation is not None or not body.startswith((f"【{item.name}】", f"办理【{item.name}】")):
            body = f"{head}\n{body}"  # the templates name the item themselves; passages do not
        if form and any(a not in WHOLE_SECTION for a in aspects) and settled is None:
            body = f"办事指南没有直接说明这一点，以下是指南的相关内容：\n{body}"
        elif settled is not None:
            body = f"{settled}。{body}"
        source = f"（来源：{item.department + '《' if item.department else '《'}{item.name}》办事指南，第{record.version}版）"
        names = [s.name for s in item.situations if situation is None or s.id != situation.id]
        offer = ""
        if offer_situations:
            listed = "、".join(names[:4]) + ("等" if len(names) > 4 else "")
            offer = f"\n不同情形要求不同（{listed}），告诉我您是哪一种，只列您那一种的。"
        text = f"{shorten(body)}{offer}\n{source}"
        quick = [q for a, q in _QUICK.items() if a not in aspects][:3]
        others = names[:4] if offer_situations else names[:2]
        if offer_situations:
            quick, others = others, quick
        return Reply(
            text=text, intent=intent, confidence=confidence, aspect=aspects[0] if aspects else None,
            aspects=list(aspects), situation=situation.name if situation else None,
            cards=[Card(title=item.name, description=item.department, item_code=item.code, url=item.online.url or None)],
            quick_replies=[*quick, *others][:5],
            sources=[Source("service_item", item.code, item.name, record.version)],
        )

    def ask_situation(self, record: ItemRecord, *, intent: str, confidence: float) -> Reply:
        """"Which case are you in?" with the situations as quick replies; the aspect is answered once
        the person picks one (the reply names no aspect: nothing was answered yet)."""
        item = record.item
        names = [s.name for s in item.situations]
        return Reply(
            text=self.renderer.text("which_situation.j2", item=item, options=names), intent=intent,
            confidence=confidence, quick_replies=names[:6],
            cards=[Card(title=item.name, description=item.department, item_code=item.code)],
            sources=[Source("service_item", item.code, item.name, record.version)],
        )

    def _best(self, record: ItemRecord, faq: Sequence[FaqEntry], applicable: list[Passage], question: str,
              aspect: str) -> list[Passage]:
        """The passages of ``applicable`` that answer ``aspect`` for this question, best first. All of
        an item's passages form one group of the index (every situation's too), so choosing another
        situation re-embeds nothing."""
        every = self.passages(record, faq)
        group = f"{record.item.code}@{record.version}"
        self.index.ensure(group, [p.text for p in every])
        vector = self.embed_question(question) if self.embed_question is not None else None
        by_passage = dict(zip(map(id, every), self.index.score(group, self.tokenizer.tokenize(question), vector),
                              strict=True))
        ranked = rank(applicable, [by_passage[id(p)] for p in applicable], aspect)
        if aspect == "是否需要材料":
            # the named thing decides: the best material row that shares a word with it, if any does
            # (a vector alone would always find a "closest" row, and so say 需要 of anything)
            thing = named_thing(question)
            words = {t for t in self.tokenizer.tokenize(thing or question) if len(t) >= 2 and t not in _ASKING}
            words |= {thing[i:i + 2] for i in range(len(thing) - 1)}  # 户口本 / 居民户口簿 share 户口
            return [sp.passage for sp in ranked if sp.passage.section == "materials"
                    and any(w in sp.passage.text for w in words)][:1]
        return [sp.passage for sp in ranked[:MAX_PASSAGES] if sp.score >= MIN_SCORE]
