"""A local stand-in for the city's data-sharing platform (共享交换平台): a real HTTP server on
loopback that checks each request's HMAC signature, answers from our synthetic people and
enterprises, records what was asked, and can be told to fail or to be slow."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

from smartform.base_library import sign
from smartform.synthetic import enterprises, people
from tests.local_http import LocalHttpServer

APP_KEY, SECRET = "ryb-test", "platform-secret-0123456789"


class LocalPlatform(LocalHttpServer):
    def __init__(self) -> None:
        self.people = {p["id_number"]: p for p in people()}
        self.enterprises = {e["uscc"]: e for e in enterprises(list(self.people.values()))}
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self.fail_next = 0  # this many requests answer 500
        self.delay = 0.0
        self.answering = threading.Event()  # cleared: requests are recorded, then held until it is set
        self.answering.set()
        self.lock = threading.Lock()

    def respond(self, method: str, path: str, headers: Any, raw: bytes) -> tuple[int, dict[str, Any]]:
        expected = sign(SECRET, "POST", path, headers.get("X-Timestamp", ""), headers.get("X-Nonce", ""), raw)
        if headers.get("X-App-Key") != APP_KEY or headers.get("X-Signature") != expected:
            return 401, {"error": "bad signature"}
        body = json.loads(raw)
        with self.lock:
            self.requests.append((path, body))
            failing = self.fail_next > 0
            self.fail_next -= failing
        self.answering.wait(timeout=60)
        if self.delay:
            time.sleep(self.delay)
        if failing:
            return 500, {"error": "internal"}
        if path == "/population/query":
            person = self.people.get(body["id_number"])
            return 200, {"found": person is not None, "data": {k: person[k] for k in body["fields"] if k in person} if person else None}
        if path == "/legal_person/query":
            enterprise = self.enterprises.get(body["uscc"])
            return 200, {"found": enterprise is not None,
                         "data": {k: enterprise[k] for k in body["fields"] if k in enterprise} if enterprise else None}
        if path == "/license/query":
            licences = {}
            licences.update((self.people.get(body.get("id_number") or "") or {}).get("licenses", {}))
            licences.update((self.enterprises.get(body.get("uscc") or "") or {}).get("licenses", {}))
            return 200, {"found": bool(licences), "data": {k: v for k, v in licences.items() if k in body["kinds"]}}
        if path == "/population/verify":
            person = self.people.get(body["id_number"])
            return 200, {"found": person is not None, "match": bool(person and person["name"] == body["name"])}
        if path == "/legal_person/verify_representative":
            enterprise = self.enterprises.get(body["uscc"])
            return 200, {"found": enterprise is not None,
                         "match": bool(enterprise and enterprise["legal_representative_id_number"] == body["id_number"])}
        return 404, {"error": "no such endpoint"}
