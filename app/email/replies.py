"""The texts CreditDesk mails in answer to mail: auto-replies, refusals and staff replies.

Every sentence is a message id of the `mail` domain, written here in English and translated
in `app/locales/<locale>/LC_MESSAGES/mail.po` (app.kit.i18n); each function takes the
locale to write in: the customer's (`customers.locale`), or for an unknown sender the one
its mail names (`Content-Language`), else English. Message ids are literals in
`translate(locale, "…", "mail")` calls: tests/email/test_languages.py finds them there and
fails on any without a Russian translation."""

from __future__ import annotations

from babel.numbers import format_currency

from app.desk.models import Ticket, TicketMessage
from app.email.parsing import ParsedMail
from app.kit.errors import AppError, ValidationFailed
from app.kit.i18n import DEFAULT_LOCALE, normalise, translate, translate_plural
from app.settings import Settings


def money(cents: int, currency: str, locale: str) -> str:
    """An amount as the locale writes it: `€1,234.00` in English, `1 234,00 €` in Russian."""
    return format_currency(cents / 100, currency, locale=normalise(locale))


def signature(locale: str) -> str:
    return "\n\n-- \n" + translate(
        locale, "CreditDesk support (this message was sent automatically)", "mail"
    )


def _hello(locale: str) -> str:
    return translate(locale, "Hello,", "mail")


def _quote(mail: ParsedMail, locale: str) -> str:
    subject = mail.subject or translate(locale, "(no subject)", "mail")
    return translate(
        locale, 'Your message "{subject}" was not registered.', "mail", subject=subject
    )


def _follow(settings: Settings, locale: str) -> str:
    if settings.email_follow_url:
        return translate(
            locale, "You can follow it by e-mail or in your cabinet at {url}.", "mail",
            url=settings.email_follow_url,
        )  # fmt: skip
    return translate(locale, "You can follow it by e-mail.", "mail")


def _letter(locale: str, *paragraphs: str) -> str:
    return "\n\n".join((_hello(locale), *paragraphs)) + signature(locale)


def _refused(mail: ParsedMail, locale: str, why: str, *more: str) -> str:
    """A refusal: the mail named as not registered, why, and what to do."""
    return _letter(locale, _quote(mail, locale) + " " + why, *more)


def refusal_subject(mail: ParsedMail, locale: str) -> str:
    if not mail.subject:
        return translate(locale, "Not registered", "mail")
    return translate(locale, "Not registered: {subject}", "mail", subject=mail.subject)[:200]


def auto_reply_subject(ticket: Ticket) -> str:
    return f"[#{ticket.number}] {ticket.subject}"


def staff_reply_subject(ticket: Ticket) -> str:
    return f"Re: [#{ticket.number}] {ticket.subject}"


def auto_reply(mail: ParsedMail, ticket: Ticket, settings: Settings, locale: str) -> str:
    registered = translate(
        locale, "your request was received and registered as ticket #{number}: {subject}.",
        "mail", number=ticket.number, subject=ticket.subject,
    )  # fmt: skip
    if ticket.line == "technical":
        registered += " " + translate(
            locale, "It is a technical-support ticket: 1 credit was charged.", "mail"
        )
    follow = _follow(settings, locale) + " " + translate(
        locale, "To add information, reply to this message and keep [#{number}] in the "
        "subject: your reply joins the ticket and costs nothing.", "mail", number=ticket.number,
    )  # fmt: skip
    once = translate(
        locale, "Please do not send the same request again: this reply confirms it will be "
        "handled. For a different problem, write a new message with its own subject.", "mail",
    )  # fmt: skip
    # "Hello," and "your request…" make one sentence, as the greeting of a letter does.
    return f"{_hello(locale)}\n\n{registered}\n\n{follow} {once}" + signature(locale)


def unknown_sender(mail: ParsedMail, locale: str) -> str:
    return _refused(
        mail, locale,
        translate(
            locale, "The address {address} is not a known contact of any of our customers. "
            "Please write from the address registered with your account, or ask your "
            "account's administrator to add this address as a contact.", "mail",
            address=mail.sender,
        ),
    )  # fmt: skip


def bad_subject(mail: ParsedMail, settings: Settings, locale: str) -> str:
    return _refused(
        mail, locale,
        translate(
            locale, "The subject does not say what the problem is. Please send it again with "
            "a short, specific subject of {low}–{high} characters naming the product and what "
            'fails, for example "Player shows error 403 after the update" rather than "help" '
            'or "question". One problem per message.', "mail",
            low=settings.subject_min_length, high=settings.subject_max_length,
        ),
    )  # fmt: skip


def no_credit(mail: ParsedMail, settings: Settings, locale: str) -> str:
    packs = "\n".join(
        "  - " + translate_plural(
            locale, "{code}: {n} credit for {price}", "{code}: {n} credits for {price}",
            p.credits, "mail", code=p.code, price=money(p.price, settings.currency, locale),
        )
        for p in settings.packs
    )  # fmt: skip
    return _refused(
        mail, locale,
        translate(
            locale, "A technical-support ticket costs 1 credit and your account has none. "
            "Buy a pack in your cabinet:", "mail",
        ) + "\n" + packs,
        translate(
            locale, "Questions about payment, renewal, activation or access are free: write "
            "to the customer-relations address instead.", "mail",
        ),
    )  # fmt: skip


def over_limit_reason(mail: ParsedMail, settings: Settings, locale: str) -> str | None:
    """Why the mail goes over a limit, in the locale; None when it does not."""
    if mail.refusal is not None:
        if normalise(locale) == DEFAULT_LOCALE:  # the parser's own words: they are English
            return mail.refusal
        if mail.size > settings.email_max_message_bytes:
            return translate(locale, "the message is {size} bytes", "mail", size=mail.size)
        return translate(
            locale, "its structure (headers, parts or their nesting) is over our limits, or "
            "it could not be read", "mail",
        )  # fmt: skip
    if len(mail.attachments) > settings.email_max_attachments:
        return translate_plural(
            locale, "it has {n} attachment", "it has {n} attachments", len(mail.attachments),
            "mail",
        )  # fmt: skip
    for attachment in mail.attachments:
        if len(attachment.data) > settings.email_max_attachment_bytes:
            return translate(
                locale, "{name} is {size} bytes", "mail",
                name=attachment.filename, size=len(attachment.data),
            )  # fmt: skip
    return None


def too_large(mail: ParsedMail, why: str, settings: Settings, locale: str) -> str:
    return _refused(
        mail, locale,
        translate(
            locale, "It goes over our limits: {why}. The limits are {message_bytes} bytes per "
            "message, {attachment_bytes} bytes per attachment and {attachments} attachments. "
            "Please send it again with smaller files, or a link to them.", "mail",
            why=why, message_bytes=settings.email_max_message_bytes,
            attachment_bytes=settings.email_max_attachment_bytes,
            attachments=settings.email_max_attachments,
        ),
    )  # fmt: skip


def duplicate(mail: ParsedMail, number: object, locale: str) -> str:
    return (
        _hello(locale) + "\n\n" + translate(
            locale, "this request is already registered as ticket #{number}, and nothing was "
            "charged again. To add to it, reply with [#{number}] in the subject.", "mail",
            number=number,
        ) + signature(locale)
    )  # fmt: skip


def not_your_ticket(mail: ParsedMail, locale: str) -> str:
    return _refused(
        mail, locale,
        translate(
            locale, "We could not match it to a ticket of yours. Reply to one of our messages "
            "keeping its [#NUMBER] in the subject, or write a new message without a ticket "
            "number to open a new request.", "mail",
        ),
    )  # fmt: skip


def ticket_closed(mail: ParsedMail, ticket: Ticket, locale: str) -> str:
    return _refused(
        mail, locale,
        translate(
            locale, "Ticket #{number} is closed and takes no more messages. For a new "
            "problem, write a new message with its own subject and without the ticket "
            "number.", "mail", number=ticket.number,
        ),
    )  # fmt: skip


def invalid(mail: ParsedMail, error: AppError, settings: Settings, locale: str) -> str:
    """A refusal for input the desk refused: said by its field, never in the API's English
    developer wording (`error.detail`)."""
    if isinstance(error, ValidationFailed) and error.field == "body":
        why = translate(
            locale, "It has no text, or its text is longer than {max} characters. Please "
            "send it again with a description of the problem.", "mail",
            max=settings.body_max_length,
        )  # fmt: skip
    else:
        why = translate(
            locale, "It could not be registered as it is. Please check it and send it "
            "again, or reply to one of our messages.", "mail",
        )  # fmt: skip
    return _refused(mail, locale, why)


def attachments_only(mail: ParsedMail) -> str:
    names = ", ".join(a.filename for a in mail.attachments)
    return f"(no text; attachments: {names})" if names else ""


def staff_reply(message: TicketMessage, locale: str) -> str:
    return f"{message.body}\n\n-- \n" + translate(
        locale, "CreditDesk support. Reply to this message to answer; keep the [#NUMBER] in "
        "the subject.", "mail",
    )  # fmt: skip
