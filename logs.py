"""Structured logging: one JSON object per line, the request id on every line, and personal
data (ID numbers, mobile numbers, bank cards) masked before anything is written."""

from __future__ import annotations

import json
import logging
import re
import sys
from contextvars import ContextVar
from datetime import UTC, datetime

request_id_var: ContextVar[str] = ContextVar("request_id", default="-")

# 18-digit resident ID (last may be X) or a legacy 15-digit one; 11-digit mainland mobile;
# 16-19 digit bank cards. Digit runs are bounded so that longer numbers are left alone.
# A number glued to letters (an item code such as 11440000006939756B244…) is none of these.
_ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])(?:\d{17}[0-9Xx]|\d{15})(?![0-9A-Za-z])")
_MOBILE = re.compile(r"(?<![0-9A-Za-z])(1[3-9]\d)(\d{4})(\d{4})(?![0-9A-Za-z])")
_BANK_CARD = re.compile(r"(?<![0-9A-Za-z])(\d{4})(\d{8,11})(\d{4})(?![0-9A-Za-z])")


def mask_id_number(value: str) -> str:
    """``510104199001011234`` → ``5101**********1234``."""
    value = value.strip()
    return value[:4] + "*" * (len(value) - 8) + value[-4:] if len(value) > 8 else "*" * len(value)


def mask_name(name: str) -> str:
    """``张三丰`` → ``张**``: keep the family name only."""
    return name[:1] + "*" * (len(name) - 1) if name else name


def mask_personal_data(text: str) -> str:
    text = _ID_NUMBER.sub(lambda m: mask_id_number(m.group(0)), text)
    text = _BANK_CARD.sub(lambda m: m.group(1) + "*" * len(m.group(2)) + m.group(3), text)
    return _MOBILE.sub(lambda m: m.group(1) + "****" + m.group(3), text)


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
