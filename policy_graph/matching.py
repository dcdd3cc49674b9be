"""Matching (政策匹配): every enterprise's verdict on every published item in force, stored with
the item version and the enterprise's fact-snapshot hash, so that a refresh computes only the
pairs whose item or facts changed. Explanations are computed per pair on demand (they are cheap).

Which verdicts turned true in a refresh is returned, for push planning; nothing is sent here.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import Executor
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import sqlalchemy as sa

from policy_graph.conditions import atoms_of
from policy_graph.engine import FALSE, TRUE, UNKNOWN, BatchEvaluator, Explanation, FactColumns, explain
from policy_graph.enterprise_facts import EnterpriseFacts, FactValue, snapshot_hash
from policy_graph.facts import FactCatalogue
from policy_graph.graph import NodeVersion, PolicyGraph
from store.database import Database
from store.tables.base import utcnow
from store.tables.policy_graph import policy_matches

VERDICTS = (TRUE, FALSE, UNKNOWN)


@dataclass
class Refresh:
    items: int = 0
    enterprises: int = 0
    computed_pairs: int = 0
    changed: int = 0
    became_true: list[tuple[str, str]] = field(default_factory=list)  # (item, uscc): candidates for a push
    became_unknown: list[tuple[str, str]] = field(default_factory=list)  # → "请补充信息" prompts

    def to_json(self) -> dict[str, Any]:
        return {"items": self.items, "enterprises": self.enterprises, "computed_pairs": self.computed_pairs,
                "changed": self.changed, "became_true": len(self.became_true),
                "became_unknown": len(self.became_unknown)}


class MatchService:
    def __init__(self, db: Database, graph: PolicyGraph, facts: EnterpriseFacts, catalogue: FactCatalogue,
                 executor: Executor | None = None) -> None:
        self.db = db
        self.graph = graph
        self.facts = facts
        self.catalogue = catalogue
        self.executor = executor

    async def refresh(self, as_of: date) -> Refresh:
        items = await self.graph.published_items(as_of)
        known = await self.facts.all_latest()
        values = {uscc: {k: f.value for k, f in facts.items()} for uscc, facts in known.items()}
        hashes = {uscc: snapshot_hash(v) for uscc, v in values.items()}
        async with self.db.read() as conn:
            stored = {(r.item_id, r.uscc): r for r in await conn.execute(sa.select(policy_matches))}
        versions = {item_id: version.version for item_id, (version, _) in items.items()}
        stale = {(i, u) for i in items for u in values
                 if (i, u) not in stored or (stored[(i, u)].item_version, stored[(i, u)].facts_hash) != (versions[i], hashes[u])}
        # one batch over every enterprise and every item with a stale pair: a new item is computed
        # for all enterprises, a changed enterprise for all items, and nothing when nothing changed
        stale_items = sorted({i for i, _ in stale})
        stale_enterprises = sorted({u for _, u in stale})
        parameters = await self.graph.parameters()

        def compute() -> dict[tuple[str, str], str]:
            found: dict[tuple[str, str], str] = {}
            if not stale:
                return found
            table = FactColumns.from_records(self.catalogue, [values[u] for u in stale_enterprises])
            evaluator = BatchEvaluator(table, parameters, as_of)
            for item_id, truth, falsity in evaluator.evaluate({i: items[i][1] for i in stale_items}):
                outcome = np.where(truth, 1, np.where(falsity, 0, 2)).tolist()
                for uscc, code in zip(stale_enterprises, outcome, strict=True):
                    if (item_id, uscc) in stale:
                        found[(item_id, uscc)] = (FALSE, TRUE, UNKNOWN)[code]
            return found

        computed = await asyncio.get_running_loop().run_in_executor(self.executor, compute)
        result = Refresh(len(items), len(values), len(computed))
        now = utcnow()
        async with self.db.transaction() as conn:
            gone = [key for key in stored if key[0] not in items or key[1] not in values]
            for item_id, uscc in gone:
                await conn.execute(policy_matches.delete().where(policy_matches.c.item_id == item_id,
                                                                 policy_matches.c.uscc == uscc))
            inserts = []
            for (item_id, uscc), verdict in computed.items():
                before = stored.get((item_id, uscc))
                row = {"item_version": versions[item_id], "facts_hash": hashes[uscc], "verdict": verdict,
                       "computed_at": now}
                if before is None:
                    inserts.append({"item_id": item_id, "uscc": uscc, **row})
                elif (before.verdict, before.item_version, before.facts_hash) != (verdict, row["item_version"],
                                                                                 row["facts_hash"]):
                    await conn.execute(policy_matches.update().where(
                        policy_matches.c.item_id == item_id, policy_matches.c.uscc == uscc).values(**row))
                else:
                    continue
                result.changed += 1
                if verdict != (before.verdict if before else None):
                    if verdict == TRUE:
                        result.became_true.append((item_id, uscc))
                    elif verdict == UNKNOWN:
                        result.became_unknown.append((item_id, uscc))
            if inserts:
                await conn.execute(policy_matches.insert(), inserts)
        return result

    async def counts(self) -> dict[str, dict[str, int]]:
        """Per item: how many enterprises are true, false, unknown."""
        counts: dict[str, dict[str, int]] = {}
        async with self.db.read() as conn:
            rows = await conn.execute(sa.select(policy_matches.c.item_id, policy_matches.c.verdict, sa.func.count())
                                      .group_by(policy_matches.c.item_id, policy_matches.c.verdict))
            for item_id, verdict, n in rows:
                counts.setdefault(item_id, dict.fromkeys(VERDICTS, 0))[verdict] = n
        return counts

    async def for_item(self, item_id: str, as_of: date, *, sample: int = 10) -> dict[str, Any] | None:
        """For staff: how many enterprises are true, false and unknown on a published item, and a
        sample of the true and unknown ones, each explained. None if the item is not in force."""
        items = await self.graph.published_items(as_of)
        if item_id not in items:
            return None
        tree = items[item_id][1]
        parameters, names = await self.graph.parameters(), await self.graph.code_names()
        counts = dict.fromkeys(VERDICTS, 0)
        samples: dict[str, list[dict[str, Any]]] = {TRUE: [], UNKNOWN: []}
        async with self.db.read() as conn:
            for verdict, n in await conn.execute(sa.select(policy_matches.c.verdict, sa.func.count()).where(
                    policy_matches.c.item_id == item_id).group_by(policy_matches.c.verdict)):
                counts[verdict] = n
            for verdict in samples:
                samples[verdict] = [{"uscc": uscc} for uscc in (await conn.execute(
                    sa.select(policy_matches.c.uscc).where(policy_matches.c.item_id == item_id,
                                                           policy_matches.c.verdict == verdict)
                    .order_by(policy_matches.c.uscc).limit(sample))).scalars()]
        for listed in samples.values():
            for entry in listed:
                facts = await self.facts.latest(entry["uscc"])
                entry.update(explain(tree, {k: f.value for k, f in facts.items()}, self.catalogue, parameters,
                                     as_of, names).to_json())
        return {"item": _item_json(items[item_id][0]), "counts": counts, "true": samples[TRUE],
                "unknown": samples[UNKNOWN]}

    async def for_enterprise(self, uscc: str, as_of: date) -> list[dict[str, Any]]:
        """The items an enterprise qualifies for (true) or might (unknown), each explained, with
        what to supply for the unknown ones; true first."""
        items = await self.graph.published_items(as_of)
        facts = await self.facts.latest(uscc)
        parameters = await self.graph.parameters()
        values = {k: f.value for k, f in facts.items()}
        names = await self.graph.code_names()
        answers = []
        for version, tree in (items[i] for i in sorted(items)):
            explanation = explain(tree, values, self.catalogue, parameters, as_of, names)
            if explanation.verdict != FALSE:
                answers.append({"item": _item_json(version), **explanation.to_json()})
        return sorted(answers, key=lambda a: (a["verdict"] != TRUE, a["item"]["id"]))

    async def explain(self, item_id: str, uscc: str, as_of: date) -> Explanation | None:
        items = await self.graph.published_items(as_of)
        if item_id not in items:
            return None
        facts = await self.facts.latest(uscc)
        return explain(items[item_id][1], {k: f.value for k, f in facts.items()}, self.catalogue,
                       await self.graph.parameters(), as_of)

    async def automatic_list(self, item_id: str, as_of: date) -> list[dict[str, Any]]:
        """For a 免申即享 item: the enterprises whose verdict is true on facts that all come from
        authoritative sources — those can be granted without an application."""
        items = await self.graph.published_items(as_of)
        if item_id not in items:
            return []
        version, tree = items[item_id]
        used = {a.fact for a in atoms_of(tree)}
        async with self.db.read() as conn:
            usccs = [r.uscc for r in await conn.execute(sa.select(policy_matches.c.uscc).where(
                policy_matches.c.item_id == item_id, policy_matches.c.verdict == TRUE).order_by(policy_matches.c.uscc))]
        parameters = await self.graph.parameters()
        listed = []
        for uscc in usccs:
            facts = await self.facts.latest(uscc)
            if _authoritative(facts, used):
                explanation = explain(tree, {k: f.value for k, f in facts.items()}, self.catalogue, parameters, as_of)
                listed.append({"uscc": uscc, "explanation": explanation.to_json(),
                               "sources": sorted({facts[k].source for k in used if k in facts})})
        return listed


def _authoritative(facts: dict[str, FactValue], used: set[str]) -> bool:
    """Every fact the item tests that the enterprise has comes from an authoritative source (a
    fact it does not have cannot have decided a true verdict unless its branch did not matter)."""
    return all(facts[k].authoritative for k in used if k in facts)


def _item_json(version: NodeVersion) -> dict[str, Any]:
    return {"id": version.node_id, "name": version.name, "version": version.version,
            "category": version.data.get("category"), "delivery": version.data.get("delivery"),
            "benefit": version.data.get("benefit"), "window": version.data.get("window")}

