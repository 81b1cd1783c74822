// The credential inputs of one exchange (API key, secret, passphrase where it has one), shared
// by "add connection" and "rotate key". The secret and passphrase are password inputs that are
// emptied after every submit: the page never holds them longer than one request, and the API
// never sends them back, so they cannot be re-rendered.

import { h, field, setFieldError } from "../dom.js";
import { t } from "../i18n.js";

const MAX_LENGTH = 512;

function input(name, type) {
  return h("input", {
    type,
    name,
    class: "mono",
    required: true,
    maxlength: MAX_LENGTH,
    // Keep the browser from offering to remember or autofill exchange secrets.
    autocomplete: type === "password" ? "new-password" : "off",
    autocapitalize: "off",
    spellcheck: "false",
    "data-lpignore": "true",
    "data-1p-ignore": "true",
  });
}

/**
 * Inputs for ``exchange.credential_fields``.
 * @returns {{fields: HTMLElement[], first: HTMLInputElement, controls: Record<string, HTMLInputElement>, read: () => object|null}}
 */
export function credentialInputs(exchange) {
  const wanted = exchange.credential_fields || ["api_key", "secret"];
  const controls = {};
  const fields = [];
  for (const name of wanted) {
    const control = input(name, name === "api_key" ? "text" : "password");
    controls[name] = control;
    const hint = name === "passphrase" ? t("add.passphrase_hint", { exchange: exchange.name }) : name === "secret" ? t("add.secret_hint") : null;
    fields.push(field({ label: t(`add.${name}`), control, hint }));
  }
  return {
    fields,
    controls,
    first: controls[wanted[0]],
    /** The request body, or null after marking the empty fields. */
    read() {
      const body = {};
      let firstBad = null;
      for (const [name, control] of Object.entries(controls)) {
        const value = control.value.trim();
        setFieldError(control, value ? "" : t("val.required"));
        if (!value && !firstBad) firstBad = control;
        body[name] = value;
      }
      if (firstBad) {
        firstBad.focus();
        return null;
      }
      return body;
    },
  };
}

/** Empty every secret input (and the key: it is half of the credential). */
export function clearSecrets(inputs) {
  for (const control of Object.values(inputs.controls)) control.value = "";
}
