"""Identity from the unified identity platform (OIDC against the local provider on loopback), one
person per account, and enterprise agents acting only within their representative's live grant."""

from __future__ import annotations

import pytest

from smartform.identity_platform import OidcIdentityPlatform, PlatformError
from smartform.synthetic import enterprises, people
from tests.helpers import assert_error, signed_in
from tests.identity_platform import CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, authorize, verify_through_api

PEOPLE = people()
COMPANY = enterprises(PEOPLE)[2]  # its legal representative is PEOPLE[2]
AGENT = PEOPLE[40]


async def test_a_platform_sign_in_binds_the_verified_person_once(app, client):
    _, auth = await signed_in(app, "o_id_1")
    _, other = await signed_in(app, "o_id_2")
    started = (await client.post("/api/v1/me/identity/platform", headers=auth)).json()
    assert "code_challenge_method=S256" in started["authorize_url"] and started["expires_in"] == 600
    code, state = await authorize(started["authorize_url"], PEOPLE[3])
    # someone else cannot finish my sign-in with my code and state
    assert_error(await client.post("/api/v1/me/identity/platform/callback", headers=other,
                                   json={"code": code, "state": state}), 409, "authorization_invalid")
    done = await client.post("/api/v1/me/identity/platform/callback", headers=auth, json={"code": code, "state": state})
    assert done.status_code == 200 and done.json()["identity_level"] == "high"
    assert done.json()["id_number"] == PEOPLE[3]["id_number"][:4] + "*" * 10 + PEOPLE[3]["id_number"][-4:]
    # a state is used once, and a code too
    assert_error(await client.post("/api/v1/me/identity/platform/callback", headers=auth,
                                   json={"code": code, "state": state}), 409, "authorization_invalid")
    again = (await client.post("/api/v1/me/identity/platform", headers=auth)).json()
    _, fresh_state = await authorize(again["authorize_url"], PEOPLE[3])
    assert_error(await client.post("/api/v1/me/identity/platform/callback", headers=auth,
                                   json={"code": code, "state": fresh_state}), 422, "platform_refused")


async def test_without_face_verification_nothing_is_read_or_filed(app, client):
    _, auth = await signed_in(app, "o_id_basic")
    assert (await verify_through_api(client, auth, PEOPLE[4], face=False)).json()["identity_level"] == "basic"
    await client.post("/api/v1/forms/CD-0006/consent", headers=auth, json={"fields": ["population.name"]})
    opened = (await client.post("/api/v1/forms/CD-0006/prefill", headers=auth)).json()
    assert opened["prefill"]["identity_verification_required"] and PEOPLE[4]["name"] not in str(opened)
    submitted = await client.post(f"/api/v1/drafts/{opened['draft']['id']}/submit", headers=auth)
    assert_error(submitted, 403, "identity_verification_required")


async def test_one_person_one_account(app, client):
    first_user, first = await signed_in(app, "o_phone_old")
    _, second = await signed_in(app, "o_phone_new")
    await verify_through_api(client, first, PEOPLE[6])
    # knowing the person's name and ID number is not enough to bind them a second time
    assert_error(await client.post("/api/v1/me/identity", headers=second,
                                   json={"name": PEOPLE[6]["name"], "id_number": PEOPLE[6]["id_number"]}),
                 409, "identity_bound_elsewhere")
    # the person themselves, verified by face on a new phone, takes the binding over
    assert (await verify_through_api(client, second, PEOPLE[6])).json()["identity_level"] == "high"
    assert (await client.get("/api/v1/me", headers=first)).json()["identity_bound"] is False
    actions = [e["action"] for e in await app.ctx.audit.entries(target_type="user")]
    assert actions.count("identity.bind") == 2


async def test_an_agent_acts_only_within_a_live_grant(app, client):
    _, rep = await signed_in(app, "o_rep")
    _, agent = await signed_in(app, "o_agent")
    _, stranger = await signed_in(app, "o_stranger")
    await verify_through_api(client, rep, PEOPLE[2])
    await verify_through_api(client, agent, AGENT)
    await verify_through_api(client, stranger, PEOPLE[41])
    assert (await client.post("/api/v1/me/enterprise", headers=rep,
                              json={"uscc": COMPANY["uscc"], "role": "法定代表人"})).status_code == 200
    as_agent = {"uscc": COMPANY["uscc"], "role": "经办人"}
    assert_error(await client.post("/api/v1/me/enterprise", headers=agent, json=as_agent), 403, "grant_required")
    assert_error(await client.get("/api/v1/me/enterprise/grants", headers=stranger), 403, "representative_required")
    assert_error(await client.post("/api/v1/me/enterprise/grants", headers=rep, json={
        "agent_name": "李四", "agent_id_number": AGENT["id_number"], "scopes": ["policy"]}), 422, "agent_mismatch")
    granted = await client.post("/api/v1/me/enterprise/grants", headers=rep, json={
        "agent_name": AGENT["name"], "agent_id_number": AGENT["id_number"], "scopes": ["policy"], "days": 30})
    assert granted.status_code == 201 and granted.json()["grant"]["status"] == "live"
    assert AGENT["id_number"] not in granted.text

    assert (await client.post("/api/v1/me/enterprise", headers=agent, json=as_agent)).status_code == 200
    assert (await client.get("/api/v1/me/enterprise/matches", headers=agent)).status_code == 200
    # the grant covers policies, not applying: the enterprise's registration data is not read for the agent
    await client.post("/api/v1/forms/CD-0053/consent", headers=agent, json={"fields": ["legal_person.name"]})
    opened = (await client.post("/api/v1/forms/CD-0053/prefill", headers=agent)).json()
    assert COMPANY["name"] not in str(opened)
    shown = (await client.get("/api/v1/me/enterprise/grants", headers=rep)).json()["items"]
    assert [u["use"] for u in shown[0]["uses"]] == ["matches"]

    grant_id = granted.json()["grant"]["id"]
    assert_error(await client.delete(f"/api/v1/me/enterprise/grants/{grant_id}", headers=stranger), 403,
                 "representative_required")
    assert (await client.delete(f"/api/v1/me/enterprise/grants/{grant_id}", headers=rep)).json() == {"revoked": True}
    assert_error(await client.get("/api/v1/me/enterprise/matches", headers=agent), 422, "enterprise_required")
    assert_error(await client.delete(f"/api/v1/me/enterprise/grants/{grant_id}", headers=rep), 404, "grant_not_found")
    actions = [e["action"] for e in await app.ctx.audit.entries(target_type="enterprise_grant")]
    assert sorted(set(actions)) == ["enterprise_grant.grant", "enterprise_grant.revoke", "enterprise_grant.use"]


@pytest.mark.parametrize("tamper", ["nonce", "verifier", "secret", "issuer"])
async def test_the_client_trusts_only_a_token_meant_for_this_sign_in(identity_platform, tamper):
    issuer = identity_platform.issuer
    client = OidcIdentityPlatform(issuer if tamper != "issuer" else issuer + "/other", CLIENT_ID,
                                  CLIENT_SECRET if tamper != "secret" else "wrong-secret", REDIRECT_URI,
                                  high_acr_values=frozenset({"face"}))
    try:
        with pytest.raises(PlatformError) as refused:
            url = await client.authorization_url("state-state-state-1", "nonce-1", "verifier-" * 6)
            code, _ = await authorize(url, PEOPLE[8])
            await client.redeem(code, "verifier-" * 6 if tamper != "verifier" else "other-" * 8,
                                "nonce-1" if tamper != "nonce" else "nonce-2")
        assert refused.value.code == {"nonce": "id_token_invalid", "verifier": "platform_refused",
                                      "secret": "platform_refused", "issuer": "platform_refused"}[tamper]
    finally:
        await client.close()
