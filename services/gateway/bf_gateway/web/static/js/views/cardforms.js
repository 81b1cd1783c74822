// The two small forms a card opens in place: rename, and rotate the API key.

import * as api from "../api.js";
import { h, field, setFieldError } from "../dom.js";
import { t } from "../i18n.js";
import { notify } from "../notices.js";
import { credentialInputs, clearSecrets } from "./credentials.js";

function buttons(submitLabel, close) {
  return h(
    "div",
    { class: "btn-row" },
    h("button", { type: "submit", class: "btn btn-primary", text: submitLabel }),
    h("button", { type: "button", class: "btn", text: t("action.cancel"), onclick: close }),
  );
}

/** Rename in place: the API refuses a name the user already uses, and its message is shown. */
export function renameForm(connection, { close, saved }) {
  const input = h("input", { type: "text", name: "name", value: connection.name, maxlength: 64, required: true, autocomplete: "off" });
  const form = h(
    "form",
    { class: "inline-form", "data-form": "rename", "aria-label": t("rename.title") },
    field({ label: t("rename.label"), control: input }),
    buttons(t("action.save"), close),
  );
  form.addEventListener("keydown", (event) => event.key === "Escape" && close());
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const name = input.value.trim();
    setFieldError(input, name ? "" : t("val.required"));
    if (!name) return input.focus();
    try {
      const answer = await api.patch(`/connections/${encodeURIComponent(connection.id)}`, { name }, { name });
      notify(t("rename.done", { name }), "ok");
      saved(answer);
    } catch (error) {
      setFieldError(input, error.message);
      input.focus();
    }
  });
  return form;
}

/**
 * Rotate the key: new API key, secret (and passphrase where the exchange has one). The
 * gateway stores them as a new Vault version and re-tests; the inputs are emptied whatever
 * the outcome, so the secret never stays in the page.
 */
export function rotateForm(connection, exchange, { close, saved }) {
  const inputs = credentialInputs(exchange);
  const error = h("div", { class: "form-error", role: "alert", hidden: true });
  const cancel = () => {
    clearSecrets(inputs);
    close();
  };
  const form = h(
    "form",
    { class: "inline-form", "data-form": "rotate", "aria-label": t("rotate.title"), autocomplete: "off" },
    h("h3", { text: t("rotate.title") }),
    h("p", { class: "muted small", text: t("rotate.explain") }),
    error,
    inputs.fields,
    buttons(t("rotate.submit"), cancel),
  );
  form.addEventListener("keydown", (event) => event.key === "Escape" && cancel());
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.hidden = true;
    const body = inputs.read();
    if (!body) return;
    try {
      await api.put(`/connections/${encodeURIComponent(connection.id)}/credentials`, body);
      clearSecrets(inputs);
      notify(t("rotate.done"), "ok");
      saved();
    } catch (e) {
      clearSecrets(inputs);
      error.textContent = e.message;
      error.hidden = false;
      inputs.first.focus();
    }
  });
  return form;
}
