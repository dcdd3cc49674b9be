"""Slot extraction: the aspect of a guide being asked about, the district, dates, application and
ticket numbers, ID and phone numbers, and the audience. Rules only: each slot has a small, closed
vocabulary where precise patterns beat a model. (The item slot comes from the search service.)
ID and phone numbers are found with ``logs``' patterns, the very ones that mask them, and come out
as plain digits however they were typed (grouped, after +86, full-width)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import china_time
from logs import ascii_digits, find_id_numbers, find_mobile_numbers
from yaml_files import read_yaml

# the aspects of a guide (办事指南) a person asks about, and the words that ask for each;
# checked in this order, so "需要什么条件" is 条件 although "需要什么" alone asks for 材料
ASPECT_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("电话", re.compile(r"电话|热线|联系方式|号码多少|打哪个")),
    ("在线办理", re.compile(r"网上|线上|手机上|手机能|小程序|app|网办|在线|不用跑|不出门|掌上|网站|12123")),
    ("条件", re.compile(r"条件|要求|资格|谁可以|谁能|哪些人|什么人|能不能办|可以办吗|符合|满足|够不够|门槛")),
    ("材料", re.compile(r"材料|资料|带什么|带啥|带哪些|准备什么|准备啥|准备哪些|要什么证|需要什么|需要哪些|要啥子|提交什么|证件")),
    ("费用", re.compile(r"费用|收费|多少钱|好多钱|要钱|花钱|免费|工本费|交钱|几块钱|贵不贵")),
    ("时限", re.compile(r"多久|多长时间|几天|时限|多少天|几个工作日|什么时候能|啥时候|好久|办结|拿到证|当天|到账")),
    ("地点", re.compile(r"哪里办|在哪|去哪|哪儿|地点|地址|哪个窗口|哪点|哪个部门|什么地方|窗口在")),
    ("流程", re.compile(r"流程|步骤|怎么办理|程序|手续|怎么弄|怎么申请|如何申请|咋个办|怎么办|怎么搞|办理方式"
                      r"|怎么补|怎么换|怎么领|怎么开|怎么交|怎么取|怎么报|怎么注册|怎么登记|咋个|咋整|咋办|咋弄")),
]

APPLICATION_NUMBER = re.compile(r"(?<![0-9A-Za-z])SQ\d{14}(?![0-9])", re.IGNORECASE | re.ASCII)
# 12345 + date (yymmdd) + 16 random digits (assistant.demands); old tickets' numbers (6 random
# digits) are still read, their filers may ask about them
TICKET_NUMBER = re.compile(r"(?<![0-9])12345\d{6}(?:\d{16}|\d{6})(?![0-9])", re.ASCII)
_DATE = re.compile(r"(?:(\d{4})[年/.-])?(\d{1,2})[月/.-](\d{1,2})[日号]?")
_RELATIVE_DAYS = {"今天": 0, "明天": 1, "后天": 2, "昨天": -1, "前天": -2}
_PERSON = re.compile(r"我自己|本人|个人|孩子|老人|家里|我家|我爸|我妈|老公|老婆|退休")
_LEGAL_PERSON = re.compile(r"公司|企业|单位|厂|店铺|门店|个体户|法人|员工|营业执照")


@dataclass(frozen=True)
class District:
    code: str | None
    name: str
    names: tuple[str, ...]  # every way it is written, longest first


class RegionTable:
    """Chengdu's districts and counties (``demo/regions/chengdu.yaml``)."""

    def __init__(self, districts: list[District]) -> None:
        self.districts = districts
        self._lookup = sorted(((n, d) for d in districts for n in d.names), key=lambda pair: -len(pair[0]))

    @classmethod
    def load(cls, path: Path) -> RegionTable:
        data = read_yaml(path)
        districts = [District(str(d["code"]), d["name"], tuple(sorted({d["name"], d["short"]}, key=len, reverse=True)))
                     for d in data["districts"]]
        districts += [District(None, z["name"], tuple(sorted({z["name"], z["short"], *z.get("aliases", [])},
                                                            key=len, reverse=True)))
                      for z in data.get("zones", [])]
        return cls(districts)

    def find(self, text: str) -> District | None:
        for name, district in self._lookup:
            if len(name) >= 2 and name in text:
                return district
        return None


@dataclass
class Slots:
    aspect: str | None = None
    district: District | None = None
    dates: list[date] = field(default_factory=list)
    application_numbers: list[str] = field(default_factory=list)
    ticket_numbers: list[str] = field(default_factory=list)
    id_numbers: list[str] = field(default_factory=list)  # plain digits, however they were typed
    phone_numbers: list[str] = field(default_factory=list)  # plain 11 digits, without +86
    audience: str | None = None  # 个人 / 法人 when the text says so

    @property
    def has_id_number(self) -> bool:
        return bool(self.id_numbers)

    @property
    def has_phone_number(self) -> bool:
        return bool(self.phone_numbers)


def find_aspect(text: str) -> str | None:
    lowered = text.lower()
    return next((aspect for aspect, pattern in ASPECT_PATTERNS if pattern.search(lowered)), None)


def find_dates(text: str, today: date) -> list[date]:
    found = []
    for word, offset in _RELATIVE_DAYS.items():
        if word in text:
            found.append(today + timedelta(days=offset))
    for year, month, day in _DATE.findall(text):
        try:
            found.append(date(int(year) if year else today.year, int(month), int(day)))
        except ValueError:
            continue  # "13月45日" is not a date
    return found


def extract_slots(text: str, regions: RegionTable, today: date | None = None, *,
                  clock: china_time.Clock = china_time.utc_now) -> Slots:
    """The slots in ``text``; relative dates ("明天") count from ``today``, by default the day in China."""
    today = today or china_time.today(clock)
    text = ascii_digits(text)  # "工单１２３４５…" is the same number
    audience = "法人" if _LEGAL_PERSON.search(text) else "个人" if _PERSON.search(text) else None
    return Slots(
        aspect=find_aspect(text),
        district=regions.find(text),
        dates=find_dates(text, today),
        application_numbers=[n.upper() for n in APPLICATION_NUMBER.findall(text)],
        ticket_numbers=TICKET_NUMBER.findall(text),
        id_numbers=find_id_numbers(text),
        phone_numbers=find_mobile_numbers(text),
        audience=audience,
    )
