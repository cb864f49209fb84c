"""Typed errors of the desk (rendered as problem+json with a stable `code`)."""

from __future__ import annotations

from pydantic import ConfigDict, Field

from app.kit.errors import Conflict, Problem, ValidationFailed


class DuplicateTicketProblem(Problem):
    """409 `duplicate_ticket`: the same request was filed moments ago as this ticket."""

    model_config = ConfigDict(title="DuplicateTicketProblem")

    ticket_id: str = Field(description="`tkt_…` of the existing ticket")
    number: int = Field(description="its human number")


class SubjectNotSpecific(ValidationFailed):
    code = "subject_not_specific"


class DuplicateTicket(Conflict):
    code = "duplicate_ticket"
    schema = DuplicateTicketProblem


class InvalidTransition(Conflict):
    code = "invalid_transition"


class TicketClosed(Conflict):
    code = "ticket_closed"
