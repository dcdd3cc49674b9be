"""Shared fixtures: the real databases (a SQLite file, and PostgreSQL when CI provides one),
the shared real-world data folder, and an app wired exactly as in production."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from sanic import Sanic

from settings import Settings
from store import migrate
from store.audit import AuditLog
from store.database import Database

Sanic.test_mode = True  # tests build many apps in one process

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
POSTGRES_URL_ENV = "RYB_TEST_POSTGRES_URL"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data``: real public data. Skips, saying so, when the folder is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data folder {SHARED_DATA} is missing (clone shared/ beside the project)")
    return SHARED_DATA


async def _fresh_postgres_database() -> tuple[str, str]:
    import asyncpg
    from sqlalchemy.engine import make_url

    admin_url = os.environ[POSTGRES_URL_ENV]
    url = make_url(admin_url)
    name = f"ryb_test_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(
        user=url.username, password=url.password, host=url.host, port=url.port or 5432, database=url.database)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return url.set(database=name).render_as_string(hide_password=False), name


async def _drop_postgres_database(name: str) -> None:
    import asyncpg
    from sqlalchemy.engine import make_url

    url = make_url(os.environ[POSTGRES_URL_ENV])
    conn = await asyncpg.connect(
        user=url.username, password=url.password, host=url.host, port=url.port or 5432, database=url.database)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture(params=["sqlite", "postgresql"])
async def database_url(request, tmp_path):  # type: ignore[no-untyped-def]
    """A real, empty database of each kind. PostgreSQL comes from ``RYB_TEST_POSTGRES_URL``
    (``.ci/run`` starts one); without it the PostgreSQL case is skipped locally and fails in CI."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"
        return
    if not os.environ.get(POSTGRES_URL_ENV):
        message = f"{POSTGRES_URL_ENV} is not set: no PostgreSQL to test against (.ci/run starts one)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    url, name = await _fresh_postgres_database()
    yield url
    await _drop_postgres_database(name)


@pytest.fixture
async def db(database_url):  # type: ignore[no-untyped-def]
    database = Database(database_url)
    await migrate.upgrade(database)
    yield database
    await database.dispose()


@pytest.fixture
async def second_db(database_url):  # type: ignore[no-untyped-def]
    """Another engine on the same database: a second process, as far as the database can tell."""
    database = Database(database_url)
    yield database
    await database.dispose()


@pytest.fixture
async def sqlite_db(tmp_path):  # type: ignore[no-untyped-def]
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'test.db'}")
    await migrate.upgrade(database)
    yield database
    await database.dispose()


@pytest.fixture
def audit(db) -> AuditLog:  # type: ignore[no-untyped-def]
    return AuditLog(db)


@pytest.fixture(scope="session")
def embedding_cache_file() -> str:
    """One embedding cache for every run on this machine (``RYB_TEST_EMBEDDING_CACHE``, by default
    under ``~/.cache``): vectors are keyed by model and content hash, as in production, so a text
    is embedded once per machine instead of once per run (the first run pays about 3 minutes)."""
    path = Path(os.environ.get("RYB_TEST_EMBEDDING_CACHE")
                or Path.home() / ".cache" / "rongyiban" / "test-embeddings.sqlite3")
    path.parent.mkdir(parents=True, exist_ok=True)
    return str(path)


@pytest.fixture(scope="session")
def identity_platform():  # type: ignore[no-untyped-def]
    """The local identity platform (a real OIDC provider on loopback) with the demo people, one per
    test process; every app under test trusts it (``tests/identity_platform.py`` signs people in)."""
    from smartform.local_identity_platform import LocalIdentityPlatform
    from smartform.synthetic import people
    from tests.identity_platform import CLIENT_ID, CLIENT_SECRET

    with LocalIdentityPlatform(people(), client_id=CLIENT_ID, client_secret=CLIENT_SECRET) as platform:
        yield platform


@pytest.fixture
def test_settings(tmp_path, embedding_cache_file, identity_platform) -> Settings:
    from tests.identity_platform import settings_for

    # tests send bursts from one address; the rate limits have their own tests
    # the demo policy graph takes seconds to import: tests of the graph import it themselves
    return Settings(data_dir=tmp_path / "var", log_json=False, outbox_poll_seconds=0.05, load_demo_policies=False,
                    embedding_cache_file=embedding_cache_file, search_sync_seconds=0.2, **UNLIMITED,
                    **settings_for(identity_platform.issuer))


UNLIMITED = {"rate_limit_ip_per_second": 1e6, "rate_limit_ip_burst": 1e6,
             "rate_limit_user_per_second": 1e6, "rate_limit_user_burst": 1e6}


# Modules whose tests take the longest (a served instance, a browser, a built assistant, a command
# line that builds one): run first, so that on two test processes the last minutes are not one long
# test on one process while the other is idle. Only the order changes; every test is independent.
LONG_MODULES = ("tests/test_cli.py", "tests/console/test_hit_test.py", "tests/miniapp_api/test_api_fuzz.py",
                "tests/miniapp_api/test_chat_api.py", "tests/assistant/test_dialogue.py")


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    long_modules = {item.nodeid.split("::")[0] for item in items if item.get_closest_marker("slow")}
    long_modules.update(LONG_MODULES)
    items.sort(key=lambda item: item.nodeid.split("::")[0] not in long_modules)  # stable: order kept within
