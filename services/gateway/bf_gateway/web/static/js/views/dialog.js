// A modal confirmation built on <dialog>: the browser traps focus, Escape cancels, and focus
// returns to the button that opened it.

import { h } from "../dom.js";
import { t } from "../i18n.js";

/**
 * Ask for confirmation; resolves true only when the user presses the confirm button.
 * @param {{title: string, body: string[], confirmLabel: string, danger?: boolean}} options
 */
export function confirmDialog({ title, body, confirmLabel, danger = false }) {
  return new Promise((resolve) => {
    const opener = document.activeElement;
    const cancel = h("button", { type: "button", class: "btn", text: t("action.cancel") });
    const confirm = h("button", { type: "button", class: danger ? "btn btn-danger-solid" : "btn btn-primary", text: confirmLabel });
    const dialog = h(
      "dialog",
      { "aria-labelledby": "dialog-title", "aria-describedby": "dialog-body" },
      h("h2", { id: "dialog-title", text: title }),
      h("div", { id: "dialog-body" }, body.map((line) => h("p", { text: line }))),
      h("div", { class: "btn-row" }, confirm, cancel),
    );
    let answer = false;
    confirm.addEventListener("click", () => {
      answer = true;
      dialog.close();
    });
    cancel.addEventListener("click", () => dialog.close());
    dialog.addEventListener("close", () => {
      dialog.remove();
      if (opener && opener.isConnected) opener.focus();
      resolve(answer);
    });
    document.body.append(dialog);
    dialog.showModal();
    // The safe choice has the focus: Enter on an accidental keypress does not delete.
    cancel.focus();
  });
}
