"""The ledger's SQL functions, rendered from the ledger's Python definitions.

THE charge, in two halves, for every charge: on the general path (`credits.charges.charge`
calls `credits_charge_v1`, which runs both) and inside the desk's one-call submission
(`desk_submit_ticket_v3` plans before it draws a ticket number, so that a charge it cannot
make hands over without burning one, and posts after).

`credits_charge_plan_v1` takes the customer's lock (the wallet row, `FOR UPDATE`; a no-op
when the caller holds it), chooses lots in consumption order and gives each its share of
value (`credits_split_value_v1`). It writes nothing; its status says whether the charge can
be made (`ready`) or why not:

- `lapsed`: a lot with credits left has lapsed (lapsed lots come first in consumption
  order). Python writes them off (`credits.lots.expire_locked`, with its event) and calls
  again; the desk's function hands over to the general path.
- `insufficient`: fewer available credits than the charge needs (402).
- `imbalance`: the stored balance exceeds the usable lots (never papered over).

`credits_charge_post_v1` writes the plan: lots, wallet, the journal transaction (its `seq`
returned) and its lines.

The BALANCE_DROPPED hook is not the function's: the caller publishes it (Python) or calls
the subscribers' SQL predicates (the desk's function, see `app.desk.submit_sql`).

The texts here are rendered from the Python definitions (`credits.accounts`,
`credits.lots.consumption_order`). Released SQL is frozen, so a migration holds the rendered
literal; tests/test_rendered_sql.py checks that rendering today gives the text of the newest
migration that installs each function."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.dialects import postgresql

from credits import accounts as acc
from credits.lots import consumption_order
from credits.models import Lot


def literal(value: str) -> str:
    """`value` as a SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def account(template: str, customer: str) -> str:
    """A customer's account name (`acc.AVAILABLE`…) as a SQL expression of `customer`."""
    head, tail = template.split("{}")
    return f"{literal(head)} || {customer} || {literal(tail)}"


def consumption_order_sql() -> str:
    """`ORDER BY` of `consumption_order()`, as PostgreSQL reads it over `lots`."""
    compiled = str(
        select(Lot.id)
        .order_by(*consumption_order())
        .compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True})
    )
    return compiled.split(" ORDER BY ", 1)[1]


SPLIT_VALUE_V1 = """
CREATE OR REPLACE FUNCTION credits_split_value_v1(p_value bigint, p_units integer, p_take integer)
RETURNS bigint LANGUAGE sql IMMUTABLE AS $fn$
SELECT CASE WHEN p_take >= p_units THEN p_value
            ELSE p_value - (p_value * (p_units - p_take)) / p_units END
$fn$;
"""
# credits.catalogue.split_value is the same rule for the ledger's Python operations (expiry,
# revocation, adjustments): tests/credits/test_charge_sql.py checks them equal.


def render_charge_plan_v1() -> str:
    return f"""
CREATE OR REPLACE FUNCTION credits_charge_plan_v1(
    p_customer_id text,
    p_credits integer,
    p_now timestamptz,
    OUT status text,
    OUT available integer,
    OUT lot_ids text[],
    OUT takes integer[],
    OUT amounts bigint[],
    OUT currencies text[]
) LANGUAGE plpgsql AS $fn$
DECLARE
    v_lot record;
    v_need integer := p_credits;
    v_take integer;
BEGIN
    lot_ids := '{{}}';
    takes := '{{}}';
    amounts := '{{}}';
    currencies := '{{}}';
    SELECT w.available INTO available
      FROM wallets w WHERE w.customer_id = p_customer_id FOR UPDATE;
    IF NOT FOUND THEN
        status := 'no_wallet';
        RETURN;
    END IF;
    FOR v_lot IN
        SELECT lots.id, lots.remaining, lots.frozen, lots.value_remaining, lots.currency,
               lots.expires_at
          FROM lots
         WHERE lots.customer_id = p_customer_id AND lots.remaining > 0
         ORDER BY {consumption_order_sql()}
    LOOP
        IF v_lot.expires_at IS NOT NULL AND v_lot.expires_at <= p_now THEN
            status := 'lapsed';  -- lapsed lots come first
            RETURN;
        END IF;
        EXIT WHEN available < p_credits;
        v_take := LEAST(v_lot.remaining, v_need);
        lot_ids := lot_ids || v_lot.id::text;
        takes := takes || v_take;
        amounts := amounts
            || credits_split_value_v1(v_lot.value_remaining, v_lot.remaining + v_lot.frozen,
                                      v_take);
        currencies := currencies || v_lot.currency::text;
        v_need := v_need - v_take;
        EXIT WHEN v_need = 0;
    END LOOP;
    IF available < p_credits THEN
        status := 'insufficient';
    ELSIF v_need > 0 THEN
        status := 'imbalance';
    ELSE
        status := 'ready';
    END IF;
END
$fn$;
"""


# What a charge is asked with: `credits_charge_v1` and `credits_charge_post_v1` alike.
_CHARGE_PARAMETERS = """    p_customer_id text,
    p_credits integer,
    p_entry_id text,
    p_reason text,
    p_ticket_id text,
    p_ticket_number integer,
    p_memo text,
    p_dedupe_key text,
    p_actor text,
    p_now timestamptz,
"""


def render_charge_post_v1() -> str:
    return f"""
CREATE OR REPLACE FUNCTION credits_charge_post_v1(
{_CHARGE_PARAMETERS}    p_available integer,
    p_lot_ids text[],
    p_takes integer[],
    p_amounts bigint[],
    p_currencies text[]
) RETURNS bigint LANGUAGE plpgsql AS $fn$
DECLARE
    v_seq bigint;
BEGIN
    UPDATE lots
       SET remaining = lots.remaining - taken.credits,
           value_remaining = lots.value_remaining - taken.value
      FROM unnest(p_lot_ids, p_takes, p_amounts) AS taken(lot_id, credits, value)
     WHERE lots.id = taken.lot_id;
    UPDATE wallets SET available = wallets.available - p_credits, updated_at = p_now
     WHERE customer_id = p_customer_id;
    INSERT INTO journal_transactions (id, kind, reason, customer_id, credits, balance_after,
                                      lot_id, ticket_id, ticket_number, memo, dedupe_key,
                                      actor, posted_at)
    VALUES (p_entry_id, 'charge', p_reason, p_customer_id, -p_credits, p_available - p_credits,
            CASE WHEN cardinality(p_lot_ids) = 1 THEN p_lot_ids[1] END, p_ticket_id,
            p_ticket_number, p_memo, p_dedupe_key, p_actor, p_now)
    RETURNING seq INTO v_seq;
    INSERT INTO journal_lines (transaction_seq, account, unit, amount, customer_id, lot_id)
    SELECT v_seq, line.account, line.unit, line.amount, p_customer_id, taken.lot_id
      FROM unnest(p_lot_ids, p_takes, p_amounts, p_currencies) WITH ORDINALITY
           AS taken(lot_id, credits, value, currency, n)
     CROSS JOIN LATERAL (VALUES
           (1, {literal(acc.CONSUMED)}, {literal(acc.CREDIT)}, taken.credits::bigint),
           (2, {account(acc.AVAILABLE, "p_customer_id")}, {literal(acc.CREDIT)},
            -taken.credits::bigint),
           (3, {literal(acc.DEFERRED)}, taken.currency, taken.value),
           (4, {literal(acc.REVENUE_SUPPORT)}, taken.currency, -taken.value)
     ) AS line(k, account, unit, amount)
     WHERE line.amount <> 0
     ORDER BY taken.n, line.k;
    RETURN v_seq;
END
$fn$;
"""


CHARGE_V1 = f"""
CREATE OR REPLACE FUNCTION credits_charge_v1(
{_CHARGE_PARAMETERS}    OUT status text,
    OUT seq bigint,
    OUT available integer,
    OUT lot_ids text[],
    OUT takes integer[],
    OUT amounts bigint[]
) LANGUAGE plpgsql AS $fn$
DECLARE
    v_plan record;
BEGIN
    SELECT * INTO v_plan FROM credits_charge_plan_v1(p_customer_id, p_credits, p_now);
    status := v_plan.status;
    available := v_plan.available;
    lot_ids := v_plan.lot_ids;
    takes := v_plan.takes;
    amounts := v_plan.amounts;
    IF status = 'ready' THEN
        seq := credits_charge_post_v1(p_customer_id, p_credits, p_entry_id, p_reason,
                                      p_ticket_id, p_ticket_number, p_memo, p_dedupe_key,
                                      p_actor, p_now, v_plan.available, v_plan.lot_ids,
                                      v_plan.takes, v_plan.amounts, v_plan.currencies);
        status := 'charged';
    END IF;
END
$fn$;
"""

# The journal's balance rule (invariant 1: every transaction balances per unit), checked at
# commit by the deferred constraint trigger `journal_lines_balanced`, which queues one event
# per line. Version 2 (migration 0022) checks each transaction once: the first event of a
# transaction checks all its lines and records, for the rest of the database transaction,
# the last line it saw; the events of lines it saw return at once. A line added after that
# check (after `SET CONSTRAINTS ... IMMEDIATE`, say) has a higher id, so its event checks
# again. Version 1 (migration 0002) checked once per line.
CHECK_BALANCE_V2 = """
CREATE OR REPLACE FUNCTION journal_transaction_check_balance_v2()
RETURNS trigger LANGUAGE plpgsql AS $fn$
DECLARE
    v_seen text := current_setting('creditdesk.balanced_through', true);
    v_balanced boolean;
    v_last bigint;
BEGIN
    IF v_seen IS NOT NULL AND v_seen <> ''
       AND split_part(v_seen, ':', 1)::bigint = NEW.transaction_seq
       AND NEW.id <= split_part(v_seen, ':', 2)::bigint THEN
        RETURN NULL;  -- this line was part of the transaction's check
    END IF;
    SELECT bool_and(per_unit.total = 0), max(per_unit.last) INTO v_balanced, v_last
      FROM (SELECT SUM(amount) AS total, max(id) AS last FROM journal_lines
             WHERE transaction_seq = NEW.transaction_seq GROUP BY unit) AS per_unit;
    IF NOT v_balanced THEN
        RAISE EXCEPTION 'journal transaction % does not balance', NEW.transaction_seq
            USING ERRCODE = 'check_violation';
    END IF;
    PERFORM set_config('creditdesk.balanced_through', NEW.transaction_seq || ':' || v_last,
                       true);
    RETURN NULL;
END
$fn$;
"""

CHARGE_PLAN_V1 = render_charge_plan_v1()
CHARGE_POST_V1 = render_charge_post_v1()

# The live texts, by name, callees first (migration 0018 installs the charge, 0022 the
# balance check v2); tests/test_rendered_sql.py compares each with its newest migration.
FUNCTIONS = {
    "journal_transaction_check_balance_v2": CHECK_BALANCE_V2,
    "credits_split_value_v1": SPLIT_VALUE_V1,
    "credits_charge_plan_v1": CHARGE_PLAN_V1,
    "credits_charge_post_v1": CHARGE_POST_V1,
    "credits_charge_v1": CHARGE_V1,
}
