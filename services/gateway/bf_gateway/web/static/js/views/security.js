// The security principles every trader should follow with exchange API keys.

import { h } from "../dom.js";
import { t } from "../i18n.js";

const PRINCIPLES = ["never_withdraw", "separate_keys", "ip_restrict", "delete_old", "twofa"];

/** The panel shown beside the connections. */
export function securityPanel() {
  return h(
    "aside",
    { class: "panel", "aria-labelledby": "security-title", id: "security-panel" },
    h("h2", { id: "security-title", text: t("sec.title") }),
    h(
      "ol",
      { class: "principles" },
      PRINCIPLES.map((key) => h("li", {}, h("strong", { text: t(`sec.${key}.title`) }), h("span", { class: "muted small", text: t(`sec.${key}.body`) }))),
    ),
  );
}
