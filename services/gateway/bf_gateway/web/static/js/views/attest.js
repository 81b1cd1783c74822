// Withdrawal unknown: the exchange cannot tell whether the key may withdraw, so the connection
// stays off until the user confirms, explicitly, that withdrawal is disabled. The button only
// works once the box is ticked; the confirmation is recorded and audited by the API.

import * as api from "../api.js";
import { h, uid } from "../dom.js";
import { t } from "../i18n.js";
import { notify } from "../notices.js";

/** The explanation and the confirmation control; ``done`` runs after the API accepted it. */
export function attestationCallout(connection, exchange, done) {
  const boxId = uid("attest");
  const box = h("input", { type: "checkbox", id: boxId, name: "withdraw_disabled" });
  const submit = h("button", { type: "button", class: "btn btn-primary", text: t("attest.submit"), disabled: true, "data-action": "attest" });
  const error = h("div", { class: "field-error", role: "alert" });
  box.addEventListener("change", () => (submit.disabled = !box.checked));
  submit.addEventListener("click", async () => {
    if (!box.checked) return;
    submit.disabled = true;
    try {
      await api.post(`/connections/${encodeURIComponent(connection.id)}/attestations`, { withdraw_disabled: true });
      notify(t("attest.done"), "ok");
      done();
    } catch (e) {
      error.textContent = e.message;
      submit.disabled = false;
    }
  });
  return h(
    "div",
    { class: "callout is-info", "data-testid": "attestation" },
    h("h3", { text: t("attest.title") }),
    h("p", { text: t("attest.explain", { exchange: exchange.name }) }),
    h("p", { text: t("attest.how", { exchange: exchange.name }) }),
    h("div", { class: "field" }, h("label", { class: "check-label", for: boxId }, box, t("attest.checkbox"))),
    error,
    h("div", { class: "btn-row" }, submit),
  );
}
