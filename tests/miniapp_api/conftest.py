from __future__ import annotations

import json
import socket
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import httpx
import pytest
import schemathesis

from server import create_app


@pytest.fixture
def app(request, test_settings):
    """The production app on a fresh SQLite file, with the demo content loaded on start; the
    assistant is built only for tests marked ``with_assistant`` (it costs seconds of CPU)."""
    assistant = request.node.get_closest_marker("with_assistant") is not None
    return create_app(test_settings.with_overrides(assistant=assistant))


class Conformance:
    """Checks every answer a test receives against the app's own OpenAPI document: its status is
    one the operation documents and its body matches that status's schema. Every API test is
    thereby also a test of the documentation."""

    _schemas: dict[str, Any] = {}  # by document: loading one takes most of a second

    def __init__(self, document: dict) -> None:
        key = json.dumps(document, sort_keys=True)
        if key not in self._schemas:
            self._schemas[key] = schemathesis.openapi.from_dict(document)
        self.schema = self._schemas[key]
        self.problems: list[str] = []

    async def __call__(self, response: httpx.Response) -> None:
        request = response.request
        operation = self.schema.find_operation_by_path(request.method, request.url.path)
        if operation is None or operation.responses.status_codes == ("default",):
            return  # not a documented operation: /docs, an unknown path, a CORS preflight, a test's own route
        body = await response.aread()
        where = f"{request.method} {request.url.path} → {response.status_code}"
        if str(response.status_code) not in operation.responses.status_codes:
            self.problems.append(f"{where}: status not documented")
            return
        if response.status_code == 304:  # no body, by HTTP's rule
            return
        copy = httpx.Response(response.status_code, headers=response.headers, content=body,
                              request=httpx.Request(request.method, request.url))  # the request body may be a stream
        copy.elapsed = timedelta(0)  # schemathesis reads it; the copy was never on the wire
        try:
            operation.validate_response(copy)
        except (Exception, BaseExceptionGroup) as failure:  # schemathesis: one class per kind of failure
            self.problems.append(f"{where}: {str(failure)[:600]}")


@asynccontextmanager
async def serve(app):
    """Serve the app with Sanic's own server on a loopback port; yield an HTTP client for it whose
    every answer is checked against the OpenAPI document (``Conformance``)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = await app.create_server(host="127.0.0.1", port=port, return_asyncio_server=True, access_log=False)
    await server.startup()
    await server.before_start()
    await server.after_start()
    base_url = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=base_url) as plain:
            conformance = Conformance((await plain.get("/docs/openapi.json")).json())
        async with httpx.AsyncClient(base_url=base_url, timeout=30,
                                     event_hooks={"response": [conformance]}) as http:
            yield http
        assert conformance.problems == [], "answers that do not match the API document"
    finally:
        await server.before_stop()
        server.close()
        await server.wait_closed()
        await server.after_stop()


@pytest.fixture
async def client(app):
    async with serve(app) as http:
        yield http
