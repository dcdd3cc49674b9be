"""``rongyiban eval-dialogue``: run scripted multi-turn conversations through the dialogue manager
and count the turns that meet their expectations, by expectation type.

A file is JSON lines ``{"id", "turns": [{"user": "...", "expect": {...}}]}``; ``expect`` may hold
``item`` (a name or alias the answer must be about), ``aspect``, ``clarify`` (must ask which item),
``no_answer`` (must not answer with any item) and ``intent``.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

from assistant.dialogue import DialogueManager
from assistant.reply import Reply

EXPECTATIONS = ("item", "aspect", "clarify", "no_answer", "intent")


def load_conversations(path: Path) -> list[dict[str, Any]]:
    conversations = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            try:
                conversations.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path.name}:{number}: not valid JSON ({exc.msg})") from None
    return conversations


def check(expectation: str, expected: Any, reply: Reply, manager: DialogueManager) -> bool:
    answered = [s for s in reply.sources if s.type == "service_item"]
    if expectation == "item":
        if reply.no_answer or reply.needs_clarification or not answered:
            return False
        item = manager.search.items.get(answered[0].id)
        names = (item.name, *item.aliases) if item else (answered[0].name,)
        return any(expected == n or expected in n for n in names)
    if expectation == "aspect":
        return reply.aspect == expected
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
    for conversation in conversations:
        user = f"eval-{conversation.get('id', '')}-{uuid.uuid4().hex[:8]}"
        for index, turn in enumerate(conversation["turns"]):
            reply = (await manager.handle("eval", user, turn["user"])).reply
            expect = turn.get("expect", {})
            results = {e: check(e, v, reply, manager) for e, v in expect.items()}
            for expectation, ok in results.items():
                by_expectation[expectation]["turns"] += 1
                by_expectation[expectation]["met"] += ok
            turns += 1
            met += all(results.values())
            if not all(results.values()):
                failures.append({"conversation": conversation.get("id"), "turn": index, "user": turn["user"],
                                 "expect": expect, "failed": [e for e, ok in results.items() if not ok],
                                 "got": {"intent": reply.intent, "aspect": reply.aspect,
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
