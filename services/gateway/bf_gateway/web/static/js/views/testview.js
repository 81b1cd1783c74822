// The parts of a card that show a connection test: the checks (appearing as they finish),
// the cause and remedy of a failure, the automatic retry and its time, and the warnings.

import { h } from "../dom.js";
import { t, has, language, formatTime, formatRelative } from "../i18n.js";

const ICONS = { ok: "✓", warning: "!", failed: "✗", skipped: "–", pending: "…" };

/** The label of a check, from the catalogue (a check unknown to it shows the API's label or name). */
export function checkLabel(check) {
  if (has(`check.${check.name}`)) return t(`check.${check.name}`);
  return check.label || check.name;
}

/**
 * The line under a check. The tester words its details in English, with specifics (the
 * exchange's error code, the IPs); in English they are shown as they come. In another
 * language the catalogue's outcome for that check and status is shown instead, so the page
 * never mixes languages; the specifics are in the cause, remedy and warnings, which the API
 * translates.
 */
export function checkDetail(check) {
  const key = `check.${check.name}.${check.status}`;
  if (language() !== "en" && has(key)) return t(key);
  return check.detail || (has(key) ? t(key) : "");
}

function checkRow(check, fresh) {
  const status = check.status in ICONS ? check.status : "pending";
  return h(
    "li",
    { class: `check-row${fresh ? " is-new" : ""}`, "data-check": check.name, "data-status": status },
    h("span", { class: "icon", "aria-hidden": "true", text: ICONS[status] }),
    h("span", {}, h("span", { class: "name", text: checkLabel(check) }), checkDetail(check) ? h("span", { class: "detail", text: checkDetail(check) }) : null),
    h("span", { class: "state", text: t(`check.status.${status}`) }),
  );
}

/**
 * The live progress panel. Rows already on screen are kept and new ones appended, so a
 * screen reader announces only what just finished (the list is an aria-live region).
 */
export class Progress {
  constructor() {
    this.list = h("ul", { class: "check-list", "aria-live": "polite" });
    this.title = h("strong", {});
    this.spinner = h("span", { class: "spinner", "aria-hidden": "true" });
    this.meta = h("span", { class: "muted small" });
    this.el = h(
      "div",
      { class: "progress", "data-testid": "progress" },
      h("div", { class: "progress-head" }, h("span", {}, this.spinner, " ", this.title), this.meta),
      this.list,
    );
    this.seen = new Map();
    this.testId = null;
  }

  /** Show the progress of ``testId``; checks of another test clear the list first. */
  show({ testId, running, checks, startedAt, attempt }) {
    if (testId && testId !== this.testId) {
      this.testId = testId;
      this.seen.clear();
      this.list.replaceChildren();
    }
    this.el.dataset.running = running ? "true" : "false";
    this.spinner.hidden = !running;
    this.title.textContent = running ? t("progress.running") : t("progress.finished");
    const parts = [];
    if (startedAt) parts.push(t("progress.started_at", { time: formatTime(startedAt) }));
    if (attempt && attempt > 1) parts.push(t("progress.attempt", { n: attempt }));
    this.meta.textContent = parts.join(" · ");
    for (const check of checks || []) {
      const signature = `${check.status}|${checkDetail(check)}|${checkLabel(check)}`;
      const previous = this.seen.get(check.name);
      if (previous?.signature === signature) continue;
      const row = checkRow(check, !previous);
      if (previous) previous.row.replaceWith(row);
      else this.list.append(row);
      this.seen.set(check.name, { signature, row });
    }
    for (const placeholder of this.list.querySelectorAll("[data-placeholder]")) placeholder.remove();
    if (running && this.seen.size === 0) {
      this.list.append(h("li", { class: "muted small", "data-placeholder": "true", text: t("progress.waiting") }));
    }
  }
}

/** Cause and remedy of a failed test, plus the retry the system has scheduled. */
export function errorCallout(lastTest, state) {
  const error = lastTest?.error;
  if (!error) return null;
  const tone = state.key === "retrying" || state.key === "awaiting" ? "is-warn" : "is-bad";
  const retry = lastTest.next_retry_at
    ? h(
        "p",
        { class: "retry", "data-testid": "retry" },
        t("progress.retry_at", {
          n: (lastTest.attempt || 1) + 1,
          time: formatTime(lastTest.next_retry_at),
          relative: formatRelative(lastTest.next_retry_at),
        }),
      )
    : null;
  const titleKey = has(`error.title.${error.code}`) ? `error.title.${error.code}` : "progress.error_title";
  return h(
    "div",
    { class: `callout ${tone}`, role: "group", "aria-label": t(titleKey), "data-testid": "error", "data-code": error.code },
    h("h3", { text: t(titleKey) }),
    h(
      "dl",
      {},
      h("dt", { text: t("progress.cause") }),
      h("dd", { "data-testid": "cause", text: error.cause }),
      h("dt", { text: t("progress.remedy") }),
      h("dd", { "data-testid": "remedy", text: error.remedy }),
    ),
    retry,
  );
}

function copyButton(text, label) {
  const button = h("button", { type: "button", class: "btn btn-small", text: label, "aria-label": t("action.copy_ips") });
  button.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(text);
      button.textContent = t("action.copied");
    } catch {
      button.textContent = t("action.copy_failed");
    }
    setTimeout(() => (button.textContent = label), 2000);
  });
  return button;
}

/** The platform's IPs, each readable and all copyable at once. */
export function ipList(ips) {
  if (!ips?.length) return null;
  return h(
    "div",
    { class: "ip-list", "data-testid": "ips" },
    ips.map((ip) => h("code", { class: "ip", text: ip })),
    copyButton(ips.join(", "), t("action.copy")),
  );
}

/** One callout per warning (no IP whitelist, key reused, key expiring), texts from the API. */
export function warningCallouts(warnings) {
  return (warnings || []).map((warning) => {
    const titleKey = has(`warn.${warning.code}`) ? `warn.${warning.code}` : "warn.generic";
    return h(
      "div",
      { class: "callout is-warn", "data-testid": "warning", "data-code": warning.code },
      h("h3", { text: t(titleKey) }),
      warning.message ? h("p", { text: warning.message }) : null,
      warning.remedy ? h("p", { text: warning.remedy }) : null,
      warning.days_left != null ? h("p", { class: "small", text: t("warn.days_left", { n: warning.days_left }) }) : null,
      ipList(warning.egress_ips),
    );
  });
}
