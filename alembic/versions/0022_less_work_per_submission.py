"""Less PostgreSQL work per ticket submission (issue 30): the journal's balance checked once
per transaction, not once per line (`journal_transaction_check_balance_v2`, credits.sql,
behind the same deferred constraint trigger `journal_lines_balanced`), and the desk's
one-call submission v3 (app.desk.submit_sql), which locks the wallet row once: the charge's
plan takes the customer's lock (v2 took it itself and then again in the plan).

Released SQL, frozen: the literal texts below are what this migration installs, as rendered
from the Python definitions when it was written (tests/test_rendered_sql.py,
tests/test_released_sql.py). desk_submit_ticket_v2 and journal_transaction_check_balance
stay installed (v2 no longer called; the v1 check is what the downgrade puts back).

Revision ID: 0022
Revises: 0019
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0022"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FUNCTIONS = {
    "journal_transaction_check_balance_v2": r"""
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
""",
    "desk_submit_ticket_v3": r"""
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

    -- 5. the customer's lock: the charge's plan takes it (and says what the ledger would
    --    charge; with the balance drop's subscribers, whatever hands over does so before a
    --    ticket number is drawn); without a charge, the lock alone
    IF p_line = 'technical' AND NOT v_customer.partner THEN
        SELECT * INTO v_plan FROM credits_charge_plan_v1(p_customer_id, 1, p_now);
        IF v_plan.status <> 'ready' THEN
            RAISE EXCEPTION USING MESSAGE = v_plan.status, ERRCODE = 'CDF01';
        END IF;
        IF topups_balance_drop_concerns_v1(p_customer_id, v_plan.available, v_plan.available - 1) THEN
            RAISE EXCEPTION 'balance' USING ERRCODE = 'CDF01';
        END IF;
    ELSE
        PERFORM 1 FROM wallets WHERE customer_id = p_customer_id FOR UPDATE;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'wallet' USING ERRCODE = 'CDF01';
        END IF;
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


def _balance_trigger(function: str) -> list[str]:
    return [
        "DROP TRIGGER IF EXISTS journal_lines_balanced ON journal_lines",
        "CREATE CONSTRAINT TRIGGER journal_lines_balanced"
        " AFTER INSERT ON journal_lines DEFERRABLE INITIALLY DEFERRED"
        f" FOR EACH ROW EXECUTE FUNCTION {function}()",
    ]


def upgrade() -> None:
    for text in FUNCTIONS.values():
        op.get_bind().exec_driver_sql(text)
    for statement in _balance_trigger("journal_transaction_check_balance_v2"):
        op.execute(statement)


def downgrade() -> None:
    for statement in _balance_trigger("journal_transaction_check_balance"):
        op.execute(statement)
    for name in reversed(FUNCTIONS):
        op.execute(f"DROP FUNCTION IF EXISTS {name}")
