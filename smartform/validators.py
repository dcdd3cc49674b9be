"""Field validators: GB 11643 resident ID numbers (居民身份证号码), GB 32100 unified social credit
codes (统一社会信用代码), mobile numbers, bank card numbers (Luhn), dates and amounts.

Every check returns a ``Check``: ``ok``, a ``reason`` in plain Chinese for the person filling
the form (empty when ok), a stable ``code``, and the ``parts`` it parsed (region, birth date,
gender; registration authority and type; …).
"""

from __future__ import annotations

import csv
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from yaml_files import read_yaml


@dataclass(frozen=True)
class Check:
    ok: bool
    reason: str = ""
    code: str = "ok"
    parts: dict[str, Any] = field(default_factory=dict)


def _fail(code: str, reason: str, **parts: Any) -> Check:
    return Check(False, reason, code, parts)


def _clean(text: str) -> str:
    """Full-width characters to ASCII, spaces removed, letters upper-cased."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text or "")).upper()


# --- administrative divisions ----------------------------------------------------------------
# GB/T 2260 provinces (省级): the first two digits of every division code
PROVINCES = {
    "11": "北京", "12": "天津", "13": "河北", "14": "山西", "15": "内蒙古", "21": "辽宁", "22": "吉林",
    "23": "黑龙江", "31": "上海", "32": "江苏", "33": "浙江", "34": "安徽", "35": "福建", "36": "江西",
    "37": "山东", "41": "河南", "42": "湖北", "43": "湖南", "44": "广东", "45": "广西", "46": "海南",
    "50": "重庆", "51": "四川", "52": "贵州", "53": "云南", "54": "西藏", "61": "陕西", "62": "甘肃",
    "63": "青海", "64": "宁夏", "65": "新疆", "71": "台湾", "81": "香港", "82": "澳门",
}


class RegionCodes:
    """Known division codes. By default the provinces and our Chengdu table; a full table (a CSV
    with a ``code`` column per county, ``RYB_REGION_CODES_FILE``) makes the check complete.

    ID numbers keep the code of the district where they were first issued, and districts are
    merged and renamed over the years: a county code that is no longer in the table is accepted
    when its prefecture (first four digits) is, and reported as ``region_current: False``.
    """

    def __init__(self, counties: dict[str, str], complete: bool) -> None:
        self.counties = counties
        self.prefectures = {code[:4] for code in counties}
        self.complete = complete

    @classmethod
    def embedded(cls, chengdu_yaml: Path) -> RegionCodes:
        table = read_yaml(chengdu_yaml)
        counties = {str(d["code"]): d["name"] for d in table["districts"] if str(d.get("code", "")).isdigit()}
        return cls(counties, complete=False)

    @classmethod
    def from_csv(cls, path: Path) -> RegionCodes:
        with path.open(encoding="utf-8") as fh:
            counties = {row["code"]: row.get("name", "") for row in csv.DictReader(fh) if row.get("code", "").isdigit()}
        return cls(counties, complete=True)

    def check(self, code: str) -> tuple[bool, bool]:
        """(acceptable, current): whether a 6-digit code can be an issuing district."""
        if code[:2] not in PROVINCES:
            return False, False
        if code in self.counties:
            return True, True
        if self.complete:
            return code[:4] in self.prefectures, False
        # without the full table only Chengdu (5101) is known county by county
        return (code[:4] != "5101" or code[4:] in ("00", "01", "02", "03")), False


# --- GB 11643 resident ID number -----------------------------------------------------------------
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def id_check_digit(first17: str) -> str:
    return _ID_CHECK[sum(int(c) * w for c, w in zip(first17, _ID_WEIGHTS, strict=True)) % 11]


def _age(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def check_id_number(text: str, *, regions: RegionCodes | None = None, today: date | None = None) -> Check:
    """A mainland resident ID number: 18 characters (GB 11643-1999) or a legacy 15-digit one."""
    value = _clean(text)
    today = today or date.today()
    if re.fullmatch(r"\d{15}", value):
        legacy, body = True, value[:6] + "19" + value[6:]
    elif re.fullmatch(r"\d{17}[\dX]", value):
        legacy, body = False, value[:17]
    else:
        return _fail("id_format", "身份证号应为18位（最后一位可以是X）或15位数字")
    region = body[:6]
    acceptable, current = (regions or _DEFAULT_REGIONS).check(region)
    if not acceptable:
        return _fail("id_region", "身份证号前6位不是有效的地区代码", region_code=region)
    try:
        born = date(int(body[6:10]), int(body[10:12]), int(body[12:14]))
    except ValueError:
        return _fail("id_birth_date", "身份证号中的出生日期不存在")
    if born > today or born.year < 1890:
        return _fail("id_birth_date", "身份证号中的出生日期不合理")
    if not legacy and value[17] != id_check_digit(body):
        return _fail("id_check_digit", "身份证号校验位不正确，请核对是否输错")
    sequence = int(body[14:17] if not legacy else value[12:15])
    parts = {"region_code": region, "region_current": current, "province": PROVINCES[region[:2]],
             "birth_date": born.isoformat(), "age": _age(born, today), "gender": "男" if sequence % 2 else "女",
             "legacy": legacy, "normalized": body + id_check_digit(body) if legacy else value}
    return Check(True, parts=parts)


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
    value = _clean(text)
    if len(value) != 18:
        return _fail("uscc_length", "统一社会信用代码应为18位")
    if any(c not in _USCC_CHARS for c in value):
        return _fail("uscc_characters", "统一社会信用代码含有不允许的字符（不使用I、O、S、V、Z）")
    authority = USCC_AUTHORITIES.get(value[0])
    if authority is None:
        return _fail("uscc_authority", "统一社会信用代码第1位（登记管理部门）不正确")
    if value[1] not in authority[1]:
        return _fail("uscc_type", "统一社会信用代码第2位（机构类别）与登记管理部门不符")
    if not value[2:8].isdigit() or value[2:4] not in PROVINCES:
        return _fail("uscc_region", "统一社会信用代码第3-8位不是有效的行政区划代码")
    if uscc_check_digit(value[:17]) != value[17]:
        return _fail("uscc_check_digit", "统一社会信用代码校验位不正确，请核对是否输错（表格软件常把末几位变成0）")
    organisation = value[8:17]
    if organisation_code_check_digit(organisation[:8]) != organisation[8]:
        return _fail("uscc_organisation_code", "统一社会信用代码第9-17位（组织机构代码）校验不正确")
    return Check(True, parts={
        "authority": authority[0], "type": authority[1][value[1]], "region_code": value[2:8],
        "organisation_code": organisation, "normalized": value})


# --- the rest ---------------------------------------------------------------------------------
def check_phone(text: str) -> Check:
    value = re.sub(r"[\s-]", "", unicodedata.normalize("NFKC", text or ""))
    value = value.removeprefix("+86").removeprefix("0086")
    if not re.fullmatch(r"1[3-9]\d{9}", value):
        return _fail("phone", "请填写11位手机号码")
    return Check(True, parts={"normalized": value})


def luhn_ok(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        n = int(char)
        if position % 2:
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
    return total % 10 == 0


def check_bank_card(text: str) -> Check:
    value = re.sub(r"[\s-]", "", unicodedata.normalize("NFKC", text or ""))
    if not re.fullmatch(r"\d{12,19}", value):
        return _fail("bank_card_format", "银行卡号应为12到19位数字")
    if not luhn_ok(value):
        return _fail("bank_card_check", "银行卡号有误，请核对是否输错")
    return Check(True, parts={"normalized": value, "masked": value[:4] + "*" * (len(value) - 8) + value[-4:]})


def check_date(text: str, *, earliest: date | None = None, latest: date | None = None) -> Check:
    try:
        value = date.fromisoformat(_clean(text))
    except ValueError:
        return _fail("date_format", "日期格式应为 年-月-日，例如 2026-01-31")
    if earliest and value < earliest:
        return _fail("date_range", f"日期不能早于 {earliest.isoformat()}")
    if latest and value > latest:
        return _fail("date_range", f"日期不能晚于 {latest.isoformat()}")
    return Check(True, parts={"normalized": value.isoformat()})


def check_amount(text: str, *, minimum: float | None = None, maximum: float | None = None) -> Check:
    try:
        value = Decimal(_clean(str(text)).replace(",", ""))
    except InvalidOperation:
        return _fail("amount_format", "请填写数字金额")
    if not value.is_finite() or value.as_tuple().exponent < -2:  # type: ignore[operator]
        return _fail("amount_format", "金额最多保留两位小数")
    if minimum is not None and value < Decimal(str(minimum)):
        return _fail("amount_range", f"金额不能小于 {minimum:g}")
    if maximum is not None and value > Decimal(str(maximum)):
        return _fail("amount_range", f"金额不能大于 {maximum:g}")
    return Check(True, parts={"normalized": str(value)})


_DEFAULT_REGIONS = RegionCodes.embedded(Path(__file__).resolve().parents[1] / "demo" / "regions" / "chengdu.yaml")
