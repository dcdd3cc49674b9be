"""Request bodies are bounded before they are read: a JSON route refuses a body over
``RYB_MAX_BODY_BYTES`` from its ``Content-Length`` alone and cuts a chunked one off once it passes
the limit, while the attachment upload keeps its own, larger limit; JSON nested deeper than
``MAX_JSON_DEPTH`` is refused with a 400, never a 500.

The refusals of bodies that are never sent in full speak raw HTTP/1.1 to the served app: the server
must answer before the rest of the body arrives, because it never will (``unread_body``)."""

from __future__ import annotations

import json

import sqlalchemy as sa

from store.tables.evaluations import evaluations, followup_tasks
from tests.helpers import PDF, add_application, assert_error, chunked, login, signed_in, unread_body
from web.bodies import MAX_JSON_DEPTH

MB = 1024 * 1024


async def test_an_over_limit_json_body_is_refused_before_the_handler_runs(app, client):
    limit = app.ctx.settings.max_body_bytes
    assert app.config.REQUEST_MAX_SIZE == limit  # the server's own limit is the JSON limit
    user, auth = await signed_in(app, "o_big_body")
    await add_application(app, user, "SQ20261122000700")
    rating = json.dumps({"target_type": "application", "target_id": "SQ20261122000700", "stars": 1}).encode()
    headers = {**auth, "Content-Type": "application/json"}

    padded = rating[:-1] + b" " * (limit + 1 - len(rating)) + b"}"  # the same rating, one byte too long
    assert_error(await client.post("/api/v1/evaluations", content=padded, headers=headers), 413, "payload_too_large")
    async with app.ctx.db.read() as conn:  # the handler never ran: nothing was rated, no task opened
        assert (await conn.execute(sa.select(sa.func.count()).select_from(evaluations))).scalar() == 0
        assert (await conn.execute(sa.select(sa.func.count()).select_from(followup_tasks))).scalar() == 0

    # refused on its Content-Length, before any of it is read: here none of it is ever sent
    status, answer = await unread_body(str(client.base_url), "POST", "/api/v1/evaluations",
                                       {**headers, "Content-Length": str(5 * MB)})
    assert status == 413 and answer["error"]["code"] == "payload_too_large"
    # a chunked body is cut off once it passes the limit (here: one byte past it, and never finished)
    status, answer = await unread_body(str(client.base_url), "POST", "/api/v1/evaluations",
                                       {**headers, "Transfer-Encoding": "chunked"}, chunked(limit + 1))
    assert status == 413 and answer["error"] == {"code": "payload_too_large", "message": "请求体过大", "details": None}

    assert (await client.post("/api/v1/evaluations", content=rating, headers=headers)).status_code == 201


async def test_the_attachment_upload_keeps_its_own_larger_limit(app, client):
    auth = await login(app, "o_big_upload")
    draft = (await client.post("/api/v1/forms/CD-0053/prefill", headers=auth)).json()["draft"]
    path = f"/api/v1/drafts/{draft['id']}/attachments"
    lease = PDF + b"0" * (5 * MB - len(PDF))  # five times the JSON limit; the form takes up to 10 MB
    uploaded = await client.post(path, headers=auth, data={"key": "premises_document"},
                                 files={"file": ("lease.pdf", lease)})
    assert uploaded.status_code == 201, uploaded.text
    assert uploaded.json()["attachment"]["size"] == 5 * MB
    assert [a["size"] for a in (await client.get(f"/api/v1/drafts/{draft['id']}", headers=auth)).json()["attachments"]] \
        == [5 * MB]

    # past the largest attachment the server takes: refused on the Content-Length, nothing read
    too_big = app.ctx.settings.max_attachment_bytes + 65_536 + 1
    status, answer = await unread_body(str(client.base_url), "POST", path, {
        **auth, "Content-Type": "multipart/form-data; boundary=x", "Content-Length": str(too_big)})
    assert status == 413 and answer["error"]["code"] == "payload_too_large"
    assert answer["error"]["details"] == {"max_bytes": too_big - 1}
    # and someone else's draft is refused before its body is read at all
    stranger = await login(app, "o_not_the_owner", bind=False)
    status, answer = await unread_body(str(client.base_url), "POST", path, {
        **stranger, "Content-Type": "multipart/form-data; boundary=x", "Content-Length": str(5 * MB)})
    assert status == 404 and answer["error"]["code"] == "draft_not_found"


def nested(levels: int) -> str:
    """A JSON object nested ``levels`` deep: {"a": {"a": … 1 …}}."""
    return '{"a":' * levels + "1" + "}" * levels


async def test_json_nested_too_deep_is_refused_cleanly(app, client):
    auth = await login(app, "o_deep_json", bind=False)
    draft = (await client.post("/api/v1/forms/CD-0053/prefill", headers=auth)).json()["draft"]
    path, headers = f"/api/v1/drafts/{draft['id']}", {**auth, "Content-Type": "application/json"}

    def body(levels: int) -> str:  # the draft body itself is one level: {"data": …, "revision": 1}
        return f'{{"data": {nested(levels - 1)}, "revision": {draft["revision"]}}}'

    for depth in (33, 1000):  # 1,000 levels was a 500 (RecursionError) once
        refused = await client.put(path, content=body(depth).encode(), headers=headers)
        assert_error(refused, 400, "json_too_deep")
        assert refused.json()["error"]["details"] == {"max_depth": MAX_JSON_DEPTH}
        assert f"{MAX_JSON_DEPTH} 层" in refused.json()["error"]["message"]
    # deeper than the parser itself can go, within the size limit
    assert_error(await client.put(path, content=b"[" * 500_000, headers=headers), 400, "json_too_deep")
    # at the limit the body is read, and the draft's own rules answer
    assert_error(await client.put(path, content=body(MAX_JSON_DEPTH).encode(), headers=headers), 422, "unknown_fields")
    # NaN is not JSON either (a database's JSON column would refuse it later)
    assert_error(await client.put(path, content=b'{"data": {"capital": NaN}, "revision": 1}', headers=headers),
                 400, "invalid_json")
    assert (await client.get(path, headers=auth)).json()["draft"]["revision"] == draft["revision"]  # nothing saved
