// What a partner's TypeScript code relies on in the generated types; `tsc --strict`
// fails when the document stops saying it (a @ts-expect-error that no longer errors
// fails too).
import type { components, operations } from "./generated/schema";

type Schemas = components["schemas"];
type Submit = operations["submit_ticket"];

// Idempotency-Key can be sent on every POST, e.g. a ticket submission.
export const submitHeaders: NonNullable<Submit["parameters"]["header"]> = {
  "Idempotency-Key": "partner-ticket-0001",
};

// 402: the packs to buy and what the customer has, typed.
export function packsToOffer(
  problem: Submit["responses"][402]["content"]["application/problem+json"],
): string[] {
  const available: number = problem.available;
  return (problem.packs ?? []).map(
    (p) => `${p.code}: ${p.credits} credits for ${p.price.amount} ${p.price.currency} (have ${available})`,
  );
}

// 409 on a submission: the duplicate's existing ticket, or another conflict.
export function existingTicket(
  problem: Submit["responses"][409]["content"]["application/problem+json"],
): string | null {
  return "ticket_id" in problem && typeof problem.ticket_id === "string"
    ? `#${String(problem.number)} ${problem.ticket_id}`
    : null;
}

// 422 is a problem with field errors, not FastAPI's `detail` list.
export function invalidFields(
  problem: operations["list_customers"]["responses"][422]["content"]["application/problem+json"],
): string[] {
  const detail: string = problem.detail;
  return (problem.errors ?? []).map((e) => `${e.field}: ${e.message} (${detail})`);
}

// One Money shape: spend totals and roll-forward lines are {amount, currency}.
export const spendTotal: Schemas["SpendOut"]["total"] = { amount: 12_500, currency: "EUR" };
export const closing: Schemas["MoneyRollForward"]["closing"] = { amount: 8_000, currency: "EUR" };
// @ts-expect-error: a bare integer is not Money
export const bareCents: Schemas["SpendOut"]["total"] = 12_500;

// Typed enums.
export const kinds: Schemas["EntryRead"]["kind"][] = ["grant", "charge", "refund"];
export const source: Schemas["LotRead"]["source"] = "purchase";
export const reason: Schemas["ChargeRead"]["reason"] = "partner";
// @ts-expect-error: not an entry kind
export const badKind: Schemas["EntryRead"]["kind"] = "gift";

// Problems are open: members beyond the declared ones are allowed.
export const anyProblem: Schemas["Problem"] = {
  type: "urn:creditdesk:problem:not_found",
  title: "Not Found",
  status: 404,
  detail: "No such customer.",
  code: "not_found",
};
