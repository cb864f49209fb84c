"""A plain-Python model of `POST /v1/tickets` (issue 26): what each submission answers and
writes, for tests/desk/test_submission_cases.py.

The model knows nothing of the two paths that implement it (app.desk.fast_submit and the
ORM path behind it): it follows the specs (api.md's idempotency, policy.md's desk and
ledger rules) and predicts, operation by operation, the status and error code, the ticket
(line, severity, charge, whether it is the most urgent), and per customer the lots'
remaining credits and value, the wallet, the journal transactions with their lines, the
events, the urgent periods, the low-balance mails and the auto top-up claims.

Rules, as the model applies them, in the order a request meets them:
1. The key: revoked, or expired (its expiry at or before now): 401, before any replay.
2. The `Idempotency-Key`, per caller (the presented key): a record older than the
   retention is gone; same body: the stored answer again, byte for byte, nothing written;
   another body: 422 `idempotency_key_reused`. Only a 2xx is stored: an error leaves the
   key free, so a retry runs anew.
3. A partner's scoped key naming a customer that is not its own nor its end customer: 404.
4. The same subject and body from the same customer within the duplicate window (the
   newest such ticket; any line): 409 `duplicate_ticket` with its number.
5. Technical line, not a partner: with no credit in a lot that has not lapsed, 402 and
   nothing written (not even the expiry). Otherwise the lapsed lots' credits are written
   off first (one `expiry` transaction: credits to `credits:expired`, their value from
   deferred revenue to breakage), then one credit is taken from the first lot in
   consumption order (soonest expiry, none last; free before paid; oldest) with its share
   of the lot's value, ceil(value_remaining / remaining): deferred revenue → support
   revenue. Every drop of the balance crossing the low-balance threshold (before > T >=
   after) emits `balance.low` and queues a mail; reaching 0 emits `balance.depleted`;
   crossing the auto top-up threshold claims a top-up.
6. A partner's own technical ticket is free (a 0-credit `partner` charge, no journal);
   customer relations is free for everyone (no charge).
7. The new ticket is the customer's most urgent unless the customer named one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

DUPLICATE_WINDOW = timedelta(minutes=10)  # Settings.duplicate_window_minutes' default
RETENTION = timedelta(hours=48)  # Settings.idempotency_retention_hours' default

CONTENTS = (
    ("Installer fails on step one", "E1 on Debian 12"),
    ("Report export is empty", "The CSV has headers only"),
    ("Licence server refuses start", "Port 8443 in use?"),
)

# Who submits, and for whom: (the key used, the customer named). "A" is the ordinary
# customer, "P" a partner, "E" the partner's end customer.
CALLERS: dict[str, tuple[str, str]] = {
    "own": ("own", "A"),  # A's own customer key
    "staff": ("staff", "A"),  # a cr_agent naming A
    "revoked": ("revoked", "A"),  # a key of A's that was revoked
    "expiring": ("expiring", "A"),  # a key of A's that expires during the program
    "partner": ("partner", "P"),  # the partner's scoped integration key, for itself
    "end": ("partner", "E"),  # the same key, for its end customer
    "foreign": ("partner", "A"),  # the same key, for a customer not its own: 404
}
EXPIRING_AFTER = timedelta(hours=2)
NEVER = datetime.max.replace(tzinfo=UTC)


def share(value: int, units: int) -> int:
    """What one unit of `units` worth `value` together is worth when taken first: the
    remainder cents go to the first units taken, so one by one they add up to `value`."""
    return -(-value // units) if units else 0


# ---------------------------------------------------------------- the operations


@dataclass(frozen=True)
class Setup:
    """A's lots (credits, amount in cents, valid days), its thresholds and contract level;
    E's free credits."""

    lots: tuple[tuple[int, int, int | None], ...] = ()
    low_threshold: int | None = None
    auto_threshold: int | None = None
    level: bool = False
    end_credits: int = 0


@dataclass(frozen=True)
class Submit:
    who: str
    line: str = "technical"
    severity: int = 3
    content: int = 0
    idem: str | None = None
    concurrent: bool = False  # sent twice at once (with `idem`)

    def payload(self, customer_id: str | None) -> dict[str, Any]:
        subject, body = CONTENTS[self.content]
        data: dict[str, Any] = {
            "line": self.line, "subject": subject, "body": body, "severity": self.severity,
        }  # fmt: skip
        if customer_id is not None:
            data["customer_id"] = customer_id
        return data


@dataclass(frozen=True)
class Wait:
    minutes: int


@dataclass(frozen=True)
class Grant:
    """A new lot for A, bought or given."""

    credits: int
    amount: int
    valid_days: int | None


@dataclass(frozen=True)
class NameUrgent:
    """A names one of its tickets (`pick` modulo their number) its most urgent."""

    pick: int


Op = Submit | Wait | Grant | NameUrgent


# ---------------------------------------------------------------- the state


@dataclass
class MLot:
    index: int  # the customer's lots in order of creation
    remaining: int
    amount: int
    value: int  # value_remaining
    created_at: datetime
    expires_at: datetime | None

    def order(self) -> tuple[Any, ...]:
        return (
            self.expires_at is None,
            self.expires_at or NEVER,  # lots without expiry: by the next keys only
            self.amount > 0,
            self.created_at,
            self.index,
        )

    def lapsed(self, now: datetime) -> bool:
        return self.expires_at is not None and self.expires_at <= now


@dataclass
class MTxn:
    kind: str
    reason: str
    credits: int
    balance_after: int
    ticket: int | None  # the customer's ticket index
    lines: list[tuple[str, str, int, int]]  # (account, unit, amount, lot index), sorted


@dataclass
class MTicket:
    index: int
    line: str
    severity: int
    content: int
    created_at: datetime
    charge: tuple[int, str] | None  # (credits, reason)


@dataclass
class MUrgent:
    ticket: int
    named: bool
    ended: bool = False


@dataclass
class MCustomer:
    name: str
    partner: bool = False
    low_threshold: int | None = None
    auto_threshold: int | None = None
    lots: list[MLot] = field(default_factory=list)
    tickets: list[MTicket] = field(default_factory=list)
    txns: list[MTxn] = field(default_factory=list)
    events: list[str] = field(default_factory=list)
    urgent: list[MUrgent] = field(default_factory=list)
    low_mails: int = 0
    top_ups: int = 0
    notes: list[str] = field(default_factory=list)  # the cases met, for statistics

    @property
    def available(self) -> int:
        return sum(lot.remaining for lot in self.lots)

    def current_urgent(self) -> MUrgent | None:
        return next((u for u in self.urgent if not u.ended), None)

    def add_lot(self, credits: int, amount: int, now: datetime, valid_days: int | None) -> None:
        expires = now + timedelta(days=valid_days) if valid_days else None
        self.lots.append(MLot(len(self.lots), credits, amount, amount, now, expires))

    def grant(self, credits: int, amount: int, now: datetime, valid_days: int | None) -> None:
        self.add_lot(credits, amount, now, valid_days)
        index = len(self.lots) - 1
        lines = [
            ("available", "CREDIT", credits, index),
            ("credits:issued", "CREDIT", -credits, index),
        ]
        if amount:
            lines += [
                ("cash:offline", "EUR", amount, index),
                ("deferred_revenue", "EUR", -amount, index),
            ]
        reason = "purchase" if amount else "adjustment"
        self.txns.append(MTxn("grant", reason, credits, self.available, None, sorted(lines)))
        self.events.append("credits.granted")

    def drop(self, before: int, after: int) -> None:
        """What the balance subscriber (low balance, auto top-up) does on a drop."""
        low, auto = self.low_threshold, self.auto_threshold
        if low is not None and before > low >= after:
            self.events.append("balance.low")
            self.low_mails += 1
            self.notes.append("balance.low")
        if before > 0 and after == 0:
            self.events.append("balance.depleted")
            self.notes.append("balance.depleted")
        if auto is not None and before > auto >= after:
            self.top_ups += 1
            self.notes.append("auto top-up claimed")


@dataclass(frozen=True)
class Answer:
    """What the model expects: the status, the problem's code, and for a new ticket (or a
    replay of one) its index among the customer's tickets; for a 409, the duplicate's."""

    status: int
    code: str | None = None
    customer: str | None = None
    ticket: int | None = None
    replay_of: int | None = None  # the index of the answer replayed
    available: int | None = None  # a 402's


@dataclass
class Stored:
    fingerprint: tuple[Any, ...]
    created_at: datetime
    answer: int  # the index of the stored answer


class Model:
    def __init__(self, setup: Setup, start: datetime) -> None:
        self.customers = {
            "A": MCustomer(
                "A", low_threshold=setup.low_threshold, auto_threshold=setup.auto_threshold
            ),
            "P": MCustomer("P", partner=True),
            "E": MCustomer("E"),
        }
        self.expires_at = start + EXPIRING_AFTER
        self.idempotency: dict[tuple[str, str], Stored] = {}
        self.answers: list[Answer] = []

    def submit(self, op: Submit, now: datetime) -> Answer:
        answer = self._submit(op, now)
        self.answers.append(answer)
        return answer

    def _submit(self, op: Submit, now: datetime) -> Answer:
        key, name = CALLERS[op.who]
        if key == "revoked" or (key == "expiring" and now >= self.expires_at):
            return Answer(401, "unauthenticated")
        fingerprint = (name, op.line, op.severity, op.content)
        if op.idem is not None:
            stored = self.idempotency.get((key, op.idem))
            if stored is not None and stored.created_at < now - RETENTION:
                del self.idempotency[(key, op.idem)]
                stored = None
            if stored is not None:
                if stored.fingerprint != fingerprint:
                    return Answer(422, "idempotency_key_reused")
                first = self.answers[stored.answer]
                return Answer(201, None, first.customer, first.ticket, replay_of=stored.answer)
        if op.who == "foreign":
            return Answer(404, "not_found")
        customer = self.customers[name]
        duplicate = [
            t for t in customer.tickets
            if t.content == op.content and t.created_at >= now - DUPLICATE_WINDOW
        ]  # fmt: skip
        if duplicate:
            return Answer(409, "duplicate_ticket", name, duplicate[-1].index)
        index = len(customer.tickets)
        charge = None
        if op.line == "technical" and customer.partner:
            charge = (0, "partner")
        elif op.line == "technical":
            usable = [lot for lot in customer.lots if not lot.lapsed(now) and lot.remaining]
            if not usable:
                return Answer(402, "insufficient_credits", available=0)
            self._expire(customer, now)
            self._charge(customer, min(usable, key=MLot.order), index)
            charge = (1, "ticket")
        customer.tickets.append(MTicket(index, op.line, op.severity, op.content, now, charge))
        current = customer.current_urgent()
        if current is None or not current.named:
            if current is not None:
                current.ended = True
            customer.urgent.append(MUrgent(index, named=False))
        customer.events.append("ticket.created")
        if charge is not None:
            customer.events.append("ticket.charged")
        if op.idem is not None:
            self.idempotency[(key, op.idem)] = Stored(fingerprint, now, len(self.answers))
        return Answer(201, None, name, index)

    def _expire(self, customer: MCustomer, now: datetime) -> None:
        lapsed = [lot for lot in customer.lots if lot.lapsed(now) and lot.remaining]
        if not lapsed:
            return
        before = customer.available
        lines = []
        for lot in lapsed:
            lines += [
                ("credits:expired", "CREDIT", lot.remaining, lot.index),
                ("available", "CREDIT", -lot.remaining, lot.index),
            ]
            if lot.value:
                lines += [
                    ("deferred_revenue", "EUR", lot.value, lot.index),
                    ("revenue:breakage", "EUR", -lot.value, lot.index),
                ]
            lot.remaining, lot.value = 0, 0
        after = customer.available
        customer.notes.append("lapsed lots written off before a charge")
        customer.txns.append(MTxn("expiry", "expired", after - before, after, None, sorted(lines)))
        customer.drop(before, after)
        customer.events.append("credits.expired")

    def _charge(self, customer: MCustomer, lot: MLot, ticket: int) -> None:
        before = customer.available
        value = share(lot.value, lot.remaining)
        uneven = lot.value % lot.remaining
        customer.notes.append(
            "charge: paid lot, uneven split" if uneven else "charge: paid lot" if value else
            "charge: free lot"
        )  # fmt: skip
        lot.remaining -= 1
        lot.value -= value
        lines = [
            ("credits:consumed", "CREDIT", 1, lot.index),
            ("available", "CREDIT", -1, lot.index),
        ]
        if value:
            lines += [
                ("deferred_revenue", "EUR", value, lot.index),
                ("revenue:support", "EUR", -value, lot.index),
            ]
        customer.txns.append(MTxn("charge", "ticket", -1, before - 1, ticket, sorted(lines)))
        customer.drop(before, before - 1)

    def name_urgent(self, pick: int) -> int | None:
        """The ticket A names (its index), or None when A has none."""
        customer = self.customers["A"]
        if not customer.tickets:
            return None
        index = pick % len(customer.tickets)
        current = customer.current_urgent()
        if current is not None and current.ticket == index:
            current.named = True
            return index
        if current is not None:
            current.ended = True
        customer.urgent.append(MUrgent(index, named=True))
        return index
