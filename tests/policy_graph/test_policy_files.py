"""Our policy files: the Chengdu demo items (and the Nansha fixtures, when present) check clean,
import through review and publication, re-import unchanged, and copy no real text."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest

from policy_graph.curation import CurationError, PolicyCuration
from policy_graph.facts import FactCatalogue
from policy_graph.graph import PolicyGraph
from policy_graph.importer import check, demo_item_codes, import_policies, read

CATALOGUE = FactCatalogue.load()
ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "demo" / "policies" / "chengdu_policies.yaml"
NANSHA = Path(__file__).parent / "fixtures" / "nansha_policies.yaml"


def texts(tree: object) -> list[str]:
    """Every text we wrote; names (official titles of documents) and legal citations may match."""
    if isinstance(tree, dict):
        return [t for k, v in tree.items() if k not in ("name", "legal_basis", "number") for t in texts(v)]
    if isinstance(tree, list):
        return [t for v in tree for t in texts(v)]
    return [tree] if isinstance(tree, str) else []


def test_the_demo_policies_check_clean_and_are_many():
    document = read(DEMO)
    assert check(document, CATALOGUE, demo_item_codes()) == []
    items = document["items"]
    assert len(items) >= 20
    assert {i["data"]["delivery"] for i in items} == {"免申即享", "快申快享", "申报"}
    assert {i["data"]["category"] for i in items} == {"减免", "奖补", "权益", "资质"}
    assert all(d["data"].get("demo") is True for d in document["documents"])


def test_no_policy_sentence_is_copied_from_the_real_documents(shared_data):
    real = "".join(p.read_text(encoding="utf-8") for folder in ("guides", "measures")
                   for p in (shared_data / "nansha_policies" / folder).glob("*.txt"))
    real = re.sub(r"\s+", "", real)
    for path in (DEMO, NANSHA):
        if path.exists():
            sentences = {re.sub(r"\s+", "", s) for t in texts(read(path)) for s in re.split(r"[。；;\n]", t)}
            assert [s for s in sentences if len(s) >= 20 and s in real] == [], path.name


async def test_the_demo_policies_import_through_review_and_reimport_unchanged(db, audit):
    graph = PolicyGraph(db, CATALOGUE)
    curation = PolicyCuration(db, audit, CATALOGUE, graph)
    document = read(DEMO)
    first = await import_policies(graph, curation, document)
    assert first["published"] > len(document["items"]) and first["unchanged"] == 0
    again = await import_policies(graph, curation, document)
    assert again["published"] == 0 and again["unchanged"] == first["published"]
    published = await graph.published_items(date(2025, 6, 1))
    assert len(published) >= 20
    node = await graph.get(document["items"][0]["id"], published=True)
    assert node.author == "import:author" and node.reviewer == "import:reviewer"


async def test_an_automatic_item_may_not_rest_on_self_declared_facts(db, audit):
    curation = PolicyCuration(db, audit, CATALOGUE, PolicyGraph(db, CATALOGUE))
    with pytest.raises(CurationError) as refused:
        await curation.save_draft("editor", "item:auto", "item", "自动兑现", data={
            "category": "奖补", "delivery": "免申即享", "benefit": "一次性奖励"},
            condition={"all": [{"fact": "employees", "op": ">=", "value": 10},
                               {"fact": "sound_financial_system", "op": "is", "value": True}]})
    assert refused.value.code == "automatic_needs_authoritative"
    assert "sound_financial_system" in refused.value.details[0]["message"]
