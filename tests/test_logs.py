"""Personal data never reaches the logs unmasked."""

from __future__ import annotations

import json
import logging

import pytest

from logs import (
    MaskingJsonFormatter,
    find_id_numbers,
    find_mobile_numbers,
    mask_id_number,
    mask_name,
    mask_personal_data,
)


def test_id_numbers_phones_and_cards_are_masked():
    text = "身份证510104199001011234，旧证510104900101123，手机13812345678，卡号6222021234567890123"
    masked = mask_personal_data(text)
    assert "5101**********1234" in masked and "5101*******1123" in masked
    assert "138****5678" in masked and "6222***********0123" in masked
    for raw in ("510104199001011234", "13812345678", "6222021234567890123"):
        assert raw not in masked


def test_ordinary_numbers_are_left_alone():
    assert mask_personal_data("事项编码11440000006939756B2440101007000，受理时限20个工作日") == \
        "事项编码11440000006939756B2440101007000，受理时限20个工作日"


@pytest.mark.parametrize("typed, masked", [
    ("身份证5101 8119 8407 0468 45", "身份证5101**********6845"),
    ("身份证510181-19840704-6845", "身份证5101**********6845"),
    ("身份证510181 1984 0704 684x。", "身份证5101**********684X。"),
    ("电话138-0000-6336", "电话138****6336"),
    ("电话138 0000 6336", "电话138****6336"),
    ("电话+86 139-0000-1111", "电话+86 139****1111"),
    ("电话+8613900001111", "电话+86139****1111"),
    ("电话86-13900001111", "电话86-139****1111"),
    ("电话0086 13900001111", "电话0086 139****1111"),
    ("电话１３８００００６３３６，谢谢", "电话138****6336，谢谢"),
    ("电话＋８６ １３９－００００－１１１１", "电话+86 139****1111"),
    ("身份证５１０１８１１９８４０７０４６８４５", "身份证5101**********6845"),
    ("卡号6222 0212 3456 7890 123", "卡号6222***********0123"),
    ("2026-12-04 13800006336 来电", "2026-12-04 138****6336 来电"),
])
def test_grouped_prefixed_and_full_width_numbers_are_masked(typed, masked):
    assert mask_personal_data(typed) == masked
    assert mask_personal_data(masked) == masked  # masking twice changes nothing


@pytest.mark.parametrize("ordinary", [
    "2026-12-04", "2026年12月4日", "补贴金额 1,380,000 元", "3800.50元", "事项编码CD-0021", "受理编号SQ20261122000001",
    "工单12345260501000000", "工单123452612040123456789012345", "事项编码11440000006939756B2440101007000",
    "咨询电话028-86123456", "拨打12345", "１２３４５热线", "第138号", "办件量13800件",
])
def test_ordinary_numbers_are_not_masked(ordinary):
    assert mask_personal_data(ordinary) == ordinary


def test_numbers_are_found_as_plain_digits_however_typed():
    text = "我叫王五，身份证5101 8119 8407 0468 4x，电话+86 139-0000-1111，备用１３８００００６３３６"
    assert find_id_numbers(text) == ["51018119840704684X"]
    assert find_mobile_numbers(text) == ["13900001111", "13800006336"]
    assert find_id_numbers("2026-12-04") == find_mobile_numbers("SQ20261122000001") == []


def test_helpers():
    assert mask_id_number("51010419900101123X") == "5101**********123X"
    assert mask_name("张三丰") == "张**"


def test_json_lines_carry_the_request_id_and_are_masked():
    record = logging.LogRecord("t", logging.INFO, __file__, 1, "bind %s", ("13812345678",), None)
    record.request_id = "req-1"
    entry = json.loads(MaskingJsonFormatter().format(record))
    assert entry["request_id"] == "req-1" and entry["msg"] == "bind 138****5678"
