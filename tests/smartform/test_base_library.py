"""The base libraries behind one interface: the embedded demo library (synthetic records) and the
HTTP client for the data-sharing platform, against a real local platform server."""

from __future__ import annotations

import asyncio

import pytest

from codes import check_credit_code
from smartform.base_library import (
    CircuitBreaker,
    DemoBaseLibrary,
    HttpBaseLibrary,
    LibraryUnavailable,
    Subject,
)
from smartform.synthetic import enterprises, people, seed_demo_library
from smartform.validators import check_id_number
from tests.helpers import wait_until
from tests.smartform.local_platform import APP_KEY, SECRET, LocalPlatform

FIELDS = ["population.name", "population.id_number", "population.household_address",
          "license.household_register.number", "legal_person.name", "legal_person.uscc",
          "license.business_license.number"]


def test_synthetic_records_are_valid_and_obviously_made_up():
    generated = people()
    companies = enterprises(generated)
    assert len(generated) == 200 and len({p["id_number"] for p in generated}) == 200
    assert all(check_id_number(p["id_number"]).ok and p["id_number"].startswith("5101") for p in generated)
    assert all(check_credit_code(e["uscc"]).ok for e in companies)
    assert all("示例" in p["name"] for p in generated) and all("示例" in e["name"] for e in companies)
    assert generated == people()  # the same every time: tests and docs can name a person


async def test_the_demo_library_reads_only_what_is_asked(db):
    assert await seed_demo_library(db) == 250 and await seed_demo_library(db) == 0
    person = people()[0]
    company = enterprises(people())[0]
    library = DemoBaseLibrary(db)
    values = await library.fetch(Subject(person["id_number"], company["uscc"]), FIELDS)
    assert values == {
        "population.name": person["name"], "population.id_number": person["id_number"],
        "population.household_address": person["household_address"],
        "license.household_register.number": person["licenses"]["household_register"]["number"],
        "legal_person.name": company["name"], "legal_person.uscc": company["uscc"],
        "license.business_license.number": company["uscc"]}
    assert await library.fetch(Subject(person["id_number"]), ["population.name"]) == {"population.name": person["name"]}
    assert await library.fetch(Subject("110101199003077777"), ["population.name"]) == {}
    assert await library.verify_person(person["name"], person["id_number"]) is True
    assert await library.verify_person("张三", person["id_number"]) is False
    assert await library.verify_person("张三", "110101199003077777") is None


async def test_the_platform_client_signs_and_reads_the_same_values():
    person, company = people()[3], enterprises(people())[3]
    with LocalPlatform() as platform:
        library = HttpBaseLibrary(platform.base_url, APP_KEY, SECRET)
        values = await library.fetch(Subject(person["id_number"], company["uscc"]), FIELDS)
        assert values["population.name"] == person["name"] and values["legal_person.uscc"] == company["uscc"]
        assert values["license.household_register.number"] == person["licenses"]["household_register"]["number"]
        assert [path for path, _ in platform.requests] == ["/population/query", "/legal_person/query", "/license/query"]
        assert platform.requests[0][1]["fields"] == ["name", "id_number", "household_address"]  # only these
        assert await library.verify_person(person["name"], person["id_number"]) is True
        forged = HttpBaseLibrary(platform.base_url, APP_KEY, "wrong-secret")
        with pytest.raises(LibraryUnavailable):
            await forged.fetch(Subject(person["id_number"]), ["population.name"])
        await library.close()
        await forged.close()


async def test_retries_then_the_circuit_opens_and_fails_fast():
    person = people()[5]
    with LocalPlatform() as platform:
        library = HttpBaseLibrary(platform.base_url, APP_KEY, SECRET, retries=2,
                                  breaker=CircuitBreaker(threshold=2, cooldown_seconds=60))
        platform.fail_next = 2  # two 500s, then the third attempt answers
        assert (await library.fetch(Subject(person["id_number"]), ["population.name"]))["population.name"] == person["name"]
        platform.fail_next = 100
        for _ in range(2):
            with pytest.raises(LibraryUnavailable):
                await library.fetch(Subject(person["id_number"]), ["population.name"])
        asked = len(platform.requests)
        with pytest.raises(LibraryUnavailable, match="circuit open"):
            await library.fetch(Subject(person["id_number"]), ["population.name"])
        assert len(platform.requests) == asked  # open: not even tried
        await library.close()


async def test_half_open_lets_exactly_one_trial_call_through_concurrent_callers():
    person = people()[6]
    now = [1000.0]
    breaker = CircuitBreaker(threshold=1, cooldown_seconds=30, monotonic=lambda: now[0])
    with LocalPlatform() as platform:
        library = HttpBaseLibrary(platform.base_url, APP_KEY, SECRET, retries=0, breaker=breaker)
        platform.fail_next = 1
        with pytest.raises(LibraryUnavailable):
            await library.fetch(Subject(person["id_number"]), ["population.name"])  # opens the circuit
        now[0] += 31  # the cooldown is over: half-open
        platform.answering.clear()  # the trial call is held at the platform while the others come in
        callers = [asyncio.create_task(library.verify_person(person["name"], person["id_number"])) for _ in range(10)]
        await wait_until(lambda: len(platform.requests) == 2)  # the trial call has reached the platform …
        await wait_until(lambda: sum(c.done() for c in callers) == 9)  # … and the nine others were refused at once
        platform.answering.set()
        outcomes = await asyncio.gather(*callers, return_exceptions=True)
        assert len(platform.requests) == 2  # the first failure and the one trial call
        assert outcomes.count(True) == 1
        assert all(isinstance(o, LibraryUnavailable) and "circuit open" in str(o) for o in outcomes if o is not True)
        # the trial succeeded: the circuit is closed and everyone is let through again
        assert await asyncio.gather(*(library.verify_person(person["name"], person["id_number"])
                                      for _ in range(5))) == [True] * 5
        await library.close()


async def test_a_failed_trial_opens_the_circuit_again_and_a_lost_trial_is_given_up():
    breaker = CircuitBreaker(threshold=1, cooldown_seconds=30, monotonic=lambda: now[0])
    now = [0.0]
    breaker.failed()
    assert not breaker.allow()
    now[0] = 30
    assert breaker.allow() and not breaker.allow()  # one trial
    breaker.failed()  # the trial failed: open for another cooldown
    now[0] = 59
    assert not breaker.allow()
    now[0] = 60
    assert breaker.allow() and not breaker.allow()  # the next trial; its caller never reports back
    now[0] = 90
    assert breaker.allow()  # given up on it: another caller tries


async def test_a_slow_platform_times_out():
    with LocalPlatform() as platform:
        platform.delay = 1.0
        library = HttpBaseLibrary(platform.base_url, APP_KEY, SECRET, timeout_seconds=0.2, retries=0)
        with pytest.raises(LibraryUnavailable, match="Timeout"):
            await library.fetch(Subject(people()[0]["id_number"]), ["population.name"])
        await library.close()
