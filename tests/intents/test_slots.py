"""Slot extraction: aspects, Chengdu districts, dates, numbers and audience."""

from __future__ import annotations

from datetime import date

import pytest

from intents.slots import RegionTable, extract_slots, find_aspect
from server import DEMO_DIR


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
    assert slots.ticket_numbers == ["12345260315000001"]
    assert slots.has_phone_number and slots.has_id_number
    assert date(2026, 3, 15) in slots.dates
    assert extract_slots("明天去办", regions, today=date(2026, 11, 22)).dates == [date(2026, 11, 23)]
    assert extract_slots("13月45日", regions).dates == []
    assert extract_slots("我们公司要办", regions).audience == "法人"
    assert extract_slots("我自己要办", regions).audience == "个人"
