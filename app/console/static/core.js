/* The console's plumbing: DOM helpers, the session, the API client, the confirm step and
   the live refresh from GET /v1/events. No framework, no build step. */
import { clockTime, t } from "./i18n.js";

// ------------------------------------------------------------------ DOM

export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  Object.entries(attrs || {}).forEach(([name, value]) => {
    if (value === null || value === undefined || value === false) return;
    if (name === "class") el.className = value;
    else if (name === "text") el.textContent = value;
    else if (name.startsWith("on")) el.addEventListener(name.slice(2), value);
    else el.setAttribute(name, value === true ? "" : value);
  });
  children.forEach((child) => append(el, child));
  return el;
}

function append(el, child) {
  if (child === null || child === undefined || child === false) return;
  if (Array.isArray(child)) { child.forEach((c) => append(el, c)); return; }
  el.appendChild(typeof child === "string" || typeof child === "number" ? document.createTextNode(String(child)) : child);
}

export const $ = (id) => document.getElementById(id);

/* The outcome of the last action, in a toast that stays in view wherever the page is
   scrolled (an action's form may be far down a ticket). */
export function showAlert(message, ok) {
  const box = $("alert");
  box.textContent = message;
  box.className = ok ? "alert ok" : "alert";
  $("toast").hidden = false;
}

export function clearAlert() { $("toast").hidden = true; }

let uniq = 0;
export function uid(prefix) { uniq += 1; return prefix + "-" + uniq; }

/* A labelled form control: `field("Topic", h("input", {...}))`. */
export function field(label, control, hint) {
  if (!control.id) control.id = uid("f");
  const hintId = hint ? control.id + "-hint" : null;
  if (hintId) control.setAttribute("aria-describedby", hintId);
  return h("div", { class: "field" }, h("label", { for: control.id, text: label }), control,
    hint ? h("div", { class: "hint", id: hintId, text: hint }) : null);
}

// ------------------------------------------------------------------ session

const KEY = "console.session";
export const session = { token: null, id: null, role: null, name: null, expires_at: null };

export function loadSession() {
  let saved = null;
  try { saved = JSON.parse(sessionStorage.getItem(KEY) || "null"); } catch (e) { saved = null; }
  Object.assign(session, { token: null, id: null, role: null, name: null, expires_at: null }, saved || {});
  if (session.expires_at && new Date(session.expires_at) <= new Date()) clearSession();
}

export function saveSession(created) {
  const kept = { token: created.token, id: created.id, role: created.role, name: created.name, expires_at: created.expires_at };
  sessionStorage.setItem(KEY, JSON.stringify(kept));
  Object.assign(session, kept);
}

export function clearSession() {
  sessionStorage.removeItem(KEY);
  Object.assign(session, { token: null, id: null, role: null, name: null, expires_at: null });
}

export const can = {
  engineerWork: () => session.role === "engineer" || session.role === "admin",
  portal: () => session.role === "cr_agent" || session.role === "admin",
};

// ------------------------------------------------------------------ API

export class ApiError extends Error {
  constructor(status, detail, body) { super(detail); this.status = status; this.detail = detail; this.body = body; }
}

let sessionEnded = () => {};
export function onSessionEnded(fn) { sessionEnded = fn; }

function idempotencyKey() {
  return "con-" + Date.now().toString(36) + "-" + Math.random().toString(36).slice(2) + Math.random().toString(36).slice(2);
}

/* Calls the public API with the session's token (or `opts.token`, for signing in). A 401
   on the session ends it. Answers the parsed JSON, or the Response with `opts.raw`. */
export async function api(method, path, body, opts = {}) {
  const headers = { Accept: "application/json", Authorization: "Bearer " + (opts.token || session.token) };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method === "POST") headers["Idempotency-Key"] = idempotencyKey();
  let response;
  try {
    response = await fetch("/v1" + path, {
      method, headers, cache: "no-store", referrerPolicy: "no-referrer",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (e) {
    throw new ApiError(0, t("error.network"));
  }
  if (response.status === 401 && !opts.token) {
    sessionEnded();
    throw new ApiError(401, t("signin.ended"));
  }
  if (opts.raw && response.ok) return response;
  const type = response.headers.get("content-type") || "";
  const data = type.includes("json") ? await response.json() : null;
  if (!response.ok) throw new ApiError(response.status, (data && data.detail) || t("error.generic"), data);
  return data;
}

let router = () => Promise.resolve();
export function setRouter(fn) { router = fn; }
/* Renders the page on screen again, keeping what was typed (after an action). */
export function reload() { return router(false).then(() => $("main").focus({ preventScroll: true })); }

/* What the console needs to know of the server (GET /console/config.json). */
export const config = { change_hour_credits: 1, portal_session_minutes: 60 };
export async function loadConfig() {
  const response = await fetch("config.json", { cache: "no-store" });
  if (response.ok) Object.assign(config, await response.json());
}

export function fail(error) {
  if (error && error.status === 401) return;
  showAlert((error && error.detail) || t("error.generic"));
}

// ------------------------------------------------------------------ the confirm step

/* Shows what an action costs or refunds before it is done; resolves true on Confirm. */
export function confirmStep(title, lines, confirmLabel) {
  const dialog = $("confirm");
  $("confirm-title").textContent = title;
  $("confirm-text").replaceChildren(...lines.filter(Boolean).map((line, i) =>
    h("p", { class: i === 0 ? "confirm-main" : "small muted", text: line })));
  $("confirm-ok").textContent = confirmLabel || t("confirm.ok");
  $("confirm-cancel").textContent = t("confirm.cancel");
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true });
    dialog.returnValue = "";
    dialog.showModal();
    $("confirm-ok").focus();
  });
}

export function installConfirm() {
  $("confirm-ok").addEventListener("click", () => $("confirm").close("ok"));
  $("confirm-cancel").addEventListener("click", () => $("confirm").close("cancel"));
}

/* Runs `action` after the confirm step; then shows `done` and calls `after`. */
export async function confirmed(title, lines, label, action, done, after) {
  clearAlert();
  if (!(await confirmStep(title, lines, label))) return false;
  try {
    await action();
  } catch (error) {
    fail(error);
    return false;
  }
  if (after) await after();
  if (done) showAlert(done, true);
  return true;
}

// ------------------------------------------------------------------ live refresh

const POLL_MS = 3000;
const OVERLAP_MS = 60000;  // events of a transaction that committed late carry an earlier time
const live = { since: null, seen: new Set(), timer: null, listener: null, run: 0 };

/* Polls GET /v1/events?created_gte= and hands new events to `listener`. */
export function startLive(listener) {
  stopLive();
  live.listener = listener;
  live.since = new Date(Date.now() - 5000).toISOString();
  const run = live.run;
  live.timer = setTimeout(() => tick(run), POLL_MS);
}

export function stopLive() {
  if (live.timer) clearTimeout(live.timer);
  live.timer = null;
  live.run += 1;  // a poll under way when this is called schedules nothing more
}

async function fetchNew() {
  const fresh = [];
  let cursor = null;
  do {
    const query = "?limit=200&created_gte=" + encodeURIComponent(live.since) + (cursor ? "&cursor=" + encodeURIComponent(cursor) : "");
    const page = await api("GET", "/events" + query);
    page.data.forEach((event) => {
      if (!live.seen.has(event.id)) { live.seen.add(event.id); fresh.push(event); }
    });
    cursor = page.next_cursor;
  } while (cursor);
  return fresh;
}

async function tick(run) {
  const status = $("live");
  try {
    const fresh = await fetchNew();
    if (fresh.length) {
      const newest = Math.max(...fresh.map((e) => Date.parse(e.created_at)));
      const since = new Date(newest - OVERLAP_MS).toISOString();
      if (since > live.since) live.since = since;
      if (live.listener) live.listener(fresh);
    }
    status.textContent = t("live.on", { time: clockTime(new Date()) });
    status.className = "live";
  } catch (error) {
    if (error && error.status === 401) return;
    if (run !== live.run) return;
    status.textContent = t("live.off");
    status.className = "live off";
  }
  if (run === live.run) live.timer = setTimeout(() => tick(run), POLL_MS);
}

/* The ticket and customer an event concerns. */
export function eventTargets(event) {
  const object = (event.data && event.data.object) || {};
  const ticket = object.ticket_id || (typeof object.id === "string" && object.id.startsWith("tkt_") ? object.id : null);
  return { ticket, customer: event.customer_id || object.customer_id || null, type: event.type };
}
