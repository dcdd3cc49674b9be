"""Guide drafts on both databases: a draft is invisible until published, stale edits and
publications over someone else's are conflicts that overwrite nothing, every change is audited;
and the field-by-field differences between two versions of a guide."""

from __future__ import annotations

import asyncio

import pytest

from assistant.catalog import CatalogService
from assistant.guide_diff import diff_items
from assistant.guide_drafts import GuideDraftError, GuideDrafts, parse_item
from assistant.models import Material, ServiceItem
from web.errors import status_of

MARRIAGE = ServiceItem(code="CD-9001", name="结婚登记", aliases=["领结婚证"], department="成都市民政局",
                       audience=["个人"], conditions="男女双方自愿。\n达到法定婚龄。",
                       materials=[Material(name="居民户口簿", form="原件", count=1)])


@pytest.fixture
async def catalog(db, audit) -> CatalogService:  # type: ignore[no-untyped-def]
    catalog = CatalogService(db, audit)
    await catalog.save_item(MARRIAGE, actor="seed")
    return catalog


@pytest.fixture
def drafts(db, audit, catalog) -> GuideDrafts:  # type: ignore[no-untyped-def]
    return GuideDrafts(db, audit, catalog)


def edited(**changes) -> ServiceItem:  # type: ignore[no-untyped-def]
    return MARRIAGE.model_copy(update=changes)


async def test_a_draft_is_invisible_until_published_and_every_step_is_audited(drafts, catalog, audit):
    draft = await drafts.save("li.editor", edited(aliases=["领结婚证", "扯证"]), base_version=1, revision=None)
    assert (draft.revision, draft.base_version, draft.author) == (1, 1, "li.editor")
    assert (await catalog.get_item("CD-9001")).item.aliases == ["领结婚证"]  # not published yet
    kb_before = await catalog.kb_version()

    record = await drafts.publish("zhao.reviewer", "CD-9001")
    assert record.version == 2 and record.item.aliases == ["领结婚证", "扯证"]
    assert await drafts.get("CD-9001") is None
    assert await catalog.kb_version() > kb_before  # search and the assistant will see it
    assert [h["version"] for h in await catalog.item_history("CD-9001")] == [1, 2]
    steps = [(e["action"], e["actor"]) for e in reversed(await audit.entries(target_id="CD-9001"))]
    assert steps == [("item.save", "seed"), ("guide_draft.save", "li.editor"), ("item.save", "zhao.reviewer"),
                     ("guide_draft.publish", "zhao.reviewer")]
    saved = next(e for e in await audit.entries(target_type="guide_draft") if e["action"] == "guide_draft.save")
    assert saved["before"] is None and saved["after"]["aliases"] == ["领结婚证", "扯证"]


async def test_a_stale_draft_edit_is_a_conflict_that_overwrites_nothing(drafts):
    await drafts.save("li.editor", edited(name="结婚登记（一）"), base_version=1, revision=None)
    second = await drafts.save("li.editor", edited(name="结婚登记（二）"), base_version=1, revision=1)
    assert second.revision == 2
    with pytest.raises(GuideDraftError) as stale:
        await drafts.save("wang.admin", edited(name="结婚登记（三）"), base_version=1, revision=1)
    assert status_of(stale.value.code) == 409 and stale.value.code == "draft_changed"
    assert (await drafts.get("CD-9001")).item.name == "结婚登记（二）"
    with pytest.raises(GuideDraftError) as twice:  # a second "new" draft of the same item
        await drafts.save("wang.admin", edited(name="另一份"), base_version=1, revision=None)
    assert twice.value.code == "draft_exists"
    with pytest.raises(GuideDraftError) as old_base:  # the form was read before the last publication
        await drafts.save("wang.admin", edited(name="另一份"), base_version=None, revision=2)
    assert old_base.value.code == "draft_changed"
    assert (await drafts.get("CD-9001")).item.name == "结婚登记（二）"


async def test_publishing_over_someone_elses_publication_is_a_conflict_that_overwrites_nothing(drafts, catalog):
    await drafts.save("li.editor", edited(fees="不收费"), base_version=1, revision=None)
    await catalog.save_item(edited(fees="免费，工本费另计"), actor="importer")  # published meanwhile: version 2
    with pytest.raises(GuideDraftError) as conflict:
        await drafts.publish("zhao.reviewer", "CD-9001")
    assert status_of(conflict.value.code) == 409 and conflict.value.code == "item_changed"
    assert conflict.value.details == {"current_version": 2}
    record = await catalog.get_item("CD-9001")
    assert (record.version, record.item.fees) == (2, "免费，工本费另计")
    assert (await drafts.get("CD-9001")).item.fees == "不收费"  # kept, to be reconciled by a person
    with pytest.raises(GuideDraftError) as read_other:  # the publisher read another revision of the draft
        await drafts.publish("zhao.reviewer", "CD-9001", revision=7)
    assert read_other.value.code == "draft_changed"


async def test_a_new_item_is_a_draft_until_published_and_may_not_take_a_used_code(drafts, catalog):
    new = ServiceItem(code="CD-9002", name="离婚登记", department="成都市民政局")
    with pytest.raises(GuideDraftError) as taken:
        await drafts.save("li.editor", new.model_copy(update={"code": "CD-9001"}), base_version=None, revision=None)
    assert taken.value.code == "item_changed" and "已被使用" in str(taken.value)
    await drafts.save("li.editor", new, base_version=None, revision=None)
    rows, total = await drafts.overview(words="离婚")
    assert total == 1 and rows[0].code == "CD-9002" and rows[0].version is None and rows[0].draft_revision == 1
    assert await catalog.get_item("CD-9002") is None
    record = await drafts.publish("zhao.reviewer", "CD-9002")
    assert record.version == 1 and (await catalog.get_item("CD-9002")).item.name == "离婚登记"


async def test_discarding_a_draft_keeps_the_published_guide_and_is_audited(drafts, catalog, audit):
    await drafts.save("li.editor", edited(notes="草稿中的提示"), base_version=1, revision=None)
    await drafts.discard("li.editor", "CD-9001", revision=1)
    assert await drafts.get("CD-9001") is None and (await catalog.get_item("CD-9001")).item.notes == ""
    entry = (await audit.entries(target_type="guide_draft", target_id="CD-9001"))[0]
    assert entry["action"] == "guide_draft.discard" and entry["before"]["notes"] == "草稿中的提示"
    with pytest.raises(GuideDraftError) as gone:
        await drafts.discard("li.editor", "CD-9001")
    assert status_of(gone.value.code) == 404
    with pytest.raises(GuideDraftError) as unpublishable:
        await drafts.publish("zhao.reviewer", "CD-9001")
    assert status_of(unpublishable.value.code) == 404


async def test_the_overview_searches_names_codes_and_aliases_and_filters(drafts, catalog):
    await catalog.save_item(ServiceItem(code="CD-9003", name="企业名称登记", audience=["法人"], department="市场监管局",
                                        conditions="领结婚证的人不相干", status="retired"), actor="seed")
    await drafts.save("li.editor", edited(), base_version=1, revision=None)
    assert [r.code for r in (await drafts.overview(words="领结婚证"))[0]] == ["CD-9001"]  # an alias, not the conditions
    assert [r.code for r in (await drafts.overview(words="cd-9003"))[0]] == ["CD-9003"]
    assert [r.code for r in (await drafts.overview(words="登记 企业"))[0]] == ["CD-9003"]
    assert [r.code for r in (await drafts.overview(audience="法人"))[0]] == ["CD-9003"]
    assert [r.code for r in (await drafts.overview(status="active"))[0]] == ["CD-9001"]
    assert [r.code for r in (await drafts.overview(only_drafts=True))[0]] == ["CD-9001"]
    assert [r.code for r in (await drafts.overview(department="市场监管局"))[0]] == ["CD-9003"]
    assert set(await drafts.departments()) == {"市场监管局", "成都市民政局"}
    rows, total = await drafts.overview(page=2, page_size=1)
    assert total == 2 and [r.code for r in rows] == ["CD-9003"]


def test_an_invalid_guide_is_refused_with_every_problem_by_path():
    document = {**MARRIAGE.model_dump(mode="json"), "name": "", "visits": "很多",
                "materials": [{"name": "户口簿", "count": "两"}, {"name": "", "count": 101}]}
    with pytest.raises(GuideDraftError) as refused:
        parse_item(document)
    assert status_of(refused.value.code) == 422
    problems = {p["path"]: p["message"] for p in refused.value.details}
    assert problems == {"name": "不能为空", "visits": "应为整数", "materials.0.count": "应为整数",
                        "materials.1.name": "不能为空", "materials.1.count": "不能大于 100"}
    with pytest.raises(GuideDraftError) as dates:
        parse_item({**MARRIAGE.model_dump(mode="json"), "valid_from": "2026-05-01", "valid_to": "2026-01-01"})
    assert dates.value.details == [{"path": "valid_to", "message": "失效日期不能早于生效日期"}]


def test_the_diff_marks_changed_words_in_long_text_and_changed_list_entries():
    before = MARRIAGE.model_dump(mode="json")
    after = edited(conditions="男女双方完全自愿。\n达到法定婚龄。", aliases=["领结婚证", "扯证"],
                   materials=[]).model_dump(mode="json")
    changes = {c.field: c for c in diff_items(before, after)}
    assert set(changes) == {"conditions", "aliases", "materials"}
    first = changes["conditions"].lines[0]
    assert first.op == "replace" and [s.text for s in first.after if s.changed] == ["完全"]
    assert changes["conditions"].lines[1].op == "equal"
    assert [(line.op, line.after[0].text) for line in changes["aliases"].lines] == [("equal", "领结婚证"), ("insert", "扯证")]
    assert changes["materials"].lines[0].op == "delete"
    assert "居民户口簿" in changes["materials"].lines[0].before[0].text
    assert diff_items(before, before) == []
    assert {c.field for c in diff_items(None, before)} >= {"code", "name", "materials"}  # a new item: all added


async def test_two_people_saving_at_the_same_moment_one_wins_and_the_other_is_told(drafts):
    created = await asyncio.gather(*(drafts.save(who, edited(notes=who), base_version=1, revision=None)
                                     for who in ("li.editor", "wang.admin")), return_exceptions=True)
    assert sorted(type(r).__name__ for r in created) == ["GuideDraft", "GuideDraftError"]
    assert next(r for r in created if isinstance(r, GuideDraftError)).code == "draft_exists"
    edits = await asyncio.gather(*(drafts.save(who, edited(fees=who), base_version=1, revision=1)
                                   for who in ("li.editor", "wang.admin")), return_exceptions=True)
    winner = next(r for r in edits if not isinstance(r, Exception))
    assert [r.code for r in edits if isinstance(r, GuideDraftError)] == ["draft_changed"]
    assert (await drafts.get("CD-9001")).item.fees == winner.item.fees and winner.revision == 2


async def test_no_one_who_saved_any_revision_of_a_draft_may_publish_it(drafts, catalog, audit):
    """The attack: an admin writes a guide change, an editor re-saves it unchanged (so the editor
    is the last author), and the admin tries to publish it as if it were someone else's."""
    written = await drafts.save("wang.admin", edited(fees="不收费（管理员的修改）"), base_version=1, revision=None)
    resaved = await drafts.save("li.editor", written.item, base_version=1, revision=written.revision)
    assert resaved.item == written.item and resaved.author == "li.editor"
    assert resaved.revision_authors == ({"revision": 1, "author": "wang.admin"}, {"revision": 2, "author": "li.editor"})
    for who in ("wang.admin", "li.editor"):  # the earlier author as much as the last one
        with pytest.raises(GuideDraftError) as own:
            await drafts.publish(who, "CD-9001", revision=2)
        assert (status_of(own.value.code), own.value.code) == (403, "own_change") and "不能发布自己参与的修改" in str(own.value)
        assert own.value.details == {"authors": ["wang.admin", "li.editor"]}
    record = await catalog.get_item("CD-9001")
    assert (record.version, record.item.fees) == (1, "")  # nothing was published…
    assert (await drafts.get("CD-9001")).revision == 2  # …and the draft is kept

    published = await drafts.publish("zhao.reviewer", "CD-9001", revision=2)  # never saved it: may publish
    assert published.version == 2 and published.item.fees == "不收费（管理员的修改）"
    saves = [e for e in reversed(await audit.entries(target_type="guide_draft", target_id="CD-9001"))
             if e["action"] == "guide_draft.save"]
    assert [(e["actor"], e["before"] is None, e["after"]["fees"]) for e in saves] == [
        ("wang.admin", True, "不收费（管理员的修改）"), ("li.editor", False, "不收费（管理员的修改）")]
    # the next draft of the item starts its own list: the admin may publish one only the editor saved
    await drafts.save("li.editor", published.item.model_copy(update={"notes": "新的提示"}), base_version=2, revision=None)
    assert (await drafts.publish("wang.admin", "CD-9001")).version == 3
