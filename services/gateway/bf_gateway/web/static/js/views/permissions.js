// The permissions a key needs, shown before the user submits it:
// Read ✓, Trade ✓, Withdraw ✗, Futures only when the futures market is wanted, and an IP
// whitelist (recommended) with the platform's egress IPs to copy.

import { h } from "../dom.js";
import { t } from "../i18n.js";
import { ipList } from "./testview.js";

function row(permission, mark, setting, extra = null) {
  const symbol = { yes: "✓", no: "✗", maybe: "○" }[mark];
  return h(
    "tr",
    { "data-permission": permission },
    h("th", { scope: "row", text: t(`perm.${permission}`) }),
    h("td", {}, h("span", { class: `mark ${mark}`, "aria-hidden": "true", text: symbol }), h("span", { text: setting }), extra),
  );
}

/** The table for the chosen ``markets``. */
export function permissionTable(markets, egressIps) {
  const futures = markets.includes("futures");
  return h(
    "div",
    { "data-testid": "permission-table" },
    h("h2", { text: t("perm.title") }),
    h(
      "table",
      { class: "perm-table" },
      h("caption", { class: "visually-hidden", text: t("perm.title") }),
      h("thead", {}, h("tr", {}, h("th", { scope: "col", text: t("perm.col.permission") }), h("th", { scope: "col", text: t("perm.col.setting") }))),
      h(
        "tbody",
        {},
        row("read", "yes", t("perm.enable")),
        row("trade", "yes", t("perm.enable")),
        row("withdraw", "no", t("perm.never")),
        row("futures", futures ? "yes" : "maybe", futures ? t("perm.enable_futures") : t("perm.only_futures")),
        row(
          "ip",
          "yes",
          t("perm.recommended"),
          egressIps.length ? h("div", {}, h("span", { class: "hint", text: t("perm.ips") }), ipList(egressIps)) : h("div", { class: "hint", text: t("perm.no_ips") }),
        ),
      ),
    ),
  );
}
