// One connection card: status badge, facts, live test progress, cause and remedy, warnings,
// the withdrawal confirmation, actions (test again, rename, rotate key, delete) and the
// connection's strategies. The card is built once and updated in place, so a form the user
// is typing in survives every refresh of the connection's status.

import * as api from "../api.js";
import { h, replace } from "../dom.js";
import { t, formatTime } from "../i18n.js";
import { exchangeInfo } from "../catalogue.js";
import { notify } from "../notices.js";
import { displayState, badge } from "./status.js";
import { Progress, errorCallout, warningCallouts } from "./testview.js";
import { attestationCallout } from "./attest.js";
import { renameForm, rotateForm } from "./cardforms.js";
import { confirmDialog } from "./dialog.js";
import { StrategiesSection } from "./strategies.js";

// How long "testing" is shown without any news before the API's status is trusted again.
const LIVE_GRACE_MS = 120000;

function marketsText(markets) {
  return (markets || []).map((m) => t(`market.${m}`)).join(" + ") || "—";
}

/** A connection card. ``ctx`` = {watch(id), refresh(id), removed(id)} from the page. */
export class Card {
  constructor(connection, ctx) {
    this.ctx = ctx;
    this.connection = connection;
    this.live = null; // {testId, startedAt, attempt, checks: Map} while a test runs
    const id = connection.id;
    this.titleEl = h("h2", { class: "card-title", id: `conn-${id}-title` });
    this.badgeSlot = h("span", {});
    this.facts = h("dl", { class: "facts" });
    this.progress = new Progress();
    this.checksBox = h("details", { class: "checks-box" }, h("summary", {}), this.progress.el);
    this.errorSlot = h("div", {});
    this.attestSlot = h("div", {});
    this.warnSlot = h("div", { class: "cards" });
    this.formSlot = h("div", {});
    this.strategies = new StrategiesSection(connection);
    this.testButton = h("button", { type: "button", class: "btn", "data-action": "test", onclick: () => this.testAgain() });
    this.renameButton = h("button", { type: "button", class: "btn", "data-action": "rename", onclick: () => this.openForm("rename") });
    this.rotateButton = h("button", { type: "button", class: "btn", "data-action": "rotate", onclick: () => this.openForm("rotate") });
    this.deleteButton = h("button", { type: "button", class: "btn btn-danger", "data-action": "delete", onclick: () => this.remove() });
    this.el = h(
      "article",
      { class: "card", "data-connection-id": id, "aria-labelledby": `conn-${id}-title` },
      h("header", { class: "card-head" }, this.titleEl, this.badgeSlot),
      h("div", { class: "card-body" }, this.facts, this.checksBox, this.errorSlot, this.attestSlot, this.warnSlot),
      h(
        "div",
        { class: "card-foot" },
        h("div", { class: "btn-row", role: "group", "aria-label": t("card.actions") }, this.testButton, this.renameButton, this.rotateButton, this.deleteButton),
        this.formSlot,
        this.strategies.el,
      ),
    );
    this.render();
  }

  /** New data for this connection from the API. */
  update(connection) {
    this.connection = connection;
    if (this.live && connection.status !== "testing" && this.liveIsOver(connection)) this.live = null;
    this.render();
  }

  /**
   * Whether the API's answer already holds the result of the test shown as running. Right
   * after "test again" the read model may still show the previous result for a moment; that
   * must not flip the card back to its old status.
   */
  liveIsOver(connection) {
    const resultId = connection.last_test?.test_id ?? null;
    // A retry keeps its test id and counts attempts: only a result of this attempt ends it.
    if (this.live.testId && resultId === this.live.testId) return (connection.last_test.attempt ?? 1) >= this.live.attempt;
    if (!this.live.testId && resultId !== this.live.previousTestId) return true;
    return Date.now() - this.live.since > LIVE_GRACE_MS;
  }

  /** A live event from the test stream. */
  event(type, data) {
    const payload = data && typeof data === "object" ? data : {};
    if (type === "test-started") {
      const attempt = payload.attempt ?? 1;
      if (this.live && this.live.testId === payload.test_id && this.live.attempt === attempt && this.live.startedAt) return;
      const checks = this.live && this.live.testId === payload.test_id && this.live.attempt === attempt ? this.live.checks : null;
      this.live = this.newLive({ testId: payload.test_id ?? null, startedAt: payload.started_at ?? payload.occurred_at ?? null, attempt });
      if (checks) this.live.checks = checks;
      this.connection = { ...this.connection, status: "testing" };
      this.render();
    } else if (type === "progress") {
      // One finished check ({test_id, check}) or the checks so far ({test_id, checks}).
      const checks = Array.isArray(payload.checks) ? payload.checks : [payload.check ?? payload];
      const known = checks.filter((check) => check && typeof check.name === "string");
      if (!known.length) return;
      if (!this.live || (payload.test_id && this.live.testId && payload.test_id !== this.live.testId)) {
        this.live = this.newLive({ testId: payload.test_id ?? null, attempt: payload.attempt ?? 1 });
      } else if (!this.live.testId && payload.test_id) {
        this.live.testId = payload.test_id;
      }
      for (const check of known) this.live.checks.set(check.name, check);
      this.render();
    }
  }

  render() {
    const c = this.connection;
    const info = exchangeInfo(c.exchange);
    const state = this.live ? { key: "testing", tone: "info" } : displayState(c);
    this.el.dataset.tone = state.tone;
    this.el.dataset.status = state.key;
    this.titleEl.textContent = c.name;
    replace(this.badgeSlot, badge(state));
    const lastTest = c.last_test;
    replace(
      this.facts,
      h("div", {}, h("dt", { text: t("card.exchange") }), h("dd", { text: info.name || c.exchange })),
      h("div", {}, h("dt", { text: t("card.markets") }), h("dd", { text: marketsText(c.markets) })),
      h("div", {}, h("dt", { text: t("card.key") }), h("dd", { class: "mono", "data-testid": "masked-key", text: c.api_key_masked ?? "—" })),
      h("div", {}, h("dt", { text: t("card.last_test") }), h("dd", { text: lastTest?.finished_at ? formatTime(lastTest.finished_at) : t("card.never") })),
    );
    this.renderChecks(state, lastTest);
    const showResult = !this.live && state.key !== "testing" && state.key !== "untested";
    replace(this.errorSlot, showResult ? errorCallout(lastTest, state) : null);
    replace(this.attestSlot, showResult && state.key === "awaiting" ? attestationCallout(c, info, () => this.afterAction("attested")) : null);
    replace(this.warnSlot, showResult ? warningCallouts(c.warnings ?? lastTest?.warnings) : []);
    const busy = state.key === "testing" || state.key === "untested";
    this.testButton.textContent = lastTest && !busy && state.key !== "online" ? t("action.run_again") : t("action.test");
    this.testButton.disabled = busy;
    this.renameButton.textContent = t("action.rename");
    this.rotateButton.textContent = t("action.rotate");
    this.deleteButton.textContent = t("action.delete");
    this.strategies.update(c);
  }

  renderChecks(state, lastTest) {
    const running = state.key === "testing" || state.key === "untested";
    const checks = running ? [...(this.live?.checks.values() ?? [])] : lastTest?.checks ?? [];
    this.checksBox.hidden = !running && !lastTest;
    const summary = this.checksBox.querySelector("summary");
    const okCount = checks.filter((check) => check.status === "ok").length;
    summary.textContent = running ? t("progress.summary_running", { done: checks.length }) : t("progress.summary", { ok: okCount, total: checks.length });
    // Open while something is happening or wrong; an Online card keeps its list folded.
    const wanted = running || state.tone !== "ok";
    if (this.lastOpenState !== wanted) {
      this.checksBox.open = wanted;
      this.lastOpenState = wanted;
    }
    const current = this.connection.current_test;
    this.progress.show({
      testId: running ? this.live?.testId ?? current?.test_id ?? "running" : lastTest?.test_id,
      running,
      checks,
      startedAt: running ? this.live?.startedAt ?? current?.started_at : lastTest?.started_at,
      attempt: running ? this.live?.attempt ?? current?.attempt : lastTest?.attempt,
    });
  }

  newLive({ testId = null, startedAt = null, attempt = 1, reason = null }) {
    return { testId, startedAt, attempt, reason, checks: new Map(), since: Date.now(), previousTestId: this.connection.last_test?.test_id ?? null };
  }

  /** After a call that starts a test: show "testing" at once and follow the live stream. */
  afterAction(reason, testId = null) {
    this.live = this.newLive({ testId, reason });
    this.render();
    this.ctx.watch(this.connection.id);
  }

  async testAgain() {
    this.testButton.disabled = true;
    try {
      const answer = await api.post(`/connections/${encodeURIComponent(this.connection.id)}/test`);
      this.afterAction("manual", answer?.test_id ?? null);
    } catch (error) {
      notify(error.message, "error");
      this.render();
    }
  }

  openForm(kind) {
    const close = () => {
      replace(this.formSlot);
      (kind === "rename" ? this.renameButton : this.rotateButton).focus();
    };
    const info = exchangeInfo(this.connection.exchange);
    const form =
      kind === "rename"
        ? renameForm(this.connection, {
            close,
            saved: (connection) => {
              this.update(connection);
              close();
            },
          })
        : rotateForm(this.connection, info, {
            close,
            saved: () => {
              close();
              this.afterAction("rotated");
            },
          });
    replace(this.formSlot, form);
    form.querySelector("input")?.focus();
  }

  async remove() {
    const name = this.connection.name;
    const exchange = exchangeInfo(this.connection.exchange).name;
    const yes = await confirmDialog({
      title: t("delete.title", { name }),
      body: [t("delete.secret_destroyed"), t("delete.strategies_stop"), t("delete.exchange_too", { exchange })],
      confirmLabel: t("delete.confirm"),
      danger: true,
    });
    if (!yes) return;
    try {
      await api.del(`/connections/${encodeURIComponent(this.connection.id)}`);
      notify(t("delete.done", { name }), "ok");
      this.ctx.removed(this.connection.id);
    } catch (error) {
      notify(error.message, "error");
    }
  }
}
