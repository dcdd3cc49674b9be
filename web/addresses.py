"""The client's address, as the proxy settings let Sanic see it: for rate limits, throttles and the
record."""

from __future__ import annotations

from sanic import Request


def client_address(request: Request) -> str:
    """The client's address (as the proxy settings let Sanic see it), for limits and the record."""
    return request.remote_addr or request.ip or "-"
