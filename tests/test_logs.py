"""Personal data never reaches the logs unmasked."""

from __future__ import annotations

import json
import logging

from logs import MaskingJsonFormatter, mask_id_number, mask_name, mask_personal_data


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


def test_helpers():
    assert mask_id_number("51010419900101123X") == "5101**********123X"
    assert mask_name("张三丰") == "张**"


def test_json_lines_carry_the_request_id_and_are_masked():
    record = logging.LogRecord("t", logging.INFO, __file__, 1, "bind %s", ("13812345678",), None)
    record.request_id = "req-1"
    entry = json.loads(MaskingJsonFormatter().format(record))
    assert entry["request_id"] == "req-1" and entry["msg"] == "bind 138****5678"
