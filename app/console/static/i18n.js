/* The console's words in English and Russian, and how numbers, credits, durations and
   dates are written in each. The choice is kept in localStorage. */

const EN = {
  title: "CreditDesk console", skip: "Skip to content", brand: "CreditDesk", "brand.sub": "Staff console",
  "nav.queue": "Queue", "nav.customers": "Customers", "nav.signout": "Sign out", footer: "CreditDesk · staff console",
  loading: "Loading…", dismiss: "Dismiss",
  "role.admin": "Admin", "role.cr_agent": "Customer relations agent", "role.engineer": "Engineer",
  "role.customer": "Customer", "role.integration": "Integration", "role.finance": "Finance",
  "signin.title": "Sign in to the console", "signin.lead": "Staff only: admins, customer-relations agents and engineers.",
  "signin.key": "Your staff API key", "signin.hint": "It is exchanged for a session of a few hours and not kept in this browser.",
  "signin.submit": "Sign in", "signin.empty": "Enter your staff API key.", "signin.unknown": "This key is unknown, revoked or expired.",
  "signin.ended": "Your session has ended. Sign in again.",
  "live.on": "Live · updated {time}", "live.off": "Live refresh paused; retrying…",
  "confirm.ok": "Confirm", "confirm.cancel": "Cancel",
  "error.generic": "Something went wrong. Please try again.", "error.network": "The server cannot be reached. Check the connection and try again.",
  "queue.title": "Queue", "queue.caption": "Tickets ordered by the next service-level due time",
  "queue.count": "Tickets: {n} · breached: {breached}", "queue.empty": "Nothing waits here. Well done.",
  "queue.keys": "Keys: j / k move through the tickets, Enter opens one, r goes to the reply, / to the filters.",
  "queue.truncated": "More tickets match than one queue shows (the oldest are read first): narrow the filters.",
  "queue.due": "Due", "queue.ticket": "Ticket", "queue.customer": "Customer", "queue.line": "Line", "queue.severity": "Sev.",
  "queue.status": "Status", "queue.assignee": "Assignee",
  "filter.title": "Filters", "filter.line": "Line", "filter.allLines": "All lines", "filter.status": "Status",
  "filter.allStatuses": "All unfinished", "filter.severity": "Severity", "filter.anySeverity": "Any",
  "filter.assignee": "Assignee", "filter.unassigned": "Unassigned only", "filter.customer": "Customer id",
  "filter.partner": "Customers", "filter.anyCustomer": "All", "filter.partners": "Partners", "filter.notPartners": "Not partners",
  "filter.apply": "Apply filters", "filter.clear": "Clear",
  "due.in": "in {d}", "due.overdue": "overdue {d}", "due.none": "nothing pending",
  "target.first_response": "First response", "target.assignment": "Assignment", "target.resolution": "Resolution",
  "line.customer_relations": "Customer relations", "line.technical": "Technical support",
  "status.open": "Open", "status.awaiting_approval": "Awaiting consent", "status.in_progress": "In progress",
  "status.waiting_on_customer": "Waiting on customer", "status.resolved": "Resolved", "status.closed": "Closed",
  "sev.1": "1 · System down", "sev.2": "2 · Major", "sev.3": "3 · Minor", "sev.4": "4 · Question",
  "sla.breached": "Breached", "sla.escalated": "Escalated L{n}", "sla.urgent": "Most urgent", "sla.paused": "Clock paused",
  "sla.title": "SLA clocks", "sla.summary": "Clock {state} · {elapsed} working time · {calendar}",
  "sla.state.running": "running", "sla.state.paused": "paused", "sla.state.stopped": "stopped",
  "sla.extended": "Targets extended by {d} (most urgent ticket, phone calls).",
  "sla.target": "Target", "sla.limitOf": "within {d}", "sla.when": "Due / met", "sla.stateCol": "State",
  "sla.escalatedTo": "Escalated to level {n}.",
  "calendar.customer_relations": "customer-relations hours", "calendar.technical": "technical-support hours", "calendar.24/7": "24/7",
  "clock.met": "Met", "clock.metLate": "Met late", "clock.overdue": "Overdue", "clock.running": "Running",
  "history.title": "History", "category.product_issue": "product issue", "category.third_party": "third-party issue",
  "event.started": "Clock started", "event.paused": "Paused (waiting on the customer)", "event.resumed": "Resumed",
  "event.first_response": "First response", "event.assigned": "Assigned", "event.resolved": "Resolved",
  "event.reopened": "Reopened", "event.breached": "First response breached", "event.escalated": "Escalated to level {level}",
  "event.compensated": "Compensated",
  "ticket.number": "Ticket #{n}", "ticket.conversation": "Conversation", "ticket.opened": "Customer · opened {when}",
  "ticket.note": "Internal note", "ticket.customer": "Customer", "ticket.message": "Message",
  "ticket.closedNote": "This ticket is closed and takes no more messages.",
  "ticket.facts": "Ticket", "ticket.customerLabel": "Customer", "ticket.line": "Line", "ticket.status": "Status",
  "ticket.severity": "Severity", "ticket.charge": "Charge", "ticket.assignee": "Assignee", "ticket.bug": "Bug",
  "ticket.mergedInto": "Merged into", "ticket.open": "open that ticket", "ticket.product": "Product",
  "ticket.actions": "Work on this ticket", "ticket.bugRef": "Bug reference", "ticket.reason": "Why it is out of scope",
  "ticket.mergeInto": "Duplicate of",
  "charge.none": "Free line", "charge.partner": "0 credits (partner)", "charge.refunded": "refunded ({reason})",
  "charge.refundedShort": "refunded",
  "refund.misrouted": "misrouted", "refund.out_of_scope": "out of scope", "refund.merged": "merged",
  "refund.product_bug": "product bug", "refund.sla_breach": "missed first response",
  "action.reply": "Send reply", "action.note": "Add internal note", "action.assign": "Assign", "action.status": "Set status",
  "action.transfer": "Transfer", "action.transfer.technical": "Transfer to technical support",
  "action.transfer.back": "Move back to customer relations", "action.transfer.callOff": "Call off the transfer",
  "action.bug": "Confirm product bug",
  "action.oos": "Mark out of scope", "action.merge": "Merge as duplicate", "action.work": "Log change hours",
  "transfer.hint.technical": "The customer is asked to consent; partners and auto-accepting customers move at once.",
  "transfer.hint.back": "Back to the free line; a charged credit is refunded.",
  "transfer.hint.callOff": "The customer has not answered yet; nothing was charged.",
  "work.minutes": "Minutes", "work.note": "What was changed",
  "cost.free": "Free: no credits change hands.", "cost.reply": "Sends a public reply to {customer}.",
  "cost.note": "Adds an internal note; {customer} never sees it.",
  "cost.firstResponse": "It is the first response: it meets the first-response target.",
  "cost.assign": "Assigns the ticket to {name}.", "cost.status": "Sets the status to “{status}”.",
  "cost.refund": "Refunds {credits} to {customer}.", "cost.noRefund": "Nothing to refund to {customer}: no credit was charged, or it was already refunded.",
  "cost.misrouted": "The ticket moves back to customer relations (refund reason: misrouted).",
  "cost.callOff": "Calls off the transfer {customer} has not answered yet; nothing is charged.",
  "cost.partnerTransfer": "Moves to technical support at once: {customer} is a partner and is charged 0 credits.",
  "cost.chargeNow": "Charges 1 credit to {customer} now: they accept transfers automatically (they have {n}).",
  "cost.noCredit": "They have no credit: the transfer will be refused.",
  "cost.consent": "Asks {customer} to consent: 1 credit is charged only when they accept (they have {n}).",
  "cost.bugOnce": "At most one refund per charge, however many times a bug is confirmed.",
  "cost.oosMove": "The ticket moves back to customer relations with an internal note.",
  "cost.merge": "Closes #{n} into #{into}; its messages move there.",
  "cost.workFree": "Uses {m} of this month's change hours; {left} will be left.",
  "cost.workRefused": "Only {left} of this month's change hours are left: the server will refuse this log.",
  "cost.workCharge": "{m} beyond this month's allowance: charges {credits} to {customer} (per started hour).",
  "cost.workNoCharge": "{m} beyond the allowance, within an hour already charged: no new charge.",
  "cost.workNoRefund": "Change-hour charges are never refunded automatically.",
  "cost.call": "Logs call {n} of {limit} today for {customer} ({m}).",
  "cost.callExtends": "It extends the SLA targets of the customer's other open tickets by its length.",
  "cost.callLimit": "The daily limit of {limit} calls is reached: the server will refuse this; ask the customer to file a ticket.",
  "cost.callTooLong": "A call lasts at most {max} minutes: the server will refuse this; ask the customer to file a ticket.",
  "cost.portal": "Creates a cabinet link for {customer}, valid {m} minutes.",
  "clockEffect.waiting_on_customer": "The SLA clock pauses until the customer answers.",
  "clockEffect.resolved": "The SLA clock stops; the customer may reopen it free within 14 days.",
  "clockEffect.closed": "The SLA clock stops; a closed ticket is final.",
  "clockEffect.open": "", "clockEffect.in_progress": "",
  "done.reply": "Reply sent.", "done.note": "Internal note added.", "done.assigned": "Assigned.", "done.status": "Status changed.",
  "done.transfer.asked": "Transfer requested: waiting for {customer} to consent.",
  "done.transfer.technical": "Moved to technical support.", "done.transfer.back": "Moved back to customer relations.",
  "done.transfer.callOff": "Transfer called off.", "done.bug": "Product bug confirmed.", "done.oos": "Marked out of scope.",
  "done.merged": "Merged.", "done.work": "Change hours logged.",
  "customers.title": "Customers", "customers.search": "Find a customer", "customers.q": "Name, e-mail or customer id",
  "customers.hint": "An e-mail finds it exactly; a name searches the first 200 customers.",
  "customers.find": "Find", "customers.none": "No customer matches.",
  "customer.name": "Name", "customer.email": "E-mail", "customer.kind": "Kind", "customer.partner": "Partner",
  "customer.endCustomer": "Partner's end customer", "customer.direct": "Direct customer", "customer.id": "Id",
  "customer.transfers": "Transfers", "customer.autoAccept": "Accepted automatically", "customer.askConsent": "Asks for consent",
  "customer.codeWord": "Code word", "customer.codeWordSet": "On file", "customer.codeWordNone": "None",
  "customer.ref": "External reference", "customer.level": "Contract level", "customer.noLevel": "Line targets",
  "customer.since": "Customer since", "customer.profile": "Profile", "customer.tickets": "Tickets",
  "customer.noTickets": "No tickets yet.",
  "balance.title": "Balance", "balance.available": "Credits", "balance.frozen": "On hold", "balance.lots": "Lots",
  "balance.expiring": "{n} expire {date}",
  "lots.source": "Source", "lots.left": "Left", "lots.expires": "Expires", "lots.never": "Never", "lots.none": "No credits left.",
  "source.purchase": "Purchase", "source.spend_reward": "Free credit", "source.adjustment": "Adjustment",
  "source.refund": "Refund", "source.promo": "Promotion",
  "phone.title": "Support on the phone", "phone.codeWord": "Caller's code word",
  "phone.hint": "Ask for the customer id and the code word before anything else.", "phone.verify": "Verify caller",
  "phone.wrong": "The code word does not match.", "phone.verified": "Caller verified.", "phone.verifiedBadge": "Caller verified",
  "phone.noCodeWord": "No code word is on file: the caller cannot be verified by phone.",
  "phone.link": "Create cabinet link", "phone.linkDone": "Cabinet link created.",
  "phone.url": "Cabinet link (valid until {time})", "phone.copy": "Copy link",
  "phone.noPortal": "Cabinet links are made by customer relations.",
  "calls.title": "Phone calls", "calls.left": "{left} of {limit} calls left today · at most {max} minutes each",
  "calls.minutes": "Minutes", "calls.topic": "Topic", "calls.about": "About ticket", "calls.noTicket": "No ticket",
  "calls.verified": "Caller verified by code word", "calls.log": "Log call", "calls.logged": "Call logged.",
  "calls.when": "When", "calls.unverified": "not verified",
  "hours.title": "Change hours", "hours.left": "{left} of {of} left this month",
  "hours.month": "Month", "hours.used": "Logged", "hours.over": "Beyond allowance", "hours.policy": "Beyond the allowance",
  "hours.policy.refuse": "refused", "hours.policy.charge": "charged per started hour",
  "hours.hint": "Engineers log change hours on the customer's tickets. Nothing carries over to the next month.",
  "entries.title": "Balance history", "entries.when": "When", "entries.what": "What", "entries.change": "Change",
  "entries.after": "Balance", "entries.none": "Nothing yet.",
  "kind.grant": "Credits added", "kind.charge": "Ticket charge", "kind.refund": "Refund", "kind.expiry": "Expired",
  "kind.revoke": "Revoked", "kind.adjustment": "Adjustment", "kind.freeze": "Put on hold", "kind.release": "Released",
};

const RU = {
  title: "Консоль CreditDesk", skip: "Перейти к содержимому", brand: "CreditDesk", "brand.sub": "Консоль сотрудника",
  "nav.queue": "Очередь", "nav.customers": "Клиенты", "nav.signout": "Выйти", footer: "CreditDesk · консоль сотрудника",
  loading: "Загрузка…", dismiss: "Закрыть",
  "role.admin": "Администратор", "role.cr_agent": "Специалист по работе с клиентами", "role.engineer": "Инженер",
  "role.customer": "Клиент", "role.integration": "Интеграция", "role.finance": "Финансы",
  "signin.title": "Вход в консоль", "signin.lead": "Только для сотрудников: администраторов, специалистов по работе с клиентами и инженеров.",
  "signin.key": "Ваш служебный API-ключ", "signin.hint": "Ключ обменивается на сеанс на несколько часов и не хранится в браузере.",
  "signin.submit": "Войти", "signin.empty": "Введите служебный API-ключ.", "signin.unknown": "Ключ неизвестен, отозван или истёк.",
  "signin.ended": "Сеанс завершён. Войдите снова.",
  "live.on": "Обновляется · {time}", "live.off": "Обновление приостановлено; повторяем…",
  "confirm.ok": "Подтвердить", "confirm.cancel": "Отмена",
  "error.generic": "Что-то пошло не так. Попробуйте ещё раз.", "error.network": "Сервер недоступен. Проверьте подключение и попробуйте снова.",
  "queue.title": "Очередь", "queue.caption": "Обращения по ближайшему сроку SLA",
  "queue.count": "Обращений: {n} · с нарушением SLA: {breached}", "queue.empty": "Очередь пуста.",
  "queue.keys": "Клавиши: j / k — по обращениям, Enter — открыть, r — к ответу, / — к фильтрам.",
  "queue.truncated": "Подходящих обращений больше, чем показывает очередь (сначала читаются самые старые): уточните фильтры.",
  "queue.due": "Срок", "queue.ticket": "Обращение", "queue.customer": "Клиент", "queue.line": "Линия", "queue.severity": "Важн.",
  "queue.status": "Статус", "queue.assignee": "Исполнитель",
  "filter.title": "Фильтры", "filter.line": "Линия", "filter.allLines": "Все линии", "filter.status": "Статус",
  "filter.allStatuses": "Все незавершённые", "filter.severity": "Важность", "filter.anySeverity": "Любая",
  "filter.assignee": "Исполнитель", "filter.unassigned": "Только без исполнителя", "filter.customer": "Id клиента",
  "filter.partner": "Клиенты", "filter.anyCustomer": "Все", "filter.partners": "Партнёры", "filter.notPartners": "Не партнёры",
  "filter.apply": "Применить", "filter.clear": "Сбросить",
  "due.in": "через {d}", "due.overdue": "просрочено на {d}", "due.none": "сроков нет",
  "target.first_response": "Первый ответ", "target.assignment": "Назначение", "target.resolution": "Решение",
  "line.customer_relations": "Работа с клиентами", "line.technical": "Техническая поддержка",
  "status.open": "Открыто", "status.awaiting_approval": "Ждёт согласия", "status.in_progress": "В работе",
  "status.waiting_on_customer": "Ждём клиента", "status.resolved": "Решено", "status.closed": "Закрыто",
  "sev.1": "1 · Система не работает", "sev.2": "2 · Серьёзная", "sev.3": "3 · Небольшая", "sev.4": "4 · Вопрос",
  "sla.breached": "SLA нарушен", "sla.escalated": "Эскалация {n}", "sla.urgent": "Самое срочное", "sla.paused": "Часы на паузе",
  "sla.title": "Сроки SLA", "sla.summary": "Часы {state} · рабочего времени: {elapsed} · {calendar}",
  "sla.state.running": "идут", "sla.state.paused": "на паузе", "sla.state.stopped": "остановлены",
  "sla.extended": "Сроки продлены на {d} (самое срочное обращение, звонки).",
  "sla.target": "Цель", "sla.limitOf": "норматив {d}", "sla.when": "Срок / выполнено", "sla.stateCol": "Состояние",
  "sla.escalatedTo": "Эскалация на уровень {n}.",
  "calendar.customer_relations": "часы работы с клиентами", "calendar.technical": "часы техподдержки", "calendar.24/7": "круглосуточно",
  "clock.met": "Выполнено", "clock.metLate": "С опозданием", "clock.overdue": "Просрочено", "clock.running": "Идёт",
  "history.title": "История", "category.product_issue": "проблема продукта", "category.third_party": "сторонняя проблема",
  "event.started": "Отсчёт начат", "event.paused": "Пауза (ждём клиента)", "event.resumed": "Отсчёт продолжен",
  "event.first_response": "Первый ответ", "event.assigned": "Назначен исполнитель", "event.resolved": "Решено",
  "event.reopened": "Открыто снова", "event.breached": "Срок первого ответа нарушен", "event.escalated": "Эскалация на уровень {level}",
  "event.compensated": "Компенсировано",
  "ticket.number": "Обращение №{n}", "ticket.conversation": "Переписка", "ticket.opened": "Клиент · создано {when}",
  "ticket.note": "Внутренняя заметка", "ticket.customer": "Клиент", "ticket.message": "Сообщение",
  "ticket.closedNote": "Обращение закрыто, новые сообщения не принимаются.",
  "ticket.facts": "Обращение", "ticket.customerLabel": "Клиент", "ticket.line": "Линия", "ticket.status": "Статус",
  "ticket.severity": "Важность", "ticket.charge": "Списание", "ticket.assignee": "Исполнитель", "ticket.bug": "Ошибка",
  "ticket.mergedInto": "Объединено с", "ticket.open": "открыть то обращение", "ticket.product": "Продукт",
  "ticket.actions": "Работа с обращением", "ticket.bugRef": "Номер ошибки", "ticket.reason": "Почему вне рамок поддержки",
  "ticket.mergeInto": "Дубликат обращения",
  "charge.none": "Бесплатная линия", "charge.partner": "0 кредитов (партнёр)", "charge.refunded": "возвращено ({reason})",
  "charge.refundedShort": "возвращено",
  "refund.misrouted": "не та линия", "refund.out_of_scope": "вне рамок", "refund.merged": "объединено",
  "refund.product_bug": "ошибка продукта", "refund.sla_breach": "нарушен срок первого ответа",
  "action.reply": "Ответить", "action.note": "Добавить заметку", "action.assign": "Назначить", "action.status": "Сменить статус",
  "action.transfer": "Передача", "action.transfer.technical": "Передать в техподдержку",
  "action.transfer.back": "Вернуть в работу с клиентами", "action.transfer.callOff": "Отменить передачу",
  "action.bug": "Подтвердить ошибку продукта",
  "action.oos": "Вне рамок поддержки", "action.merge": "Объединить как дубликат", "action.work": "Записать часы доработок",
  "transfer.hint.technical": "Клиента попросят согласиться; партнёры и клиенты с автосогласием переводятся сразу.",
  "transfer.hint.back": "Обратно на бесплатную линию; списанный кредит возвращается.",
  "transfer.hint.callOff": "Клиент ещё не ответил; ничего не списано.",
  "work.minutes": "Минуты", "work.note": "Что изменено",
  "cost.free": "Бесплатно: кредиты не списываются.", "cost.reply": "Отправляет клиенту {customer} публичный ответ.",
  "cost.note": "Добавляет внутреннюю заметку; клиент {customer} её не увидит.",
  "cost.firstResponse": "Это первый ответ: он выполняет норматив первого ответа.",
  "cost.assign": "Назначает исполнителя: {name}.", "cost.status": "Меняет статус на «{status}».",
  "cost.refund": "Возвращает {credits} клиенту {customer}.", "cost.noRefund": "Клиенту {customer} нечего возвращать: кредит не списывался или уже возвращён.",
  "cost.misrouted": "Обращение возвращается в работу с клиентами (причина возврата: не та линия).",
  "cost.callOff": "Отменяет передачу, на которую клиент {customer} ещё не ответил; ничего не списывается.",
  "cost.partnerTransfer": "Сразу переходит в техподдержку: {customer} — партнёр, списывается 0 кредитов.",
  "cost.chargeNow": "Сразу списывает 1 кредит у клиента {customer}: он принимает передачи автоматически (у него {n}).",
  "cost.noCredit": "Кредитов нет: передача будет отклонена.",
  "cost.consent": "Просит клиента {customer} согласиться: 1 кредит спишется, только если он согласится (у него {n}).",
  "cost.bugOnce": "Не больше одного возврата за списание, сколько бы раз ни подтверждали ошибку.",
  "cost.oosMove": "Обращение возвращается в работу с клиентами с внутренней заметкой.",
  "cost.merge": "Закрывает №{n}, объединяя с №{into}; сообщения переносятся туда.",
  "cost.workFree": "Расходует {m} из часов доработок этого месяца; останется {left}.",
  "cost.workRefused": "В этом месяце осталось только {left} часов доработок: сервер отклонит эту запись.",
  "cost.workCharge": "{m} сверх лимита месяца: списывает {credits} у клиента {customer} (за каждый начатый час).",
  "cost.workNoCharge": "{m} сверх лимита, в пределах уже оплаченного часа: нового списания нет.",
  "cost.workNoRefund": "Списания за часы доработок автоматически не возвращаются.",
  "cost.call": "Записывает звонок {n} из {limit} за сегодня для клиента {customer} ({m}).",
  "cost.callExtends": "Он продлевает сроки SLA других открытых обращений клиента на свою длительность.",
  "cost.callLimit": "Дневной лимит в {limit} звонка исчерпан: сервер отклонит запись; попросите клиента создать обращение.",
  "cost.callTooLong": "Звонок длится не дольше {max} минут: сервер отклонит запись; попросите клиента создать обращение.",
  "cost.portal": "Создаёт ссылку на кабинет клиента {customer}, действует {m} минут.",
  "clockEffect.waiting_on_customer": "Часы SLA встают на паузу до ответа клиента.",
  "clockEffect.resolved": "Часы SLA останавливаются; клиент может бесплатно открыть обращение снова в течение 14 дней.",
  "clockEffect.closed": "Часы SLA останавливаются; закрытое обращение окончательно.",
  "clockEffect.open": "", "clockEffect.in_progress": "",
  "done.reply": "Ответ отправлен.", "done.note": "Заметка добавлена.", "done.assigned": "Исполнитель назначен.", "done.status": "Статус изменён.",
  "done.transfer.asked": "Передача запрошена: ждём согласия клиента {customer}.",
  "done.transfer.technical": "Передано в техподдержку.", "done.transfer.back": "Возвращено в работу с клиентами.",
  "done.transfer.callOff": "Передача отменена.", "done.bug": "Ошибка продукта подтверждена.", "done.oos": "Отмечено как вне рамок.",
  "done.merged": "Объединено.", "done.work": "Часы доработок записаны.",
  "customers.title": "Клиенты", "customers.search": "Поиск клиента", "customers.q": "Название, e-mail или id клиента",
  "customers.hint": "По e-mail ищется точно; по названию — среди первых 200 клиентов.",
  "customers.find": "Найти", "customers.none": "Клиенты не найдены.",
  "customer.name": "Название", "customer.email": "E-mail", "customer.kind": "Тип", "customer.partner": "Партнёр",
  "customer.endCustomer": "Клиент партнёра", "customer.direct": "Прямой клиент", "customer.id": "Id",
  "customer.transfers": "Передачи", "customer.autoAccept": "Принимаются автоматически", "customer.askConsent": "С согласия клиента",
  "customer.codeWord": "Кодовое слово", "customer.codeWordSet": "Задано", "customer.codeWordNone": "Нет",
  "customer.ref": "Внешний номер", "customer.level": "Уровень договора", "customer.noLevel": "Нормативы линии",
  "customer.since": "Клиент с", "customer.profile": "Профиль", "customer.tickets": "Обращения",
  "customer.noTickets": "Обращений пока нет.",
  "balance.title": "Баланс", "balance.available": "Кредиты", "balance.frozen": "Заморожено", "balance.lots": "Партии",
  "balance.expiring": "{n} сгорают {date}",
  "lots.source": "Источник", "lots.left": "Осталось", "lots.expires": "Сгорают", "lots.never": "Бессрочно", "lots.none": "Кредитов не осталось.",
  "source.purchase": "Покупка", "source.spend_reward": "Бесплатный кредит", "source.adjustment": "Корректировка",
  "source.refund": "Возврат", "source.promo": "Акция",
  "phone.title": "Поддержка по телефону", "phone.codeWord": "Кодовое слово звонящего",
  "phone.hint": "Прежде всего спросите id клиента и кодовое слово.", "phone.verify": "Проверить звонящего",
  "phone.wrong": "Кодовое слово не совпадает.", "phone.verified": "Звонящий подтверждён.", "phone.verifiedBadge": "Звонящий подтверждён",
  "phone.noCodeWord": "Кодовое слово не задано: звонящего нельзя подтвердить по телефону.",
  "phone.link": "Создать ссылку на кабинет", "phone.linkDone": "Ссылка на кабинет создана.",
  "phone.url": "Ссылка на кабинет (действует до {time})", "phone.copy": "Скопировать ссылку",
  "phone.noPortal": "Ссылки на кабинет создаёт отдел работы с клиентами.",
  "calls.title": "Звонки", "calls.left": "Осталось звонков сегодня: {left} из {limit} · не дольше {max} минут",
  "calls.minutes": "Минуты", "calls.topic": "Тема", "calls.about": "По обращению", "calls.noTicket": "Без обращения",
  "calls.verified": "Звонящий подтвердил кодовое слово", "calls.log": "Записать звонок", "calls.logged": "Звонок записан.",
  "calls.when": "Когда", "calls.unverified": "не подтверждён",
  "hours.title": "Часы доработок", "hours.left": "Осталось {left} из {of} в этом месяце",
  "hours.month": "Месяц", "hours.used": "Записано", "hours.over": "Сверх лимита", "hours.policy": "Сверх лимита",
  "hours.policy.refuse": "не принимаются", "hours.policy.charge": "оплачиваются за каждый начатый час",
  "hours.hint": "Инженеры записывают часы доработок в обращениях клиента. Остаток на следующий месяц не переносится.",
  "entries.title": "История баланса", "entries.when": "Когда", "entries.what": "Операция", "entries.change": "Изменение",
  "entries.after": "Баланс", "entries.none": "Операций пока нет.",
  "kind.grant": "Зачисление", "kind.charge": "Списание за обращение", "kind.refund": "Возврат", "kind.expiry": "Сгорание",
  "kind.revoke": "Отзыв", "kind.adjustment": "Корректировка", "kind.freeze": "Заморозка", "kind.release": "Разморозка",
};

const STRINGS = { en: EN, ru: RU };

let lang = (() => {
  let saved = null;
  try { saved = localStorage.getItem("console.lang"); } catch (e) { saved = null; }
  if (saved === "en" || saved === "ru") return saved;
  return (navigator.language || "en").toLowerCase().startsWith("ru") ? "ru" : "en";
})();

export function getLang() { return lang; }

export function setLang(next) {
  lang = next === "ru" ? "ru" : "en";
  try { localStorage.setItem("console.lang", lang); } catch (e) { /* private mode */ }
}

export function t(key, vars) {
  let text = STRINGS[lang][key];
  if (text === undefined) text = EN[key];
  if (text === undefined) return key;
  Object.entries(vars || {}).forEach(([name, value]) => { text = text.split("{" + name + "}").join(String(value)); });
  return text;
}

export function roleName(role) {
  const name = t("role." + role);
  return name === "role." + role ? role : name;
}

function locale() { return lang === "ru" ? "ru-RU" : "en-GB"; }

function plural(n, one, few, many) {
  const mod10 = Math.abs(n) % 10;
  const mod100 = Math.abs(n) % 100;
  if (mod10 === 1 && mod100 !== 11) return one;
  return mod10 >= 2 && mod10 <= 4 && (mod100 < 12 || mod100 > 14) ? few : many;
}

export function credits(n) {
  if (lang === "ru") return n + " " + plural(n, "кредит", "кредита", "кредитов");
  return n + (Math.abs(n) === 1 ? " credit" : " credits");
}

/* Working or wall minutes as "2 h 5 min", "3 d 4 h". */
export function duration(minutes) {
  const m = Math.max(0, Math.round(minutes));
  const [d, hr, mi] = lang === "ru" ? ["д", "ч", "мин"] : ["d", "h", "min"];
  if (m >= 2880) return Math.floor(m / 1440) + " " + d + (m % 1440 >= 60 ? " " + Math.floor((m % 1440) / 60) + " " + hr : "");
  if (m >= 60) return Math.floor(m / 60) + " " + hr + (m % 60 ? " " + (m % 60) + " " + mi : "");
  return m + " " + mi;
}

/* "in 45 min" or "overdue 2 h", from `now` (milliseconds). */
export function due(iso, now) {
  const minutes = (Date.parse(iso) - now) / 60000;
  return minutes >= 0 ? t("due.in", { d: duration(minutes) }) : t("due.overdue", { d: duration(-minutes) });
}

export function date(iso) {
  return iso ? new Intl.DateTimeFormat(locale(), { dateStyle: "medium" }).format(new Date(iso)) : "";
}

export function clockTime(when) {
  return new Intl.DateTimeFormat(locale(), { timeStyle: "medium" }).format(when);
}

export function dateTime(iso) {
  return iso ? new Intl.DateTimeFormat(locale(), { dateStyle: "medium", timeStyle: "short" }).format(new Date(iso)) : "";
}
