"""``rongyiban eval-dialogue``: run scripted multi-turn conversations through the dialogue manager
and count the turns that meet their expectations, by expectation type.

A file is JSON lines ``{"id", "turns": [{"user": "...", "expect": {...}}]}``; ``expect`` may hold
``item`` (a name or alias the answer must be about), ``aspect`` (one, or a list for a question
that asks two things), ``situation`` (a word of the name of the item's situation the answer is
for: "遗失" meets "遗失补领"), ``yes_no`` (the word the reply must start with: 需要, 不需要, 可以,
不可以), ``clarify`` (must ask which item), ``no_answer`` (must not answer with any item) and
``intent``. A conversation's other keys (``style``) are ignored.

An aspect expectation is met by the aspect itself or by any finer aspect that refines it
(``intents.aspects.REFINES``: 待遇期限 meets 时限); a list is met when the reply answers each.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

from assistant.dialogue import DialogueManager
from assistant.reply import Reply
from intents.aspects import meets

EXPECTATIONS = ("item", "aspect", "situation", "yes_no", "clarify", "no_answer", "intent")
_NEGATIVE = ("不需要", "不可以", "不能", "无需", "不用")


def load_conversations(path: Path) -> list[dict[str, Any]]:
    conversations = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            try:
                conversations.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path.name}:{number}: not valid JSON ({exc.msg})") from None
    return conversations


def check(expectation: str, expected: Any, reply: Reply, manager: DialogueManager,
          situation_words: dict[str, list[str]] | None = None) -> bool:
    answered = [s for s in reply.sources if s.type == "service_item"]
    if expectation == "item":
        if reply.no_answer or reply.needs_clarification or not answered:
            return False
        item = manager.search.items.get(answered[0].id)
        names = (item.name, *item.aliases) if item else (answered[0].name,)
        return any(expected == n or expected in n for n in names)
    if expectation == "aspect":
        wanted = expected if isinstance(expected, list) else [expected]
        answered_aspects = reply.aspects or ([reply.aspect] if reply.aspect else [])
        return all(any(meets(w, got) for got in answered_aspects) for w in wanted)
    if expectation == "situation":
        situation_words = situation_words or {}
        if not reply.situation:
            return False
        # the name the reply gives, or a word the guide lists for that situation ("到期" for 有效期满换领)
        words = [reply.situation, *situation_words.get(reply.situation, [])]
        return any(expected in w or w in expected for w in words)
    if expectation == "yes_no":
        text = reply.text.lstrip()
        if expected in _NEGATIVE or expected.startswith("不"):
            return any(text.startswith(word) for word in (expected, *_NEGATIVE))
        return text.startswith(expected) and not any(text.startswith(word) for word in _NEGATIVE)
    if expectation == "clarify":
        return reply.needs_clarification == bool(expected)
    if expectation == "no_answer":
        return bool(expected) == (reply.no_answer and not answered)
    if expectation == "intent":
        return reply.intent == expected
    raise ValueError(f"unknown expectation {expectation!r}")


async def evaluate_dialogues(manager: DialogueManager, conversations: list[dict[str, Any]]) -> dict[str, Any]:
    by_expectation = {e: {"turns": 0, "met": 0} for e in EXPECTATIONS}
    turns = met = 0
    failures = []
    situation_words = {s.name: s.aliases for record in await manager.catalog.all_items() for s in record.item.situations}
    for conversation in conversations:
        user = f"eval-{conversation.get('id', '')}-{uuid.uuid4().hex[:8]}"
        for index, turn in enumerate(conversation["turns"]):
            reply = (await manager.handle("eval", user, turn["user"])).reply
            expect = turn.get("expect", {})
            results = {e: check(e, v, reply, manager, situation_words) for e, v in expect.items()}
            for expectation, ok in results.items():
                by_expectation[expectation]["turns"] += 1
                by_expectation[expectation]["met"] += ok
            turns += 1
            met += all(results.values())
            if not all(results.values()):
                failures.append({"conversation": conversation.get("id"), "turn": index, "user": turn["user"],
                                 "expect": expect, "failed": [e for e, ok in results.items() if not ok],
                                 "got": {"intent": reply.intent, "aspect": reply.aspect, "situation": reply.situation,
                                         "items": [s.name for s in reply.sources], "clarify": reply.needs_clarification,
                                         "no_answer": reply.no_answer, "text": reply.text[:80]}})
    return {"conversations": len(conversations), "turns": turns, "met": met, "by_expectation": by_expectation,
            "failures": failures}


def format_dialogue_report(report: dict[str, Any]) -> str:
    lines = [f"{report['conversations']} conversations, {report['turns']} turns, "
             f"{report['met']} met ({report['met'] / max(report['turns'], 1):.1%})"]
    for expectation, counts in report["by_expectation"].items():
        if counts["turns"]:
            lines.append(f"  {expectation:<10} {counts['met']}/{counts['turns']} ({counts['met'] / counts['turns']:.1%})")
    for failure in report["failures"]:
        lines.append(f"  ✗ {failure['conversation']}#{failure['turn']} {failure['user']!r} failed {failure['failed']} "
                     f"got {failure['got']}")
    return "\n".join(lines)
