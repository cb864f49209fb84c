"""The requests behind the OpenAPI document's examples: one walk through every operation,
in an order where each finds what it needs (a customer, its key, a ticket, …).
tests/test_api_examples.py sends them to the app and records the examples it shows
(app/api_examples/operations.json). `R("customer.id")` is a value from an earlier answer;
`key` is who sends the request."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class R:
    """A value from an earlier answer: `"<saved name>.<field>[.<field>…]"`."""

    path: str


@dataclass(frozen=True)
class Step:
    operation: str
    method: str
    path: str  # the template, as the document has it
    key: str = "admin"
    params: dict[str, Any] = field(default_factory=dict)  # path and query parameters
    body: Any = None  # JSON
    files: dict[str, tuple[str, bytes, str]] | None = None  # multipart
    raw: tuple[bytes, str] | None = None  # (content, content type)
    status: int = 200
    save: str | None = None  # name the answer for later steps


CID = R("customer.id")
TID = R("ticket.id")
CUSTOMER_MAIL = "ops@acme.example"
TECH = "tech@desk.example"
EMAIL = (
    f"From: Acme Ops <{CUSTOMER_MAIL}>\r\nTo: {TECH}\r\n"
    "Subject: Nightly export to S3 times out\r\nMessage-ID: <export-1@acme.example>\r\n"
    "Date: Mon, 02 Nov 2026 08:55:00 +0000\r\n\r\n"
    "Since the upgrade every nightly export stops after 30 seconds.\r\n"
).encode()
TECHNICAL = {
    "line": "technical",
    "subject": "Backups fail after upgrading to 2.4",
    "body": "Since the upgrade every nightly backup stops with exit code 3.",
    "severity": 2,
    "product": "Panel",
    "version": "2.4",
    "metadata": {"case": "A-1042"},
}


def ticket(subject: str, line: str = "customer_relations") -> dict[str, Any]:
    return {"line": line, "subject": subject, "body": f"{subject}: details in the attachment."}


STEPS: tuple[Step, ...] = (
    # catalogue, customers and keys
    Step("list_packs", "GET", "/v1/packs"),
    Step("create_customer", "POST", "/v1/customers", status=201, save="customer", body={
        "name": "Acme Hosting", "email": CUSTOMER_MAIL, "external_ref": "crm-42",
        "code_word": "blue heron", "low_balance_threshold": 1, "metadata": {"crm_id": "42"},
    }),
    Step("get_customer", "GET", "/v1/customers/{customer_id}", params={"customer_id": CID}),
    Step("list_customers", "GET", "/v1/customers", params={"external_ref": "crm-42"}),
    Step("update_customer", "PATCH", "/v1/customers/{customer_id}", params={"customer_id": CID},
         body={"name": "Acme Hosting GmbH"}),
    Step("verify_caller", "POST", "/v1/customers/{customer_id}/verify-caller", key="cr_agent",
         params={"customer_id": CID}, body={"code_word": "blue heron"}),
    Step("create_api_key", "POST", "/v1/api-keys", status=201, save="customer_key",
         body={"role": "customer", "name": "cabinet", "customer_id": CID}),
    Step("list_api_keys", "GET", "/v1/api-keys", params={"limit": 2}),
    # credits and payments
    Step("create_adjustment", "POST", "/v1/customers/{customer_id}/adjustments", status=201,
         params={"customer_id": CID}, body={"credits": 2, "reason": "goodwill: onboarding"}),
    Step("create_purchase", "POST", "/v1/customers/{customer_id}/purchases", key="customer",
         status=201, save="purchase", params={"customer_id": CID},
         body={"pack": "five", "metadata": {"order": "PO-7"}}),
    Step("get_purchase", "GET", "/v1/purchases/{purchase_id}", key="customer",
         params={"purchase_id": R("purchase.id")}),
    Step("list_purchases", "GET", "/v1/customers/{customer_id}/purchases", key="customer",
         params={"customer_id": CID}),
    Step("get_receipt", "GET", "/v1/purchases/{purchase_id}/receipt.pdf", key="customer",
         params={"purchase_id": R("purchase.id")}),
    # (the walk refunds €20.00 of the purchase first, as a Stripe refund would: a credit note)
    Step("list_credit_notes", "GET", "/v1/customers/{customer_id}/credit-notes", key="customer",
         params={"customer_id": CID}, save="credit_notes"),
    Step("get_credit_note", "GET", "/v1/credit-notes/{credit_note_id}", key="customer",
         params={"credit_note_id": R("credit_notes.data.0.id")}),
    Step("get_credit_note_pdf", "GET", "/v1/credit-notes/{credit_note_id}.pdf", key="customer",
         params={"credit_note_id": R("credit_notes.data.0.id")}),
    Step("report_spend", "POST", "/v1/customers/{customer_id}/spend", key="integration",
         status=201, params={"customer_id": CID},
         body={"amount": {"amount": 12500, "currency": "EUR"}, "reference": "inv-1001"}),
    Step("get_balance", "GET", "/v1/customers/{customer_id}/balance", key="customer",
         params={"customer_id": CID}),
    Step("list_entries", "GET", "/v1/customers/{customer_id}/entries", key="customer",
         params={"customer_id": CID, "limit": 3}),
    Step("export_statement", "GET", "/v1/customers/{customer_id}/statement.csv",
         key="customer", params={"customer_id": CID, "from": "2026-11-01", "to": "2026-12-01"}),
    # products
    Step("create_product", "POST", "/v1/products", status=201, save="product",
         body={"name": "Panel"}),
    Step("add_version", "POST", "/v1/products/{product_id}/versions", status=201,
         params={"product_id": R("product.id")},
         body={"version": "2.4", "released_on": "2026-10-01"}),
    Step("get_product", "GET", "/v1/products/{product_id}", params={"product_id": R("product.id")}),
    Step("list_products", "GET", "/v1/products"),
    # tickets
    Step("submit_ticket", "POST", "/v1/tickets", key="customer", status=201, save="ticket",
         body=TECHNICAL),
    Step("get_ticket", "GET", "/v1/tickets/{ticket_id}", key="customer", params={"ticket_id": TID}),
    Step("list_tickets", "GET", "/v1/tickets", key="customer",
         params={"line": "technical", "limit": 1}),
    Step("add_message", "POST", "/v1/tickets/{ticket_id}/messages", key="customer", status=201,
         save="message", params={"ticket_id": TID},
         body={"body": "The backup log is attached to this message."}),
    Step("list_messages", "GET", "/v1/tickets/{ticket_id}/messages", key="customer",
         params={"ticket_id": TID}),
    Step("upload_to_ticket", "POST", "/v1/tickets/{ticket_id}/attachments", key="customer",
         status=201, save="attachments", params={"ticket_id": TID},
         files={"files": ("backup.log", b"exit code 3 at 02:00:31\n", "text/plain")}),
    Step("upload_to_message", "POST", "/v1/tickets/{ticket_id}/messages/{message_id}/attachments",
         key="customer", status=201, params={"ticket_id": TID, "message_id": R("message.id")},
         files={"files": ("backup-2.log", b"exit code 3 at 02:00:29\n", "text/plain")}),
    Step("list_attachments", "GET", "/v1/tickets/{ticket_id}/attachments", key="customer",
         params={"ticket_id": TID}),
    Step("download_attachment", "GET", "/v1/attachments/{attachment_id}", key="customer",
         params={"attachment_id": R("attachments.data.0.id")}),
    Step("assign", "POST", "/v1/tickets/{ticket_id}/assign", key="cr_agent",
         params={"ticket_id": TID}, body={"assignee": "Dana"}),
    Step("set_expected_completion", "PUT", "/v1/tickets/{ticket_id}/expected-completion",
         key="engineer", params={"ticket_id": TID},
         body={"expected_completion_at": "2026-11-04T17:00:00Z"}),
    Step("get_expected_completion", "GET", "/v1/tickets/{ticket_id}/expected-completion",
         key="customer", params={"ticket_id": TID}),
    Step("name_urgent", "POST", "/v1/tickets/{ticket_id}/urgent", key="customer",
         params={"ticket_id": TID}),
    Step("change_status", "POST", "/v1/tickets/{ticket_id}/status", key="engineer",
         params={"ticket_id": TID}, body={"status": "in_progress"}),
    Step("sla_history", "GET", "/v1/tickets/{ticket_id}/sla/history", key="engineer",
         params={"ticket_id": TID}),
    Step("set_allowance", "PUT", "/v1/customers/{customer_id}/change-allowance",
         params={"customer_id": CID}, body={"hours_per_month": 2}),
    Step("log_work", "POST", "/v1/tickets/{ticket_id}/work-logs", key="engineer", status=201,
         params={"ticket_id": TID}, body={"minutes": 30, "note": "Raised the export timeout"}),
    Step("list_work_logs", "GET", "/v1/tickets/{ticket_id}/work-logs", key="engineer",
         params={"ticket_id": TID}),
    Step("log_call", "POST", "/v1/customers/{customer_id}/calls", key="cr_agent", status=201,
         params={"customer_id": CID}, body={
             "started_at": "2026-11-02T08:30:00Z", "duration_minutes": 10, "verified": True,
             "topic": "Walked through the backup settings", "ticket_id": TID,
         }),
    Step("list_calls", "GET", "/v1/customers/{customer_id}/calls", key="cr_agent",
         params={"customer_id": CID}),
    Step("read_call_allowance", "GET", "/v1/customers/{customer_id}/call-allowance",
         key="cr_agent", params={"customer_id": CID}),
    Step("confirm_bug", "POST", "/v1/tickets/{ticket_id}/bug-confirmation", key="engineer",
         params={"ticket_id": TID}, body={"bug_reference": "BUG-1042"}),
    Step("submit_ticket", "POST", "/v1/tickets", key="customer", status=201, save="accepted",
         body=ticket("Renew the licence for panel.acme.example")),
    Step("transfer", "POST", "/v1/tickets/{ticket_id}/transfer", key="cr_agent",
         params={"ticket_id": R("accepted.id")}, body={"to_line": "technical"}),
    Step("accept_transfer", "POST", "/v1/tickets/{ticket_id}/transfer/accept", key="customer",
         params={"ticket_id": R("accepted.id")}),
    Step("submit_ticket", "POST", "/v1/tickets", key="customer", status=201, save="declined",
         body=ticket("Activation code for the second server")),
    Step("transfer", "POST", "/v1/tickets/{ticket_id}/transfer", key="cr_agent",
         params={"ticket_id": R("declined.id")}, body={"to_line": "technical"}),
    Step("decline_transfer", "POST", "/v1/tickets/{ticket_id}/transfer/decline", key="customer",
         params={"ticket_id": R("declined.id")}),
    Step("out_of_scope", "POST", "/v1/tickets/{ticket_id}/out-of-scope", key="engineer",
         params={"ticket_id": R("accepted.id")},
         body={"reason": "A licence question: the customer-relations line handles it."}),
    Step("submit_ticket", "POST", "/v1/tickets", key="customer", status=201, save="duplicate",
         body=ticket("Backup of the mail server fails too", "technical")),
    Step("merge", "POST", "/v1/tickets/{ticket_id}/merge", key="engineer",
         params={"ticket_id": R("duplicate.id")}, body={"into": TID}),
    # contract levels and service levels
    Step("create_level", "POST", "/v1/contract-levels", status=201, save="level", body={
        "name": "Gold", "targets": [
            {"severity": 1, "first_response_minutes": 30, "resolution_minutes": 240},
            {"severity": 2, "first_response_minutes": 60, "resolution_minutes": 480},
        ],
    }),
    Step("get_level", "GET", "/v1/contract-levels/{level_id}", params={"level_id": R("level.id")}),
    Step("replace_level", "PUT", "/v1/contract-levels/{level_id}",
         params={"level_id": R("level.id")}, body={
             "name": "Gold", "targets": [
                 {"severity": 1, "first_response_minutes": 20, "resolution_minutes": 240},
             ],
         }),
    Step("list_levels", "GET", "/v1/contract-levels"),
    Step("assign_level", "PUT", "/v1/customers/{customer_id}/contract-level",
         params={"customer_id": CID}, body={"level_id": R("level.id")}),
    Step("get_customer_level", "GET", "/v1/customers/{customer_id}/contract-level",
         key="customer", params={"customer_id": CID}),
    Step("create_level", "POST", "/v1/contract-levels", status=201, save="trial", body={
        "name": "Trial",
        "targets": [{"severity": 3, "first_response_minutes": 480, "resolution_minutes": 4800}],
    }),
    Step("delete_level", "DELETE", "/v1/contract-levels/{level_id}", status=204,
         params={"level_id": R("trial.id")}),
    Step("list_calendars", "GET", "/v1/sla/calendars"),
    Step("put_calendar", "PUT", "/v1/sla/calendars/{line}", params={"line": "technical"}, body={
        "zone": "Europe/Berlin", "holidays": ["2026-12-25", "2026-12-26"],
        "hours": [{"weekday": d, "opens": "09:00", "closes": "18:00"} for d in range(5)],
    }),
    Step("list_targets", "GET", "/v1/sla/targets"),
    Step("put_target", "PUT", "/v1/sla/targets", body={
        "line": "technical", "severity": 1, "category": "product_issue",
        "first_response_minutes": 60, "assignment_minutes": 30, "resolution_minutes": 480,
    }),
    # e-mail
    Step("add_contact", "POST", "/v1/customers/{customer_id}/contacts", status=201,
         save="contact", params={"customer_id": CID},
         body={"email": "dev@acme.example", "name": "Dev Team"}),
    Step("list_contacts", "GET", "/v1/customers/{customer_id}/contacts",
         params={"customer_id": CID}),
    Step("remove_contact", "DELETE", "/v1/customers/{customer_id}/contacts/{contact_id}",
         status=204, params={"customer_id": CID, "contact_id": R("contact.id")}),
    Step("receive_email", "POST", "/v1/inbound/email", key="integration",
         params={"recipient": TECH, "sender": CUSTOMER_MAIL}, raw=(EMAIL, "message/rfc822")),
    Step("list_inbound", "GET", "/v1/email/inbound", params={"limit": 1}),
    Step("list_outbox", "GET", "/v1/email/outbox", params={"limit": 1}),
    # top-ups and the cabinet
    Step("setup_payment_method", "POST", "/v1/customers/{customer_id}/payment-methods/setup",
         key="customer", status=201, save="setup", params={"customer_id": CID}, body={}),
    # Stripe only: the offline provider saved the card already, so this answers 503
    Step("complete_setup", "POST", "/v1/customers/{customer_id}/payment-methods/setup/complete",
         key="customer", params={"customer_id": CID}, status=503,
         body={"setup_intent_id": "seti_1QExampleSetupIntent"}),
    Step("put_auto_top_up", "PUT", "/v1/customers/{customer_id}/auto-top-up", key="customer",
         params={"customer_id": CID}, body={"enabled": True, "pack": "five", "threshold": 1}),
    Step("get_auto_top_up", "GET", "/v1/customers/{customer_id}/auto-top-up", key="customer",
         params={"customer_id": CID}),
    Step("create_portal_session", "POST", "/v1/customers/{customer_id}/portal-sessions",
         status=201, save="portal", params={"customer_id": CID}),
    Step("end_current_portal_session", "DELETE", "/v1/portal-sessions/current", key="portal",
         status=204),
    Step("create_portal_session", "POST", "/v1/customers/{customer_id}/portal-sessions",
         status=201, save="portal2", params={"customer_id": CID}),
    Step("revoke_portal_session", "DELETE", "/v1/portal-sessions/{session_id}", status=204,
         params={"session_id": R("portal2.id")}),
    # the staff console: a session for a staff key, its queue
    Step("create_console_session", "POST", "/v1/console-sessions", key="cr_agent", status=201,
         save="console"),
    Step("read_console_session", "GET", "/v1/console-sessions/current", key="console"),
    Step("read_queue", "GET", "/v1/queue", key="console",
         params={"line": "technical", "limit": 2}),
    Step("end_console_session", "DELETE", "/v1/console-sessions/current", key="console",
         status=204),
    # webhooks and events
    Step("create_endpoint", "POST", "/v1/webhook-endpoints", status=201, save="endpoint", body={
        "url": "http://127.0.0.1:9/creditdesk-hooks", "events": ["ticket.created"],
        "description": "helpdesk sync",
    }),
    Step("get_endpoint", "GET", "/v1/webhook-endpoints/{endpoint_id}",
         params={"endpoint_id": R("endpoint.id")}),
    Step("list_endpoints", "GET", "/v1/webhook-endpoints"),
    Step("update_endpoint", "PATCH", "/v1/webhook-endpoints/{endpoint_id}",
         params={"endpoint_id": R("endpoint.id")},
         body={"events": ["ticket.created", "ticket.status_changed"]}),
    Step("submit_ticket", "POST", "/v1/tickets", key="customer", status=201,
         body=ticket("Invoice address for December")),
    # (tests/test_api_examples.py delivers here: a delivery that failed, to list and retry)
    Step("list_deliveries", "GET", "/v1/webhook-endpoints/{endpoint_id}/deliveries",
         save="deliveries", params={"endpoint_id": R("endpoint.id")}),
    Step("retry_delivery", "POST",
         "/v1/webhook-endpoints/{endpoint_id}/deliveries/{delivery_id}/retry",
         params={"endpoint_id": R("endpoint.id"), "delivery_id": R("deliveries.data.0.id")}),
    Step("delete_endpoint", "DELETE", "/v1/webhook-endpoints/{endpoint_id}", status=204,
         params={"endpoint_id": R("endpoint.id")}),
    Step("list_events", "GET", "/v1/events", key="integration",
         params={"customer_id": CID, "type": "ticket.created", "limit": 2}),
    # finance and reports
    Step("read_account_map", "GET", "/v1/exports/account-map", key="finance"),
    Step("export_journal", "GET", "/v1/exports/journal", key="finance",
         params={"from": "2026-11-01", "to": "2026-12-01", "format": "csv"}),
    Step("export_deferred_revenue", "GET", "/v1/exports/deferred-revenue", key="finance",
         params={"from": "2026-11-01", "to": "2026-12-01"}),
    Step("export_lot_aging", "GET", "/v1/exports/lot-aging", key="finance",
         params={"at": "2026-11-03", "format": "json"}),
    Step("sla_report", "GET", "/v1/reports/sla", params={"from": "2026-11-01", "to": "2026-12-01"}),
    Step("usage_report", "GET", "/v1/reports/usage",
         params={"from": "2026-11-01", "to": "2026-12-01"}),
    Step("create_api_key", "POST", "/v1/api-keys", status=201, save="old_key",
         body={"role": "integration", "name": "billing sync (old)"}),
    Step("revoke_api_key", "DELETE", "/v1/api-keys/{key_id}", params={"key_id": R("old_key.id")}),
    # (tests/test_api_examples.py runs the notices job here: the walk's transfers, refunds
    # and resolutions are mailed)
    Step("list_notices", "GET", "/v1/customers/{customer_id}/notices", key="customer",
         params={"customer_id": CID, "limit": 2}),
)  # fmt: skip
