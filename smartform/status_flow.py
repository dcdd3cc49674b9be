"""The application status flow (办件状态流转): the statuses an application (申请) can have, and
which status may follow which.

Every status change is checked against ``TRANSITIONS`` before anything is written — a report on
the approval back end's callback and a decision in the console's workbench alike — and a change
the table does not allow is refused with ``InvalidTransition`` and changes nothing::

    submitted            已提交      → submitted, accepted, in_review, supplement_requested, rejected
    accepted             已受理      → accepted, in_review, supplement_requested, approved, rejected,
                                       certificate_issued
    in_review            审查中      → in_review, supplement_requested, approved, rejected,
                                       certificate_issued
    supplement_requested 需补正材料  → supplement_requested, accepted, in_review, rejected
    approved             审批通过    → certificate_issued
    rejected             不予批准    → nothing (final)
    certificate_issued   已出证      → nothing (final)

Why these:

- A decision stands. ``rejected`` and ``certificate_issued`` are final (``FINAL``): no report
  reopens them. ``approved`` is decided (``DECIDED``) and only the certificate may follow it.
- Nothing goes back a step. A report that arrives after a later one (``accepted`` after
  ``in_review``) is stale, so the later status stays. ``submitted`` is only where an application
  starts: we write it when the citizen submits.
- While an application is open, its current status may be reported again with a new event id:
  a second list of missing materials, the back end confirming receipt, a further note during
  review. A resend of the *same* event is not a transition at all: it is recognised by its event
  id before this table is consulted, and changes nothing.
- ``rejected`` covers both refusals: 不予受理 before acceptance (from ``submitted`` or
  ``supplement_requested``) and 不予批准 after it.
- ``certificate_issued`` may follow ``accepted`` or ``in_review`` directly: some back ends report
  issuing the certificate without a separate 审批通过 first.

There is no withdrawn status: citizens cannot withdraw an application yet.
"""

from __future__ import annotations

from domain_errors import DomainError

STATUSES = {  # what the approval back end reports, and what the user reads
    "submitted": "已提交", "accepted": "已受理", "in_review": "审查中", "supplement_requested": "需补正材料",
    "approved": "审批通过", "rejected": "不予批准", "certificate_issued": "已出证",
}

TRANSITIONS: dict[str, frozenset[str]] = {
    "submitted": frozenset({"submitted", "accepted", "in_review", "supplement_requested", "rejected"}),
    "accepted": frozenset({"accepted", "in_review", "supplement_requested", "approved", "rejected",
                           "certificate_issued"}),
    "in_review": frozenset({"in_review", "supplement_requested", "approved", "rejected", "certificate_issued"}),
    "supplement_requested": frozenset({"supplement_requested", "accepted", "in_review", "rejected"}),
    "approved": frozenset({"certificate_issued"}),
    "rejected": frozenset(),
    "certificate_issued": frozenset(),
}

# nothing may follow these
FINAL = frozenset(status for status, following in TRANSITIONS.items() if not following)
# the decision is made: at most the certificate may still follow
DECIDED = FINAL | {"approved"}


class InvalidTransition(DomainError):
    """A status change the table forbids; nothing was changed."""

    def __init__(self, number: str, current: str, requested: str) -> None:
        why = "已办结，状态不能再变更" if current in FINAL else f"不能变为“{STATUSES[requested]}”"
        super().__init__("invalid_transition",
                         f"申请 {number} 当前为“{STATUSES[current]}”，{why}（{current} → {requested} 不允许）",
                         {"application_no": number, "from": current, "to": requested,
                          "allowed": sorted(TRANSITIONS[current])})
        self.number = number
        self.current = current
        self.requested = requested


def may_follow(current: str, requested: str) -> bool:
    """Whether ``requested`` may follow ``current`` (both known statuses)."""
    return requested in TRANSITIONS[current]


def check_transition(number: str, current: str, requested: str) -> None:
    """``InvalidTransition`` unless the table allows the change."""
    if not may_follow(current, requested):
        raise InvalidTransition(number, current, requested)


def changes_into(status: str) -> frozenset[str]:
    """The other statuses from which an application may move into ``status``: where a decision that
    records ``status`` may be taken (a repeat of the same status is a report, not a decision)."""
    return frozenset(s for s, following in TRANSITIONS.items() if status in following and s != status)
