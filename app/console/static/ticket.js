/* A ticket: its thread and notes, attachments, SLA clocks and history, the customer's
   balance and allowances, and every action, each behind a confirm step that says what it
   costs or refunds. */
import { api, can, config, confirmed, fail, field, h, reload, session } from "./core.js";
import { customerPanel, downloadAttachment, loadCustomerFacts } from "./customer.js";
import { credits, dateTime, due, duration, roleName, t } from "./i18n.js";
import { slaBadges, statusBadge } from "./queue.js";

const NEXT = {
  open: ["in_progress", "waiting_on_customer", "resolved", "closed"],
  in_progress: ["open", "waiting_on_customer", "resolved", "closed"],
  waiting_on_customer: ["open", "in_progress", "resolved", "closed"],
  resolved: ["open", "closed"],
  awaiting_approval: ["closed"],
  closed: [],
};

function refundable(ticket) {
  const c = ticket.charge;
  return c && !c.refunded && c.credits > 0 ? c.credits : 0;
}

/* "Refunds 1 credit to Acme Hosting", or that there is nothing to refund. */
function refundLine(ticket, customer) {
  const n = refundable(ticket);
  return n ? t("cost.refund", { credits: credits(n), customer: customer.name }) : t("cost.noRefund", { customer: customer.name });
}

function chargeText(charge) {
  if (!charge) return t("charge.none");
  if (charge.credits === 0) return t("charge.partner");
  return credits(charge.credits) + (charge.refunded ? " · " + t("charge.refunded", { reason: t("refund." + charge.refund_reason) }) : "");
}

function thread(ticket, messages, attachments) {
  const byMessage = {};
  attachments.forEach((a) => { (byMessage[a.message_id] = byMessage[a.message_id] || []).push(a); });
  const files = (list) => (list && list.length ? h("ul", { class: "files" }, list.map((a) =>
    h("li", null, h("button", { type: "button", class: "link", onclick: () => downloadAttachment(a).catch(fail), text: a.filename }),
      h("span", { class: "small muted", text: " · " + Math.max(1, Math.round(a.size / 1024)) + " KB" })))) : null);
  // The opening message is the first of the thread; a ticket without one shows its body.
  const opening = messages.length ? null : h("li", { class: "msg customer" },
    h("div", { class: "msg-meta", text: t("ticket.opened", { when: dateTime(ticket.created_at) }) }),
    h("div", { class: "msg-body", text: ticket.body }));
  const items = messages.map((m) => {
    const customer = m.author_role === "customer";
    return h("li", { class: "msg" + (m.internal ? " internal" : customer ? " customer" : " staff"), "data-internal": String(m.internal) },
      h("div", { class: "msg-meta" }, m.internal ? h("strong", { text: t("ticket.note") + " · " }) : null,
        (customer ? t("ticket.customer") : roleName(m.author_role)) + " · " + dateTime(m.created_at)),
      h("div", { class: "msg-body", text: m.body }), files(byMessage[m.id]));
  });
  return h("ol", { class: "thread", "data-testid": "thread" }, opening, items);
}

function composer(ticket, customer) {
  const text = h("textarea", { id: "reply-body", rows: "4" });
  const send = (internal) => {
    const body = text.value.trim();
    if (!body) { text.focus(); return; }
    const first = !internal && ticket.sla && !ticket.sla.first_response.met_at;
    const lines = internal
      ? [t("cost.note", { customer: customer.name }), t("cost.free")]
      : [t("cost.reply", { customer: customer.name }), t("cost.free"), first ? t("cost.firstResponse") : null];
    confirmed(internal ? t("action.note") : t("action.reply"), lines, internal ? t("action.note") : t("action.reply"),
      () => api("POST", "/tickets/" + ticket.id + "/messages", { body, internal }),
      internal ? t("done.note") : t("done.reply"), async () => { text.value = ""; await reload(); });
  };
  return h("form", { class: "composer", onsubmit: (e) => { e.preventDefault(); send(false); } },
    field(t("ticket.message"), text),
    h("div", { class: "actions" },
      h("button", { class: "btn primary", type: "submit", text: t("action.reply") }),
      h("button", { class: "btn note", type: "button", onclick: () => send(true), text: t("action.note") })));
}

function clocks(sla) {
  if (!sla) return null;
  const rows = ["first_response", "assignment", "resolution"].map((name) => {
    const target = sla[name];
    const state = target.met_at
      ? h("span", { class: "badge " + (target.breached ? "bad" : "ok"), text: target.breached ? t("clock.metLate") : t("clock.met") })
      : target.breached ? h("span", { class: "badge bad", text: t("clock.overdue") }) : h("span", { class: "badge brand", text: t("clock.running") });
    return h("tr", { "data-clock": name },
      h("th", { scope: "row" }, t("target." + name), h("div", { class: "small muted", text: t("sla.limitOf", { d: duration(target.target_minutes) }) })),
      h("td", null, target.met_at ? dateTime(target.met_at) : target.due_at ? due(target.due_at, Date.now()) : "—"),
      h("td", null, state));
  });
  return h("section", { class: "card", "aria-labelledby": "sla-h", "data-testid": "sla" },
    h("h2", { id: "sla-h", text: t("sla.title") }),
    h("p", { class: "small muted", text: t("sla.summary", {
      state: t("sla.state." + sla.state), elapsed: duration(sla.elapsed_minutes), calendar: t("calendar." + sla.calendar),
    }) }),
    sla.extension_minutes ? h("p", { class: "small muted", text: t("sla.extended", { d: duration(sla.extension_minutes) }) }) : null,
    h("div", { class: "table-wrap" }, h("table", { class: "compact" },
      h("thead", null, h("tr", null, h("th", { scope: "col", text: t("sla.target") }),
        h("th", { scope: "col", text: t("sla.when") }), h("th", { scope: "col", text: t("sla.stateCol") }))),
      h("tbody", null, rows))),
    sla.escalation_level ? h("p", { class: "notice", text: t("sla.escalatedTo", { n: sla.escalation_level }) }) : null);
}

function detail(event) {
  if (event.kind === "started") return t("category." + event.detail);
  if (event.kind === "breached") return t("target." + event.detail);
  return event.detail;
}

function historyList(events) {
  return h("section", { class: "card", "aria-labelledby": "hist-h" },
    h("h2", { id: "hist-h", text: t("history.title") }),
    h("ol", { class: "timeline", "data-testid": "sla-history" }, events.map((e) =>
      h("li", null, h("span", { class: "small muted", text: dateTime(e.occurred_at) + " " }),
        t("event." + e.kind, { level: e.level || "" }), e.detail ? h("span", { class: "small muted", text: " · " + detail(e) }) : null))));
}

function factList(ticket, customer) {
  const row = (label, value) => [h("dt", { text: label }), h("dd", null, value)];
  return h("dl", { class: "facts", "data-testid": "facts" },
    row(t("ticket.customerLabel"), h("a", { href: "#/customers/" + customer.id, text: customer.name })),
    row(t("ticket.line"), t("line." + ticket.line)),
    row(t("ticket.status"), statusBadge(ticket.status)),
    row(t("ticket.severity"), t("sev." + ticket.severity)),
    row(t("ticket.charge"), chargeText(ticket.charge)),
    row(t("ticket.assignee"), (ticket.sla && ticket.sla.assignee) || "—"),
    ticket.bug_reference ? row(t("ticket.bug"), ticket.bug_reference) : null,
    ticket.merged_into ? row(t("ticket.mergedInto"), h("a", { href: "#/tickets/" + ticket.merged_into, text: t("ticket.open") })) : null,
    ticket.product ? row(t("ticket.product"), ticket.product + (ticket.version ? " " + ticket.version : "")) : null);
}

function actionForm(title, controls, button, onsubmit, testid) {
  return h("form", { class: "action", "data-action": testid, onsubmit: (e) => { e.preventDefault(); onsubmit(); } },
    h("h3", { text: title }), controls, h("button", { class: "btn", type: "submit", text: button }));
}

function transferCost(ticket, customer, balance) {
  if (ticket.line === "technical") return [refundLine(ticket, customer), t("cost.misrouted")];
  if (ticket.status === "awaiting_approval") return [t("cost.callOff", { customer: customer.name })];
  if (customer.partner) return [t("cost.partnerTransfer", { customer: customer.name })];
  if (customer.auto_accept_transfers) {
    return [t("cost.chargeNow", { customer: customer.name, n: credits(balance.available) }),
      balance.available < 1 ? t("cost.noCredit") : null];
  }
  return [t("cost.consent", { customer: customer.name, n: credits(balance.available) })];
}

function workCost(minutes, customer, hours) {
  if (minutes <= hours.remaining_minutes) {
    return [t("cost.workFree", { m: duration(minutes), left: duration(hours.remaining_minutes - minutes) }), t("cost.free")];
  }
  const beyond = minutes - hours.remaining_minutes;
  if (hours.over_allowance === "refuse") {
    return [t("cost.workRefused", { left: duration(hours.remaining_minutes) })];
  }
  const started = (m) => Math.ceil(m / 60);
  const n = (started(hours.over_minutes + beyond) - started(hours.over_minutes)) * config.change_hour_credits;
  return [n ? t("cost.workCharge", { credits: credits(n), customer: customer.name, m: duration(beyond) }) : t("cost.workNoCharge", { m: duration(beyond) }),
    t("cost.workNoRefund")];
}

function actions(ticket, customer, facts, siblings) {
  const base = "/tickets/" + ticket.id;
  const closed = ticket.status === "closed";
  const forms = [];
  const post = (path, body) => () => api("POST", base + path, body);

  const assignee = h("input", { id: "assignee", type: "text", value: (ticket.sla && ticket.sla.assignee) || session.name, maxlength: "100" });
  forms.push(actionForm(t("action.assign"), field(t("ticket.assignee"), assignee), t("action.assign"), () =>
    confirmed(t("action.assign"), [t("cost.assign", { name: assignee.value.trim() }), t("cost.free")], t("action.assign"),
      post("/assign", { assignee: assignee.value.trim() }), t("done.assigned"), reload), "assign"));

  if (NEXT[ticket.status].length) {
    const status = h("select", { id: "new-status" }, NEXT[ticket.status].map((s) => h("option", { value: s, text: t("status." + s) })));
    forms.push(actionForm(t("action.status"), field(t("ticket.status"), status), t("action.status"), () =>
      confirmed(t("action.status"), [t("cost.status", { status: t("status." + status.value) }), t("cost.free"), t("clockEffect." + status.value)],
        t("action.status"), () => api("POST", base + "/status", { status: status.value }), t("done.status"), reload), "status"));
  }

  if (!closed) {
    // Three moves: ask for (or make) the move to technical, move back, or call off a
    // transfer the customer has not answered yet.
    const callOff = ticket.status === "awaiting_approval";
    const to = ticket.line === "technical" || callOff ? "customer_relations" : "technical";
    const kind = callOff ? "callOff" : to === "technical" ? "technical" : "back";
    const label = t("action.transfer." + kind);
    const done = kind === "technical" && !customer.partner && !customer.auto_accept_transfers
      ? t("done.transfer.asked", { customer: customer.name }) : t("done.transfer." + kind);
    forms.push(actionForm(t("action.transfer"), h("p", { class: "small muted", text: t("transfer.hint." + kind) }), label, () =>
      confirmed(label, transferCost(ticket, customer, facts.balance), label,
        post("/transfer", { to_line: to }), done, reload), "transfer"));
  }

  if (can.engineerWork()) {
    const reference = h("input", { id: "bug-ref", type: "text", maxlength: "255", placeholder: "BUG-123" });
    forms.push(actionForm(t("action.bug"), field(t("ticket.bugRef"), reference), t("action.bug"), () => {
      if (!reference.value.trim()) { reference.focus(); return; }
      confirmed(t("action.bug"), [refundLine(ticket, customer), t("cost.bugOnce")], t("action.bug"),
        post("/bug-confirmation", { bug_reference: reference.value.trim() }), t("done.bug"), reload);
    }, "bug"));
    if (ticket.line === "technical" && !closed) {
      const reason = h("input", { id: "oos-reason", type: "text", maxlength: "500" });
      forms.push(actionForm(t("action.oos"), field(t("ticket.reason"), reason), t("action.oos"), () => {
        if (reason.value.trim().length < 3) { reason.focus(); return; }
        confirmed(t("action.oos"), [refundLine(ticket, customer), t("cost.oosMove")], t("action.oos"),
          post("/out-of-scope", { reason: reason.value.trim() }), t("done.oos"), reload);
      }, "out-of-scope"));
    }
  }

  const others = siblings.filter((x) => x.id !== ticket.id && x.status !== "closed");
  if (!closed && others.length) {
    const into = h("select", { id: "merge-into" }, others.map((x) => h("option", { value: x.id, text: "#" + x.number + " · " + x.subject })));
    forms.push(actionForm(t("action.merge"), field(t("ticket.mergeInto"), into), t("action.merge"), () => {
      const target = others.find((x) => x.id === into.value);
      confirmed(t("action.merge"), [refundLine(ticket, customer), t("cost.merge", { n: ticket.number, into: target.number })], t("action.merge"),
        post("/merge", { into: into.value }), t("done.merged"), reload);
    }, "merge"));
  }

  if (can.engineerWork() && !closed) {
    const minutes = h("input", { id: "work-minutes", type: "number", min: "1", max: "1440", value: "30" });
    const note = h("input", { id: "work-note", type: "text", maxlength: "1000" });
    forms.push(actionForm(t("action.work"), [field(t("work.minutes"), minutes), field(t("work.note"), note)], t("action.work"), () => {
      const m = Number(minutes.value);
      if (!(m >= 1) || !note.value.trim()) { (m >= 1 ? note : minutes).focus(); return; }
      confirmed(t("action.work"), workCost(m, customer, facts.balance.change_hours), t("action.work"),
        post("/work-logs", { minutes: m, note: note.value.trim() }), t("done.work"), reload);
    }, "work-log"));
  }
  return h("section", { class: "card", "aria-labelledby": "act-h" },
    h("h2", { id: "act-h", text: t("ticket.actions") }), h("div", { class: "action-grid" }, forms));
}

export async function pageTicket(id) {
  const base = "/tickets/" + id;
  const [ticket, messages, attachments, history] = await Promise.all([
    api("GET", base), api("GET", base + "/messages?limit=200"), api("GET", base + "/attachments"), api("GET", base + "/sla/history"),
  ]);
  const [facts, siblings] = await Promise.all([
    loadCustomerFacts(ticket.customer_id),
    api("GET", "/tickets?limit=50&customer_id=" + encodeURIComponent(ticket.customer_id)),
  ]);
  const customer = facts.customer;
  const node = h("div", { "data-page": "ticket", "data-ticket": ticket.id },
    h("a", { href: "#/", class: "small", text: "← " + t("nav.queue") }),
    h("div", { class: "page-head" }, h("div", null,
      h("div", { class: "muted small", text: t("ticket.number", { n: ticket.number }) + " · " + customer.name }),
      h("h1", { text: ticket.subject }),
      h("div", { class: "badges" }, statusBadge(ticket.status), h("span", { class: "badge", text: t("line." + ticket.line) }), slaBadges(ticket.sla)))),
    h("div", { class: "grid" },
      h("div", { class: "span-8 stack" },
        h("section", { class: "card", "aria-labelledby": "conv-h" },
          h("h2", { id: "conv-h", text: t("ticket.conversation") }),
          thread(ticket, messages.data, attachments.data),
          ticket.status === "closed" ? h("p", { class: "muted", text: t("ticket.closedNote") }) : composer(ticket, customer)),
        actions(ticket, customer, facts, siblings.data)),
      h("div", { class: "span-4 stack" },
        h("section", { class: "card", "aria-labelledby": "facts-h" }, h("h2", { id: "facts-h", text: t("ticket.facts") }), factList(ticket, customer)),
        clocks(ticket.sla),
        customerPanel(facts),
        historyList(history.data))));
  const watch = (targets) => targets.some((x) => x.ticket === ticket.id || x.customer === ticket.customer_id);
  return { node, watch };
}
