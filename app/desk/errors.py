"""Typed errors of the desk (rendered as problem+json with a stable `code`)."""

from __future__ import annotations

from app.kit.errors import Conflict, ValidationFailed


class SubjectNotSpecific(ValidationFailed):
    code = "subject_not_specific"


class DuplicateTicket(Conflict):
    code = "duplicate_ticket"


class InvalidTransition(Conflict):
    code = "invalid_transition"


class TicketClosed(Conflict):
    code = "ticket_closed"
