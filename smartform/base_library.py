"""The government base libraries (基础库: 人口库 population, 法人库 legal persons, 电子证照库 e-licences)
behind one interface, ``BaseLibrary``:

- ``DemoBaseLibrary``: the embedded default, a table of synthetic people and enterprises we
  generate (``smartform.synthetic``);
- ``HttpBaseLibrary``: a client for the city's data-sharing platform (共享交换平台): HMAC-signed
  requests, a timeout, retries with backoff, and a circuit breaker so that a platform that is down
  costs a form nothing but its prefill.

Fields are named as form schemas bind them: ``population.name``, ``legal_person.uscc``,
``license.business_license.number``. A person's fields and licences are found by ID number, an
enterprise's by credit code.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import secrets
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import sqlalchemy as sa

from store.database import Database
from store.tables.forms import base_library_records

log = logging.getLogger(__name__)

# which e-licences belong to a person and which to an enterprise
PERSON_LICENCES = frozenset({"household_register", "marriage_certificate", "residence_permit", "disability_certificate"})
ENTERPRISE_LICENCES = frozenset({"business_license"})


class LibraryUnavailable(Exception):
    """The base library cannot be reached (down, slow, or the circuit is open)."""


@dataclass(frozen=True)
class Subject:
    """Whose records to read: the user's bound ID number and, for enterprise users, credit code."""

    id_number: str | None = None
    uscc: str | None = None


def split_field(name: str) -> tuple[str, str, str | None]:
    """``population.name`` → ("population", "name", None);
    ``license.business_license.number`` → ("license", "business_license", "number")."""
    parts = name.split(".")
    return parts[0], parts[1], parts[2] if len(parts) > 2 else None


def records_needed(fields: Sequence[str]) -> tuple[bool, bool]:
    """Whether ``fields`` need the person's records, and whether the enterprise's."""
    person = enterprise = False
    for name in fields:
        library, key, _ = split_field(name)
        person |= library == "population" or (library == "license" and key in PERSON_LICENCES)
        enterprise |= library == "legal_person" or (library == "license" and key in ENTERPRISE_LICENCES)
    return person, enterprise


def pick(person: dict[str, Any] | None, enterprise: dict[str, Any] | None, fields: Sequence[str]) -> dict[str, Any]:
    """The requested fields out of a person's and an enterprise's records."""
    values: dict[str, Any] = {}
    for name in fields:
        library, key, attribute = split_field(name)
        if library == "population" and person:
            value = person.get(key)
        elif library == "legal_person" and enterprise:
            value = enterprise.get(key)
        elif library == "license" and attribute:
            holder = enterprise if key in ENTERPRISE_LICENCES else person
            value = ((holder or {}).get("licenses") or {}).get(key, {}).get(attribute)
        else:
            value = None
        if value not in (None, ""):
            values[name] = value
    return values


class BaseLibrary(ABC):
    name = "base library"

    @abstractmethod
    async def fetch(self, subject: Subject, fields: Sequence[str]) -> dict[str, Any]:
        """The values of ``fields`` that the libraries hold for ``subject`` (absent ones left out)."""

    @abstractmethod
    async def verify_person(self, name: str, id_number: str) -> bool | None:
        """Whether the population library has this name for this ID number (None: no such number)."""

    @abstractmethod
    async def is_legal_representative(self, uscc: str, id_number: str) -> bool | None:
        """Whether this person is the enterprise's legal representative (None: no such enterprise)."""


class DemoBaseLibrary(BaseLibrary):
    name = "演示基础库"

    def __init__(self, db: Database) -> None:
        self.db = db

    async def _record(self, kind: str, key: str | None) -> dict[str, Any] | None:
        if not key:
            return None
        async with self.db.read() as conn:
            return (await conn.execute(sa.select(base_library_records.c.data).where(
                base_library_records.c.kind == kind, base_library_records.c.key == key))).scalar()

    async def fetch(self, subject: Subject, fields: Sequence[str]) -> dict[str, Any]:
        wants_person, wants_enterprise = records_needed(fields)
        person = await self._record("person", subject.id_number) if wants_person else None
        enterprise = await self._record("enterprise", subject.uscc) if wants_enterprise else None
        return pick(person, enterprise, fields)

    async def verify_person(self, name: str, id_number: str) -> bool | None:
        person = await self._record("person", id_number)
        return None if person is None else person["name"] == name

    async def is_legal_representative(self, uscc: str, id_number: str) -> bool | None:
        enterprise = await self._record("enterprise", uscc)
        return None if enterprise is None else enterprise.get("legal_representative_id_number") == id_number


class CircuitBreaker:
    """Open after ``threshold`` failures in a row: calls fail at once for ``cooldown`` seconds, then
    one trial call decides whether to close again (half-open). While the trial is under way every
    other caller fails at once; a trial that never reports back (its caller was cancelled) is given
    up after another ``cooldown``, and the next caller becomes the trial."""

    def __init__(self, threshold: int = 5, cooldown_seconds: float = 30.0, *,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.threshold = threshold
        self.cooldown = cooldown_seconds
        self.monotonic = monotonic
        self.failures = 0
        self.opened_at: float | None = None
        self.trial_started_at: float | None = None  # half-open: when the one trial call was let through

    def allow(self) -> bool:
        if self.opened_at is None:
            return True
        now = self.monotonic()
        if now - self.opened_at < self.cooldown:
            return False
        if self.trial_started_at is not None and now - self.trial_started_at < self.cooldown:
            return False  # the trial is under way: it alone decides
        self.trial_started_at = now
        return True

    def succeeded(self) -> None:
        self.failures, self.opened_at, self.trial_started_at = 0, None, None

    def failed(self) -> None:
        self.failures += 1
        if self.failures >= self.threshold:
            if self.opened_at is None:
                log.warning("base library circuit opened after %d failures", self.failures)
            self.opened_at, self.trial_started_at = self.monotonic(), None


def sign(secret: str, method: str, path: str, timestamp: str, nonce: str, body: bytes) -> str:
    """HMAC-SHA256 over the method, path, timestamp, nonce and the body's SHA-256."""
    message = "\n".join([method, path, timestamp, nonce, hashlib.sha256(body).hexdigest()])
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


class HttpBaseLibrary(BaseLibrary):
    """The data-sharing platform: ``POST /population/query``, ``/legal_person/query``,
    ``/license/query``, ``/population/verify`` and ``/legal_person/verify_representative``, each answering ``{"found": bool, "data": {...}}``
    (verify: ``{"found", "match"}``)."""

    name = "数据共享交换平台"

    def __init__(self, base_url: str, app_key: str, secret: str, *, timeout_seconds: float = 3.0,
                 retries: int = 2, breaker: CircuitBreaker | None = None) -> None:
        self.http = httpx.AsyncClient(base_url=base_url.rstrip("/"), timeout=timeout_seconds)
        self.app_key = app_key
        self._secret = secret
        self.retries = retries
        self.breaker = breaker or CircuitBreaker()

    async def close(self) -> None:
        await self.http.aclose()

    async def _post(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        if not self.breaker.allow():
            raise LibraryUnavailable("the base library is not answering (circuit open)")
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        last_error = ""
        for attempt in range(self.retries + 1):
            timestamp, nonce = str(int(time.time())), secrets.token_hex(8)
            headers = {"Content-Type": "application/json", "X-App-Key": self.app_key, "X-Timestamp": timestamp,
                       "X-Nonce": nonce, "X-Signature": sign(self._secret, "POST", path, timestamp, nonce, body)}
            try:
                response = await self.http.post(path, content=body, headers=headers)
                if response.status_code < 500:
                    response.raise_for_status()
                    data = response.json()
                    self.breaker.succeeded()
                    return data
                last_error = f"HTTP {response.status_code}"
            except httpx.TransportError as exc:  # refused, reset, timed out
                last_error = type(exc).__name__
            except (httpx.HTTPStatusError, ValueError) as exc:  # a 4xx or a body that is not JSON
                self.breaker.failed()
                raise LibraryUnavailable(f"{path}: {type(exc).__name__}") from None
            if attempt < self.retries:
                await asyncio.sleep(0.2 * 2 ** attempt)
        self.breaker.failed()
        raise LibraryUnavailable(f"{path}: {last_error}")

    async def fetch(self, subject: Subject, fields: Sequence[str]) -> dict[str, Any]:
        wanted: dict[str, list[str]] = {}
        for name in fields:
            wanted.setdefault(split_field(name)[0], []).append(name)
        person = enterprise = None
        if wanted.get("population") and subject.id_number:
            answer = await self._post("/population/query", {"id_number": subject.id_number,
                                                            "fields": [split_field(f)[1] for f in wanted["population"]]})
            person = answer.get("data") if answer.get("found") else None
        if wanted.get("legal_person") and subject.uscc:
            answer = await self._post("/legal_person/query", {"uscc": subject.uscc,
                                                              "fields": [split_field(f)[1] for f in wanted["legal_person"]]})
            enterprise = answer.get("data") if answer.get("found") else None
        if wanted.get("license") and (subject.id_number or subject.uscc):
            kinds = sorted({split_field(f)[1] for f in wanted["license"]})
            answer = await self._post("/license/query", {"id_number": subject.id_number, "uscc": subject.uscc,
                                                         "kinds": kinds})
            licences = answer.get("data") or {}
            person = {**(person or {}), "licenses": {k: v for k, v in licences.items() if k in PERSON_LICENCES}}
            enterprise = {**(enterprise or {}), "licenses": {k: v for k, v in licences.items() if k in ENTERPRISE_LICENCES}}
        return pick(person, enterprise, fields)

    async def verify_person(self, name: str, id_number: str) -> bool | None:
        answer = await self._post("/population/verify", {"name": name, "id_number": id_number})
        return bool(answer.get("match")) if answer.get("found") else None

    async def is_legal_representative(self, uscc: str, id_number: str) -> bool | None:
        answer = await self._post("/legal_person/verify_representative", {"uscc": uscc, "id_number": id_number})
        return bool(answer.get("match")) if answer.get("found") else None
