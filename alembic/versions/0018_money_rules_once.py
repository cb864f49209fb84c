"""Each money rule written once: the ledger's charge, the Idempotency-Key's claim and store,
the balance-drop predicate of low-balance alerts and auto top-up, as SQL functions owned by
their features (credits.sql, app.kit.idempotency, app.topups.service), and the desk's
one-call submission v2 (app.desk.submit_sql), which keeps the desk's own rows and calls them.

Released SQL, frozen: the literal texts below are what this migration installs, as rendered
from the Python definitions when it was written (tests/test_rendered_sql.py compares them with
today's rendering; tests/test_released_sql.py pins their sha256). Never edit them: a change is
a new version of the function, installed by a new migration. desk_submit_ticket_v1 stays
installed (no longer called) so that processes still running the previous release keep
working during a rolling deploy.

Revision ID: 0018
Revises: 0017
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# In installation order: each function calls only those above it.
FUNCTIONS = {
    "credits_split_value_v1": r"""
CREATE OR REPLACE FUNCTION credits_split_value_v1(p_value bigint, p_units integer, p_take integer)
RETURNS bigint LANGUAGE sql IMMUTABLE AS $fn$
SELECT CASE WHEN p_take >= p_units THEN p_value
            ELSE p_value - (p_value * (p_units - p_take)) / p_units END
$fn$;
""",
    "credits_charge_plan_v1": r"""
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
    lot_ids := '{}';
    takes := '{}';
    amounts := '{}';
    currencies := '{}';
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
         ORDER BY lots.expires_at IS NULL, lots.expires_at, CASE WHEN (lots.amount = 0) THEN 0 ELSE 1 END, lots.created_at, lots.id
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
""",
    "credits_charge_post_v1": r"""
CREATE OR REPLACE FUNCTION credits_charge_post_v1(
    p_customer_id text,
    p_credits integer,
    p_entry_id text,
    p_reason text,
    p_ticket_id text,
    p_ticket_number integer,
    p_memo text,
    p_dedupe_key text,
    p_actor text,
    p_now timestamptz,
    p_available integer,
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
           (1, 'credits:consumed', 'CREDIT', taken.credits::bigint),
           (2, 'customer:' || p_customer_id || ':available', 'CREDIT',
            -taken.credits::bigint),
           (3, 'deferred_revenue', taken.currency, taken.value),
           (4, 'revenue:support', taken.currency, -taken.value)
     ) AS line(k, account, unit, amount)
     WHERE line.amount <> 0
     ORDER BY taken.n, line.k;
    RETURN v_seq;
END
$fn$;
""",
    "credits_charge_v1": r"""
CREATE OR REPLACE FUNCTION credits_charge_v1(
    p_customer_id text,
    p_credits integer,
    p_entry_id text,
    p_reason text,
    p_ticket_id text,
    p_ticket_number integer,
    p_memo text,
    p_dedupe_key text,
    p_actor text,
    p_now timestamptz,
    OUT status text,
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
""",
    "kit_idempotency_claim_v1": r"""
CREATE OR REPLACE FUNCTION kit_idempotency_claim_v1(
    p_scope text, p_key text, p_request_hash text, p_now timestamptz
) RETURNS boolean LANGUAGE plpgsql AS $fn$
DECLARE
    v_saved_lock_timeout text := current_setting('lock_timeout');
    v_claimed boolean;
BEGIN
    PERFORM set_config('lock_timeout', '10s', true);
    INSERT INTO idempotency_keys (scope, key, request_hash, created_at)
    VALUES (p_scope, p_key, p_request_hash, p_now)
    ON CONFLICT (scope, key) DO NOTHING;
    v_claimed := FOUND;
    PERFORM set_config('lock_timeout', v_saved_lock_timeout, true);
    RETURN v_claimed;
END
$fn$;
""",
    "kit_idempotency_store_v1": r"""
CREATE OR REPLACE FUNCTION kit_idempotency_store_v1(
    p_scope text, p_key text, p_status_code integer, p_media_type text, p_body text
) RETURNS void LANGUAGE plpgsql AS $fn$
BEGIN
    UPDATE idempotency_keys
       SET status_code = p_status_code, media_type = p_media_type, response_body = p_body
     WHERE scope = p_scope AND key = p_key;
END
$fn$;
""",
    "topups_balance_crossings_v1": r"""
CREATE OR REPLACE FUNCTION topups_balance_crossings_v1(
    p_customer_id text, p_before integer, p_after integer,
    OUT low_threshold integer, OUT low boolean, OUT depleted boolean,
    OUT auto_pack text, OUT auto boolean
) LANGUAGE plpgsql STABLE AS $fn$
BEGIN
    SELECT c.low_balance_threshold,
           COALESCE(p_before > c.low_balance_threshold
                    AND c.low_balance_threshold >= p_after, false),
           p_before > 0 AND p_after = 0,
           a.pack,
           COALESCE(a.enabled AND a.pack IS NOT NULL
                    AND p_before > a.threshold AND a.threshold >= p_after, false)
      INTO low_threshold, low, depleted, auto_pack, auto
      FROM customers c
      LEFT JOIN auto_top_ups a ON a.customer_id = c.id
     WHERE c.id = p_customer_id;
END
$fn$;
""",
    "topups_balance_drop_concerns_v1": r"""
CREATE OR REPLACE FUNCTION topups_balance_drop_concerns_v1(
    p_customer_id text, p_before integer, p_after integer
) RETURNS boolean LANGUAGE plpgsql STABLE AS $fn$
DECLARE
    v record;
BEGIN
    SELECT * INTO v FROM topups_balance_crossings_v1(p_customer_id, p_before, p_after);
    RETURN COALESCE(v.low OR v.depleted OR v.auto, false);
END
$fn$;
""",
    "desk_submit_ticket_v2": r"""
CREATE OR REPLACE FUNCTION desk_submit_ticket_v2(
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
        RAISE EXCEPTION 'key' USING ERRCODE = 'CDF01';
    END IF;
    IF v_key.last_used_at IS NULL OR v_key.last_used_at <= p_key_refresh_before THEN
        UPDATE api_keys SET last_used_at = p_now
         WHERE id = p_key_id
           AND (last_used_at IS NULL OR last_used_at <= p_key_refresh_before);
    END IF;

    -- 2. the Idempotency-Key: claimed now, or the general path answers
    IF p_idem_key IS NOT NULL
       AND NOT kit_idempotency_claim_v1(p_idem_scope, p_idem_key, p_idem_hash, p_now) THEN
        RAISE EXCEPTION 'idempotency' USING ERRCODE = 'CDF01';
    END IF;

    -- 3. the customer and its contract level
    SELECT c.partner, c.parent_id, l.level_id INTO v_customer
      FROM customers c
      LEFT JOIN customer_contract_levels l ON l.customer_id = c.id
     WHERE c.id = p_customer_id;
    IF NOT FOUND OR (p_partner_id IS NOT NULL AND p_customer_id <> p_partner_id
                     AND v_customer.parent_id IS DISTINCT FROM p_partner_id) THEN
        RAISE EXCEPTION 'customer' USING ERRCODE = 'CDF01';
    END IF;

    -- 4. the cached configuration is current
    SELECT version INTO v_config FROM config_versions WHERE name = 'desk';
    IF COALESCE(v_config, 0) <> p_config_version THEN
        RAISE EXCEPTION 'config' USING ERRCODE = 'CDF01';
    END IF;

    -- 5. the customer's lock
    PERFORM 1 FROM wallets WHERE customer_id = p_customer_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'wallet' USING ERRCODE = 'CDF01';
    END IF;

    -- 6. the same request in the window: the general path answers 409 with its number
    IF p_duplicate_since IS NOT NULL THEN
        PERFORM 1 FROM tickets
         WHERE customer_id = p_customer_id AND content_hash = p_content_hash
           AND created_at >= p_duplicate_since
         LIMIT 1;
        IF FOUND THEN
            RAISE EXCEPTION 'duplicate' USING ERRCODE = 'CDF01';
        END IF;
    END IF;

    -- 7. the charge the ledger would make, and the balance drop's subscribers: whatever
    --    hands over does so before a ticket number is drawn
    IF p_line = 'technical' AND NOT v_customer.partner THEN
        SELECT * INTO v_plan FROM credits_charge_plan_v1(p_customer_id, 1, p_now);
        IF v_plan.status <> 'ready' THEN
            RAISE EXCEPTION USING MESSAGE = v_plan.status, ERRCODE = 'CDF01';
        END IF;
        IF topups_balance_drop_concerns_v1(p_customer_id, v_plan.available, v_plan.available - 1) THEN
            RAISE EXCEPTION 'balance' USING ERRCODE = 'CDF01';
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
    v_object := p_head || v_number || p_mid || v_charge || ',"sla":null}';
    INSERT INTO events (id, type, customer_id, created_at, data, txid)
    VALUES (p_created_event_id, 'ticket.created', p_customer_id, p_now,
            ('{"object":' || v_object || '}')::json, v_txid);
    IF v_charged THEN
        INSERT INTO events (id, type, customer_id, created_at, data, txid)
        VALUES (p_charged_event_id, 'ticket.charged', p_customer_id, p_now,
                ('{"object":' || v_object || '}')::json, v_txid);
    END IF;

    -- 11. the response, stored for replay
    v_sla := COALESCE(p_sla ->> v_customer.level_id, p_sla ->> '');
    IF v_urgent THEN
        v_sla := replace(v_sla, '"urgent":false', '"urgent":true');
    END IF;
    v_response := p_head || v_number || p_mid || v_charge || ',"sla":' || v_sla || '}';
    IF p_idem_key IS NOT NULL THEN
        PERFORM kit_idempotency_store_v1(p_idem_scope, p_idem_key, 201, 'application/json',
                                         v_response);
    END IF;
    RETURN v_response;
END
$fn$;
""",
}


def upgrade() -> None:
    for text in FUNCTIONS.values():
        op.get_bind().exec_driver_sql(text)  # as is: its `:available` is no parameter


def downgrade() -> None:
    for name in reversed(FUNCTIONS):
        op.execute(f"DROP FUNCTION IF EXISTS {name}")
