"""Questions answered from the graph (政策问答): which items a qualification or a named benefit
leads to, which department handles an item, what its conditions are, and, for a user acting for
an enterprise, what that enterprise can claim. Structured results with the node ids and versions
they came from; the assistant renders them through its templates and invents nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from china_time import today
from policy_graph.engine import conditions_in_words
from policy_graph.graph import NodeVersion, PolicyGraph
from policy_graph.matching import MatchService

MINE = re.compile(r"(我们|我司|本公司|我公司|我的企业|我们公司|我们企业|本企业).{0,12}(能|可以|可|符合).{0,8}(政策|申请|享受|补贴|奖励)")
ASPECTS = (("department", re.compile(r"哪个部门|找谁|哪里办|在哪办|去哪|谁管|哪个单位|受理")),
           ("conditions", re.compile(r"条件|要求|资格|符合|门槛|需要什么|要什么")),
           ("benefit", re.compile(r"多少|标准|金额|奖励|补贴|有什么|有啥|哪些")))
GENERIC = re.compile(r"有什么|有啥子?|哪些|什么|怎么|如何|申请|办理|政策|奖励|补贴|补助|资助|条件|要求|部门|多少|标准|金额|"
                     r"找哪个|这个|那个|可以|能|吗|呢|啊|的|了|要|企业|公司|[\s，。？?！!、]")


@dataclass
class PolicyAnswer:
    kind: str  # items (a list to choose from), item (one item, with an aspect), mine, need_enterprise
    aspect: str | None = None
    items: list[dict[str, Any]] = field(default_factory=list)  # each: summary, departments, conditions
    sources: list[tuple[str, str, int]] = field(default_factory=list)  # (node id, name, version)
    topic: str = ""  # the qualification or words that found them


def _plain(text: str) -> str:
    """Without quotes and brackets: 专精特新“小巨人”企业 is asked about as 专精特新小巨人企业."""
    return re.sub(r"[“”\"'‘’（）()《》〈〉]", "", text)


def _overlap(a: str, b: str) -> int:
    """The longest run of characters the two share."""
    best = 0
    for i in range(len(a)):
        for j in range(i + best + 1, len(a) + 1):
            if a[i:j] in b:
                best = j - i
            else:
                break
    return best


class PolicyAdvisor:
    def __init__(self, graph: PolicyGraph, matches: MatchService, identities: Any = None) -> None:
        self.graph = graph
        self.matches = matches
        self.identities = identities  # who acts for which enterprise (smartform.identity.Identities)

    async def for_user(self, text: str, owner: str | None, current: str | None) -> PolicyAnswer | None:
        """``answer`` for a signed-in user (or nobody), today in China."""
        uscc = None
        if owner is not None and self.identities is not None:
            uscc = await self.identities.acting_enterprise(owner, "policy", "chat")
        return await self.answer(text, today(), uscc, signed_in=owner is not None, current=current)

    async def answer(self, text: str, as_of: date, uscc: str | None = None, signed_in: bool = False,
                     current: str | None = None) -> PolicyAnswer | None:
        """None when the graph has nothing to say about this question. ``current``: the item the
        conversation is about, for "这个补贴找哪个部门办"."""
        aspect = next((name for name, pattern in ASPECTS if pattern.search(text)), None)
        if MINE.search(text):
            if not uscc:
                return PolicyAnswer("need_enterprise", topic="login" if not signed_in else "bind")
            found = await self.matches.for_enterprise(uscc, as_of)
            return PolicyAnswer("mine", items=found, sources=[(f["item"]["id"], f["item"]["name"], f["item"]["version"])
                                                               for f in found])
        items = await self.graph.published_items(as_of)
        if not items:
            return None
        plain = _plain(text)
        # an item named in full ("首次认定高新技术企业奖励要什么条件") is that item
        chosen: list[NodeVersion] = sorted((v for v, _ in items.values() if len(v.name) >= 4 and _plain(v.name) in plain),
                                           key=lambda v: -len(v.name))[:1]
        topic = chosen[0].name if chosen else ""
        qualifications = set(await self.graph.published_ids("qualification"))
        named_q = [q for q in qualifications if _plain(q.removeprefix("qualification:")) in plain]
        if named_q and not chosen:
            topic = max(named_q, key=len).removeprefix("qualification:")
            for version, _ in (items[i] for i in sorted(items)):
                targets = {e["dst"] for e in version.edges if e["kind"] == "targets_qualification"}
                if targets & set(named_q) or topic in version.name:
                    chosen.append(version)
        if not chosen:
            words = GENERIC.sub("", plain)
            if len(words) >= 2:
                scored = sorted(((_overlap(words, _plain(v.name + str(v.data.get("benefit", "")))), v)
                                 for v, _ in items.values()),
                                key=lambda sv: (-sv[0], sv[1].node_id))
                best = scored[0][0] if scored else 0
                if best >= max(2, min(4, len(words) - 1)):
                    chosen = [v for score, v in scored if score == best][:5]
                    topic = words
        if not chosen and current in items and aspect and re.search(r"这|该|那|它", text):
            chosen = [items[current][0]]
        if not chosen:
            return None
        parameters = await self.graph.parameters()
        names = await self.graph.code_names()
        described = []
        for version in chosen[:8]:
            tree = items[version.node_id][1]
            links = await self.graph.neighbours(version.node_id)
            described.append({"id": version.node_id, "name": version.name, "version": version.version,
                              "benefit": version.data.get("benefit", ""), "delivery": version.data.get("delivery"),
                              "departments": [link["name"] for link in links if link["kind"] == "handled_by"],
                              "clauses": [link["name"] for link in links if link["kind"] == "implements"],
                              "clause_names": {link["id"]: link["name"] for link in links if link["kind"] == "implements"},
                              "conditions": conditions_in_words(tree, self.graph.catalogue, parameters, as_of, names)})
        kind = "item" if len(described) == 1 else "items"
        return PolicyAnswer(kind, aspect, described, [(d["id"], d["name"], d["version"]) for d in described], topic)
