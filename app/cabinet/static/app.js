/* CreditDesk cabinet: a static single-page app on the public API, authenticated by a
   portal session (a short-lived customer token). No build step, no dependencies. */
(function () {
  "use strict";

  // ------------------------------------------------------------------ strings

  var STRINGS = {
    en: {
      skip: "Skip to content", footer: "Prepaid technical support",
      "nav.overview": "Overview", "nav.tickets": "Tickets", "nav.buy": "Buy credits", "nav.settings": "Settings",
      loading: "Loading…", back: "Back",
      "session.title": "Your session has ended", "link.title": "This link does not work",
      "session.body": "For your security, cabinet links work for a limited time. Open the cabinet again from your account on our website.",
      signout: "Sign out", "signedout.title": "You have signed out",
      "signedout.body": "This cabinet link no longer works. To come back, open the cabinet again from your account on our website.",
      "switch.title": "Open another account?",
      "switch.body": "You are signed in as {current}. The link you opened is for the account of {other}.",
      "switch.warn": "Switch only if you opened this link yourself. A link someone sent you can open their account, so that your payments and messages would go to them.",
      "switch.stay": "Stay as {name}", "switch.go": "Switch to {name}",
      "link.stayed": "The link you opened does not work; you are still signed in as {name}.",
      "overview.title": "Overview",
      "balance.title": "Available credits", "balance.unit": "credits", "balance.frozen": "On hold",
      "balance.expiring": "Expiring next", "balance.none": "—", "balance.buy": "Buy credits",
      "balance.new": "New ticket",
      "reward.title": "Next free credit",
      "reward.body": "{spent} of {target} spent on our products",
      "reward.left": "{left} more to your next free credit",
      "reward.earned": "Free credits earned so far: {n}",
      "lots.title": "Your credits", "lots.source": "Source", "lots.left": "Left", "lots.expires": "Expires",
      "lots.never": "Never", "lots.empty": "No credits yet.",
      "history.title": "History", "history.download": "Download statement",
      "history.date": "Date", "history.what": "What", "history.change": "Change", "history.after": "Balance",
      "history.empty": "Nothing has happened on your account yet.",
      "history.ticket": "ticket #{n}",
      "kind.grant": "Credits added", "kind.charge": "Ticket charge", "kind.refund": "Refund",
      "kind.expiry": "Credits expired", "kind.adjustment": "Adjustment", "kind.freeze": "Put on hold",
      "kind.release": "Released", "kind.revoke": "Revoked", "kind.reward": "Free credit",
      "source.purchase": "Purchase", "source.spend_reward": "Free credit", "source.adjustment": "Goodwill",
      "source.refund": "Refund", "source.promo": "Promotion",
      "tickets.title": "Tickets", "tickets.new": "New ticket",
      "tickets.empty": "No tickets yet. When you need help, open one here.",
      "line.customer_relations": "Customer relations", "line.technical": "Technical support",
      "status.open": "Open", "status.awaiting_approval": "Needs your approval", "status.in_progress": "In progress",
      "status.waiting_on_customer": "Waiting for you", "status.resolved": "Resolved", "status.closed": "Closed",
      "new.title": "New ticket", "new.line": "Which team should help?",
      "new.cr.desc": "Payments, renewals, activation, licence IP, cabinet access",
      "new.tech.desc": "Installation, configuration, updates, integration",
      "new.free": "Free", "new.one": "1 credit",
      "new.subject": "Subject", "new.subject.hint": "One problem per ticket, in a few words: e.g. “Backups fail after the 5.2 update”.",
      "new.body": "Describe the problem", "new.body.hint": "What you did, what you expected, what happened instead.",
      "new.severity": "How serious is it?",
      "sev.1": "System down", "sev.2": "Major problem", "sev.3": "Minor problem", "sev.4": "Question",
      "new.price": "Price of this ticket", "new.price.free": "Free",
      "new.price.tech": "1 credit — you have {n}",
      "new.price.none": "You have no credits: buy a pack first.",
      "new.submit.free": "Submit ticket", "new.submit.paid": "Submit for 1 credit",
      "ticket.number": "Ticket #{n}", "ticket.line": "Team", "ticket.status": "Status",
      "ticket.created": "Opened", "ticket.charge": "Charge", "ticket.refunded": "refunded",
      "ticket.charged": "{n} credit", "ticket.nocharge": "Free",
      "refund.product_bug": "product bug {ref}", "refund.product_bug.noref": "product bug",
      "refund.out_of_scope": "not a technical-support matter", "refund.merged": "merged into another ticket",
      "refund.misrouted": "moved back to the free line", "refund.sla_breach": "late first response",
      "ticket.urgent": "Most urgent", "ticket.markUrgent": "Mark as most urgent",
      "ticket.close": "Close ticket", "ticket.reopen": "Reopen",
      "ticket.transfer.title": "Move to technical support?",
      "ticket.transfer.body": "Our team thinks this needs an engineer. Technical support costs 1 credit; you have {n}. If the cause turns out to be a bug in our product, the credit comes back.",
      "ticket.accept": "Accept for 1 credit", "ticket.decline": "Keep it free",
      "ticket.messages": "Conversation", "ticket.you": "You", "ticket.staff": "Support team",
      "ticket.reply": "Your reply", "ticket.send": "Send", "ticket.nomessages": "No replies yet.",
      "buy.title": "Buy credits", "buy.lead": "One credit pays for one technical-support ticket. Customer relations are always free.",
      "buy.credits": "{n} credits", "buy.credit": "1 credit", "buy.per": "{price} per credit",
      "buy.valid": "Valid for {n} days", "buy.forever": "Never expires",
      "buy.button": "Buy for {price}", "buy.done": "Thank you! {n} credit(s) were added to your balance.",
      "buy.pay": "Pay {price}", "buy.cancel": "Cancel", "buy.paying": "Complete your payment",
      "buy.pending": "Payment received; your credits will appear in a moment.",
      "buy.history": "Your purchases", "buy.date": "Date", "buy.pack": "Pack", "buy.amount": "Amount",
      "buy.status": "Status", "buy.empty": "No purchases yet.", "buy.receipt": "Receipt",
      "pstatus.pending": "Pending", "pstatus.succeeded": "Paid", "pstatus.failed": "Failed", "pstatus.refunded": "Refunded",
      "settings.title": "Settings",
      "low.title": "Low-balance alert", "low.enable": "E-mail me when my balance gets low",
      "low.threshold": "Alert when credits fall to", "low.hint": "We write once each time your balance drops to this number or below.",
      "transfers.title": "Transfers to technical support",
      "transfers.auto": "Accept transfers to technical support without asking me",
      "transfers.hint": "Each transfer costs 1 credit.",
      "save": "Save", "saved": "Saved.",
      "auto.title": "Automatic top-up",
      "auto.lead": "Buy a pack automatically with your saved card when your balance falls to a threshold.",
      "auto.enable": "Top up automatically", "auto.pack": "Pack to buy", "auto.threshold": "When credits fall to",
      "auto.card": "Saved card", "auto.nocard": "No card saved yet.", "auto.addcard": "Save a card",
      "auto.cardsaved": "Card saved.", "auto.failures": "Recent failed attempts: {n}",
      "auto.needcard": "Save a card first.",
      "error.generic": "Something went wrong. Please try again.",
      "error.network": "We could not reach the server. Check your connection and try again."
    },
    ru: {
      skip: "Перейти к содержимому", footer: "Предоплаченная техническая поддержка",
      "nav.overview": "Обзор", "nav.tickets": "Обращения", "nav.buy": "Купить кредиты", "nav.settings": "Настройки",
      loading: "Загрузка…", back: "Назад",
      "session.title": "Сеанс завершён", "link.title": "Ссылка не работает",
      "session.body": "В целях безопасности ссылка на кабинет действует ограниченное время. Откройте кабинет заново из личного кабинета на нашем сайте.",
      signout: "Выйти", "signedout.title": "Вы вышли из кабинета",
      "signedout.body": "Эта ссылка на кабинет больше не действует. Чтобы вернуться, откройте кабинет заново из личного кабинета на нашем сайте.",
      "switch.title": "Открыть другую учётную запись?",
      "switch.body": "Вы вошли как {current}. Открытая ссылка ведёт в учётную запись {other}.",
      "switch.warn": "Переходите, только если вы сами открыли эту ссылку. Ссылка, присланная кем-то другим, может открыть чужую учётную запись — и ваши платежи и сообщения попадут к её владельцу.",
      "switch.stay": "Остаться: {name}", "switch.go": "Перейти: {name}",
      "link.stayed": "Открытая ссылка не работает; вы по-прежнему вошли как {name}.",
      "overview.title": "Обзор",
      "balance.title": "Доступно кредитов", "balance.unit": "кредитов", "balance.frozen": "Заморожено",
      "balance.expiring": "Ближайшее сгорание", "balance.none": "—", "balance.buy": "Купить кредиты",
      "balance.new": "Новое обращение",
      "reward.title": "Следующий бесплатный кредит",
      "reward.body": "Потрачено на наши продукты: {spent} из {target}",
      "reward.left": "Ещё {left} до следующего бесплатного кредита",
      "reward.earned": "Получено бесплатных кредитов: {n}",
      "lots.title": "Ваши кредиты", "lots.source": "Источник", "lots.left": "Осталось", "lots.expires": "Сгорают",
      "lots.never": "Бессрочно", "lots.empty": "Кредитов пока нет.",
      "history.title": "История", "history.download": "Скачать выписку",
      "history.date": "Дата", "history.what": "Операция", "history.change": "Изменение", "history.after": "Баланс",
      "history.empty": "Операций по счёту пока не было.",
      "history.ticket": "обращение №{n}",
      "kind.grant": "Зачисление", "kind.charge": "Списание за обращение", "kind.refund": "Возврат",
      "kind.expiry": "Сгорание кредитов", "kind.adjustment": "Корректировка", "kind.freeze": "Заморозка",
      "kind.release": "Разморозка", "kind.revoke": "Отзыв", "kind.reward": "Бесплатный кредит",
      "source.purchase": "Покупка", "source.spend_reward": "Бесплатный кредит", "source.adjustment": "Начисление",
      "source.refund": "Возврат", "source.promo": "Акция",
      "tickets.title": "Обращения", "tickets.new": "Новое обращение",
      "tickets.empty": "Обращений пока нет. Когда понадобится помощь, создайте его здесь.",
      "line.customer_relations": "Работа с клиентами", "line.technical": "Техническая поддержка",
      "status.open": "Открыто", "status.awaiting_approval": "Нужно ваше согласие", "status.in_progress": "В работе",
      "status.waiting_on_customer": "Ждём вашего ответа", "status.resolved": "Решено", "status.closed": "Закрыто",
      "new.title": "Новое обращение", "new.line": "Какая команда должна помочь?",
      "new.cr.desc": "Оплата, продление, активация, смена IP лицензии, доступ к кабинету",
      "new.tech.desc": "Установка, настройка, обновление, интеграция",
      "new.free": "Бесплатно", "new.one": "1 кредит",
      "new.subject": "Тема", "new.subject.hint": "Одна проблема в обращении, в нескольких словах: например, «Не работают бэкапы после обновления 5.2».",
      "new.body": "Опишите проблему", "new.body.hint": "Что вы сделали, что ожидали и что произошло на самом деле.",
      "new.severity": "Насколько это серьёзно?",
      "sev.1": "Система не работает", "sev.2": "Серьёзная проблема", "sev.3": "Небольшая проблема", "sev.4": "Вопрос",
      "new.price": "Стоимость обращения", "new.price.free": "Бесплатно",
      "new.price.tech": "1 кредит — у вас {n}",
      "new.price.none": "У вас нет кредитов: сначала купите пакет.",
      "new.submit.free": "Отправить обращение", "new.submit.paid": "Отправить за 1 кредит",
      "ticket.number": "Обращение №{n}", "ticket.line": "Команда", "ticket.status": "Статус",
      "ticket.created": "Создано", "ticket.charge": "Списание", "ticket.refunded": "возвращено",
      "ticket.charged": "{n} кредит", "ticket.nocharge": "Бесплатно",
      "refund.product_bug": "ошибка в продукте {ref}", "refund.product_bug.noref": "ошибка в продукте",
      "refund.out_of_scope": "не вопрос технической поддержки", "refund.merged": "объединено с другим обращением",
      "refund.misrouted": "возвращено в бесплатную линию", "refund.sla_breach": "поздний первый ответ",
      "ticket.urgent": "Самое срочное", "ticket.markUrgent": "Отметить как самое срочное",
      "ticket.close": "Закрыть обращение", "ticket.reopen": "Открыть снова",
      "ticket.transfer.title": "Передать в техническую поддержку?",
      "ticket.transfer.body": "Наша команда считает, что здесь нужен инженер. Техническая поддержка стоит 1 кредит; у вас {n}. Если причиной окажется ошибка в нашем продукте, кредит вернётся.",
      "ticket.accept": "Согласиться за 1 кредит", "ticket.decline": "Оставить бесплатным",
      "ticket.messages": "Переписка", "ticket.you": "Вы", "ticket.staff": "Служба поддержки",
      "ticket.reply": "Ваш ответ", "ticket.send": "Отправить", "ticket.nomessages": "Ответов пока нет.",
      "buy.title": "Купить кредиты", "buy.lead": "Один кредит — одно обращение в техническую поддержку. Работа с клиентами всегда бесплатна.",
      "buy.credits": "{n} кредитов", "buy.credit": "1 кредит", "buy.per": "{price} за кредит",
      "buy.valid": "Действуют {n} дней", "buy.forever": "Бессрочно",
      "buy.button": "Купить за {price}", "buy.done": "Спасибо! На ваш баланс зачислено кредитов: {n}.",
      "buy.pay": "Оплатить {price}", "buy.cancel": "Отмена", "buy.paying": "Завершите оплату",
      "buy.pending": "Оплата получена; кредиты появятся через несколько секунд.",
      "buy.history": "Ваши покупки", "buy.date": "Дата", "buy.pack": "Пакет", "buy.amount": "Сумма",
      "buy.status": "Статус", "buy.empty": "Покупок пока нет.", "buy.receipt": "Чек",
      "pstatus.pending": "Ожидает оплаты", "pstatus.succeeded": "Оплачено", "pstatus.failed": "Не прошла", "pstatus.refunded": "Возвращено",
      "settings.title": "Настройки",
      "low.title": "Низкий баланс", "low.enable": "Сообщать по e-mail, когда кредитов остаётся мало",
      "low.threshold": "Сообщать, когда кредитов станет", "low.hint": "Мы напишем один раз каждый раз, когда баланс опустится до этого числа или ниже.",
      "transfers.title": "Передача в техническую поддержку",
      "transfers.auto": "Соглашаться на передачу в техническую поддержку без вопросов",
      "transfers.hint": "Каждая передача стоит 1 кредит.",
      "save": "Сохранить", "saved": "Сохранено.",
      "auto.title": "Автопополнение",
      "auto.lead": "Автоматически покупать пакет сохранённой картой, когда баланс опускается до порога.",
      "auto.enable": "Пополнять автоматически", "auto.pack": "Какой пакет покупать", "auto.threshold": "Когда кредитов станет",
      "auto.card": "Сохранённая карта", "auto.nocard": "Карта ещё не сохранена.", "auto.addcard": "Сохранить карту",
      "auto.cardsaved": "Карта сохранена.", "auto.failures": "Неудачных попыток подряд: {n}",
      "auto.needcard": "Сначала сохраните карту.",
      "error.generic": "Что-то пошло не так. Попробуйте ещё раз.",
      "error.network": "Не удаётся связаться с сервером. Проверьте подключение и попробуйте снова."
    }
  };

  var lang = (function () {
    var saved = null;
    try { saved = localStorage.getItem("cabinet.lang"); } catch (e) { /* private mode */ }
    if (saved === "en" || saved === "ru") return saved;
    return (navigator.language || "en").toLowerCase().indexOf("ru") === 0 ? "ru" : "en";
  })();

  function t(key, vars) {
    var text = (STRINGS[lang] && STRINGS[lang][key]) || STRINGS.en[key] || key;
    if (vars) {
      Object.keys(vars).forEach(function (name) { text = text.split("{" + name + "}").join(String(vars[name])); });
    }
    return text;
  }

  // Why a ticket's credit came back ("— product bug BUG-123"), from `charge.refund_reason`.
  function refundReason(tk) {
    var reason = tk.charge.refund_reason;
    if (!reason) return "";
    if (reason === "product_bug" && tk.bug_reference) return " — " + t("refund.product_bug", { ref: tk.bug_reference });
    var key = reason === "product_bug" ? "refund.product_bug.noref" : "refund." + reason;
    return " — " + (STRINGS.en[key] ? t(key) : reason);
  }

  function locale() { return lang === "ru" ? "ru-RU" : "en-GB"; }
  function money(m) {
    return new Intl.NumberFormat(locale(), { style: "currency", currency: m.currency }).format(m.amount / 100);
  }
  function date(iso, withTime) {
    if (!iso) return "";
    var opts = withTime ? { dateStyle: "medium", timeStyle: "short" } : { dateStyle: "medium" };
    return new Intl.DateTimeFormat(locale(), opts).format(new Date(iso));
  }
  function credits(n) {
    if (lang === "ru") {
      var mod10 = Math.abs(n) % 10, mod100 = Math.abs(n) % 100;
      var word = mod10 === 1 && mod100 !== 11 ? "кредит" : (mod10 >= 2 && mod10 <= 4 && (mod100 < 12 || mod100 > 14)) ? "кредита" : "кредитов";
      return n + " " + word;
    }
    return n + (Math.abs(n) === 1 ? " credit" : " credits");
  }

  // ------------------------------------------------------------------ DOM helpers

  function h(tag, attrs) {
    var el = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (name) {
        var value = attrs[name];
        if (value === null || value === undefined || value === false) return;
        if (name === "class") el.className = value;
        else if (name === "style") el.style.cssText = value;  // CSSOM: allowed by the CSP, a style attribute is not
        else if (name === "text") el.textContent = value;
        else if (name.indexOf("on") === 0) el.addEventListener(name.slice(2), value);
        else el.setAttribute(name, value === true ? "" : value);
      });
    }
    for (var i = 2; i < arguments.length; i++) append(el, arguments[i]);
    return el;
  }
  function append(el, child) {
    if (child === null || child === undefined || child === false) return;
    if (Array.isArray(child)) { child.forEach(function (c) { append(el, c); }); return; }
    el.appendChild(typeof child === "string" || typeof child === "number" ? document.createTextNode(String(child)) : child);
  }
  function $(id) { return document.getElementById(id); }

  function showAlert(message, ok) {
    var box = $("alert");
    box.textContent = message;
    box.className = ok ? "alert ok" : "alert";
    box.hidden = false;
    if (!ok) box.scrollIntoView({ block: "nearest" });
  }
  function clearAlert() { $("alert").hidden = true; }

  // ------------------------------------------------------------------ session and API

  // The session lives in this tab's sessionStorage: closing the tab forgets it.
  var session = { token: null, customer: null };

  function readSession() {
    session.token = sessionStorage.getItem("cabinet.token");
    session.customer = sessionStorage.getItem("cabinet.customer");
  }
  function keepSession(link) {
    sessionStorage.setItem("cabinet.token", link.token);
    sessionStorage.setItem("cabinet.customer", link.customer);
    readSession();
  }
  function forgetSession() {
    sessionStorage.removeItem("cabinet.token");
    sessionStorage.removeItem("cabinet.customer");
    session.token = null;
    session.customer = null;
  }

  // A portal link carries its token in the fragment (never sent to a server). Only there:
  // a token in the query string would already be in a server's log, and the server
  // refuses such requests. Either way the token leaves the address bar.
  function takeLink() {
    var params = new URLSearchParams(location.hash.replace(/^#/, ""));
    var token = params.get("token"), customer = params.get("customer");
    if (token || customer || location.search) history.replaceState(null, "", location.pathname + "#/");
    return token && customer ? { token: token, customer: customer } : null;
  }

  function ApiError(status, detail, body) { this.status = status; this.detail = detail; this.body = body; }

  function api(method, path, body, extra) {
    var headers = { Authorization: "Bearer " + ((extra && extra.token) || session.token), Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (method === "POST") headers["Idempotency-Key"] = "cab-" + Date.now().toString(36) + "-" + Math.random().toString(36).slice(2);
    return fetch("/v1" + path, { method: method, headers: headers, body: body === undefined ? undefined : JSON.stringify(body) })
      .catch(function () { throw new ApiError(0, t("error.network")); })
      .then(function (response) {
        // A token being checked (extra.token: a link's, before it is adopted) ends nothing.
        if (response.status === 401 && !(extra && extra.token)) { endSession(); throw new ApiError(401, t("session.title")); }
        if (extra && extra.raw && response.ok) return response;
        var type = response.headers.get("content-type") || "";
        var parsed = type.indexOf("json") >= 0 ? response.json() : Promise.resolve(null);
        return parsed.then(function (data) {
          if (!response.ok) throw new ApiError(response.status, (data && data.detail) || t("error.generic"), data);
          return data;
        });
      });
  }
  var me = function () { return "/customers/" + encodeURIComponent(session.customer); };

  function endSession() {
    forgetSession();
    renderSessionEnded();
  }

  // Sign out: the server revokes the token (it is refused everywhere from then on), then
  // this tab forgets it. If the server cannot be reached the token is kept, and said so.
  function signOut() {
    clearAlert();
    var button = $("signout");
    button.disabled = true;
    api("DELETE", "/portal-sessions/current").then(signedOut, function (error) {
      button.disabled = false;
      if (error && error.status === 401) { signedOut(); return; }  // it had ended already
      fail(error);
    });
  }
  function signedOut() {
    forgetSession();
    signedOutHere = true;
    renderSessionEnded();
  }

  function fail(error) {
    if (error && error.status === 401) return;
    showAlert((error && error.detail) || t("error.generic"));
  }

  // ------------------------------------------------------------------ chrome

  function applyStaticStrings() {
    document.documentElement.lang = lang;
    document.title = lang === "ru" ? "Кабинет поддержки" : "Support cabinet";
    document.querySelectorAll("[data-i18n]").forEach(function (el) { el.textContent = t(el.getAttribute("data-i18n")); });
    document.querySelectorAll("[data-lang]").forEach(function (b) {
      b.setAttribute("aria-pressed", String(b.getAttribute("data-lang") === lang));
    });
  }

  function setLang(next) {
    lang = next;
    try { localStorage.setItem("cabinet.lang", next); } catch (e) { /* private mode */ }
    applyStaticStrings();
    route();
  }

  function markTab(name) {
    document.querySelectorAll("#tabs a").forEach(function (a) {
      if (a.getAttribute("data-route") === name) a.setAttribute("aria-current", "page");
      else a.removeAttribute("aria-current");
    });
  }

  // Counts view changes. A page whose data arrives after a later change (another page,
  // a sign-out, a prompt) is dropped, so it cannot cover what the customer did since.
  var views = 0;
  function mount(node) {
    views++;
    $("view").replaceChildren(node);
  }

  // The chrome of a signed-in tab (sections, sign-out), or none.
  function signedIn(on) {
    $("tabs").hidden = !on;
    $("signout").hidden = !on;
    if (!on) $("who").textContent = "";
  }

  function notice(name, title, body) {
    signedIn(false);
    mount(h("div", { class: "card center-card", "data-page": name },
      h("h1", { text: title }), h("p", { class: "muted", text: body })));
  }

  var signedOutHere = false;  // the session ended by the customer's own sign-out
  function renderSessionEnded() {
    if (signedOutHere) notice("signed-out", t("signedout.title"), t("signedout.body"));
    else notice("session-ended", t("session.title"), t("session.body"));
  }

  // ------------------------------------------------------------------ pages

  var state = { customer: null, balance: null, packs: null };

  function loadCustomer() {
    return api("GET", me()).then(function (c) { state.customer = c; $("who").textContent = c.name; return c; });
  }

  function statusBadge(status) {
    var tone = { open: "brand", awaiting_approval: "warn", in_progress: "brand", waiting_on_customer: "warn", resolved: "ok", closed: "" }[status];
    return h("span", { class: "badge " + (tone || ""), text: t("status." + status) });
  }

  function pageOverview() {
    markTab("overview");
    return Promise.all([api("GET", me() + "/balance"), api("GET", me() + "/entries?limit=20")]).then(function (r) {
      var bal = r[0], entries = r[1];
      state.balance = bal;
      var nextExpiry = bal.lots.filter(function (l) { return l.expires_at; })[0];
      var spend = bal.spend;
      var step = spend.next_reward_at.amount / (spend.rewarded_credits + 1);
      var base = spend.rewarded_credits * step;
      var into = Math.max(0, Math.min(step, spend.total.amount - base));
      var pct = step > 0 ? Math.round((into / step) * 100) : 0;
      var cur = spend.total.currency;

      var balanceCard = h("section", { class: "card span-7", "aria-labelledby": "bal-h" },
        h("h2", { id: "bal-h", class: "muted small", text: t("balance.title") }),
        h("div", { class: "balance", "data-testid": "balance" }, String(bal.available), h("span", { class: "balance-unit", text: credits(bal.available).replace(/^-?\d+ /, "") })),
        h("div", { class: "stat-row small" },
          bal.frozen ? h("span", null, h("span", { class: "muted", text: t("balance.frozen") + ": " }), String(bal.frozen)) : null,
          h("span", null, h("span", { class: "muted", text: t("balance.expiring") + ": " }),
            nextExpiry ? credits(nextExpiry.remaining) + " · " + date(nextExpiry.expires_at) : t("balance.none"))),
        h("div", { class: "actions", style: "margin-top:1.1rem" },
          h("a", { class: "btn primary", href: "#/buy", text: t("balance.buy") }),
          h("a", { class: "btn", href: "#/tickets/new", text: t("balance.new") })));

      var rewardCard = h("section", { class: "card span-5", "aria-labelledby": "rew-h" },
        h("h2", { id: "rew-h", class: "muted small", text: t("reward.title") }),
        h("p", { text: t("reward.body", { spent: money({ amount: into, currency: cur }), target: money({ amount: step, currency: cur }) }) }),
        h("div", { class: "progress", role: "progressbar", "aria-valuemin": "0", "aria-valuemax": "100", "aria-valuenow": String(pct), "aria-label": t("reward.title") },
          h("span", { style: "width:" + pct + "%" })),
        h("p", { class: "small muted", text: t("reward.left", { left: money({ amount: step - into, currency: cur }) }) }),
        h("p", { class: "small muted", text: t("reward.earned", { n: spend.rewarded_credits }) }));

      var lots = h("section", { class: "card span-12", "aria-labelledby": "lots-h" },
        h("div", { class: "card-head" }, h("h2", { id: "lots-h", text: t("lots.title") })),
        bal.lots.length ? h("table", null,
          h("thead", null, h("tr", null, h("th", { text: t("lots.source") }), h("th", { class: "num", text: t("lots.left") }), h("th", { class: "num", text: t("lots.expires") }))),
          h("tbody", null, bal.lots.map(function (l) {
            return h("tr", null, h("td", { text: t("source." + l.source) }), h("td", { class: "num", text: l.remaining + " / " + l.credits }),
              h("td", { class: "num", text: l.expires_at ? date(l.expires_at) : t("lots.never") }));
          }))) : h("p", { class: "empty", text: t("lots.empty") }));

      var history = h("section", { class: "card span-12", "aria-labelledby": "hist-h" },
        h("div", { class: "card-head" }, h("h2", { id: "hist-h", text: t("history.title") }),
          h("button", { class: "btn", type: "button", onclick: downloadStatement, text: t("history.download") })),
        entriesTable(entries.data));

      return h("div", { "data-page": "overview" }, h("h1", { class: "sr-only", text: t("overview.title"), style: "position:absolute;left:-999px" }),
        h("div", { class: "grid" }, balanceCard, rewardCard, lots, history));
    });
  }

  function entryLabel(e) {
    if (e.kind === "grant" && e.reason === "purchase") return t("source.purchase");
    if (e.kind === "grant" && e.reason === "spend_reward") return t("kind.reward");
    return t("kind." + e.kind);
  }

  function entriesTable(rows) {
    if (!rows.length) return h("p", { class: "empty", text: t("history.empty") });
    return h("table", { "data-testid": "history" },
      h("thead", null, h("tr", null, h("th", { text: t("history.date") }), h("th", { text: t("history.what") }),
        h("th", { class: "num", text: t("history.change") }), h("th", { class: "num hide-sm", text: t("history.after") }))),
      h("tbody", null, rows.map(function (e) {
        return h("tr", null, h("td", { class: "muted", text: date(e.created_at, true) }), h("td", { text: entryLabel(e) }),
          h("td", { class: "num " + (e.credits > 0 ? "plus" : "minus"), text: (e.credits > 0 ? "+" : "") + e.credits }),
          h("td", { class: "num hide-sm", text: String(e.balance_after) }));
      })));
  }

  function downloadStatement() {
    clearAlert();
    var all = [];
    function page(cursor) {
      var q = "?limit=200" + (cursor ? "&cursor=" + encodeURIComponent(cursor) : "");
      return api("GET", me() + "/entries" + q).then(function (p) {
        all = all.concat(p.data);
        return p.next_cursor ? page(p.next_cursor) : all;
      });
    }
    page(null).then(function (rows) {
      var head = ["id", "created_at", "kind", "reason", "credits", "balance_after", "ticket_id", "purchase_id", "memo"];
      var lines = [head.join(",")].concat(rows.map(function (r) {
        return head.map(function (k) {
          var v = r[k] === null || r[k] === undefined ? "" : String(r[k]);
          return /[",\n]/.test(v) ? '"' + v.replace(/"/g, '""') + '"' : v;
        }).join(",");
      }));
      var blob = new Blob([lines.join("\n") + "\n"], { type: "text/csv" });
      var a = h("a", { href: URL.createObjectURL(blob), download: "statement-" + session.customer + ".csv" });
      document.body.appendChild(a); a.click(); a.remove();
    }).catch(fail);
  }

  function pageTickets() {
    markTab("tickets");
    return api("GET", "/tickets?limit=50").then(function (page) {
      var list = page.data.length ? h("ul", { class: "list", "data-testid": "tickets" }, page.data.map(function (tk) {
        return h("li", null, h("a", { class: "ticket-row", href: "#/tickets/" + tk.id },
          h("div", { class: "ticket-main" },
            h("div", { class: "ticket-subject", text: tk.subject }),
            h("div", { class: "small muted", text: "#" + tk.number + " · " + t("line." + tk.line) + " · " + date(tk.updated_at, true) })),
          tk.sla && tk.sla.urgent ? h("span", { class: "badge bad hide-sm", text: t("ticket.urgent") }) : null,
          statusBadge(tk.status)));
      })) : h("p", { class: "empty", text: t("tickets.empty") });
      return h("div", { "data-page": "tickets" },
        h("div", { class: "page-head" }, h("h1", { text: t("tickets.title") }), h("a", { class: "btn primary", href: "#/tickets/new", text: t("tickets.new") })),
        h("div", { class: "card" }, list));
    });
  }

  function pageNewTicket() {
    markTab("tickets");
    return api("GET", me() + "/balance").then(function (bal) {
      var price = h("div", { class: "price-box", "data-testid": "price", "aria-live": "polite" });
      var submit = h("button", { class: "btn primary", type: "submit" });
      function lineChoice(value, title, desc, cost, checked) {
        return h("label", { class: "choice" },
          h("input", { type: "radio", name: "line", value: value, checked: checked, onchange: update }),
          h("strong", { text: title }), h("span", { class: "small muted", text: desc }),
          h("span", { class: "badge " + (value === "technical" ? "brand" : "ok"), style: "margin-top:.4rem", text: cost }));
      }
      var form = h("form", { novalidate: true },
        h("fieldset", { style: "border:0;padding:0;margin:0 0 1rem" },
          h("legend", { style: "font-weight:560;margin-bottom:.5rem", text: t("new.line") }),
          h("div", { class: "choices" },
            lineChoice("customer_relations", t("line.customer_relations"), t("new.cr.desc"), t("new.free"), true),
            lineChoice("technical", t("line.technical"), t("new.tech.desc"), t("new.one"), false))),
        h("div", { class: "field" }, h("label", { for: "subject", text: t("new.subject") }),
          h("input", { id: "subject", name: "subject", type: "text", maxlength: "200", required: true, "aria-describedby": "subject-hint" }),
          h("div", { id: "subject-hint", class: "hint", text: t("new.subject.hint") })),
        h("div", { class: "field" }, h("label", { for: "body", text: t("new.body") }),
          h("textarea", { id: "body", name: "body", required: true, "aria-describedby": "body-hint" }),
          h("div", { id: "body-hint", class: "hint", text: t("new.body.hint") })),
        h("div", { class: "field" }, h("label", { for: "severity", text: t("new.severity") }),
          h("select", { id: "severity", name: "severity" }, [4, 3, 2, 1].map(function (n) {
            return h("option", { value: String(n), selected: n === 3, text: t("sev." + n) });
          }))),
        price,
        h("div", { class: "actions" }, submit, h("a", { class: "btn", href: "#/tickets", text: t("back") })));
      function update() {
        var technical = form.elements.line.value === "technical";
        price.replaceChildren(h("span", { text: t("new.price") }),
          h("strong", { text: technical ? t("new.price.tech", { n: bal.available }) : t("new.price.free") }));
        if (technical && bal.available < 1) price.appendChild(h("span", { class: "small" }, t("new.price.none") + " ", h("a", { href: "#/buy", text: t("nav.buy") })));
        submit.textContent = technical ? t("new.submit.paid") : t("new.submit.free");
      }
      update();
      form.addEventListener("submit", function (ev) {
        ev.preventDefault();
        clearAlert();
        submit.disabled = true;
        api("POST", "/tickets", {
          line: form.elements.line.value, subject: form.elements.subject.value,
          body: form.elements.body.value, severity: Number(form.elements.severity.value)
        }).then(function (tk) { location.hash = "#/tickets/" + tk.id; })
          .catch(function (e) { submit.disabled = false; fail(e); });
      });
      return h("div", { "data-page": "new-ticket" }, h("div", { class: "page-head" }, h("h1", { text: t("new.title") })),
        h("div", { class: "card" }, form));
    });
  }

  function pageTicket(id) {
    markTab("tickets");
    return Promise.all([api("GET", "/tickets/" + encodeURIComponent(id)), api("GET", "/tickets/" + encodeURIComponent(id) + "/messages?limit=200"),
      api("GET", me() + "/balance")]).then(function (r) {
      var tk = r[0], messages = r[1].data, bal = r[2];
      function act(path, body) {
        return function () {
          clearAlert();
          api("POST", "/tickets/" + tk.id + path, body).then(function () { route(); }).catch(fail);
        };
      }
      var actions = h("div", { class: "actions" });
      if (tk.status !== "closed" && !(tk.sla && tk.sla.urgent)) actions.appendChild(h("button", { class: "btn", type: "button", onclick: act("/urgent"), text: t("ticket.markUrgent") }));
      if (tk.status === "resolved") actions.appendChild(h("button", { class: "btn", type: "button", onclick: act("/status", { status: "open" }), text: t("ticket.reopen") }));
      if (tk.status !== "closed") actions.appendChild(h("button", { class: "btn danger", type: "button", onclick: act("/status", { status: "closed" }), text: t("ticket.close") }));

      var transfer = tk.status === "awaiting_approval" ? h("div", { class: "notice", role: "region", "aria-label": t("ticket.transfer.title"), "data-testid": "transfer" },
        h("h2", { text: t("ticket.transfer.title") }), h("p", { text: t("ticket.transfer.body", { n: bal.available }) }),
        h("div", { class: "actions" },
          h("button", { class: "btn primary", type: "button", onclick: act("/transfer/accept"), text: t("ticket.accept") }),
          h("button", { class: "btn", type: "button", onclick: act("/transfer/decline"), text: t("ticket.decline") }))) : null;

      var charge = tk.charge ? (t("ticket.charged", { n: tk.charge.credits }) + (tk.charge.refunded ? " · " + t("ticket.refunded") + refundReason(tk) : "")) : t("ticket.nocharge");
      var facts = h("dl", { class: "facts small" },
        h("dt", { text: t("ticket.status") }), h("dd", null, statusBadge(tk.status), tk.sla && tk.sla.urgent ? [" ", h("span", { class: "badge bad", text: t("ticket.urgent") })] : null),
        h("dt", { text: t("ticket.line") }), h("dd", { text: t("line." + tk.line) }),
        h("dt", { text: t("ticket.charge") }), h("dd", { text: charge }),
        h("dt", { text: t("ticket.created") }), h("dd", { text: date(tk.created_at, true) }));

      var thread = h("div", { class: "thread", "data-testid": "thread" },
        messages.length ? null : h("p", { class: "muted", text: t("ticket.nomessages") }),
        messages.map(function (m) {
          var mine = m.author_role === "customer";
          return h("div", { class: "msg" + (mine ? " mine" : "") },
            h("div", { class: "msg-meta", text: (mine ? t("ticket.you") : t("ticket.staff")) + " · " + date(m.created_at, true) }), m.body);
        }));
      var reply = null;
      if (tk.status !== "closed") {
        var text = h("textarea", { id: "reply", name: "reply", required: true, style: "min-height:100px" });
        reply = h("form", null, h("label", { for: "reply", text: t("ticket.reply") }), text,
          h("div", { class: "actions", style: "margin-top:.6rem" }, h("button", { class: "btn primary", type: "submit", text: t("ticket.send") })));
        reply.addEventListener("submit", function (ev) {
          ev.preventDefault(); clearAlert();
          api("POST", "/tickets/" + tk.id + "/messages", { body: text.value }).then(function () { route(); }).catch(fail);
        });
      }
      return h("div", { "data-page": "ticket" },
        h("a", { href: "#/tickets", class: "small", text: "← " + t("nav.tickets") }),
        h("div", { class: "page-head", style: "margin-top:.5rem" }, h("div", null,
          h("div", { class: "muted small", text: t("ticket.number", { n: tk.number }) }), h("h1", { text: tk.subject }))),
        transfer,
        h("div", { class: "grid" },
          h("section", { class: "card span-8", "aria-labelledby": "conv-h" }, h("h2", { id: "conv-h", text: t("ticket.messages") }), thread, reply),
          h("aside", { class: "card span-4" }, facts, h("div", { style: "margin-top:1rem" }, actions))));
    });
  }

  // ---------------------------------------------------------------- buying

  var config = null;
  function loadConfig() {
    if (config) return Promise.resolve(config);
    return fetch("config.json").then(function (r) { return r.json(); }).then(function (c) { config = c; return c; });
  }

  function loadStripe() {
    if (window.Stripe) return Promise.resolve(window.Stripe);
    return new Promise(function (resolve, reject) {
      var s = h("script", { src: "https://js.stripe.com/v3/" });
      s.onload = function () { resolve(window.Stripe); };
      s.onerror = function () { reject(new ApiError(0, t("error.network"))); };
      document.head.appendChild(s);
    });
  }

  function pageBuy() {
    markTab("buy");
    return Promise.all([api("GET", "/packs"), api("GET", me() + "/purchases?limit=20"), loadConfig()]).then(function (r) {
      var packs = r[0].data, purchases = r[1].data;
      var payArea = h("div");
      var cards = h("div", { class: "packs" }, packs.map(function (p, i) {
        var per = { amount: Math.round(p.price.amount / p.credits), currency: p.price.currency };
        return h("section", { class: "card pack" + (i === packs.length - 1 ? " best" : ""), "aria-label": p.code },
          h("div", { class: "amount", text: p.credits === 1 ? t("buy.credit") : t("buy.credits", { n: p.credits }) }),
          h("div", { class: "per", text: t("buy.per", { price: money(per) }) }),
          h("div", { class: "small muted", text: p.valid_days ? t("buy.valid", { n: p.valid_days }) : t("buy.forever") }),
          h("button", { class: "btn primary", type: "button", "data-pack": p.code, onclick: function (ev) { buy(p, ev.currentTarget, payArea); },
            text: t("buy.button", { price: money(p.price) }) }));
      }));
      var history = purchases.length ? h("table", { "data-testid": "purchases" },
        h("thead", null, h("tr", null, h("th", { text: t("buy.date") }), h("th", { text: t("buy.pack") }), h("th", { class: "num", text: t("buy.amount") }),
          h("th", { text: t("buy.status") }), h("th", { class: "hide-sm" }))),
        h("tbody", null, purchases.map(function (p) {
          var tone = { succeeded: "ok", failed: "bad", refunded: "", pending: "warn" }[p.status];
          return h("tr", null, h("td", { class: "muted", text: date(p.created_at, true) }),
            h("td", { text: p.credits === 1 ? t("buy.credit") : t("buy.credits", { n: p.credits }) }),
            h("td", { class: "num", text: money(p.amount) }), h("td", null, h("span", { class: "badge " + tone, text: t("pstatus." + p.status) })),
            h("td", { class: "hide-sm" }, p.receipt_number ? h("button", { class: "btn", type: "button", onclick: function () { downloadReceipt(p); }, text: t("buy.receipt") }) : null));
        }))) : h("p", { class: "empty", text: t("buy.empty") });
      return h("div", { "data-page": "buy" },
        h("div", { class: "page-head" }, h("div", null, h("h1", { text: t("buy.title") }), h("p", { class: "muted", text: t("buy.lead") }))),
        cards, payArea,
        h("section", { class: "card", style: "margin-top:1rem", "aria-labelledby": "pur-h" }, h("h2", { id: "pur-h", text: t("buy.history") }), history));
    });
  }

  function downloadReceipt(p) {
    api("GET", "/purchases/" + p.id + "/receipt.pdf", undefined, { raw: true }).then(function (response) { return response.blob(); })
      .then(function (blob) {
        var a = h("a", { href: URL.createObjectURL(blob), download: "receipt-" + p.receipt_number + ".pdf" });
        document.body.appendChild(a); a.click(); a.remove();
      }).catch(fail);
  }

  function buy(pack, button, payArea) {
    clearAlert();
    button.disabled = true;
    api("POST", me() + "/purchases", { pack: pack.code }).then(function (purchase) {
      if (purchase.status === "succeeded") {
        route().then(function () { showAlert(t("buy.done", { n: purchase.credits }), true); });
        return;
      }
      return payWithStripe(purchase, payArea).finally(function () { button.disabled = false; });
    }).catch(function (e) { button.disabled = false; fail(e); });
  }

  function payWithStripe(purchase, payArea) {
    return loadConfig().then(function (c) {
      if (!c.stripe_publishable_key || !purchase.client_secret) throw new ApiError(0, t("error.generic"));
      return loadStripe().then(function (Stripe) {
        var stripe = Stripe(c.stripe_publishable_key, { locale: lang });
        var elements = stripe.elements({ clientSecret: purchase.client_secret });
        var holder = h("div", { id: "payment-element" });
        var pay = h("button", { class: "btn primary", type: "button", text: t("buy.pay", { price: money(purchase.amount) }) });
        payArea.replaceChildren(h("section", { class: "card", style: "margin-top:1rem" }, h("h2", { text: t("buy.paying") }), holder,
          h("div", { class: "actions" }, pay, h("button", { class: "btn", type: "button", onclick: function () { payArea.replaceChildren(); }, text: t("buy.cancel") }))));
        elements.create("payment").mount(holder);
        pay.addEventListener("click", function () {
          pay.disabled = true;
          stripe.confirmPayment({ elements: elements, redirect: "if_required", confirmParams: { return_url: location.href } }).then(function (result) {
            pay.disabled = false;
            if (result.error) { showAlert(result.error.message); return; }
            payArea.replaceChildren();
            showAlert(t("buy.pending"), true);
            waitForPurchase(purchase.id, 10);
          });
        });
      });
    });
  }

  function waitForPurchase(id, tries) {
    api("GET", "/purchases/" + id).then(function (p) {
      if (p.status === "succeeded") { route().then(function () { showAlert(t("buy.done", { n: p.credits }), true); }); return; }
      if (tries > 0) setTimeout(function () { waitForPurchase(id, tries - 1); }, 1500);
    }).catch(fail);
  }

  // ---------------------------------------------------------------- settings

  function pageSettings() {
    markTab("settings");
    var autoTopUp = api("GET", me() + "/auto-top-up").catch(function (e) { if (e.status === 404) return null; throw e; });
    return Promise.all([loadCustomer(), api("GET", "/packs"), autoTopUp]).then(function (r) {
      var c = r[0], packs = r[1].data, auto = r[2];
      var on = h("input", { id: "low-on", type: "checkbox", checked: c.low_balance_threshold !== null });
      var threshold = h("input", { id: "low-threshold", type: "number", min: "0", max: "100000", value: String(c.low_balance_threshold === null ? 2 : c.low_balance_threshold), "aria-describedby": "low-hint" });
      var autoAccept = h("input", { id: "auto-accept", type: "checkbox", checked: c.auto_accept_transfers, "aria-describedby": "tr-hint" });
      var form = h("form", { "aria-labelledby": "low-h" },
        h("h2", { id: "low-h", text: t("low.title") }),
        h("label", { class: "check", for: "low-on" }, on, h("span", { text: t("low.enable") })),
        h("div", { class: "field", style: "max-width:260px;margin-top:.6rem" }, h("label", { for: "low-threshold", text: t("low.threshold") }), threshold),
        h("p", { id: "low-hint", class: "hint", text: t("low.hint") }),
        h("h2", { style: "margin-top:1.5rem", text: t("transfers.title") }),
        h("label", { class: "check", for: "auto-accept" }, autoAccept, h("span", { text: t("transfers.auto") })),
        h("p", { id: "tr-hint", class: "hint", text: t("transfers.hint") }),
        h("div", { class: "actions", style: "margin-top:1rem" }, h("button", { class: "btn primary", type: "submit", text: t("save") })));
      function sync() { threshold.disabled = !on.checked; }
      on.addEventListener("change", sync); sync();
      form.addEventListener("submit", function (ev) {
        ev.preventDefault(); clearAlert();
        api("PATCH", me(), {
          low_balance_threshold: on.checked ? Number(threshold.value) : null,
          auto_accept_transfers: autoAccept.checked
        }).then(function () { showAlert(t("saved"), true); }).catch(fail);
      });
      return h("div", { "data-page": "settings" }, h("div", { class: "page-head" }, h("h1", { text: t("settings.title") })),
        h("div", { class: "grid" }, h("section", { class: "card span-6" }, form), auto ? autoTopUpCard(auto, packs) : null));
    });
  }

  function autoTopUpCard(auto, packs) {
    var enabled = h("input", { id: "auto-on", type: "checkbox", checked: auto.enabled });
    var pack = h("select", { id: "auto-pack" }, packs.map(function (p) {
      return h("option", { value: p.code, selected: p.code === auto.pack, text: (p.credits === 1 ? t("buy.credit") : t("buy.credits", { n: p.credits })) + " · " + money(p.price) });
    }));
    var threshold = h("input", { id: "auto-threshold", type: "number", min: "0", max: "100000", value: String(auto.threshold === null ? 1 : auto.threshold) });
    var card = auto.payment_method ? h("p", { text: auto.payment_method.brand + " •••• " + auto.payment_method.last4 }) : h("p", { class: "muted", text: t("auto.nocard") });
    var form = h("form", { "aria-labelledby": "auto-h" },
      h("h2", { id: "auto-h", text: t("auto.title") }), h("p", { class: "muted small", text: t("auto.lead") }),
      h("h3", { text: t("auto.card") }), card,
      h("button", { class: "btn", type: "button", onclick: setupCard, text: t("auto.addcard") }),
      h("label", { class: "check", for: "auto-on", style: "margin-top:1rem" }, enabled, h("span", { text: t("auto.enable") })),
      h("div", { class: "field", style: "margin-top:.6rem" }, h("label", { for: "auto-pack", text: t("auto.pack") }), pack),
      h("div", { class: "field", style: "max-width:260px" }, h("label", { for: "auto-threshold", text: t("auto.threshold") }), threshold),
      auto.failures ? h("p", { class: "hint", text: t("auto.failures", { n: auto.failures }) }) : null,
      h("div", { class: "actions" }, h("button", { class: "btn primary", type: "submit", text: t("save") })));
    form.addEventListener("submit", function (ev) {
      ev.preventDefault(); clearAlert();
      api("PUT", me() + "/auto-top-up", { enabled: enabled.checked, pack: pack.value, threshold: Number(threshold.value) })
        .then(function () { showAlert(t("saved"), true); }).catch(fail);
    });
    return h("section", { class: "card span-6", "data-testid": "auto-top-up" }, form);
  }

  function setupCard() {
    clearAlert();
    api("POST", me() + "/payment-methods/setup", {}).then(function (setup) {
      if (setup.status === "succeeded") { route().then(function () { showAlert(t("auto.cardsaved"), true); }); return; }
      return loadConfig().then(function (c) {
        return loadStripe().then(function (Stripe) {
          var stripe = Stripe(c.stripe_publishable_key, { locale: lang });
          var elements = stripe.elements({ clientSecret: setup.client_secret });
          var holder = h("div", { id: "payment-element" });
          var save = h("button", { class: "btn primary", type: "button", text: t("auto.addcard") });
          mount(h("div", { class: "card" }, h("h1", { text: t("auto.addcard") }), holder, h("div", { class: "actions" }, save,
            h("a", { class: "btn", href: "#/settings", text: t("buy.cancel") }))));
          elements.create("payment").mount(holder);
          save.addEventListener("click", function () {
            stripe.confirmSetup({ elements: elements, redirect: "if_required", confirmParams: { return_url: location.href } }).then(function (result) {
              if (result.error) { showAlert(result.error.message); return; }
              api("POST", me() + "/payment-methods/setup/complete", { setup_intent_id: result.setupIntent.id })
                .then(function () { location.hash = "#/settings"; showAlert(t("auto.cardsaved"), true); }).catch(fail);
            });
          });
        });
      });
    }).catch(fail);
  }

  // ---------------------------------------------------------------- router

  function route() {
    if (!session.token || !session.customer) { renderSessionEnded(); return Promise.resolve(); }
    signedIn(true);
    var path = location.hash.replace(/^#/, "") || "/";
    var page;
    var m = path.match(/^\/tickets\/(tkt_[A-Za-z0-9_-]+)$/);
    if (path === "/tickets/new") page = pageNewTicket();
    else if (m) page = pageTicket(m[1]);
    else if (path === "/tickets") page = pageTickets();
    else if (path === "/buy") page = pageBuy();
    else if (path === "/settings") page = pageSettings();
    else page = pageOverview();
    var ticket = ++views;
    return page.then(function (node) { if (ticket === views) $("view").replaceChildren(node); })
      .catch(function (error) { if (ticket === views) fail(error); });
  }

  function start() {
    applyStaticStrings();
    document.querySelectorAll("[data-lang]").forEach(function (b) {
      b.addEventListener("click", function () { setLang(b.getAttribute("data-lang")); });
    });
    $("signout").addEventListener("click", signOut);
    window.addEventListener("hashchange", function () {
      clearAlert();
      if (location.hash.indexOf("token=") >= 0) { open(); return; }  // a new portal link
      route().then(function () { $("main").focus({ preventScroll: true }); });
    });
    open();
  }

  // A portal link for this tab's customer refreshes the token; for another customer it
  // asks first, and staying is the default: a link someone else sent must never swap the
  // customer into their account unnoticed.
  function open() {
    var link = takeLink();
    readSession();
    if (link && session.token && link.customer !== session.customer) { askToSwitch(link); return; }
    if (link) { keepSession(link); signedOutHere = false; }
    enter();
  }

  function enter() {
    if (!session.token) { renderSessionEnded(); return; }
    mount(h("p", { class: "loading", text: t("loading") }));
    loadCustomer().then(route).catch(function (error) {
      if (error && error.status === 401) return;
      forgetSession();
      notice("link-invalid", t("link.title"), (error && error.detail) || t("error.generic"));
    });
  }

  function customerName(customer, token) {
    return api("GET", "/customers/" + encodeURIComponent(customer), undefined, { token: token })
      .then(function (c) { return c.name; });
  }

  function askToSwitch(link) {
    signedIn(false);
    mount(h("p", { class: "loading", text: t("loading") }));
    var ended = function (e) { if (e.status === 401 || e.status === 404) return null; throw e; };
    var current = customerName(session.customer, session.token).catch(ended);
    var other = customerName(link.customer, link.token).catch(function () { return null; });
    var ticket = views;
    Promise.all([current, other]).then(function (names) {
      if (ticket !== views) return;  // the customer went elsewhere meanwhile: the link is dropped
      if (names[0] === null) { forgetSession(); keepSession(link); enter(); return; }  // nobody signed in any more
      if (names[1] === null) { enter(); showAlert(t("link.stayed", { name: names[0] })); return; }
      renderSwitchPrompt(link, names[0], names[1]);
    }).catch(function (error) { enter(); fail(error); });
  }

  function renderSwitchPrompt(link, current, other) {
    var stay = h("button", { class: "btn primary", type: "button", "data-action": "stay", text: t("switch.stay", { name: current }) });
    var go = h("button", { class: "btn", type: "button", "data-action": "switch", text: t("switch.go", { name: other }) });
    var card = h("div", { class: "card center-card", "data-page": "switch", role: "alertdialog", "aria-modal": "true",
      "aria-labelledby": "switch-h", "aria-describedby": "switch-body" },
      h("h1", { id: "switch-h", text: t("switch.title") }),
      h("p", { id: "switch-body", text: t("switch.body", { current: current, other: other }) }),
      h("p", { class: "muted small", text: t("switch.warn") }),
      h("div", { class: "actions" }, stay, go));
    stay.addEventListener("click", enter);
    go.addEventListener("click", function () { keepSession(link); signedOutHere = false; enter(); });
    card.addEventListener("keydown", function (ev) { if (ev.key === "Escape") enter(); });
    mount(card);
    stay.focus();
  }

  start();
})();
