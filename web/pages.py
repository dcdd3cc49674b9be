"""Pagination: which page a request asks for and which slice of the rows that is."""

from __future__ import annotations

from sanic import Request

MAX_PAGE = 10_000


def page_number(request: Request, maximum: int = MAX_PAGE) -> int:
    """The page a console link asks for (``?page=``): 1 when it is missing or not a number, at most
    ``maximum``."""
    raw = request.args.get("page", "1")
    return max(1, min(int(raw), maximum)) if raw.isdigit() and len(raw) < 6 else 1


def offset(page: int, page_size: int) -> int:
    """How many rows come before page ``page`` (from 1) of ``page_size`` rows."""
    return (page - 1) * page_size
