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
from intents.aspects import ASPECT_PATTERNS
from logs import ascii_digits, find_id_numbers, find_mobile_numbers
from yaml_files import read_yaml

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
