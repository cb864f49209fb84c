/* Signing in: the staff key is exchanged once for a console session; the key itself is
   never stored (the input is cleared), only the session's token, in sessionStorage. */
import { ApiError, api, clearAlert, field, h, saveSession, showAlert } from "./core.js";
import { t } from "./i18n.js";

export function pageSignIn(ended, done) {
  const key = h("input", { id: "staff-key", type: "password", autocomplete: "off", spellcheck: "false", required: true });
  const submit = h("button", { class: "btn primary", type: "submit", text: t("signin.submit") });
  const form = h("form", { "aria-labelledby": "signin-h" },
    h("h1", { id: "signin-h", text: t("signin.title") }),
    ended ? h("p", { class: "notice", "data-testid": "session-ended", text: t("signin.ended") }) : null,
    h("p", { class: "muted", text: t("signin.lead") }),
    field(t("signin.key"), key, t("signin.hint")),
    h("div", { class: "actions" }, submit));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearAlert();
    const secret = key.value.trim();
    if (!secret) { showAlert(t("signin.empty")); key.focus(); return; }
    submit.disabled = true;
    try {
      const created = await api("POST", "/console-sessions", {}, { token: secret });
      key.value = "";
      saveSession(created);
      done();
    } catch (error) {
      const refused = error instanceof ApiError && error.status === 403;
      const unknown = error instanceof ApiError && error.status === 401;
      showAlert(unknown ? t("signin.unknown") : error.detail || t("error.generic"));
      if (refused) form.setAttribute("data-refused", "true");
      key.select();
      key.focus();
    } finally {
      submit.disabled = false;
    }
  });
  return h("div", { class: "card center-card", "data-page": "signin" }, form);
}
