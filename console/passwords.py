"""The staff password rule (口令策略): at least 12 characters, not blank, not mostly one character,
not the account's own name, and not a common password with digits or symbols around it.

Twelve characters: NIST SP 800-63B asks for at least 8 and recommends a blocklist; China's
GB/T 22239-2019 (等级保护 2.0) asks for complexity and periodic change, which NIST advises
against — length plus a blocklist is the stronger rule of the two. The blocklist
(``common_passwords.txt``) holds the stems of the passwords that lead every published leak list
(English and Chinese pinyin), so that ``password12``, ``P@ssw0rd2026`` or ``woaini1314520`` are
refused however they are dressed up.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

MIN_CHARS = 12
MAX_CHARS = 200
_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s", "!": "i"})


@cache
def common_stems() -> frozenset[str]:
    lines = (Path(__file__).with_name("common_passwords.txt")).read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().lower() for line in lines if line.strip() and not line.startswith("#"))


def _stem(password: str) -> str:
    """The word under the decoration: lower case, digits and symbols trimmed off both ends, look-alike
    digits read as letters, what is left of the letters."""
    core = re.sub(r"^[\W\d_]+|[\W\d_]+$", "", password.lower())
    return re.sub(r"[\W\d_]", "", core.translate(_LEET))


def password_problem(password: str, username: str = "") -> str | None:
    """Why this password is refused, in Chinese, or None."""
    if len(password) < MIN_CHARS or len(password) > MAX_CHARS:
        return f"密码须为{MIN_CHARS}到{MAX_CHARS}个字符"
    if not password.strip():
        return "密码不能全是空格"
    if len(set(password)) < 5:
        return "密码不能由少数几个字符重复组成"
    lowered = password.lower()
    if username and username.lower() in lowered:
        return "密码不能包含用户名"
    stem = _stem(password)
    if not stem or stem in common_stems() or lowered in common_stems() or re.sub(r"\W", "", lowered) in common_stems():
        return "这个密码太常见，容易被猜中，请换一个（可用几个不相关的词组成）"
    return None
