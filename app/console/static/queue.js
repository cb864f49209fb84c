/* The queue: unfinished tickets per line, ordered by the next SLA due time (GET /v1/queue),
   breached and escalated ones marked; filters live in the address (#/?line=…). */
import { api, field, h, session } from "./core.js";
import { dateTime, due, t } from "./i18n.js";

const FILTERS = ["line", "status", "severity", "assignee", "unassigned", "customer_id", "partner"];
const STATUSES = ["open", "awaiting_approval", "in_progress", "waiting_on_customer"];

function defaults(params) {
  const filters = {};
  FILTERS.forEach((name) => { filters[name] = params.get(name) || ""; });
  if (!params.has("line")) {
    filters.line = { cr_agent: "customer_relations", engineer: "technical" }[session.role] || "all";
  }
  return filters;
}

function apiQuery(filters) {
  const query = new URLSearchParams({ limit: "100" });
  FILTERS.forEach((name) => {
    const value = filters[name];
    if (!value || value === "all") return;
    query.set(name, value);
  });
  return query.toString();
}

export function statusBadge(status) {
  const tone = { open: "brand", awaiting_approval: "warn", in_progress: "brand", waiting_on_customer: "warn", resolved: "ok", closed: "" }[status];
  return h("span", { class: "badge " + (tone || ""), text: t("status." + status) });
}

/* Breached, escalated, most urgent, paused: the marks a ticket's `sla` block calls for. */
export function slaBadges(sla) {
  if (!sla) return [];
  return [
    sla.breached ? h("span", { class: "badge bad", "data-mark": "breached", text: t("sla.breached") }) : null,
    sla.escalation_level ? h("span", { class: "badge bad", "data-mark": "escalated", text: t("sla.escalated", { n: sla.escalation_level }) }) : null,
    sla.urgent ? h("span", { class: "badge brand", text: t("sla.urgent") }) : null,
    sla.paused ? h("span", { class: "badge", text: t("sla.paused") }) : null,
  ];
}

function select(id, value, options) {
  return h("select", { id, name: id },
    options.map(([v, label]) => h("option", { value: v, selected: v === value, text: label })));
}

function filterForm(filters) {
  const line = select("q-line", filters.line, [["all", t("filter.allLines")], ["customer_relations", t("line.customer_relations")], ["technical", t("line.technical")]]);
  const status = select("q-status", filters.status, [["", t("filter.allStatuses")]].concat(STATUSES.map((s) => [s, t("status." + s)])));
  const severity = select("q-severity", filters.severity, [["", t("filter.anySeverity")]].concat([1, 2, 3, 4].map((n) => [String(n), t("sev." + n)])));
  const partner = select("q-partner", filters.partner, [["", t("filter.anyCustomer")], ["true", t("filter.partners")], ["false", t("filter.notPartners")]]);
  const assignee = h("input", { id: "q-assignee", type: "text", value: filters.assignee, autocomplete: "off" });
  const customer = h("input", { id: "q-customer", type: "text", value: filters.customer_id, autocomplete: "off", placeholder: "cus_…" });
  const unassigned = h("input", { id: "q-unassigned", type: "checkbox", checked: filters.unassigned === "true" });
  const form = h("form", { class: "filters", "aria-label": t("filter.title") },
    field(t("filter.line"), line), field(t("filter.status"), status), field(t("filter.severity"), severity),
    field(t("filter.assignee"), assignee), field(t("filter.customer"), customer), field(t("filter.partner"), partner),
    h("label", { class: "check", for: "q-unassigned" }, unassigned, h("span", { text: t("filter.unassigned") })),
    h("div", { class: "actions" },
      h("button", { class: "btn primary", type: "submit", text: t("filter.apply") }),
      h("a", { class: "btn", href: "#/?line=all", text: t("filter.clear") })));
  function apply() {
    const query = new URLSearchParams({ line: line.value });
    if (status.value) query.set("status", status.value);
    if (severity.value) query.set("severity", severity.value);
    if (assignee.value.trim()) query.set("assignee", assignee.value.trim());
    if (unassigned.checked) query.set("unassigned", "true");
    if (customer.value.trim()) query.set("customer_id", customer.value.trim());
    if (partner.value) query.set("partner", partner.value);
    location.hash = "#/?" + query.toString();
  }
  form.addEventListener("submit", (event) => { event.preventDefault(); apply(); });
  [line, status, severity, partner, unassigned].forEach((control) => control.addEventListener("change", apply));
  return form;
}

function row(ticket, now) {
  const overdue = ticket.next_due_at && Date.parse(ticket.next_due_at) < now;
  const sla = ticket.sla || {};
  const cls = [sla.breached || overdue ? "row-breached" : "", sla.escalation_level ? "row-escalated" : ""].join(" ").trim();
  return h("tr", { class: cls || null, "data-ticket": ticket.id, "data-due": ticket.next_due_at || "" },
    h("td", { class: "due" + (overdue ? " overdue" : "") },
      ticket.next_due_at ? h("span", { text: due(ticket.next_due_at, now) }) : h("span", { class: "muted", text: t("due.none") }),
      ticket.next_due ? h("div", { class: "small muted", text: t("target." + ticket.next_due) + " · " + dateTime(ticket.next_due_at) }) : null),
    h("td", { class: "subject" },
      h("a", { href: "#/tickets/" + ticket.id }, h("span", { class: "num-tag", text: "#" + ticket.number + " " }), ticket.subject),
      h("div", { class: "badges" }, slaBadges(sla))),
    h("td", null, h("a", { href: "#/customers/" + ticket.customer_id, text: ticket.customer_name }),
      ticket.customer_partner ? h("div", { class: "small muted", text: t("customer.partner") }) : null),
    h("td", { text: t("line." + ticket.line) }),
    h("td", { class: "num", text: String(ticket.severity) }),
    h("td", null, statusBadge(ticket.status)),
    h("td", { text: sla.assignee || "—" }));
}

export async function pageQueue(params) {
  const filters = defaults(params);
  const page = await api("GET", "/queue?" + apiQuery(filters));
  const now = Date.now();
  const table = page.data.length
    ? h("div", { class: "table-wrap" }, h("table", { "data-testid": "queue" },
      h("caption", { class: "sr-only", text: t("queue.caption") }),
      h("thead", null, h("tr", null,
        h("th", { scope: "col", text: t("queue.due") }), h("th", { scope: "col", text: t("queue.ticket") }),
        h("th", { scope: "col", text: t("queue.customer") }), h("th", { scope: "col", text: t("queue.line") }),
        h("th", { scope: "col", class: "num", text: t("queue.severity") }), h("th", { scope: "col", text: t("queue.status") }),
        h("th", { scope: "col", text: t("queue.assignee") }))),
      h("tbody", null, page.data.map((ticket) => row(ticket, now)))))
    : h("p", { class: "empty", text: t("queue.empty") });
  const breached = page.data.filter((x) => x.sla && x.sla.breached).length;
  const node = h("div", { "data-page": "queue" },
    h("div", { class: "page-head" },
      h("div", null, h("h1", { text: t("queue.title") }), h("p", { class: "small muted", text: t("queue.keys") })),
      h("p", { class: "muted", "data-testid": "queue-count", text: t("queue.count", { n: page.total, breached }) })),
    h("div", { class: "queue-layout" },
      h("section", { class: "card filters-card", "aria-label": t("filter.title") }, filterForm(filters)),
      h("section", { class: "card", "aria-labelledby": "queue-h" },
        h("h2", { id: "queue-h", class: "sr-only", text: t("queue.caption") }),
        page.truncated ? h("p", { class: "notice", text: t("queue.truncated") }) : null,
        table)));
  return { node, watch: (targets) => targets.some((x) => x.ticket || x.type.startsWith("sla.")) };
}
