"""The SQL of a ticket submission: one function call, one round trip.

`POST /v1/tickets` first tries `desk_submit_ticket_v3(...)` (installed by migration 0022;
v1 and v2, in migrations 0014 and 0018, are no longer called), sent as a single statement outside any
explicit transaction: the call is its own transaction, so the whole submission is one round trip and the customer's wallet
lock is held only inside it. Python prepares everything that does not need the database
first (validation, ids, the service-level block from the per-process configuration cache,
the response's JSON around the values only the database knows); the function writes the
rows and returns the finished response, which it also stores as the idempotent replay.

The function handles the common case only. Whenever a rule needs more than the common case,
it raises SQLSTATE `CDF01` with a reason, which rolls back everything it did, and the
caller runs the general path (`app.desk.service.submit_and_read` through the ORM): a key that is revoked or expired, an `Idempotency-Key` seen before or
in flight, a customer that does not exist or that the partner key may not see, a stale
configuration version, a duplicate within the window, no usable credit or a lapsed lot
(402 and the expiry sweep), and a debit that concerns a subscriber of the ledger's
BALANCE_DROPPED hook (a low-balance or auto top-up threshold crossed, the wallet emptied:
their events, mail and top-up claim belong to `app.topups`).

The function keeps the desk's own rows only and calls the owners of the other rules, each
written once: the Idempotency-Key's claim and store (`kit_idempotency_claim_v1`,
`kit_idempotency_store_v1`, app.kit.idempotency), the charge (`credits_charge_plan_v1` and
`credits_charge_post_v1`, credits.sql: lots, value, journal, wallet) and the BALANCE_DROPPED subscribers' predicates
(`DROP_PREDICATES`: each subscriber names the SQL function that says whether a debit
concerns it; `app.desk.fast_submit` does not call this function while a subscriber is
connected whose predicate is not among them, so a debit here never skips a subscriber). The
general path then answers exactly as before, so both paths behave as one; a differential
test compares the rows the two write.

Step by step, in the order locks are taken (the same order as the general path, so the two
can run side by side without deadlocks):

1. **The API key**: still usable (not revoked, not expired; the caller cached its row), and
   `last_used_at` refreshed when older than a minute (as `app.kit.auth.authenticate`).
2. **The Idempotency-Key**, if sent: `kit_idempotency_claim_v1` (a duplicate in flight
   waits for the first and then sees its row). Claimed, or fall back (the general path
   replays, refuses reuse or answers 409).
3. **The customer** with its contract level, in one read; a scoped partner key must own
   it.
4. **The configuration version** the caller's cached calendars, targets, levels and
   products were read at must still be current (a trigger bumps it on every change).
5. **The wallet row is locked** (`FOR UPDATE`): the customer's lock. Under it, two identical
   submissions cannot both pass the duplicate check, and two debits cannot both spend the
   last credit. With a charge (technical line, not a partner) the charge's plan takes it:
   `credits_charge_plan_v1` (the lots in consumption order, their share of value; a lapsed
   lot or no credit hands over), then the BALANCE_DROPPED predicates on the balance before
   and after it (one says the debit concerns its subscriber: hand over). All before a
   number is drawn, so a hand-over never leaves a gap in the ticket numbers.
6. **Duplicate check** over `ix_tickets_customer_content`.
7. (v2's separate plan step, now part of 5: one lock of the wallet row, not two.)
8. **The ticket number** from `ticket_number_seq`; the ticket, its first message, its SLA
   clock (whose row is also its `started` event); the customer's default most-urgent period (seed 000: the
   newest ticket, unless the customer named one).
9. **The charge**: `credits_charge_post_v1` writes the plan (lots, wallet, the journal
   transaction and its lines); the ticket's charge row (0 credits for a partner).
   The journal's deferred balance trigger checks at commit that every transaction balances
   per unit (invariant 1).
10. **The events** `ticket.created` and `ticket.charged` with the ticket as the API shows
    it (`data.object`, its `sla` null), stamped with the transaction id.
11. **The response**: the caller's JSON pieces around the number, the charge and the `sla`
    block (the customer's level's, `urgent` set); stored for replay with the key.
"""

from __future__ import annotations

# The reason-carrying signal the function raises for the general path (class "CD",
# CreditDesk's own): anything else it raises is a real error.
FALLBACK_SQLSTATE = "CDF01"

# The BALANCE_DROPPED subscribers' predicates this version calls, each (customer, before,
# after) -> boolean. A subscriber whose predicate is not here keeps the fast path off.
DROP_PREDICATES = ("topups_balance_drop_concerns_v1",)

# The call, with positional parameters in the function's order (asyncpg prepares it once
# per connection).
SUBMIT_TICKET_CALL = (
    "SELECT desk_submit_ticket_v3(" + ", ".join(f"${n}" for n in range(1, 30)) + ")"
)


def render_submit_ticket_v3() -> str:
    """Version 3 of the function (v2, migration 0018, locked the wallet row twice: once
    itself, once in `credits_charge_plan_v1`; v3 lets the plan take the lock when there is a
    charge). Released SQL is frozen: migration 0022 holds this text as rendered; a change is
    a new version (`_v4`) in a new migration, and the call above moves to it
    (tests/test_rendered_sql.py fails until then)."""
    concerns = "\n           OR ".join(
        f"{name}(p_customer_id, v_plan.available, v_plan.available - 1)" for name in DROP_PREDICATES
    )
    return f"""
CREATE OR REPLACE FUNCTION desk_submit_ticket_v3(
    p_now timestamptz,
    p_key_id text,
    p_key_refresh_before timestamptz,
    p_partner_id text,
    p_idem_scope text,
    p_idem_key text,
    p_idem_hash text,
    p_config_version bigint,
    p_customer_id text,
    p_ticket_id text,
    p_message_id text,
    p_entry_id text,
    p_created_event_id text,
    p_charged_event_id text,
    p_line text,
    p_severity integer,
    p_product text,
    p_version text,
    p_subject text,
    p_body text,
    p_content_hash text,
    p_metadata json,
    p_author_role text,
    p_category text,
    p_duplicate_since timestamptz,
    p_head text,
    p_mid text,
    p_charges jsonb,
    p_sla jsonb
) RETURNS text
LANGUAGE plpgsql
AS $fn$
DECLARE
    v_key record;
    v_customer record;
    v_plan record;
    v_config bigint;
    v_number integer;
    v_urgent_seq bigint;
    v_urgent_named boolean;
    v_urgent boolean := true;
    v_charged boolean := false;
    v_charge text := 'null';
    v_sla text;
    v_object text;
    v_response text;
    v_txid bigint := pg_current_xact_id()::text::bigint;
BEGIN
    -- 1. the API key: usable; last use recorded once a minute at most
    SELECT revoked_at, expires_at, last_used_at INTO v_key FROM api_keys WHERE id = p_key_id;
    IF NOT FOUND OR v_key.revoked_at IS NOT NULL
       OR (v_key.expires_at IS NOT NULL AND v_key.expires_at <= p_now) THEN
        RAISE EXCEPTION 'key' USING ERRCODE = '{FALLBACK_SQLSTATE}';
    END IF;
    IF v_key.last_used_at IS NULL OR v_key.last_used_at <= p_key_refresh_before THEN
        UPDATE api_keys SET last_used_at = p_now
         WHERE id = p_key_id
           AND (last_used_at IS NULL OR last_used_at <= p_key_refresh_before);
    END IF;

    -- 2. the Idempotency-Key: claimed now, or the general path answers
    IF p_idem_key IS NOT NULL
       AND NOT kit_idempotency_claim_v1(p_idem_scope, p_idem_key, p_idem_hash, p_now) THEN
        RAISE EXCEPTION 'idempotency' USING ERRCODE = '{FALLBACK_SQLSTATE}';
    END IF;

    -- 3. the customer and its contract level
    SELECT c.partner, c.parent_id, l.level_id INTO v_customer
      FROM customers c
      LEFT JOIN customer_contract_levels l ON l.customer_id = c.id
     WHERE c.id = p_customer_id;
    IF NOT FOUND OR (p_partner_id IS NOT NULL AND p_customer_id <> p_partner_id
                     AND v_customer.parent_id IS DISTINCT FROM p_partner_id) THEN
        RAISE EXCEPTION 'customer' USING ERRCODE = '{FALLBACK_SQLSTATE}';
    END IF;

    -- 4. the cached configuration is current
    SELECT version INTO v_config FROM config_versions WHERE name = 'desk';
    IF COALESCE(v_config, 0) <> p_config_version THEN
        RAISE EXCEPTION 'config' USING ERRCODE = '{FALLBACK_SQLSTATE}';
    END IF;

    -- 5. the customer's lock: the charge's plan takes it (and says what the ledger would
    --    charge; with the balance drop's subscribers, whatever hands over does so before a
    --    ticket number is drawn); without a charge, the lock alone
    IF p_line = 'technical' AND NOT v_customer.partner THEN
        SELECT * INTO v_plan FROM credits_charge_plan_v1(p_customer_id, 1, p_now);
        IF v_plan.status <> 'ready' THEN
            RAISE EXCEPTION USING MESSAGE = v_plan.status, ERRCODE = '{FALLBACK_SQLSTATE}';
        END IF;
        IF {concerns} THEN
            RAISE EXCEPTION 'balance' USING ERRCODE = '{FALLBACK_SQLSTATE}';
        END IF;
    ELSE
        PERFORM 1 FROM wallets WHERE customer_id = p_customer_id FOR UPDATE;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'wallet' USING ERRCODE = '{FALLBACK_SQLSTATE}';
        END IF;
    END IF;

    -- 6. the same request in the window: the general path answers 409 with its number
    IF p_duplicate_since IS NOT NULL THEN
        PERFORM 1 FROM tickets
         WHERE customer_id = p_customer_id AND content_hash = p_content_hash
           AND created_at >= p_duplicate_since
         LIMIT 1;
        IF FOUND THEN
            RAISE EXCEPTION 'duplicate' USING ERRCODE = '{FALLBACK_SQLSTATE}';
        END IF;
    END IF;

    -- 8. the ticket, its first message, its clock, the default most-urgent period
    v_number := nextval('ticket_number_seq');
    INSERT INTO tickets (id, number, customer_id, line, status, severity, product, version,
                         subject, body, content_hash, created_by, metadata, created_at,
                         updated_at)
    VALUES (p_ticket_id, v_number, p_customer_id, p_line, 'open', p_severity, p_product,
            p_version, p_subject, p_body, p_content_hash, p_key_id, p_metadata, p_now, p_now);
    INSERT INTO ticket_messages (id, ticket_id, author_role, author_key_id, internal, body,
                                 created_at)
    VALUES (p_message_id, p_ticket_id, p_author_role, p_key_id, false, p_body, p_now);
    INSERT INTO ticket_slas (ticket_id, customer_id, category, started_at,
                             paused_working_seconds, paused_wall_seconds, stopped,
                             first_response_breached, escalation_level)
    VALUES (p_ticket_id, p_customer_id, p_category, p_now, 0, 0, false, false, 0);
    SELECT seq, named INTO v_urgent_seq, v_urgent_named
      FROM sla_urgent_periods WHERE customer_id = p_customer_id AND ended_at IS NULL LIMIT 1;
    IF FOUND AND v_urgent_named IS DISTINCT FROM false THEN
        v_urgent := false;  -- the customer's own choice stands
    ELSE
        IF FOUND THEN
            UPDATE sla_urgent_periods SET ended_at = p_now WHERE seq = v_urgent_seq;
        END IF;
        INSERT INTO sla_urgent_periods (customer_id, ticket_id, started_at, named)
        VALUES (p_customer_id, p_ticket_id, p_now, false);
    END IF;

    -- 9. the charge (the ledger's) and the ticket's charge row
    IF p_line = 'technical' AND v_customer.partner THEN
        INSERT INTO ticket_charges (ticket_id, credits, reason, created_at)
        VALUES (p_ticket_id, 0, 'partner', p_now);
        v_charge := p_charges ->> 'partner';
        v_charged := true;
    ELSIF p_line = 'technical' THEN
        PERFORM credits_charge_post_v1(p_customer_id, 1, p_entry_id, 'ticket', p_ticket_id,
                                       v_number, NULL, NULL, p_key_id, p_now,
                                       v_plan.available, v_plan.lot_ids, v_plan.takes,
                                       v_plan.amounts, v_plan.currencies);
        INSERT INTO ticket_charges (ticket_id, credits, reason, transaction_id, created_at)
        VALUES (p_ticket_id, 1, 'ticket', p_entry_id, p_now);
        v_charge := p_charges ->> 'ticket';
        v_charged := true;
    END IF;

    -- 10. the events partners receive, in this transaction
    v_object := p_head || v_number || p_mid || v_charge || ',"sla":null}}';
    INSERT INTO events (id, type, customer_id, created_at, data, txid)
    VALUES (p_created_event_id, 'ticket.created', p_customer_id, p_now,
            ('{{"object":' || v_object || '}}')::json, v_txid);
    IF v_charged THEN
        INSERT INTO events (id, type, customer_id, created_at, data, txid)
        VALUES (p_charged_event_id, 'ticket.charged', p_customer_id, p_now,
                ('{{"object":' || v_object || '}}')::json, v_txid);
    END IF;

    -- 11. the response, stored for replay
    v_sla := COALESCE(p_sla ->> v_customer.level_id, p_sla ->> '');
    IF v_urgent THEN
        v_sla := replace(v_sla, '"urgent":false', '"urgent":true');
    END IF;
    v_response := p_head || v_number || p_mid || v_charge || ',"sla":' || v_sla || '}}';
    IF p_idem_key IS NOT NULL THEN
        PERFORM kit_idempotency_store_v1(p_idem_scope, p_idem_key, 201, 'application/json',
                                         v_response);
    END IF;
    RETURN v_response;
END
$fn$;
"""


SUBMIT_TICKET_V3 = render_submit_ticket_v3()

# What migration 0022 installs (and drops on downgrade), by name.
FUNCTIONS = {"desk_submit_ticket_v3": SUBMIT_TICKET_V3}
