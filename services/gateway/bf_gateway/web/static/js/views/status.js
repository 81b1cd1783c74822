// What a connection's state means to the trader: the badge, its colour, and the card's tone.

import { h } from "../dom.js";
import { t } from "../i18n.js";

/**
 * The displayed state of a connection.
 * "rejected" (withdrawal enabled) and "awaiting" (withdrawal unknown, needs the user's
 * confirmation) are failures the trader must act on differently from any other failure, so
 * they get their own badge; a failure the system is going to retry is shown as "retrying".
 * @returns {{key: string, tone: "ok"|"bad"|"warn"|"info"}}
 */
export function displayState(connection) {
  const code = connection.last_test?.error?.code;
  switch (connection.status) {
    case "online":
      return { key: "online", tone: "ok" };
    case "testing":
      return { key: "testing", tone: "info" };
    case "untested":
      return { key: "untested", tone: "info" };
    case "failed":
      if (code === "withdraw_enabled") return { key: "rejected", tone: "bad" };
      if (code === "withdraw_unconfirmed") return { key: "awaiting", tone: "warn" };
      if (connection.last_test?.next_retry_at) return { key: "retrying", tone: "warn" };
      return { key: "failed", tone: "bad" };
    default:
      return { key: "unknown", tone: "warn" };
  }
}

/** The status pill. */
export function badge(state) {
  return h("span", { class: "badge", "data-tone": state.tone, "data-state": state.key, text: t(`status.${state.key}`) });
}
