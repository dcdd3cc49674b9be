"""Roles and what each may do. Every console page and staff API operation names the one
permission it needs; this table is the only place that says who has it.

- editor (编辑): writes guides, FAQ, synonyms and policy drafts and submits them for review.
- reviewer (审核): approves or sends back policy changes and publishes guides and policies;
  cannot approve their own change (the graph enforces that, whatever the role).
- approver (审批): works the approval queue of submitted applications and the operations pages.
- admin (管理员): everything, and staff accounts.
"""

from __future__ import annotations

ROLES = ("editor", "reviewer", "approver", "admin")
ROLE_NAMES = {"editor": "编辑", "reviewer": "审核", "approver": "审批", "admin": "管理员"}

_VIEW = {"console.view", "hit_test", "analytics.view", "unanswered.view", "policy.view", "guides.view"}
PERMISSIONS: dict[str, frozenset[str]] = {
    "editor": frozenset(_VIEW | {"guides.edit", "faq.edit", "synonyms.edit", "policy.edit"}),
    "reviewer": frozenset(_VIEW | {"guides.publish", "policy.review", "policy.publish"}),
    "approver": frozenset(_VIEW | {"applications.process", "operations.manage"}),
}
PERMISSIONS["admin"] = frozenset(set().union(*PERMISSIONS.values()) | {"staff.manage"})


def allowed(role: str, permission: str) -> bool:
    return permission in PERMISSIONS.get(role, frozenset())
