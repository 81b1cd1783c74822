// Short messages at the top of the page (saved, deleted, session expired, errors). The region
// is an aria-live area, so screen readers announce them too.

import { h } from "./dom.js";
import { t } from "./i18n.js";

const MAX_NOTICES = 3;

/**
 * Show a message; ok/info notices fade after a while, errors stay until dismissed.
 * @param {string} message
 * @param {"info"|"ok"|"error"} [kind]
 */
export function notify(message, kind = "info") {
  const region = document.getElementById("notices");
  // The same news twice is noise; and a few at a time is enough.
  for (const old of region.querySelectorAll(".notice")) if (old.firstChild?.textContent === message) old.remove();
  while (region.children.length >= MAX_NOTICES) region.firstElementChild.remove();
  const close = h("button", { type: "button", class: "btn btn-ghost btn-small", text: t("action.dismiss") });
  const notice = h("div", { class: `notice is-${kind}`, "data-kind": kind }, h("span", { text: message }), close);
  close.addEventListener("click", () => notice.remove());
  region.append(notice);
  if (kind !== "error") setTimeout(() => notice.remove(), 8000);
  return notice;
}

/** Remove every notice (on navigation between signed-in and signed-out pages). */
export function clearNotices() {
  document.getElementById("notices").replaceChildren();
}
