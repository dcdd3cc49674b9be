"""Signing in and the user's profile: the login token, identity binding, enterprise grants."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from miniapp_api.responses.common import strict


class LoginAnswer(BaseModel):
    model_config = strict({"token": "k3Jd…", "expires_in": 259200})
    token: str
    expires_in: int


class EnterpriseBinding(BaseModel):
    model_config = strict()
    uscc: str
    role: Literal["法定代表人", "经办人"] | None


class Profile(BaseModel):
    model_config = strict({"user_id": "u_3f2a…", "identity_bound": True, "name": "王*明", "id_number": "5101**********1234",
                            "bound_at": "2026-11-22T06:54:25+00:00", "identity_level": "high", "enterprise": None})
    user_id: str
    identity_bound: bool
    name: str | None
    id_number: str | None
    bound_at: str | None
    # high: the identity platform with face verification; basic: the platform without it;
    # knowledge: name and ID number only (cannot read base libraries, apply or act for an enterprise)
    identity_level: Literal["high", "basic", "knowledge"] | None
    enterprise: EnterpriseBinding | None


class PlatformSignIn(BaseModel):
    model_config = strict({"authorize_url": "https://tyrz.example.gov.cn/authorize?response_type=code&…",
                            "expires_in": 600})
    authorize_url: str
    expires_in: int


class EnterpriseGrant(BaseModel):
    model_config = strict({"id": "9c1e…", "agent_name": "李*", "agent_id_number": "5101**********5678",
                            "scopes": ["apply", "policy"], "granted_at": "2026-12-04T08:00:00+00:00",
                            "expires_at": "2027-12-04T08:00:00+00:00", "status": "live", "revoked_at": None,
                            "uses": [{"at": "2026-12-05T02:00:00+00:00", "use": "prefill"}]})
    id: str
    agent_name: str
    agent_id_number: str
    scopes: list[Literal["policy", "apply"]]
    granted_at: str
    expires_at: str
    status: Literal["live", "expired", "revoked"]
    revoked_at: str | None
    uses: list[dict[str, str | None]] = []


class EnterpriseGrantList(BaseModel):
    model_config = strict({"items": []})
    items: list[EnterpriseGrant]


class GrantAdded(BaseModel):
    model_config = strict({"grant": {"id": "9c1e…", "agent_name": "李*", "agent_id_number": "5101**********5678",
                                      "scopes": ["policy"], "granted_at": "2026-12-04T08:00:00+00:00",
                                      "expires_at": "2027-12-04T08:00:00+00:00", "status": "live",
                                      "revoked_at": None, "uses": []}})
    grant: EnterpriseGrant


class GrantRevoked(BaseModel):
    model_config = strict({"revoked": True})
    revoked: Literal[True]


class Unbound(BaseModel):
    model_config = strict({"bound": False})
    bound: Literal[False]
