"""Structured logging: one JSON object per line, the request id on every line, and personal
data (ID numbers, mobile numbers, bank cards) masked before anything is written.

The patterns for personal numbers are defined here, once: ``mask_personal_data`` (logs, chat
turns, tickets, analytics) and slot extraction (``intents.slots``) read numbers by the same rules,
however they were typed — grouped with spaces or hyphens, after +86, in full-width digits."""

from __future__ import annotations

import json
import logging
import re
import sys
from contextvars import ContextVar
from datetime import UTC, datetime

request_id_var: ContextVar[str] = ContextVar("request_id", default="-")

# Full-width digits, X (an ID number's check character), plus, hyphens and spaces, each as its one
# ASCII twin: the text keeps its length, so a match in the ASCII form is at the same place in what
# was typed.
_ASCII_TWINS = str.maketrans({**{chr(0xFF10 + d): str(d) for d in range(10)}, "\uff38": "X", "\uff58": "x",
                              "\uff0b": "+", "\uff0d": "-", "\u2010": "-", "\u2011": "-", "\u2012": "-",
                              "\u2013": "-", "\u2212": "-", "\u3000": " ", "\u00a0": " "})
# one space or hyphen where people group the digits of a phone, ID or card number; one only, so
# that a date and a number beside it ("2026-12-04 138…") never run together into a longer one
_SEP = r"[ \-]?"
# never inside a longer number, nor a code glued to letters (an item code 11440000006939756B244…,
# an application number SQ2026…)
_START = r"(?<![0-9A-Za-z])"
_END = r"(?![0-9A-Za-z])"
# an 18-digit resident ID (the last may be X): whole, 6-8-4 (the 8 perhaps 4-4) or 4-4-4-4-2;
# a legacy 15-digit one: whole or 6-6-3
_ID_BODY = (rf"\d{{6}}{_SEP}\d{{4}}{_SEP}\d{{4}}{_SEP}\d{{3}}[0-9Xx]"
            rf"|\d{{4}}{_SEP}\d{{4}}{_SEP}\d{{4}}{_SEP}\d{{4}}{_SEP}\d[0-9Xx]"
            rf"|\d{{6}}{_SEP}\d{{6}}{_SEP}\d{{3}}")
# a 16-19 digit bank card, whole or in fours; legacy 12345 ticket numbers (17 digits) are not cards
_CARD_BODY = rf"(?!12345)\d{{4}}{_SEP}\d{{4}}{_SEP}\d{{4}}{_SEP}\d{{4}}(?:{_SEP}\d{{1,3}})?"
# an 11-digit mainland mobile: whole, 3-4-4 or 3-8, perhaps after the country code (+86, 0086, 86)
_MOBILE_BODY = rf"(?P<country>(?:\+|00)?86{_SEP})?1[3-9]\d{_SEP}\d{{4}}{_SEP}\d{{4}}"

# ASCII: \d is 0-9 only (ascii_digits has turned full-width digits into those already)
ID_NUMBER = re.compile(rf"{_START}(?:{_ID_BODY}){_END}", re.ASCII)
MOBILE = re.compile(rf"{_START}(?:{_MOBILE_BODY}){_END}", re.ASCII)
BANK_CARD = re.compile(rf"{_START}(?:{_CARD_BODY}){_END}", re.ASCII)
# all three in one pass, in this order: an 18-digit run is an ID number before it is a card
_PERSONAL = re.compile(rf"{_START}(?:(?P<id>{_ID_BODY})|(?P<card>{_CARD_BODY})|(?P<mobile>{_MOBILE_BODY})){_END}",
                       re.ASCII)


def ascii_digits(text: str) -> str:
    """``１３８－０００`` → ``138-000``: full-width digits and separators as ASCII, the length kept.
    ``ID_NUMBER``, ``MOBILE`` and ``BANK_CARD`` expect this form."""
    return text.translate(_ASCII_TWINS)


def _digits(found: str) -> str:
    return re.sub(r"[^0-9X]", "", found.upper())


def find_id_numbers(text: str) -> list[str]:
    """Every ID number in ``text``, however it was written, as plain digits (X upper case)."""
    return [_digits(m.group(0)) for m in ID_NUMBER.finditer(ascii_digits(text))]


def find_mobile_numbers(text: str) -> list[str]:
    """Every mainland mobile number in ``text``, however it was written, as its plain 11 digits
    (``+86 139-0000-1111`` → ``13900001111``)."""
    return [_digits(m.group(0))[-11:] for m in MOBILE.finditer(ascii_digits(text))]


def mask_id_number(value: str) -> str:
    """``510104199001011234`` → ``5101**********1234``."""
    value = value.strip()
    return value[:4] + "*" * (len(value) - 8) + value[-4:] if len(value) > 8 else "*" * len(value)


def mask_name(name: str) -> str:
    """``张三丰`` → ``张**``: keep the family name only."""
    return name[:1] + "*" * (len(name) - 1) if name else name


def _mask(match: re.Match[str]) -> str:
    if match.group("id"):
        return mask_id_number(_digits(match.group(0)))
    if match.group("card"):
        digits = _digits(match.group(0))
        return digits[:4] + "*" * (len(digits) - 8) + digits[-4:]
    mobile = _digits(match.group(0))[-11:]
    return (match.group("country") or "") + mobile[:3] + "****" + mobile[-4:]


def mask_personal_data(text: str) -> str:
    """ID numbers, bank cards and mobile numbers masked (``5101**********1234``,
    ``6222***********0123``, ``138****5678``), however they were grouped or typed; a masked number is
    written as plain ASCII digits. The rest of the text is left exactly as it was, and masking a
    masked text changes nothing."""
    normalized = ascii_digits(text)
    pieces: list[str] = []
    kept = 0
    for match in _PERSONAL.finditer(normalized):
        pieces += [text[kept:match.start()], _mask(match)]
        kept = match.end()
    return "".join(pieces) + text[kept:] if pieces else text


class MaskingJsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "request_id": getattr(record, "request_id", None) or request_id_var.get(),
            "msg": mask_personal_data(record.getMessage()),
        }
        for key in ("method", "path", "status", "duration_ms"):
            if hasattr(record, key):
                value = getattr(record, key)
                entry[key] = mask_personal_data(value) if isinstance(value, str) else value
        if record.exc_info:
            entry["exc"] = mask_personal_data(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False)


class MaskingTextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return mask_personal_data(super().format(record))


def configure_logging(level: str = "INFO", as_json: bool = True) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(MaskingJsonFormatter() if as_json else MaskingTextFormatter(
        "%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Sanic's own loggers carry their own handlers; route them through ours instead
    for name in ("sanic.root", "sanic.error", "sanic.access", "sanic.server", "sanic.websockets", "jieba"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
    # jieba sets itself to DEBUG and announces every dictionary load
    logging.getLogger("jieba").setLevel(max(root.level, logging.INFO))
    # httpx logs every request URL at INFO (WeChat's URLs carry the access token) and aiosqlite
    # every statement's parameters at DEBUG (tokens, personal data): never below WARNING
    for name in ("httpx", "httpcore", "aiosqlite"):
        logging.getLogger(name).setLevel(max(root.level, logging.WARNING))
