"""The texts CreditDesk mails: auto-replies, refusals and staff replies."""

from __future__ import annotations

from app.desk.models import Ticket, TicketMessage
from app.email.parsing import ParsedMail
from app.kit.errors import AppError
from app.settings import Settings

_SIGNATURE = "\n\n-- \nCreditDesk support (this message was sent automatically)"


def _quote(mail: ParsedMail) -> str:
    return f'Your message "{mail.subject or "(no subject)"}" was not registered.'


def _follow(settings: Settings) -> str:
    where = (
        f" or in your cabinet at {settings.email_follow_url}" if settings.email_follow_url else ""
    )
    return f"You can follow it by e-mail{where}."


def refusal_subject(mail: ParsedMail) -> str:
    return f"Not registered: {mail.subject}"[:200] if mail.subject else "Not registered"


def auto_reply_subject(ticket: Ticket) -> str:
    return f"[#{ticket.number}] {ticket.subject}"


def staff_reply_subject(ticket: Ticket) -> str:
    return f"Re: [#{ticket.number}] {ticket.subject}"


def auto_reply(mail: ParsedMail, ticket: Ticket, settings: Settings) -> str:
    charge = (
        " It is a technical-support ticket: 1 credit was charged."
        if ticket.line == "technical"
        else ""
    )
    return (
        f"Hello,\n\nyour request was received and registered as ticket #{ticket.number}: "
        f"{ticket.subject}.{charge}\n\n{_follow(settings)} To add information, reply to this "
        f"message and keep [#{ticket.number}] in the subject: your reply joins the ticket "
        "and costs nothing. Please do not send the same request again: this reply confirms "
        "it will be handled. For a different problem, write a new message with its own "
        "subject." + _SIGNATURE
    )


def unknown_sender(mail: ParsedMail) -> str:
    return (
        f"Hello,\n\n{_quote(mail)} The address {mail.sender} is not a known contact of any "
        "of our customers. Please write from the address registered with your account, or "
        "ask your account's administrator to add this address as a contact." + _SIGNATURE
    )


def bad_subject(mail: ParsedMail, settings: Settings) -> str:
    return (
        f"Hello,\n\n{_quote(mail)} The subject does not say what the problem is. Please "
        "send it again with a short, specific subject of "
        f"{settings.subject_min_length}–{settings.subject_max_length} characters naming the "
        'product and what fails, for example "Player shows error 403 after the update" '
        'rather than "help" or "question". One problem per message.' + _SIGNATURE
    )


def no_credit(mail: ParsedMail, settings: Settings) -> str:
    packs = "\n".join(
        f"  - {p.code}: {p.credits} credit(s) for {p.price / 100:.2f} {settings.currency}"
        for p in settings.packs
    )
    return (
        f"Hello,\n\n{_quote(mail)} A technical-support ticket costs 1 credit and your "
        f"account has none. Buy a pack in your cabinet:\n{packs}\n\nQuestions about "
        "payment, renewal, activation or access are free: write to the customer-relations "
        "address instead." + _SIGNATURE
    )


def too_large(mail: ParsedMail, why: str, settings: Settings) -> str:
    return (
        f"Hello,\n\n{_quote(mail)} It goes over our limits: {why}. The limits are "
        f"{settings.email_max_message_bytes} bytes per message, "
        f"{settings.email_max_attachment_bytes} bytes per attachment and "
        f"{settings.email_max_attachments} attachments. Please send it again with smaller "
        "files, or a link to them." + _SIGNATURE
    )


def duplicate(mail: ParsedMail, number: object) -> str:
    return (
        f"Hello,\n\nthis request is already registered as ticket #{number}, and nothing was "
        f"charged again. To add to it, reply with [#{number}] in the subject." + _SIGNATURE
    )


def not_your_ticket(mail: ParsedMail) -> str:
    return (
        f"Hello,\n\n{_quote(mail)} We could not match it to a ticket of yours. Reply to one "
        "of our messages keeping its [#NUMBER] in the subject, or write a new message "
        "without a ticket number to open a new request." + _SIGNATURE
    )


def ticket_closed(mail: ParsedMail, ticket: Ticket) -> str:
    return (
        f"Hello,\n\n{_quote(mail)} Ticket #{ticket.number} is closed and takes no more "
        "messages. For a new problem, write a new message with its own subject and without "
        "the ticket number." + _SIGNATURE
    )


def invalid(mail: ParsedMail, error: AppError) -> str:
    return f"Hello,\n\n{_quote(mail)} {error.detail}" + _SIGNATURE


def attachments_only(mail: ParsedMail) -> str:
    names = ", ".join(a.filename for a in mail.attachments)
    return f"(no text; attachments: {names})" if names else ""


def staff_reply(message: TicketMessage, settings: Settings) -> str:
    return (
        f"{message.body}\n\n-- \nCreditDesk support. Reply to this message to answer; keep "
        "the [#NUMBER] in the subject."
    )
