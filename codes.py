"""Checks of the official codes more than one package reads, pure and dependency-free: GB 32100
unified social credit codes (统一社会信用代码, with their GB 11714 organisation code) and the GB/T 2260
provinces that begin every division code. ``smartform.validators`` builds the form validators on
them; ``policy_graph`` checks the credit codes of enterprise facts with them.

Every check returns a ``Check``: ``ok``, a ``reason`` in plain Chinese for the person filling
the form (empty when ok), a stable ``code``, and the ``parts`` it parsed."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Check:
    ok: bool
    reason: str = ""
    code: str = "ok"
    parts: dict[str, Any] = field(default_factory=dict)


def fail(code: str, reason: str, **parts: Any) -> Check:
    return Check(False, reason, code, parts)


def clean(text: str) -> str:
    """Full-width characters to ASCII, spaces removed, letters upper-cased."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text or "")).upper()


# GB/T 2260 provinces (省级): the first two digits of every division code
PROVINCES = {
    "11": "北京", "12": "天津", "13": "河北", "14": "山西", "15": "内蒙古", "21": "辽宁", "22": "吉林",
    "23": "黑龙江", "31": "上海", "32": "江苏", "33": "浙江", "34": "安徽", "35": "福建", "36": "江西",
    "37": "山东", "41": "河南", "42": "湖北", "43": "湖南", "44": "广东", "45": "广西", "46": "海南",
    "50": "重庆", "51": "四川", "52": "贵州", "53": "云南", "54": "西藏", "61": "陕西", "62": "甘肃",
    "63": "青海", "64": "宁夏", "65": "新疆", "71": "台湾", "81": "香港", "82": "澳门",
}



# --- GB 32100 unified social credit code -------------------------------------------------------
_USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # no I, O, S, V, Z
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
# registration authority (登记管理部门) → the organisation types (机构类别) it may register
USCC_AUTHORITIES: dict[str, tuple[str, dict[str, str]]] = {
    "1": ("机构编制", {"1": "机关", "2": "事业单位", "3": "中央编办直接管理机构编制的群众团体", "9": "其他"}),
    "2": ("外交", {"1": "外国常驻新闻机构", "9": "其他"}),
    "3": ("司法行政", {"1": "律师执业机构", "2": "公证处", "3": "基层法律服务所", "4": "司法鉴定机构",
                     "5": "仲裁委员会", "9": "其他"}),
    "4": ("文化", {"1": "外国在华文化中心", "9": "其他"}),
    "5": ("民政", {"1": "社会团体", "2": "民办非企业单位", "3": "基金会", "9": "其他"}),
    "6": ("旅游", {"1": "外国旅游部门常驻代表机构", "2": "港澳台地区旅游部门常驻内地（大陆）代表机构", "9": "其他"}),
    "7": ("宗教", {"1": "宗教活动场所", "2": "宗教院校", "9": "其他"}),
    "8": ("工会", {"1": "基层工会", "9": "其他"}),
    "9": ("市场监督管理（工商）", {"1": "企业", "2": "个体工商户", "3": "农民专业合作社"}),
    "A": ("中央军委改革和编制办公室", {"1": "军队事业单位", "9": "其他"}),
    "N": ("农业", {"1": "组级集体经济组织", "2": "村级集体经济组织", "3": "乡镇级集体经济组织", "9": "其他"}),
    "Y": ("其他", {"1": "其他"}),
}
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def uscc_check_digit(first17: str) -> str:
    total = sum(_USCC_CHARS.index(c) * w for c, w in zip(first17, _USCC_WEIGHTS, strict=True))
    return _USCC_CHARS[(31 - total % 31) % 31]


def organisation_code_check_digit(body8: str) -> str:
    """GB 11714: the check character of the 9-character organisation code (组织机构代码)."""
    total = sum(int(c, 36) * w for c, w in zip(body8, _ORG_WEIGHTS, strict=True))
    value = 11 - total % 11
    return "X" if value == 10 else "0" if value == 11 else str(value)


def check_credit_code(text: str) -> Check:
    """An 18-character unified social credit code."""
    value = clean(text)
    if len(value) != 18:
        return fail("uscc_length", "统一社会信用代码应为18位")
    if any(c not in _USCC_CHARS for c in value):
        return fail("uscc_characters", "统一社会信用代码含有不允许的字符（不使用I、O、S、V、Z）")
    authority = USCC_AUTHORITIES.get(value[0])
    if authority is None:
        return fail("uscc_authority", "统一社会信用代码第1位（登记管理部门）不正确")
    if value[1] not in authority[1]:
        return fail("uscc_type", "统一社会信用代码第2位（机构类别）与登记管理部门不符")
    if not value[2:8].isdigit() or value[2:4] not in PROVINCES:
        return fail("uscc_region", "统一社会信用代码第3-8位不是有效的行政区划代码")
    if uscc_check_digit(value[:17]) != value[17]:
        return fail("uscc_check_digit", "统一社会信用代码校验位不正确，请核对是否输错（表格软件常把末几位变成0）")
    organisation = value[8:17]
    if organisation_code_check_digit(organisation[:8]) != organisation[8]:
        return fail("uscc_organisation_code", "统一社会信用代码第9-17位（组织机构代码）校验不正确")
    return Check(True, parts={
        "authority": authority[0], "type": authority[1][value[1]], "region_code": value[2:8],
        "organisation_code": organisation, "normalized": value})
