"""The notices' texts, in the customer's language: English message ids here, translations in
`app/locales/<locale>/LC_MESSAGES/notices.po` (app.kit.i18n). Every id is listed in
`MESSAGES` or `PLURALS`, which tests/notices check against each catalogue."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from babel.dates import format_date, format_time

from app.kit.i18n import N_, normalise, translate, translate_plural

DOMAIN = "notices"

HELLO = N_("Hello {name},")

TRANSFER_SUBJECT = N_("Ticket #{number}: your consent is needed to move it to technical support")
TRANSFER_BODY = N_(
    "our team finds that your ticket #{number} “{subject}” needs an engineer, on the "
    "technical support line. That line costs 1 credit per ticket, charged only if you accept. "
    "If you decline, nothing is charged and the ticket stays on the free customer-relations "
    "line. If the cause turns out to be a bug in our product, the credit is returned."
)
TRANSFER_LINK = N_("Accept or decline on the ticket's page: {link}")
TRANSFER_NO_LINK = N_("Accept or decline on the ticket's page in your cabinet.")

REFUND_REASON_BUG = N_("Reason: our engineers confirmed a bug in our product ({reference}).")
REFUND_REASON_BUG_NO_REFERENCE = N_("Reason: our engineers confirmed a bug in our product.")
REFUND_REASON_OUT_OF_SCOPE = N_(
    "Reason: the request is not a technical-support matter ({reference}); such requests "
    "are free on the customer-relations line."
)
REFUND_REASON_MERGED = N_(
    "Reason: the ticket was merged into ticket #{into}, where the conversation goes on."
)
REFUND_REASON_MERGED_NO_NUMBER = N_(
    "Reason: the ticket was merged into another of your tickets, where the conversation goes on."
)
REFUND_REASON_MISROUTED = N_(
    "Reason: the ticket was moved back to the free customer-relations line."
)
REFUND_REASON_SLA = N_("Reason: our first response came later than our service level promises.")
REFUND_REASON_OTHER = N_("Reason: {reason}.")

RESOLVED_SUBJECT = N_("Ticket #{number} is resolved")
RESOLVED_BODY = N_("your ticket #{number} “{subject}” is marked as resolved.")

EXPIRING_WHEN = N_("{date} at {time} UTC")
EXPIRING_USE = N_(
    "Use your credits for technical-support tickets before then: expired credits cannot be "
    "restored."
)
CABINET_LINK = N_("Your balance and tickets: {link}")

MESSAGES: tuple[str, ...] = (
    HELLO, TRANSFER_SUBJECT, TRANSFER_BODY, TRANSFER_LINK, TRANSFER_NO_LINK,
    REFUND_REASON_BUG, REFUND_REASON_BUG_NO_REFERENCE, REFUND_REASON_OUT_OF_SCOPE,
    REFUND_REASON_MERGED, REFUND_REASON_MERGED_NO_NUMBER, REFUND_REASON_MISROUTED,
    REFUND_REASON_SLA, REFUND_REASON_OTHER, RESOLVED_SUBJECT, RESOLVED_BODY, EXPIRING_WHEN, EXPIRING_USE, CABINET_LINK,
)  # fmt: skip

# (singular, plural): the form for `{n}` is chosen by the locale's plural rule.
REFUND_SUBJECT = (
    N_("Ticket #{number}: {n} credit refunded"),
    N_("Ticket #{number}: {n} credits refunded"),
)
REFUND_BODY = (
    N_("the {n} credit charged for your ticket #{number} “{subject}” is back on your balance."),
    N_("the {n} credits charged for your ticket #{number} “{subject}” are back on your balance."),
)
BALANCE_NOW = (
    N_("Your balance is now {n} credit."),
    N_("Your balance is now {n} credits."),
)
RESOLVED_REOPEN = (
    N_("If the problem is still there, you can reopen the ticket within {n} day: {link}"),
    N_("If the problem is still there, you can reopen the ticket within {n} days: {link}"),
)
RESOLVED_REOPEN_NO_LINK = (
    N_("If the problem is still there, you can reopen the ticket in your cabinet within {n} day."),
    N_("If the problem is still there, you can reopen the ticket in your cabinet within {n} days."),
)
EXPIRING_SUBJECT = (
    N_("{n} support credit expires on {date}"),
    N_("{n} support credits expire on {date}"),
)
EXPIRING_BODY = (
    N_("{n} credit of your prepaid support balance expires on {when}."),
    N_("{n} credits of your prepaid support balance expire on {when}."),
)

PLURALS: tuple[tuple[str, str], ...] = (
    REFUND_SUBJECT, REFUND_BODY, BALANCE_NOW, RESOLVED_REOPEN, RESOLVED_REOPEN_NO_LINK,
    EXPIRING_SUBJECT, EXPIRING_BODY,
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Mail:
    subject: str
    body: str


class Writer:
    """Texts in one locale."""

    def __init__(self, locale: str | None) -> None:
        self.locale = normalise(locale)

    def __call__(self, message: str, **params: object) -> str:
        return translate(self.locale, message, DOMAIN, **params)

    def plural(self, forms: tuple[str, str], n: int, **params: object) -> str:
        return translate_plural(self.locale, forms[0], forms[1], n, DOMAIN, **params)

    def date(self, moment: datetime) -> str:
        return format_date(moment, format="long", locale=self.locale)

    def when(self, moment: datetime) -> str:
        time = format_time(moment, format="HH:mm", tzinfo=UTC, locale=self.locale)
        return self(EXPIRING_WHEN, date=self.date(moment), time=time)

    def letter(self, subject: str, name: str, *paragraphs: str) -> Mail:
        return Mail(subject, "\n\n".join((self(HELLO, name=name), *paragraphs)) + "\n")


def transfer_consent(w: Writer, *, name: str, number: int, subject: str, link: str | None) -> Mail:
    action = w(TRANSFER_LINK, link=link) if link else w(TRANSFER_NO_LINK)
    return w.letter(
        w(TRANSFER_SUBJECT, number=number), name,
        w(TRANSFER_BODY, number=number, subject=subject), action,
    )  # fmt: skip


def refund_reason(
    w: Writer, reason: str | None, *, reference: str | None, merged_into: int | None
) -> str:
    if reason == "product_bug":
        if reference:
            return w(REFUND_REASON_BUG, reference=reference)
        return w(REFUND_REASON_BUG_NO_REFERENCE)
    if reason == "out_of_scope":
        return w(REFUND_REASON_OUT_OF_SCOPE, reference=reference or "—")
    if reason == "merged":
        if merged_into is not None:
            return w(REFUND_REASON_MERGED, into=merged_into)
        return w(REFUND_REASON_MERGED_NO_NUMBER)
    if reason == "misrouted":
        return w(REFUND_REASON_MISROUTED)
    if reason == "sla_breach":
        return w(REFUND_REASON_SLA)
    return w(REFUND_REASON_OTHER, reason=reason or "—")


def ticket_refunded(
    w: Writer, *, name: str, number: int, subject: str, credits: int, reason: str,
    available: int, link: str | None,
) -> Mail:  # fmt: skip
    paragraphs = [
        w.plural(REFUND_BODY, credits, number=number, subject=subject),
        reason,
        w.plural(BALANCE_NOW, available),
    ]
    if link:
        paragraphs.append(w(CABINET_LINK, link=link))
    return w.letter(w.plural(REFUND_SUBJECT, credits, number=number), name, *paragraphs)


def ticket_resolved(
    w: Writer, *, name: str, number: int, subject: str, reopen_days: int, link: str | None
) -> Mail:
    if link:
        follow = w.plural(RESOLVED_REOPEN, reopen_days, link=link)
    else:
        follow = w.plural(RESOLVED_REOPEN_NO_LINK, reopen_days)
    return w.letter(
        w(RESOLVED_SUBJECT, number=number), name,
        w(RESOLVED_BODY, number=number, subject=subject), follow,
    )  # fmt: skip


def credits_expiring(
    w: Writer, *, name: str, credits: int, expires_at: datetime, link: str | None
) -> Mail:
    paragraphs = [w.plural(EXPIRING_BODY, credits, when=w.when(expires_at)), w(EXPIRING_USE)]
    if link:
        paragraphs.append(w(CABINET_LINK, link=link))
    subject = w.plural(EXPIRING_SUBJECT, credits, date=w.date(expires_at))
    return w.letter(subject, name, *paragraphs)
