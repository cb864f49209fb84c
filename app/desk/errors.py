"""Typed errors of the desk (rendered as problem+json with a stable `code`)."""

from __future__ import annotations

from typing import Any

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
    """The same request is already ticket `number` (`ticket_id`)."""

    code = "duplicate_ticket"
    schema = DuplicateTicketProblem

    def __init__(self, detail: str, *, ticket_id: str, number: int) -> None:
        super().__init__(detail)
        self.ticket_id, self.number = ticket_id, number

    def problem_fields(self) -> dict[str, Any]:
        return {"ticket_id": self.ticket_id, "number": self.number}


class BugAlreadyConfirmedProblem(Problem):
    """409 `bug_already_confirmed`: the ticket already carries another bug reference."""

    model_config = ConfigDict(title="BugAlreadyConfirmedProblem")

    bug_reference: str = Field(description="the reference the ticket keeps")


class BugAlreadyConfirmed(Conflict):
    """The first bug reference stays: another one is refused, naming the kept one."""

    code = "bug_already_confirmed"
    schema = BugAlreadyConfirmedProblem

    def __init__(self, detail: str, *, bug_reference: str) -> None:
        super().__init__(detail)
        self.bug_reference = bug_reference

    def problem_fields(self) -> dict[str, Any]:
        return {"bug_reference": self.bug_reference}


class InvalidTransition(Conflict):
    """A change the ticket's state refuses; a status change names `status_from/_to`."""

    code = "invalid_transition"

    def __init__(
        self, detail: str, *, status_from: str | None = None, status_to: str | None = None
    ) -> None:
        super().__init__(detail)
        self.status_from, self.status_to = status_from, status_to

    def problem_fields(self) -> dict[str, Any]:
        if self.status_from is None and self.status_to is None:
            return {}
        return {"status_from": self.status_from, "status_to": self.status_to}


class TicketClosed(Conflict):
    code = "ticket_closed"
