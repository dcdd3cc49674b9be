"""The item endpoints, the health checks and the API's common rules, through the real app."""

from __future__ import annotations

from tests.helpers import assert_error


async def test_an_item_comes_with_its_whole_guide(client):
    response = await client.get("/api/v1/items/CD-0021")
    assert response.status_code == 200
    item = response.json()
    assert item["name"] == "住房公积金提取" and item["version"] == 1 and item["source"] == "demo"
    assert item["materials"] and item["legal_time_limit"] and item["promised_time_limit"]
    assert response.headers["X-Request-ID"]


async def test_items_are_listed_with_filters_and_pages(app, client):
    everyone = await client.get("/api/v1/items", params={"page_size": 100})
    assert everyone.json()["total"] == 80 and len(everyone.json()["items"]) == 80
    enterprises = await client.get("/api/v1/items", params={"audience": "法人", "page_size": 100})
    codes = {i["code"] for i in enterprises.json()["items"]}
    assert "CD-0054" in codes and "CD-0001" not in codes  # 企业设立登记 yes, 居民身份证申领 no
    assert all("法人" in i["audience"] for i in enterprises.json()["items"])
    department = everyone.json()["items"][0]["department"]
    by_department = await client.get("/api/v1/items", params={"department": department})
    assert {i["department"] for i in by_department.json()["items"]} == {department}
    page2 = await client.get("/api/v1/items", params={"page": 2, "page_size": 30})
    assert [i["code"] for i in page2.json()["items"]] == [i["code"] for i in everyone.json()["items"][30:60]]


async def test_unknown_items_and_routes_get_the_one_error_shape(app, client):
    error = assert_error((await client.get("/api/v1/items/NOPE-1")), 404, "item_not_found")
    assert error["details"] == {"code": "NOPE-1"}
    assert_error((await client.get("/no/such/route")), 404, "not_found")
    assert_error((await client.delete("/api/v1/items/CD-0001")), 405, "method_not_allowed")


async def test_bad_query_arguments_are_explained_field_by_field(app, client):
    response = await client.get("/api/v1/items", params={"page_size": 1000, "audience": "外星人"})
    error = assert_error(response, 400, "invalid_request")
    assert {d["field"] for d in error["details"]} == {"page_size", "audience"}


async def test_health_readiness_and_the_openapi_document(app, client):
    health = await client.get("/healthz")
    assert health.status_code == 200 and health.json() == {"status": "ok"}
    await app.ctx.search.wait_for_vectors()
    await app.ctx.dialogue_task
    ready = await client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["database"] == {"ready": True} and ready.json()["kb_version"] >= 1
    app.ctx.readiness.report("vector_index", ready=False, done=10, total=80)
    building = await client.get("/readyz")
    assert building.status_code == 503 and building.json()["building"] == ["vector_index"]
    assert set(ready.json()["components"]) == {"lexical_index", "vector_index", "assistant"}
    assert ready.json()["components"]["assistant"] == {"ready": True, "enabled": False}
    spec = await client.get("/docs/openapi.json")
    assert spec.status_code == 200 and "/api/v1/items/{code}" in spec.json()["paths"]


async def test_a_given_request_id_is_echoed(app, client):
    response = await client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert response.headers["X-Request-ID"] == "abc-123"
    response = await client.get("/healthz", headers={"X-Request-ID": "bad id with spaces"})
    assert response.headers["X-Request-ID"] != "bad id with spaces"


async def test_an_oversized_body_is_refused_with_413(test_settings):
    """Sanic's own server enforces the limit before the body is read."""
    from sanic.response import json as json_response

    from server import create_app
    from tests.miniapp_api.conftest import serve

    app = create_app(test_settings.with_overrides(max_body_bytes=2048, embedder="none"))

    @app.post("/echo")  # any endpoint that takes a body
    async def echo(request):
        return json_response({"size": len(request.body)})

    async with serve(app) as client:
        assert (await client.post("/echo", content=b"x" * 100)).status_code == 200
        assert_error(await client.post("/echo", content=b"x" * 10_000), 413, "payload_too_large")


async def test_an_imported_gdzwfw_item_is_served_with_materials_and_time_limits(test_settings, shared_data):
    from assistant.catalog import CatalogService
    from assistant.importers import import_catalog
    from server import create_app, prepare_database
    from store.audit import AuditLog
    from tests.miniapp_api.conftest import serve

    test_settings = test_settings.with_overrides(embedder="none")  # lexical and fuzzy suffice here
    db = await prepare_database(test_settings)
    await import_catalog(db, CatalogService(db, AuditLog(db)), "gdzwfw", shared_data / "gd_catalog" / "items.jsonl")
    await db.dispose()

    async with serve(create_app(test_settings)) as client:
        response = await client.get("/api/v1/items/11440000006940116U244010200300101")
        assert response.status_code == 200
        item = response.json()
        assert item["name"] == "高等职业学校设立（含设置分校区）(民办高等职业学校设置审核)"
        assert item["materials"][0]["name"] == "申请正式建校的请示报告" and len(item["materials"]) == 7
        assert (item["legal_time_limit"], item["promised_time_limit"]) == ("180个工作日", "40个工作日")
        page = await client.get("/api/v1/items", params={"audience": "法人"})
        assert page.json()["total"] > 1000
