// A partner's integration written against the types openapi-typescript generates with its
// defaults, sending requests with openapi-fetch: built with `tsc --strict` and run with
// node against a live `creditdesk serve` (clients/check.py). Every request body is the
// minimal one a partner writes: the fields the server defaults are left out, and must be
// optional in the generated types (issue 29: they were required, so this failed to build).
//
// Usage: CREDITDESK_URL=http://127.0.0.1:PORT CREDITDESK_ADMIN_KEY=… node build/flow.js
import createClient from "openapi-fetch";
import type { components, paths } from "./generated/schema";

type Schemas = components["schemas"];
// node's globals this file uses (no @types/node: one dependency fewer to pin)
declare const process: { env: Record<string, string | undefined>; exit(code: number): never };

function client(baseUrl: string, key: string) {
  return createClient<paths>({ baseUrl, headers: { Authorization: `Bearer ${key}` } });
}

function check(condition: boolean, what: string, got?: unknown): asserts condition {
  if (!condition) throw new Error(`${what}: ${JSON.stringify(got)}`);
}

function step(text: string): void {
  console.log(`typescript partner flow: ${text}`);
}

async function main(): Promise<void> {
  const baseUrl = process.env.CREDITDESK_URL ?? "";
  const admin = client(baseUrl, process.env.CREDITDESK_ADMIN_KEY ?? "");
  const run = Math.random().toString(36).slice(2, 10);

  // Minimal bodies: no `partner`, `auto_accept_transfers`, `severity`, `category`, `internal`.
  const newCustomer: Schemas["CustomerCreate"] = { name: `TS Partner ${run}`, email: `ts-${run}@partner.example` };
  const created = await admin.POST("/v1/customers", {
    body: newCustomer,
    params: { header: { "Idempotency-Key": `ts-customer-${run}` } },
  });
  check(created.response.status === 201 && created.data !== undefined, "create customer", created.error);
  const customer: Schemas["CustomerRead"] = created.data;
  check(customer.partner === false && customer.auto_accept_transfers === false, "defaults", customer);

  const key = await admin.POST("/v1/api-keys", {
    body: { role: "customer", name: "ts partner", customer_id: customer.id },
  });
  check(key.data !== undefined && typeof key.data.key === "string", "create key", key.error);
  const partner = client(baseUrl, key.data.key);
  step(`customer ${customer.id} with its own key`);

  const free = await partner.POST("/v1/tickets", {
    body: {
      line: "customer_relations",
      subject: "Renew the licence for panel.ts.example",
      body: "Our licence expires next month; please send an invoice.",
    },
  });
  check(free.response.status === 201 && free.data !== undefined, "free ticket", free.error);
  check(free.data.severity === 3 && free.data.charge === null, "server defaults", free.data);

  const technical: Schemas["TicketCreate"] = {
    line: "technical",
    subject: "Export to S3 fails with a timeout",
    body: "Since this morning every nightly export stops after 30 seconds.",
  };
  const refused = await partner.POST("/v1/tickets", { body: technical });
  check(refused.response.status === 402 && refused.error !== undefined, "402", refused.error);
  const problem = refused.error as Schemas["InsufficientCreditsProblem"];
  check(problem.code === "insufficient_credits" && problem.available === 0, "402 problem", problem);
  step(`402 ${problem.code}: ${(problem.packs ?? []).length} packs on offer`);

  const granted = await admin.POST("/v1/customers/{customer_id}/adjustments", {
    params: { path: { customer_id: customer.id } },
    body: { credits: 1, reason: "goodwill: ts flow" },
  });
  check(granted.response.status === 201, "adjustment", granted.error);

  const ticket = await partner.POST("/v1/tickets", { body: technical });
  check(ticket.data !== undefined && ticket.data.charge?.credits === 1, "charged ticket", ticket.error);
  const message = await partner.POST("/v1/tickets/{ticket_id}/messages", {
    params: { path: { ticket_id: ticket.data.id } },
    body: { body: "The export log is attached to the next message." },
  });
  check(message.response.status === 201 && message.data?.internal === false, "message", message.error);
  step(`ticket #${ticket.data.number} charged ${ticket.data.charge.credits} credit; a message added`);

  const balance = await partner.GET("/v1/customers/{customer_id}/balance", {
    params: { path: { customer_id: customer.id } },
  });
  check(balance.data !== undefined && balance.data.available === 0, "balance", balance.data);
  step(`balance: ${balance.data.available} credits available`);
  console.log("typescript partner flow: OK");
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
