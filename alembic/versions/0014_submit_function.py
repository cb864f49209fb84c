"""A ticket submission in one call on PostgreSQL

`desk_submit_ticket_v1` (its text below; app.desk.submit_sql explains it) writes a whole submission in one round trip;
`config_versions` and its triggers let each process cache the submission's configuration
(SLA calendars and targets, contract levels, products) and know when it went stale.

Revision ID: 0014
Revises: 0010
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0014"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Released SQL, frozen: the literal text this migration installs, byte for byte what it
# installed when it was released (tests/test_released_sql.py pins its sha256). Never edit it:
# a change is a new version of the function, installed by a new migration.
CONFIG_TABLES = (
    "sla_calendars",
    "sla_targets",
    "contract_levels",
    "contract_level_targets",
    "products",
    "product_versions",
)
DROP_SUBMIT_TICKET_V1 = "DROP FUNCTION IF EXISTS desk_submit_ticket_v1"

SUBMIT_TICKET_V1 = r"""
CREATE OR REPLACE FUNCTION desk_submit_ticket_v1(
    p_now timestamptz,
    p_key_id text,
    p_key_refresh_before timestamptz,
    p_partner_id text,
    p_idem_scope text,
    p_idem_key text,
    p_idem_hash text,
    p_in_flight_wait text,
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
    v_lot record;
    v_saved_lock_timeout text;
    v_config bigint;
    v_available integer;
    v_number integer;
    v_value bigint;
    v_units integer;
    v_entry_seq bigint;
    v_urgent_seq bigint;
    v_urgent_named boolean;
    v_urgent boolean := true;
    v_charged boolean := false;
    v_partner boolean;
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
    IF p_idem_key IS NOT NULL THEN
        v_saved_lock_timeout := current_setting('lock_timeout');
        PERFORM set_config('lock_timeout', p_in_flight_wait, true);
        INSERT INTO idempotency_keys (scope, key, request_hash, created_at)
        VALUES (p_idem_scope, p_idem_key, p_idem_hash, p_now)
        ON CONFLICT (scope, key) DO NOTHING;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'idempotency' USING ERRCODE = 'CDF01';
        END IF;
        PERFORM set_config('lock_timeout', v_saved_lock_timeout, true);
    END IF;

    -- 3. the customer, its contract level and its balance thresholds
    SELECT c.partner, c.parent_id, c.low_balance_threshold, l.level_id,
           a.enabled AS auto_enabled, a.threshold AS auto_threshold, a.pack AS auto_pack
      INTO v_customer
      FROM customers c
      LEFT JOIN customer_contract_levels l ON l.customer_id = c.id
      LEFT JOIN auto_top_ups a ON a.customer_id = c.id
     WHERE c.id = p_customer_id;
    IF NOT FOUND OR (p_partner_id IS NOT NULL AND p_customer_id <> p_partner_id
                     AND v_customer.parent_id IS DISTINCT FROM p_partner_id) THEN
        RAISE EXCEPTION 'customer' USING ERRCODE = 'CDF01';
    END IF;
    v_partner := v_customer.partner;

    -- 4. the cached configuration is current
    SELECT version INTO v_config FROM config_versions WHERE name = 'desk';
    IF COALESCE(v_config, 0) <> p_config_version THEN
        RAISE EXCEPTION 'config' USING ERRCODE = 'CDF01';
    END IF;

    -- 5. the customer's lock
    SELECT available INTO v_available FROM wallets WHERE customer_id = p_customer_id FOR UPDATE;
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

    -- 7. the lot a technical ticket is charged to
    IF p_line = 'technical' AND NOT v_partner THEN
        IF v_available < 1 THEN
            RAISE EXCEPTION 'insufficient' USING ERRCODE = 'CDF01';
        END IF;
        IF (v_customer.low_balance_threshold IS NOT NULL
                AND v_available > v_customer.low_balance_threshold
                AND v_customer.low_balance_threshold >= v_available - 1)
           OR v_available = 1
           OR (v_customer.auto_enabled AND v_customer.auto_pack IS NOT NULL
                AND v_customer.auto_threshold IS NOT NULL
                AND v_available > v_customer.auto_threshold
                AND v_customer.auto_threshold >= v_available - 1) THEN
            RAISE EXCEPTION 'balance' USING ERRCODE = 'CDF01';
        END IF;
        SELECT id, remaining, frozen, value_remaining, currency, expires_at INTO v_lot
          FROM lots
         WHERE customer_id = p_customer_id AND remaining > 0
         ORDER BY expires_at IS NULL, expires_at, CASE WHEN amount = 0 THEN 0 ELSE 1 END,
                  created_at, id
         LIMIT 1;
        IF NOT FOUND OR (v_lot.expires_at IS NOT NULL AND v_lot.expires_at <= p_now) THEN
            RAISE EXCEPTION 'lots' USING ERRCODE = 'CDF01';
        END IF;
        v_units := v_lot.remaining + v_lot.frozen;
        v_value := CASE WHEN v_units <= 1 THEN v_lot.value_remaining
                        ELSE v_lot.value_remaining
                             - (v_lot.value_remaining * (v_units - 1)) / v_units END;
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

    -- 9. the charge: journal, lot, wallet, the ticket's charge row
    IF p_line = 'technical' AND v_partner THEN
        INSERT INTO ticket_charges (ticket_id, credits, reason, created_at)
        VALUES (p_ticket_id, 0, 'partner', p_now);
        v_charge := p_charges ->> 'partner';
        v_charged := true;
    ELSIF p_line = 'technical' THEN
        INSERT INTO journal_transactions (id, kind, reason, customer_id, credits,
                                          balance_after, lot_id, ticket_id, ticket_number,
                                          actor, posted_at)
        VALUES (p_entry_id, 'charge', 'ticket', p_customer_id, -1, v_available - 1, v_lot.id,
                p_ticket_id, v_number, p_key_id, p_now)
        RETURNING seq INTO v_entry_seq;
        UPDATE lots SET remaining = remaining - 1, value_remaining = value_remaining - v_value
         WHERE id = v_lot.id;
        UPDATE wallets SET available = available - 1, updated_at = p_now
         WHERE customer_id = p_customer_id;
        INSERT INTO journal_lines (transaction_seq, account, unit, amount, customer_id, lot_id)
        SELECT v_entry_seq, line.account, line.unit, line.amount, p_customer_id, v_lot.id
          FROM (VALUES (1, 'credits:consumed', 'CREDIT', 1::bigint),
                       (2, 'customer:' || p_customer_id || ':available', 'CREDIT', -1::bigint),
                       (3, 'deferred_revenue', v_lot.currency, v_value),
                       (4, 'revenue:support', v_lot.currency, -v_value))
               AS line(n, account, unit, amount)
         WHERE line.amount <> 0
         ORDER BY line.n;
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
        UPDATE idempotency_keys
           SET status_code = 201, media_type = 'application/json', response_body = v_response
         WHERE scope = p_idem_scope AND key = p_idem_key;
    END IF;
    RETURN v_response;
END
$fn$;
"""

BUMP_CONFIG_FUNCTION = """
CREATE OR REPLACE FUNCTION desk_config_bump() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    INSERT INTO config_versions (name, version) VALUES ('desk', 1)
    ON CONFLICT (name) DO UPDATE SET version = config_versions.version + 1;
    RETURN NULL;
END
$fn$;
"""


def upgrade() -> None:
    op.create_table(
        "config_versions",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_config_versions")),
    )
    op.execute("INSERT INTO config_versions (name, version) VALUES ('desk', 1)")
    op.execute(BUMP_CONFIG_FUNCTION)
    for table in CONFIG_TABLES:
        op.execute(
            f"CREATE TRIGGER {table}_bump_desk_config AFTER INSERT OR UPDATE OR DELETE "
            f"OR TRUNCATE ON {table} FOR EACH STATEMENT EXECUTE FUNCTION desk_config_bump()"
        )
    op.get_bind().exec_driver_sql(SUBMIT_TICKET_V1)  # as is: its `:available` is no parameter


def downgrade() -> None:
    op.execute(DROP_SUBMIT_TICKET_V1)
    for table in CONFIG_TABLES:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_bump_desk_config ON {table}")
    op.execute("DROP FUNCTION IF EXISTS desk_config_bump()")
    op.drop_table("config_versions")
