/* Customers: finding one, and a customer's page (profile, balance and history, tickets,
   phone calls and change hours against their limits, and the cabinet link for a caller
   verified by code word). */
import { api, can, config, confirmed, fail, field, h, reload, showAlert, clearAlert } from "./core.js";
import { credits, date, dateTime, duration, t } from "./i18n.js";
import { statusBadge } from "./queue.js";

const verified = new Set();  // customers whose caller gave the code word, this page's life
const links = new Map();     // the cabinet link made for a customer's caller, kept across refreshes

export async function loadCustomerFacts(id) {
  const base = "/customers/" + encodeURIComponent(id);
  const [customer, balance, level, allowance] = await Promise.all([
    api("GET", base), api("GET", base + "/balance"), api("GET", base + "/contract-level"), api("GET", base + "/call-allowance"),
  ]);
  return { customer, balance, level: level.level, allowance };
}

export async function downloadAttachment(attachment) {
  const response = await api("GET", "/attachments/" + attachment.id, undefined, { raw: true });
  const link = h("a", { href: URL.createObjectURL(await response.blob()), download: attachment.filename });
  document.body.appendChild(link);
  link.click();
  link.remove();
}

function callsLeft(allowance) {
  return t("calls.left", { left: allowance.remaining, limit: allowance.limit, max: allowance.max_minutes });
}

function hoursLeft(hours) {
  return t("hours.left", { left: duration(hours.remaining_minutes), of: duration(hours.allowance_minutes) });
}

/* The customer at a glance, beside a ticket. */
export function customerPanel(facts) {
  const { customer, balance, level, allowance } = facts;
  const expiring = balance.lots.filter((l) => l.expires_at && l.remaining > 0)[0];
  const row = (label, value, testid) => [h("dt", { text: label }), h("dd", { "data-testid": testid || null }, value)];
  return h("section", { class: "card", "aria-labelledby": "cust-h", "data-testid": "customer-panel" },
    h("h2", { id: "cust-h" }, h("a", { href: "#/customers/" + customer.id, text: customer.name })),
    h("dl", { class: "facts" },
      row(t("balance.available"), credits(balance.available), "balance"),
      balance.frozen ? row(t("balance.frozen"), credits(balance.frozen)) : null,
      row(t("balance.lots"), String(balance.lots.length) + (expiring ? " · " + t("balance.expiring", { n: expiring.remaining, date: date(expiring.expires_at) }) : "")),
      row(t("customer.level"), level ? level.name : t("customer.noLevel")),
      row(t("calls.title"), callsLeft(allowance), "calls-left"),
      balance.change_hours ? row(t("hours.title"), hoursLeft(balance.change_hours), "hours-left") : null,
      customer.partner ? row(t("customer.kind"), t("customer.partner")) : null,
      customer.auto_accept_transfers ? row(t("customer.transfers"), t("customer.autoAccept")) : null));
}

// ------------------------------------------------------------------ finding customers

export async function pageCustomers(params) {
  const q = (params.get("q") || "").trim();
  if (q.startsWith("cus_")) { location.hash = "#/customers/" + q; return { node: h("p", { class: "loading", text: t("loading") }) }; }
  const query = q.includes("@") ? "?limit=200&email=" + encodeURIComponent(q) : "?limit=200";
  const page = await api("GET", "/customers" + query);
  const rows = q && !q.includes("@") ? page.data.filter((c) => c.name.toLowerCase().includes(q.toLowerCase())) : page.data;
  const input = h("input", { id: "customer-q", type: "search", value: q, autocomplete: "off" });
  const form = h("form", { role: "search", "aria-label": t("customers.search"), onsubmit: (e) => {
    e.preventDefault(); location.hash = "#/customers?q=" + encodeURIComponent(input.value.trim());
  } }, field(t("customers.q"), input, t("customers.hint")), h("button", { class: "btn primary", type: "submit", text: t("customers.find") }));
  const table = rows.length ? h("div", { class: "table-wrap" }, h("table", { "data-testid": "customers" },
    h("thead", null, h("tr", null, h("th", { scope: "col", text: t("customer.name") }), h("th", { scope: "col", text: t("customer.email") }),
      h("th", { scope: "col", text: t("customer.kind") }))),
    h("tbody", null, rows.map((c) => h("tr", null,
      h("td", null, h("a", { href: "#/customers/" + c.id, text: c.name })), h("td", { text: c.email }),
      h("td", { text: c.partner ? t("customer.partner") : c.parent_id ? t("customer.endCustomer") : t("customer.direct") }))))))
    : h("p", { class: "empty", text: t("customers.none") });
  const node = h("div", { "data-page": "customers" }, h("div", { class: "page-head" }, h("h1", { text: t("customers.title") })),
    h("div", { class: "card search-card" }, form), h("section", { class: "card", "aria-label": t("customers.title") }, table));
  return { node };
}

// ------------------------------------------------------------------ one customer

function profile(customer, level) {
  const row = (label, value) => [h("dt", { text: label }), h("dd", null, value)];
  return h("section", { class: "card span-4", "aria-labelledby": "prof-h" }, h("h2", { id: "prof-h", text: t("customer.profile") }),
    h("dl", { class: "facts" },
      row(t("customer.email"), customer.email), row(t("customer.id"), h("code", { text: customer.id })),
      row(t("customer.kind"), customer.partner ? t("customer.partner") : customer.parent_id ? t("customer.endCustomer") : t("customer.direct")),
      row(t("customer.transfers"), customer.auto_accept_transfers ? t("customer.autoAccept") : t("customer.askConsent")),
      row(t("customer.codeWord"), customer.has_code_word ? t("customer.codeWordSet") : t("customer.codeWordNone")),
      customer.external_ref ? row(t("customer.ref"), customer.external_ref) : null,
      row(t("customer.level"), level ? level.name : t("customer.noLevel")),
      row(t("customer.since"), date(customer.created_at))));
}

function balanceCard(balance) {
  return h("section", { class: "card span-4", "aria-labelledby": "bal-h" }, h("h2", { id: "bal-h", text: t("balance.title") }),
    h("p", { class: "big", "data-testid": "balance" }, credits(balance.available)),
    balance.frozen ? h("p", { class: "small muted", text: t("balance.frozen") + ": " + credits(balance.frozen) }) : null,
    balance.lots.length ? h("table", { class: "compact" },
      h("thead", null, h("tr", null, h("th", { scope: "col", text: t("lots.source") }), h("th", { scope: "col", class: "num", text: t("lots.left") }),
        h("th", { scope: "col", class: "num", text: t("lots.expires") }))),
      h("tbody", null, balance.lots.map((l) => h("tr", null, h("td", { text: t("source." + l.source) }),
        h("td", { class: "num", text: l.remaining + " / " + l.credits }), h("td", { class: "num", text: l.expires_at ? date(l.expires_at) : t("lots.never") })))))
      : h("p", { class: "muted", text: t("lots.none") }));
}

function phoneCard(customer) {
  const box = h("div", { "data-testid": "phone" });
  const render = () => {
    if (!customer.has_code_word) { box.replaceChildren(h("p", { class: "muted", text: t("phone.noCodeWord") })); return; }
    if (!verified.has(customer.id)) {
      const word = h("input", { id: "code-word", type: "password", autocomplete: "off" });
      box.replaceChildren(h("form", { onsubmit: async (e) => {
        e.preventDefault(); clearAlert();
        if (!word.value) { word.focus(); return; }
        try {
          const result = await api("POST", "/customers/" + customer.id + "/verify-caller", { code_word: word.value });
          word.value = "";
          if (!result.verified) { showAlert(t("phone.wrong")); word.focus(); return; }
          verified.add(customer.id);
          const box = document.getElementById("call-verified");
          if (box) box.checked = true;
          showAlert(t("phone.verified"), true);
          render();
        } catch (error) { fail(error); }
      } }, field(t("phone.codeWord"), word, t("phone.hint")), h("button", { class: "btn primary", type: "submit", text: t("phone.verify") })));
      return;
    }
    const link = h("div", { class: "portal-link" });
    const show = (created) => {
      const url = h("input", { id: "portal-url", type: "text", readonly: true, value: created.url });
      link.replaceChildren(field(t("phone.url", { time: dateTime(created.expires_at) }), url),
        h("button", { class: "btn", type: "button", onclick: () => { url.select(); if (navigator.clipboard) navigator.clipboard.writeText(url.value).catch(() => {}); }, text: t("phone.copy") }));
    };
    const mint = () => confirmed(t("phone.link"), [t("cost.portal", { customer: customer.name, m: config.portal_session_minutes }), t("cost.free")], t("phone.link"),
      async () => {
        const created = await api("POST", "/customers/" + customer.id + "/portal-sessions", {});
        links.set(customer.id, created);
        show(created);
      }, t("phone.linkDone"));
    const kept = links.get(customer.id);
    if (kept && Date.parse(kept.expires_at) > Date.now()) show(kept);
    box.replaceChildren(h("p", null, h("span", { class: "badge ok", text: t("phone.verifiedBadge") })),
      can.portal() ? h("button", { class: "btn primary", type: "button", onclick: mint, text: t("phone.link") }) : h("p", { class: "small muted", text: t("phone.noPortal") }),
      link);
  };
  render();
  return h("section", { class: "card span-4", "aria-labelledby": "phone-h" }, h("h2", { id: "phone-h", text: t("phone.title") }), box);
}

function callsCard(customer, allowance, calls, tickets) {
  const minutes = h("input", { id: "call-minutes", type: "number", min: "1", max: "1440", value: "10" });
  const topic = h("input", { id: "call-topic", type: "text", maxlength: "500" });
  const about = h("select", { id: "call-ticket" }, h("option", { value: "", text: t("calls.noTicket") }),
    tickets.filter((x) => x.status !== "closed").map((x) => h("option", { value: x.id, text: "#" + x.number + " · " + x.subject })));
  const ok = h("input", { id: "call-verified", type: "checkbox", checked: verified.has(customer.id) });
  const form = h("form", { "data-action": "log-call", onsubmit: (e) => {
    e.preventDefault();
    const m = Number(minutes.value);
    if (!(m >= 1) || !topic.value.trim()) { (m >= 1 ? topic : minutes).focus(); return; }
    const lines = allowance.remaining < 1 ? [t("cost.callLimit", { limit: allowance.limit })]
      : m > allowance.max_minutes ? [t("cost.callTooLong", { max: allowance.max_minutes })]
        : [t("cost.call", { n: allowance.calls + 1, limit: allowance.limit, customer: customer.name, m: duration(m) }), t("cost.free"), t("cost.callExtends")];
    const started = new Date(Date.now() - m * 60000).toISOString();
    confirmed(t("calls.log"), lines, t("calls.log"), () => api("POST", "/customers/" + customer.id + "/calls", {
      started_at: started, duration_minutes: m, topic: topic.value.trim(), verified: ok.checked, ticket_id: about.value || null,
    }), t("calls.logged"), reload);
  } },
  h("div", { class: "row" }, field(t("calls.minutes"), minutes), field(t("calls.topic"), topic)),
  field(t("calls.about"), about),
  h("label", { class: "check", for: "call-verified" }, ok, h("span", { text: t("calls.verified") })),
  h("button", { class: "btn primary", type: "submit", text: t("calls.log") }));
  return h("section", { class: "card span-6", "aria-labelledby": "calls-h" }, h("h2", { id: "calls-h", text: t("calls.title") }),
    h("p", { class: allowance.remaining ? "" : "notice", "data-testid": "calls-left", text: callsLeft(allowance) }),
    form,
    calls.length ? h("table", { class: "compact", "data-testid": "calls" },
      h("thead", null, h("tr", null, h("th", { scope: "col", text: t("calls.when") }), h("th", { scope: "col", class: "num", text: t("calls.minutes") }),
        h("th", { scope: "col", text: t("calls.topic") }))),
      h("tbody", null, calls.map((c) => h("tr", null, h("td", { text: dateTime(c.started_at) }), h("td", { class: "num", text: String(c.duration_minutes) }),
        h("td", null, c.topic, c.verified ? null : h("span", { class: "small muted", text: " · " + t("calls.unverified") }))))))
      : null);
}

function hoursCard(hours) {
  if (!hours) return null;
  return h("section", { class: "card span-6", "aria-labelledby": "hours-h" }, h("h2", { id: "hours-h", text: t("hours.title") }),
    h("p", { class: hours.remaining_minutes ? "" : "notice", "data-testid": "hours-left", text: hoursLeft(hours) }),
    h("dl", { class: "facts" },
      h("dt", { text: t("hours.month") }), h("dd", { text: hours.month }),
      h("dt", { text: t("hours.used") }), h("dd", { text: duration(hours.used_minutes) }),
      hours.over_minutes ? [h("dt", { text: t("hours.over") }), h("dd", { text: duration(hours.over_minutes) })] : null,
      h("dt", { text: t("hours.policy") }), h("dd", { text: t("hours.policy." + hours.over_allowance) })),
    h("p", { class: "small muted", text: t("hours.hint") }));
}

function ticketsCard(tickets) {
  return h("section", { class: "card span-6", "aria-labelledby": "tk-h" }, h("h2", { id: "tk-h", text: t("customer.tickets") }),
    tickets.length ? h("table", { class: "compact", "data-testid": "customer-tickets" },
      h("thead", null, h("tr", null, h("th", { scope: "col", text: t("queue.ticket") }), h("th", { scope: "col", text: t("queue.status") }),
        h("th", { scope: "col", text: t("ticket.charge") }))),
      h("tbody", null, tickets.map((x) => h("tr", null,
        h("td", null, h("a", { href: "#/tickets/" + x.id, text: "#" + x.number + " " + x.subject }), h("div", { class: "small muted", text: t("line." + x.line) })),
        h("td", null, statusBadge(x.status)),
        h("td", { text: x.charge ? (x.charge.refunded ? t("charge.refundedShort") : credits(x.charge.credits)) : "—" })))))
      : h("p", { class: "muted", text: t("customer.noTickets") }));
}

function entriesCard(entries) {
  return h("section", { class: "card span-6", "aria-labelledby": "ent-h" }, h("h2", { id: "ent-h", text: t("entries.title") }),
    entries.length ? h("table", { class: "compact", "data-testid": "entries" },
      h("thead", null, h("tr", null, h("th", { scope: "col", text: t("entries.when") }), h("th", { scope: "col", text: t("entries.what") }),
        h("th", { scope: "col", class: "num", text: t("entries.change") }), h("th", { scope: "col", class: "num", text: t("entries.after") }))),
      h("tbody", null, entries.map((e) => h("tr", null, h("td", { text: dateTime(e.created_at) }),
        h("td", { text: t("kind." + e.kind) + (e.kind === "refund" && e.reason ? " · " + t("refund." + e.reason) : "") }),
        h("td", { class: "num " + (e.credits > 0 ? "plus" : ""), text: (e.credits > 0 ? "+" : "") + e.credits }),
        h("td", { class: "num", text: String(e.balance_after) })))))
      : h("p", { class: "muted", text: t("entries.none") }));
}

export async function pageCustomer(id) {
  const base = "/customers/" + encodeURIComponent(id);
  const [facts, entries, tickets, calls] = await Promise.all([
    loadCustomerFacts(id), api("GET", base + "/entries?limit=20"),
    api("GET", "/tickets?limit=50&customer_id=" + encodeURIComponent(id)), api("GET", base + "/calls?limit=20"),
  ]);
  const { customer, balance, level, allowance } = facts;
  const node = h("div", { "data-page": "customer", "data-customer": customer.id },
    h("a", { href: "#/customers", class: "small", text: "← " + t("nav.customers") }),
    h("div", { class: "page-head" }, h("div", null, h("h1", { text: customer.name }),
      h("div", { class: "badges" }, customer.partner ? h("span", { class: "badge brand", text: t("customer.partner") }) : null,
        h("span", { class: "badge", text: credits(balance.available) })))),
    h("div", { class: "grid" },
      profile(customer, level), balanceCard(balance), phoneCard(customer),
      callsCard(customer, allowance, calls.data, tickets.data), hoursCard(balance.change_hours),
      ticketsCard(tickets.data), entriesCard(entries.data)));
  return { node, watch: (targets) => targets.some((x) => x.customer === customer.id) };
}
