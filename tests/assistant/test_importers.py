"""Importing catalogs: the real gdzwfw catalog, and every kind of bad input."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from assistant.catalog import CatalogService
from assistant.importers import import_catalog
from store.audit import AuditLog
from store.tables.catalog import service_items


@pytest.fixture
def catalog(db, audit) -> CatalogService:
    return CatalogService(db, audit)


def gd_record(code: str, name: str = "测试事项", **extra) -> dict:
    record = {"TASK_CODE": code, "TASK_NAME": name, "DEPT_NAME": "测试局", "TASK_TYPE_TEXT": "公共服务",
              "service_object_name": ["自然人"], "material_intro": ["申请表"], "handle_time": "20(工作日)",
              "handle_time_limit": "无", "accept_standard": "符合条件的个人"}
    record.update(extra)
    return record


def write_lines(path, *lines: str):
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


async def test_the_real_gdzwfw_catalog_imports_completely_and_a_rerun_changes_nothing(db, catalog, shared_data):
    path = shared_data / "gd_catalog" / "items.jsonl"
    first = await import_catalog(db, catalog, "gdzwfw", path)
    assert (first.read, first.items.created, first.skipped) == (2262, 2262, 0)
    assert await catalog.count_items() == 2262
    version = await catalog.kb_version()

    second = await import_catalog(db, catalog, "gdzwfw", path)
    assert (second.items.unchanged, second.changes) == (2262, 0)
    assert await catalog.kb_version() == version  # nothing published, nothing bumped

    # a real record, mapped field by field ("无" treated as absent)
    record = (await catalog.get_item("11440000553612461J2442111559001")).item
    assert record.name == "企业职工养老保险待遇重核申请"
    assert record.aliases == ["养老保险重核", "待遇重核", "养老待遇申请"]
    assert record.department == "广东省人力资源和社会保障厅"
    assert record.audience == ["个人"] and record.item_type == "公共服务" and record.level == "省级"
    assert record.legal_time_limit == "40个工作日" and record.promised_time_limit == "40个工作日"
    assert [m.name for m in record.materials][:2] == ["企业职工基本养老保险待遇重核申请书",
                                                      "原《企业职工基本养老保险待遇核定表》原件"]
    assert record.places[0].address == "广州市天河区林和中路168号广东省社会保险基金管理局2楼窗口"
    assert record.phones.consult == "020-12333-9" and record.online.available is True
    assert record.courier is False and record.visits == 1

    absent = (await catalog.get_item("11440000006939756B2440101007000")).item
    assert absent.aliases == [] and absent.online.url.startswith("https://www.gdzwfw.gov.cn/")
    assert set(absent.audience) == {"个人", "法人"}


async def test_bad_lines_are_reported_by_number_and_skipped(db, catalog, tmp_path):
    long_text = "很" * 9000
    path = write_lines(
        tmp_path / "items.jsonl",
        json.dumps(gd_record("A1", "好事项"), ensure_ascii=False),
        "{not json",
        json.dumps(["a", "list"]),
        json.dumps(gd_record("A1", "重复的事项"), ensure_ascii=False),
        json.dumps({"TASK_NAME": "没有编码"}, ensure_ascii=False),
        json.dumps(gd_record("A2", "无"), ensure_ascii=False),
        json.dumps(gd_record("A3", accept_standard=long_text), ensure_ascii=False),
        json.dumps(gd_record("bad code with spaces"), ensure_ascii=False),
        "",
    )
    report = await import_catalog(db, catalog, "gdzwfw", path)
    messages = [str(p) for p in report.problems]
    assert messages == [
        "items.jsonl:2: not valid JSON (Expecting property name enclosed in double quotes at column 2)",
        "items.jsonl:3: expected a JSON object",
        "items.jsonl:4: duplicate TASK_CODE A1 (first on line 1)",
        "items.jsonl:5: missing TASK_CODE",
        "items.jsonl:6: item A2 has no name",
        "items.jsonl:7: field accept_standard truncated from 9000 to 5000 characters (kept)",
        "items.jsonl:8: invalid item bad code with spaces: code: String should match pattern '^[0-9A-Za-z_\\-.]+$'",
    ]
    assert (report.read, report.items.created, report.skipped) == (8, 2, 6)
    assert (await catalog.get_item("A1")).item.name == "好事项"
    assert len((await catalog.get_item("A3")).item.conditions) == 5000


async def test_an_empty_file_is_reported_and_writes_nothing(db, catalog, tmp_path):
    path = write_lines(tmp_path / "empty.jsonl", "")
    report = await import_catalog(db, catalog, "gdzwfw", path)
    assert report.read == 0 and "no records found" in str(report.problems[0])
    assert await catalog.count_items() == 0


async def test_an_import_that_fails_midway_leaves_nothing_half_written(db, tmp_path, monkeypatch):
    catalog = CatalogService(db, AuditLog(db))
    path = write_lines(tmp_path / "items.jsonl",
                       *(json.dumps(gd_record(f"B{n}"), ensure_ascii=False) for n in range(10)))

    async def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(catalog, "upsert_faq", broken)  # fails after the items were written
    with pytest.raises(RuntimeError):
        await import_catalog(db, catalog, "gdzwfw", path)
    async with db.read() as conn:
        assert (await conn.execute(sa.select(sa.func.count()).select_from(service_items))).scalar_one() == 0


async def test_a_changed_item_gets_a_new_version_and_history(db, catalog, tmp_path):
    path = tmp_path / "items.jsonl"
    write_lines(path, json.dumps(gd_record("C1", handle_time="20(工作日)"), ensure_ascii=False))
    await import_catalog(db, catalog, "gdzwfw", path)
    before = await catalog.kb_version()
    write_lines(path, json.dumps(gd_record("C1", handle_time="15(工作日)"), ensure_ascii=False))
    report = await import_catalog(db, catalog, "gdzwfw", path)
    assert (report.items.updated, report.items.unchanged) == (1, 0)
    record = await catalog.get_item("C1")
    assert record.version == 2 and record.item.legal_time_limit == "15个工作日"
    assert [h["version"] for h in await catalog.item_history("C1")] == [1, 2]
    assert await catalog.kb_version() == before + 1
    entry = (await catalog.audit.entries(target_type="catalog"))[0]  # newest first
    assert entry["details"]["changed_items"] == ["C1"]


async def test_demo_yaml_problems_are_reported(db, catalog, tmp_path):
    (tmp_path / "items_x.yaml").write_text(
        "- {code: D1, name: 甲事项, audience: [个人]}\n"
        "- {code: D1, name: 重复}\n"
        "- {code: D2, name: 乙事项, audience: [外星人]}\n", encoding="utf-8")
    (tmp_path / "faq_x.yaml").write_text(
        "- {id: f1, question: 怎么办？, answer: 这样办。, items: [D1]}\n"
        "- {id: f2, question: 怎么办？, answer: 这样办。, items: [NOPE]}\n", encoding="utf-8")
    (tmp_path / "synonyms_x.yaml").write_text("[oops: {\n", encoding="utf-8")
    report = await import_catalog(db, catalog, "demo", tmp_path)
    messages = [str(p) for p in report.problems]
    assert messages[0] == "items_x.yaml#2: duplicate item D1"
    assert messages[1].startswith("items_x.yaml#3: invalid item: audience.0: Input should be '个人' or '法人'")
    assert messages[2].startswith("synonyms_x.yaml: not valid YAML")
    assert messages[3] == "faq f2: links unknown items ['NOPE']"
    assert (report.items.created, report.faq.created) == (1, 1)
