"""Slot extraction: aspects, Chengdu districts, dates, numbers and audience."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from intents.slots import TICKET_NUMBER, RegionTable, extract_slots, find_aspect
from server import DEMO_DIR
from tests.helpers import china_day_at_half_past_eleven_utc, half_past_eleven_utc


@pytest.fixture(scope="module")
def regions() -> RegionTable:
    return RegionTable.load(DEMO_DIR / "regions" / "chengdu.yaml")


@pytest.mark.parametrize("text, aspect", [
    ("办身份证要带什么", "材料"), ("需要哪些资料", "材料"), ("那要多久", "时限"), ("几天能拿到证", "时限"),
    ("收费吗", "费用"), ("要多少钱", "费用"), ("在哪里办", "地点"), ("这个在哪办", "地点"),
    ("谁可以申请", "条件"), ("办理流程是什么", "流程"), ("咨询电话多少", "电话"), ("手机上能办吗", "在线办理"),
    ("公积金提取", None),
])
def test_aspects(text, aspect):
    assert find_aspect(text) == aspect


def test_districts_by_full_or_short_name(regions):
    assert regions.find("我住在武侯区").code == "510107"
    assert regions.find("双流那边的窗口").name == "双流区"
    assert regions.find("高新区的政务中心").name == "成都高新区"
    assert regions.find("北京市朝阳区") is None
    assert len([d for d in regions.districts if d.code]) == 20


def test_numbers_dates_and_audience(regions):
    slots = extract_slots("我3月15日提交的SQ20260315000123，工单12345260315000001，电话13812345678，"
                          "身份证510104199001011234", regions, today=date(2026, 11, 22))
    assert slots.application_numbers == ["SQ20260315000123"]
    assert slots.ticket_numbers == ["12345260315000001"]  # an old ticket's number is still read
    assert slots.has_phone_number and slots.has_id_number
    assert (slots.phone_numbers, slots.id_numbers) == (["13812345678"], ["510104199001011234"])
    assert date(2026, 3, 15) in slots.dates
    assert extract_slots("明天去办", regions, today=date(2026, 11, 22)).dates == [date(2026, 11, 23)]
    assert extract_slots("13月45日", regions).dates == []
    assert extract_slots("我们公司要办", regions).audience == "法人"
    assert extract_slots("我自己要办", regions).audience == "个人"


def test_ticket_numbers_carry_sixteen_random_digits():
    new = "123452612040123456789012345"  # 12345 + yymmdd + 16 digits, as assistant.demands makes them
    assert TICKET_NUMBER.fullmatch(new) and TICKET_NUMBER.fullmatch("12345260315000001")
    assert extract_slots(f"查询工单{new}", RegionTable([])).ticket_numbers == [new]
    assert extract_slots("查询工单１２３４５２６１２０４０１２３４５６７８９０１２３４５", RegionTable([])).ticket_numbers == [new]
    for other in ("1234526120401234567890123", "12345261204012345678901234567", "9123452612040123456789012345"):
        assert extract_slots(f"工单{other}", RegionTable([])).ticket_numbers == [], other


@pytest.mark.parametrize("text, phones, ids", [
    ("电话138-0000-6336", ["13800006336"], []),
    ("电话+86 139-0000-1111", ["13900001111"], []),
    ("电话+8613900001111", ["13900001111"], []),
    ("电话86-13900001111", ["13900001111"], []),
    ("电话１３８００００６３３６", ["13800006336"], []),
    ("身份证5101 8119 8407 0468 45", [], ["510181198407046845"]),
    ("身份证５１０１８１１９８４０７０４６８４ｘ", [], ["51018119840704684X"]),
    ("2026-12-04去办CD-0021，编号SQ20261122000001", [], []),
])
def test_phone_and_id_numbers_in_any_format_as_plain_digits(text, phones, ids):
    slots = extract_slots(text, RegionTable([]))
    assert (slots.phone_numbers, slots.id_numbers) == (phones, ids)
    assert (slots.has_phone_number, slots.has_id_number) == (bool(phones), bool(ids))


def test_relative_dates_count_from_the_day_in_china(regions):
    """At 23:30 UTC it is 07:30 tomorrow in Chengdu: "明天" is the day after that."""
    slots = extract_slots("明天去办", regions, clock=half_past_eleven_utc)
    assert slots.dates == [china_day_at_half_past_eleven_utc() + timedelta(days=1)]
