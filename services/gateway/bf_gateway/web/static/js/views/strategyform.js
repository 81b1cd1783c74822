// The "enable a strategy" form. A risk level fills every field with the server's own preset
// (served in /app/config.json from the module the API resolves requests with); each field is
// checked as the user types, with the same bounds the API enforces; the body of DESIGN.md's
// POST /connections/{id}/strategies is sent whole, so what the user saw is what runs.

import * as api from "../api.js";
import { h, field, setFieldError } from "../dom.js";
import { t, formatNumber } from "../i18n.js";
import { loadPlatform } from "../catalogue.js";

// name: [min, max, integer, minExclusive]; the bounds of bf_shared.strategy's models.
const LIMITS = {
  base_order_quote: [0, 1e12, false, true],
  margin_limit_quote: [0, 1e12, false, true],
  max_adds: [0, 25, true, false],
  step_pct: [0, 50, false, true],
  size_multiplier: [0.1, 10, false, false],
  step_multiplier: [0.5, 5, false, false],
  take_profit_pct: [0, 100, false, true],
  trigger_drawdown_pct: [0, 99.99, false, true],
  partial_close_pct: [0, 99.99, false, false],
};
const PAIR = /^[A-Z0-9]{1,20}\/[A-Z0-9]{1,12}$/;

/** The pairs typed by the user, normalised ("btc/usdt, eth/usdt" -> ["BTC/USDT", "ETH/USDT"]). */
export function parsePairs(text) {
  return text.split(/[\s,;]+/).map((p) => p.trim().toUpperCase()).filter(Boolean);
}

/** Quote currency one pair's full ladder needs: the base order plus every reinforcement. */
export function ladderCost({ base_order_quote, max_adds, size_multiplier }) {
  let total = base_order_quote;
  for (let n = 1; n <= max_adds; n += 1) total += base_order_quote * size_multiplier ** n;
  return total;
}

function flatPreset(preset) {
  const r = preset.reinforcement || {};
  const m = preset.recovery_mode || {};
  return {
    base_order_quote: preset.base_order_quote,
    max_adds: r.max_adds,
    step_pct: r.step_pct,
    size_multiplier: r.size_multiplier,
    step_multiplier: r.step_multiplier,
    take_profit_pct: preset.take_profit_pct,
    recovery: m.enabled,
    trigger_drawdown_pct: m.trigger_drawdown_pct,
    exit: m.exit,
    partial_close_pct: m.partial_close_pct,
  };
}

function number(name) {
  const [min, max, integer] = LIMITS[name];
  return h("input", { type: "number", name, min, max, step: integer ? 1 : "any", inputmode: integer ? "numeric" : "decimal" });
}

function select(name, options) {
  return h("select", { name }, options.map(([value, text]) => h("option", { value, text })));
}

/** The form element; ``created(strategy)`` runs after the API accepted it. */
export async function strategyForm(connection, { close, created }) {
  const platform = await loadPlatform();
  const presets = platform.strategy_presets || {};
  const groups = platform.pair_groups || {};
  const c = {
    name: h("input", { type: "text", name: "name", maxlength: 80, autocomplete: "off" }),
    group: select("pair_group", [["", t("strat.custom_pairs")], ...Object.keys(groups).map((g) => [g, `${g} (${groups[g].join(", ")})`])]),
    pairs: h("input", { type: "text", name: "pairs", autocomplete: "off", autocapitalize: "characters", placeholder: "BTC/USDT, ETH/USDT" }),
    market: select("market", (connection.markets || ["spot"]).map((m) => [m, t(`market.${m}`)])),
    risk_level: select("risk_level", Object.keys(presets).map((r) => [r, t(`risk.${r}`)])),
    recovery: h("input", { type: "checkbox", name: "recovery", id: `recovery-${connection.id}` }),
    exit: select("exit", ["breakeven", "take_profit"].map((e) => [e, t(`exit.${e}`)])),
  };
  for (const name of Object.keys(LIMITS)) c[name] = number(name);
  const ladder = h("p", { class: "hint", "aria-live": "polite" });
  const error = h("div", { class: "form-error", role: "alert", hidden: true, tabindex: "-1" });
  // The margin limit follows the ladder (the server's default) until the user sets it.
  let marginTouched = false;

  const values = () => Object.fromEntries(Object.keys(LIMITS).map((k) => [k, Number(c[k].value)]));
  const pairs = () => (c.group.value ? groups[c.group.value] : parsePairs(c.pairs.value));

  const validate = (strict) => {
    let firstBad = null;
    const flag = (control, message) => {
      setFieldError(control, message);
      if (message && !firstBad) firstBad = control;
    };
    flag(c.name, strict && !c.name.value.trim() ? t("val.required") : "");
    const list = pairs();
    const badPair = list.find((p) => !PAIR.test(p));
    flag(c.pairs, badPair ? t("val.pair", { pair: badPair }) : strict && !list.length ? t("val.required") : "");
    const v = values();
    if (!marginTouched) {
      const full = ladderCost(v) * Math.max(list.length, 1);
      if (Number.isFinite(full) && full > 0) c.margin_limit_quote.value = String(Math.ceil(full * 100) / 100);
      v.margin_limit_quote = Number(c.margin_limit_quote.value);
    }
    for (const [key, [min, max, integer, exclusive]] of Object.entries(LIMITS)) {
      const raw = c[key].value;
      const x = v[key];
      if (raw === "") flag(c[key], strict ? t("val.required") : "");
      else if (!Number.isFinite(x) || x > max || x < min || (exclusive && x === min)) flag(c[key], t(exclusive ? "val.range_open" : "val.range", { min, max }));
      else if (integer && !Number.isInteger(x)) flag(c[key], t("val.integer"));
      else flag(c[key], "");
    }
    if (!c.margin_limit_quote.hasAttribute("aria-invalid") && v.margin_limit_quote < v.base_order_quote) {
      flag(c.margin_limit_quote, t("val.margin_below_base"));
    }
    c.pairs.disabled = Boolean(c.group.value);
    for (const key of ["trigger_drawdown_pct", "exit", "partial_close_pct"]) c[key].disabled = !c.recovery.checked;
    const perPair = ladderCost(v);
    ladder.textContent =
      Number.isFinite(perPair) && perPair > 0
        ? t(perPair * Math.max(list.length, 1) > v.margin_limit_quote ? "strat.ladder_capped" : "strat.ladder", {
            cost: formatNumber(perPair * Math.max(list.length, 1)),
            pairs: Math.max(list.length, 1),
            limit: formatNumber(v.margin_limit_quote),
          })
        : "";
    return firstBad;
  };

  const applyPreset = () => {
    const preset = presets[c.risk_level.value];
    if (!preset) return;
    for (const [key, value] of Object.entries(flatPreset(preset))) {
      if (value === undefined || value === null) continue;
      if (key === "recovery") c.recovery.checked = Boolean(value);
      else c[key].value = String(value);
    }
    marginTouched = false;
    validate(false);
  };

  c.risk_level.addEventListener("change", applyPreset);
  c.margin_limit_quote.addEventListener("input", () => (marginTouched = true));
  const form = h(
    "form",
    { class: "inline-form form", "data-form": "strategy", "aria-label": t("strat.enable"), novalidate: true },
    error,
    field({ label: t("strat.name"), control: c.name }),
    h("div", { class: "grid-2" }, field({ label: t("strat.pair_group"), control: c.group }), field({ label: t("strat.pairs"), control: c.pairs, hint: t("strat.pairs_hint") })),
    h("div", { class: "grid-2" }, field({ label: t("strat.market"), control: c.market }), field({ label: t("strat.risk"), control: c.risk_level, hint: t("strat.risk_hint") })),
    h("div", { class: "grid-2" }, field({ label: t("strat.base_order"), control: c.base_order_quote }), field({ label: t("strat.margin_limit"), control: c.margin_limit_quote, hint: t("strat.margin_hint") })),
    h(
      "fieldset",
      {},
      h("legend", { text: t("strat.reinforcement") }),
      h(
        "div",
        { class: "grid-2" },
        field({ label: t("strat.max_adds"), control: c.max_adds }),
        field({ label: t("strat.step_pct"), control: c.step_pct }),
        field({ label: t("strat.size_multiplier"), control: c.size_multiplier }),
        field({ label: t("strat.step_multiplier"), control: c.step_multiplier }),
      ),
      ladder,
    ),
    field({ label: t("strat.take_profit"), control: c.take_profit_pct }),
    h(
      "fieldset",
      {},
      h("legend", { text: t("strat.recovery") }),
      h("label", { class: "check-label", for: c.recovery.id }, c.recovery, t("strat.recovery_enabled")),
      h("p", { class: "hint", text: t("strat.recovery_hint") }),
      h(
        "div",
        { class: "grid-3" },
        field({ label: t("strat.trigger"), control: c.trigger_drawdown_pct }),
        field({ label: t("strat.exit"), control: c.exit }),
        field({ label: t("strat.partial"), control: c.partial_close_pct, hint: t("strat.partial_hint") }),
      ),
    ),
    h(
      "div",
      { class: "btn-row" },
      h("button", { type: "submit", class: "btn btn-primary", text: t("strat.submit") }),
      h("button", { type: "button", class: "btn", text: t("action.cancel"), onclick: close }),
    ),
  );
  form.addEventListener("input", () => validate(false));
  form.addEventListener("change", () => validate(false));
  form.addEventListener("keydown", (event) => event.key === "Escape" && close());
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.hidden = true;
    const firstBad = validate(true);
    if (firstBad) return firstBad.focus();
    const v = values();
    const body = {
      name: c.name.value.trim(),
      ...(c.group.value ? { pair_group: c.group.value } : { pairs: pairs() }),
      market: c.market.value,
      risk_level: c.risk_level.value,
      base_order_quote: v.base_order_quote,
      margin_limit_quote: v.margin_limit_quote,
      reinforcement: { max_adds: v.max_adds, step_pct: v.step_pct, size_multiplier: v.size_multiplier, step_multiplier: v.step_multiplier },
      take_profit_pct: v.take_profit_pct,
      recovery_mode: { enabled: c.recovery.checked, trigger_drawdown_pct: v.trigger_drawdown_pct, exit: c.exit.value, partial_close_pct: v.partial_close_pct },
    };
    try {
      created(await api.post(`/connections/${encodeURIComponent(connection.id)}/strategies`, body));
    } catch (e) {
      error.textContent = e.message;
      error.hidden = false;
      error.focus();
    }
  });
  applyPreset();
  return form;
}
