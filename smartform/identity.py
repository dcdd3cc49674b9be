"""Who a user is in the base libraries (实名): their bound ID number and, for enterprise users, the
credit code they act for. The ID number is kept encrypted (to read the user's own records), with a
keyed hash (to find it) and a masked form (to show); it is never logged."""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid
from datetime import timedelta

import sqlalchemy as sa
from cryptography.fernet import Fernet

from logs import mask_id_number, mask_name
from smartform.base_library import BaseLibrary, Subject
from smartform.validators import check_credit_code, check_id_number
from store.database import Database
from store.tables import binding_attempts, users, utcnow

ATTEMPTS_PER_DAY = 5


class BindingError(ValueError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class Identities:
    def __init__(self, db: Database, library: BaseLibrary, secret_key: str) -> None:
        self.db = db
        self.library = library
        key = hashlib.sha256(f"id-number:{secret_key}".encode()).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(key))
        self._hash_key = hashlib.sha256(f"id-hash:{secret_key}".encode()).digest()

    def id_hash(self, id_number: str) -> str:
        return hmac.new(self._hash_key, id_number.encode(), hashlib.sha256).hexdigest()

    async def user_for_openid(self, openid: str) -> str:
        """The user id of a WeChat openid, created on first sight."""
        async with self.db.transaction() as conn:
            found = (await conn.execute(sa.select(users.c.id).where(users.c.openid == openid))).scalar()
            if found:
                return str(found)
            user_id = uuid.uuid4().hex
            await conn.execute(users.insert().values(id=user_id, openid=openid, created_at=utcnow()))
            return user_id

    async def bind_person(self, user_id: str, name: str, id_number: str) -> None:
        """Real-name binding, verified against the population library; at most
        ``ATTEMPTS_PER_DAY`` attempts a day (an ID number is not to be guessed here)."""
        since = utcnow() - timedelta(days=1)
        async with self.db.read() as conn:
            recent = (await conn.execute(sa.select(sa.func.count()).select_from(binding_attempts).where(
                binding_attempts.c.user_id == user_id, binding_attempts.c.at > since))).scalar()
        if recent >= ATTEMPTS_PER_DAY:
            raise BindingError("too_many_attempts", f"今天的实名认证尝试已达{ATTEMPTS_PER_DAY}次，请明天再试")
        check = check_id_number(id_number)
        if not check.ok:  # refused before the library is asked, and not counted
            raise BindingError(check.code, check.reason)
        normalized = check.parts["normalized"]
        match = await self.library.verify_person(name.strip(), normalized)
        async with self.db.transaction() as conn:
            await conn.execute(binding_attempts.insert().values(user_id=user_id, at=utcnow(), succeeded=bool(match)))
        if not match:
            raise BindingError("identity_mismatch", "姓名与身份证号不匹配，或人口库中没有该身份证号")
        async with self.db.transaction() as conn:
            await conn.execute(users.update().where(users.c.id == user_id).values(
                id_number_cipher=self._fernet.encrypt(normalized.encode()).decode(),
                id_number_hash=self.id_hash(normalized), id_number_masked=mask_id_number(normalized),
                name_masked=mask_name(name.strip()), bound_at=utcnow()))

    async def unbind_person(self, user_id: str) -> None:
        async with self.db.transaction() as conn:
            await conn.execute(users.update().where(users.c.id == user_id).values(
                id_number_cipher=None, id_number_hash=None, id_number_masked=None, name_masked=None, bound_at=None,
                uscc=None, enterprise_role=None))

    async def bind_enterprise(self, user_id: str, uscc: str, role: str) -> None:
        """Act for an enterprise: as its legal representative (checked against the legal-person
        library) or as an agent (经办人) of an enterprise that exists; real-name binding first."""
        check = check_credit_code(uscc)
        if not check.ok:
            raise BindingError(check.code, check.reason)
        subject = await self.subject(user_id)
        if subject.id_number is None:
            raise BindingError("identity_required", "请先完成个人实名认证")
        is_representative = await self.library.is_legal_representative(check.parts["normalized"], subject.id_number)
        if is_representative is None:
            raise BindingError("enterprise_not_found", "法人库中没有这个统一社会信用代码")
        if role == "法定代表人" and not is_representative:
            raise BindingError("not_legal_representative", "您不是该企业登记的法定代表人")
        async with self.db.transaction() as conn:
            await conn.execute(users.update().where(users.c.id == user_id).values(
                uscc=check.parts["normalized"], enterprise_role=role))

    async def profile(self, user_id: str) -> dict[str, object]:
        """What the user may see of themselves: masked."""
        async with self.db.read() as conn:
            row = (await conn.execute(sa.select(users).where(users.c.id == user_id))).one()
        return {"user_id": row.id, "identity_bound": row.bound_at is not None, "name": row.name_masked,
                "id_number": row.id_number_masked, "bound_at": row.bound_at.isoformat() if row.bound_at else None,
                "enterprise": {"uscc": row.uscc, "role": row.enterprise_role} if row.uscc else None}

    async def subject(self, user_id: str) -> Subject:
        """The user's own records in the libraries (empty if they have not bound their identity)."""
        async with self.db.read() as conn:
            row = (await conn.execute(sa.select(users.c.id_number_cipher, users.c.uscc)
                                      .where(users.c.id == user_id))).first()
        if row is None:
            return Subject()
        id_number = self._fernet.decrypt(row.id_number_cipher.encode()).decode() if row.id_number_cipher else None
        return Subject(id_number=id_number, uscc=row.uscc)
