/* CreditDesk staff console: a static single-page app on the public API, signed in with a
   short-lived console session (POST /v1/console-sessions). Routes live in the hash. */
import {
  $, api, clearAlert, clearSession, eventTargets, fail, installConfirm, loadConfig, loadSession,
  onSessionEnded, session, setRouter, startLive, stopLive,
} from "./core.js";
import { getLang, roleName, setLang, t } from "./i18n.js";
import { pageQueue } from "./queue.js";
import { pageTicket } from "./ticket.js";
import { pageCustomer, pageCustomers } from "./customer.js";
import { pageSignIn } from "./signin.js";

let current = null;   // { watch(events): bool } of the page on screen
let pending = false;  // events arrived while a dialog was open
let navigation = 0;   // a page still loading when another was asked for is dropped

function applyStaticStrings() {
  document.documentElement.lang = getLang();
  document.title = t("title");
  document.querySelectorAll("[data-i18n]").forEach((el) => { el.textContent = t(el.getAttribute("data-i18n")); });
  document.querySelectorAll("[data-lang]").forEach((b) => {
    b.setAttribute("aria-pressed", String(b.getAttribute("data-lang") === getLang()));
  });
  renderWho();
}

function renderWho() {
  const signedIn = Boolean(session.token);
  $("tabs").hidden = !signedIn;
  $("signout").hidden = !signedIn;
  $("who").textContent = signedIn ? session.name + " · " + roleName(session.role) : "";
}

function markTab(name) {
  document.querySelectorAll("#tabs a").forEach((a) => {
    if (a.getAttribute("data-route") === name) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  });
}

/* The form fields' values and the focus, kept across a live refresh of the same page. */
function snapshot() {
  const values = {};
  // What was typed; choices (selects, boxes) are drawn anew from what the page now shows.
  $("view").querySelectorAll("textarea[id], input[id]:not([type=checkbox]):not([readonly])").forEach((el) => {
    values[el.id] = el.value;
  });
  const active = document.activeElement && document.activeElement.id;
  return { values, active };
}

function restore(saved) {
  Object.entries(saved.values).forEach(([id, value]) => {
    const el = document.getElementById(id);
    if (!el || !$("view").contains(el)) return;
    el.value = value;
  });
  const active = saved.active && document.getElementById(saved.active);
  if (active) active.focus({ preventScroll: true });
}

function parse(hash) {
  const [path, query] = hash.replace(/^#/, "").split("?");
  return { path: path || "/", params: new URLSearchParams(query || "") };
}

function pageFor(path, params) {
  let m = path.match(/^\/tickets\/(tkt_[A-Za-z0-9_-]+)$/);
  if (m) return ["queue", pageTicket(m[1])];
  m = path.match(/^\/customers\/(cus_[A-Za-z0-9_-]+)$/);
  if (m) return ["customers", pageCustomer(m[1])];
  if (path === "/customers") return ["customers", pageCustomers(params)];
  return ["queue", pageQueue(params)];
}

/* Renders the page the hash names; `refresh` keeps the form state (a live refresh). */
export async function route(refresh) {
  if (!session.token) { showSignIn(); return; }
  const { path, params } = parse(location.hash);
  const [tab, loading] = pageFor(path, params);
  loading.catch(() => {});  // reported below, or dropped with a superseded page
  markTab(tab);
  const mine = ++navigation;
  try {
    const page = await loading;
    if (mine !== navigation) return;
    const saved = refresh ? snapshot() : null;  // what was typed while the page loaded too
    $("view").replaceChildren(page.node);
    current = page;
    if (saved) restore(saved);
  } catch (error) {
    if (mine === navigation) fail(error);
  }
}

function onEvents(events) {
  if (!current || !current.watch) return;
  const targets = events.map(eventTargets);
  if (!current.watch(targets)) return;
  if ($("confirm").open) { pending = true; return; }
  route(true);
}

function showSignIn(ended) {
  stopLive();
  navigation += 1;
  current = null;
  renderWho();
  markTab(null);
  $("view").replaceChildren(pageSignIn(ended, signedIn));
  const input = $("staff-key");
  if (input) input.focus();
}

function signedIn() {
  renderWho();
  clearAlert();
  startLive(onEvents);
  route().then(() => $("main").focus({ preventScroll: true }));
}

async function signOut() {
  clearAlert();
  try {
    await api("DELETE", "/console-sessions/current");
  } catch (error) {
    if (error.status !== 401) { fail(error); return; }
  }
  clearSession();
  showSignIn();
}

/* Keys for the desk's daily moves: j/k walk the queue's tickets (Enter opens one), r goes
   to the reply box, / to the queue's filters. Not while typing, nor under a dialog. */
function onKey(event) {
  if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey || !session.token) return;
  const target = event.target;
  if (target.closest && target.closest("input, textarea, select, [contenteditable]")) return;
  if ($("confirm").open) return;
  if (event.key === "j" || event.key === "k") {
    const links = Array.from(document.querySelectorAll("[data-testid=queue] td.subject a"));
    if (!links.length) return;
    const at = links.indexOf(document.activeElement);
    const next = at < 0 ? 0 : Math.max(0, Math.min(links.length - 1, at + (event.key === "j" ? 1 : -1)));
    links[next].focus();
    event.preventDefault();
  } else if (event.key === "r" && $("reply-body")) {
    $("reply-body").focus();
    event.preventDefault();
  } else if (event.key === "/" && $("q-line")) {
    $("q-line").focus();
    event.preventDefault();
  }
}

function start() {
  loadSession();
  setRouter(route);
  loadConfig().catch(() => {});  // defaults stand in
  installConfirm();
  applyStaticStrings();
  document.querySelectorAll("[data-lang]").forEach((b) => {
    b.addEventListener("click", () => {
      setLang(b.getAttribute("data-lang"));
      applyStaticStrings();
      $("alert-close").setAttribute("aria-label", t("dismiss"));
      $("live").textContent = "";
      route(true);
    });
  });
  $("signout").addEventListener("click", signOut);
  $("alert-close").addEventListener("click", clearAlert);
  document.addEventListener("keydown", onKey);
  $("alert-close").setAttribute("aria-label", t("dismiss"));
  $("confirm").addEventListener("close", () => { if (pending) { pending = false; route(true); } });
  onSessionEnded(() => { clearSession(); showSignIn(true); });
  window.addEventListener("hashchange", () => {
    clearAlert();
    route().then(() => $("main").focus({ preventScroll: true }));
  });
  if (session.token) { startLive(onEvents); route(); } else showSignIn();
}

start();
