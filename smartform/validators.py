"""Field validators: GB 11643 resident ID numbers (居民身份证号码), mobile numbers, bank card
numbers (Luhn), dates and amounts; GB 32100 unified social credit codes (统一社会信用代码) are
checked by ``codes.check_credit_code``, which ``policy_graph`` shares.

Every check returns a ``Check``: ``ok``, a ``reason`` in plain Chinese for the person filling
the form (empty when ok), a stable ``code``, and the ``parts`` it parsed (region, birth date,
gender; registration authority and type; …).
"""

from __future__ import annotations

import csv
import re
import unicodedata
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path

import china_time
from codes import PROVINCES, Check  # the checks policy_graph shares, and what every check returns
from codes import clean as _clean
from codes import fail as _fail
from yaml_files import read_yaml


# --- administrative divisions ----------------------------------------------------------------
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


def check_id_number(text: str, *, regions: RegionCodes | None = None, today: date | None = None,
                    clock: china_time.Clock = china_time.utc_now) -> Check:
    """A mainland resident ID number: 18 characters (GB 11643-1999) or a legacy 15-digit one."""
    value = _clean(text)
    today = today or china_time.today(clock)  # the day in China, not the server's
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
