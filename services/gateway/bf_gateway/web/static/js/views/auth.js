// Register, log in. The API's rules are the page's rules: the server validates the e-mail and
// password, and its message is shown as it comes when it refuses.

import * as api from "../api.js";
import { h, field } from "../dom.js";
import { t } from "../i18n.js";
import * as session from "../session.js";
import { notify, clearNotices } from "../notices.js";

function credentialsForm({ title, submitLabel, passwordAutocomplete, passwordHint, onSubmit, switchText, switchLink, switchHash }) {
  const email = h("input", { type: "email", name: "email", autocomplete: "username", required: true, maxlength: 254 });
  const password = h("input", { type: "password", name: "password", autocomplete: passwordAutocomplete, required: true, maxlength: 256 });
  const error = h("div", { class: "form-error", role: "alert", hidden: true });
  const submit = h("button", { type: "submit", class: "btn btn-primary", text: submitLabel });
  const form = h(
    "form",
    { class: "form", novalidate: true },
    error,
    field({ label: t("auth.email"), control: email }),
    field({ label: t("auth.password"), control: password, hint: passwordHint }),
    submit,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.hidden = true;
    if (!email.value.trim() || !password.value) {
      error.textContent = t("auth.missing");
      error.hidden = false;
      return;
    }
    submit.disabled = true;
    try {
      await onSubmit(email.value.trim(), password.value);
    } catch (e) {
      error.textContent = e.message;
      error.hidden = false;
      password.value = "";
      password.focus();
    } finally {
      submit.disabled = false;
    }
  });
  const wrap = h(
    "div",
    { class: "auth-wrap" },
    h(
      "section",
      { class: "panel", "aria-labelledby": "auth-title" },
      h("h1", { id: "auth-title", text: title }),
      h("p", { class: "muted", text: t("app.tagline") }),
      form,
      h("p", { class: "auth-switch" }, switchText, " ", h("a", { href: switchHash, text: switchLink })),
    ),
  );
  return { wrap, email };
}

async function logIn(email, password) {
  const answer = await api.post("/auth/login", { email, password });
  session.start(email, answer);
}

/** The login page. */
export function renderLogin(target, { go }) {
  const { wrap, email } = credentialsForm({
    title: t("auth.login.title"),
    submitLabel: t("auth.login.submit"),
    passwordAutocomplete: "current-password",
    switchText: t("auth.no_account"),
    switchLink: t("auth.to_register"),
    switchHash: "#/register",
    onSubmit: async (address, password) => {
      await logIn(address, password);
      clearNotices();
      go("#/connections");
    },
  });
  target.append(wrap);
  email.focus();
}

/** The registration page; a new account is signed in straight away. */
export function renderRegister(target, { go }) {
  const { wrap, email } = credentialsForm({
    title: t("auth.register.title"),
    submitLabel: t("auth.register.submit"),
    passwordAutocomplete: "new-password",
    passwordHint: t("auth.password_hint"),
    switchText: t("auth.have_account"),
    switchLink: t("auth.to_login"),
    switchHash: "#/login",
    onSubmit: async (address, password) => {
      await api.post("/auth/register", { email: address, password });
      await logIn(address, password);
      clearNotices();
      notify(t("auth.registered"), "ok");
      go("#/connections");
    },
  });
  target.append(wrap);
  email.focus();
}
