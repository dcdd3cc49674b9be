from __future__ import annotations

import socket
from contextlib import asynccontextmanager

import httpx
import pytest

from server import create_app


@pytest.fixture
def app(request, test_settings):
    """The production app on a fresh SQLite file, with the demo content loaded on start; the
    assistant is built only for tests marked ``with_assistant`` (it costs seconds of CPU)."""
    assistant = request.node.get_closest_marker("with_assistant") is not None
    return create_app(test_settings.with_overrides(assistant=assistant))


@asynccontextmanager
async def serve(app):
    """Serve the app with Sanic's own server on a loopback port; yield an HTTP client for it."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = await app.create_server(host="127.0.0.1", port=port, return_asyncio_server=True, access_log=False)
    await server.startup()
    await server.before_start()
    await server.after_start()
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
            yield http
    finally:
        await server.before_stop()
        server.close()
        await server.wait_closed()
        await server.after_stop()


@pytest.fixture
async def client(app):
    async with serve(app) as http:
        yield http
