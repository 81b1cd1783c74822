// A connection's strategies: the list with each one's state, and the form that enables one.
// Built against DESIGN.md's strategy contract. While the API answers 404 (the strategies API
// is not deployed) the whole section stays hidden instead of showing an error.

import * as api from "../api.js";
import { h } from "../dom.js";
import { t, has, formatNumber } from "../i18n.js";
import { notify } from "../notices.js";
import { strategyForm } from "./strategyform.js";

const ABSENT = new Set([404, 405, 501]);

/** The strategies block of one card. */
export class StrategiesSection {
  constructor(connection) {
    this.connection = connection;
    this.items = [];
    this.present = false;
    this.loadedFor = null;
    this.list = h("ul", { class: "strategy-list" });
    this.formSlot = h("div", {});
    this.note = h("p", { class: "muted small" });
    this.heading = h("h3", {});
    this.openButton = h("button", { type: "button", class: "btn btn-small", "data-action": "enable-strategy", onclick: () => this.openForm() });
    this.el = h(
      "section",
      { class: "strategies", hidden: true, "data-testid": "strategies" },
      h("div", { class: "page-head" }, this.heading, this.openButton),
      this.note,
      this.list,
      this.formSlot,
    );
  }

  /** New connection data; reloads the strategies when the connection's status changed. */
  update(connection) {
    this.connection = connection;
    this.renderLabels();
    this.showOrHide();
    if (this.loadedFor !== connection.status) {
      this.loadedFor = connection.status;
      this.load();
    }
  }

  renderLabels() {
    const online = this.connection.status === "online";
    this.heading.textContent = t("strat.title");
    this.openButton.textContent = t("strat.enable");
    this.openButton.disabled = !online;
    this.note.textContent = online ? "" : t("strat.not_online");
    this.note.hidden = online;
    if (!online) this.formSlot.replaceChildren();
  }

  async load() {
    try {
      this.items = (await api.get(`/connections/${encodeURIComponent(this.connection.id)}/strategies`))?.strategies ?? [];
      this.present = true;
      this.renderList();
    } catch (error) {
      // Absent API: stay hidden. Anything else is worth saying, once the section is visible.
      if (ABSENT.has(error.status)) this.present = false;
      else if (this.present) notify(error.message, "error");
    }
    this.showOrHide();
  }

  /**
   * Shown when there is something to see or do: the connection is Online (strategies can be
   * enabled) or it has strategies (paused while it is not). Never while the API is absent.
   */
  showOrHide() {
    this.el.hidden = !this.present || (this.connection.status !== "online" && this.items.length === 0);
  }

  renderList() {
    if (!this.items.length) {
      this.list.replaceChildren(h("li", { class: "muted small", text: t("strat.empty") }));
      return;
    }
    this.list.replaceChildren(...this.items.map((s) => this.row(s)));
  }

  row(strategy) {
    const params = strategy;
    const state = strategy.status || "starting";
    const tone = { running: "ok", starting: "info", paused: "warn", disabled: "warn", failed: "bad" }[state] || "info";
    // Known reasons are translated; a failure shows the runner's own error.
    let reason = "";
    if (strategy.reason && has(`strat.reason.${strategy.reason}`)) reason = t(`strat.reason.${strategy.reason}`);
    else if (state === "failed") reason = strategy.error?.detail || strategy.error?.code || "";
    const quote = (params.pairs?.[0] || "/").split("/")[1];
    const figures = t("strat.figures", {
      exposure: formatNumber(strategy.exposure_quote ?? 0),
      limit: formatNumber(params.margin_limit_quote ?? 0),
      pnl: formatNumber(strategy.realized_pnl_quote ?? 0),
      quote,
    });
    const act = (label, named, call) => {
      const button = h("button", { type: "button", class: "btn btn-small", text: t(label), "aria-label": t(named, { name: params.name }) });
      button.addEventListener("click", async () => {
        button.disabled = true;
        try {
          await call();
          await this.load();
        } catch (error) {
          notify(error.message, "error");
          button.disabled = false;
        }
      });
      return button;
    };
    const path = `/strategies/${encodeURIComponent(strategy.id)}`;
    const pausedByUser = strategy.paused_by_user || strategy.reason === "user";
    const actions = [];
    if (state === "running" || state === "starting") actions.push(act("strat.pause", "strat.pause_named", () => api.patch(path, { paused: true })));
    if (state === "paused" && pausedByUser) actions.push(act("strat.resume", "strat.resume_named", () => api.patch(path, { paused: false })));
    if (state !== "disabled") {
      const disable = act("strat.disable", "strat.disable_named", async () => {
        await api.del(path);
        notify(t("strat.disabled_done", { name: params.name }), "ok");
      });
      disable.classList.add("btn-danger");
      actions.push(disable);
    }
    return h(
      "li",
      { class: "strategy-row", "data-strategy-id": strategy.id, "data-status": state },
      h(
        "span",
        {},
        h("strong", { text: params.name }),
        " ",
        h("span", { class: "muted small", text: `${(params.pairs || []).join(", ")} · ${t(`market.${params.market}`)} · ${t(`risk.${params.risk_level}`)}` }),
        reason ? h("span", { class: "detail muted small", text: ` — ${reason}` }) : null,
        h("span", { class: "detail muted small", text: figures }),
      ),
      h("span", { class: "btn-row" }, h("span", { class: "badge", "data-tone": tone, text: t(`strat.status.${state}`) }), actions),
    );
  }

  async openForm() {
    const close = () => {
      this.formSlot.replaceChildren();
      this.openButton.focus();
    };
    const form = await strategyForm(this.connection, {
      close,
      created: async (strategy) => {
        notify(t("strat.enabled_done", { name: strategy?.name ?? "" }), "ok");
        close();
        await this.load();
      },
    });
    this.formSlot.replaceChildren(form);
    form.querySelector("input")?.focus();
  }
}
