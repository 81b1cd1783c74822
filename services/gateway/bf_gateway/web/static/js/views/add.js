// "Add connection": the exchange (its fields come from GET /exchanges), where to create the
// key and which permissions to give it, the markets, a name (with suggestions), the
// credentials. The API decides (a duplicate name is refused with its message); the secret
// inputs are emptied after every submit, whatever the answer.

import * as api from "../api.js";
import { h, field, replace, setFieldError, uid } from "../dom.js";
import { t, has } from "../i18n.js";
import { loadExchanges, platformIps } from "../catalogue.js";
import { notify } from "../notices.js";
import { credentialInputs, clearSecrets } from "./credentials.js";
import { permissionTable } from "./permissions.js";
import { securityPanel } from "./security.js";

const SUFFIXES = ["main", "conservative", "moderate", "aggressive"];

/** Name suggestions such as "MEXC Spot Main" or "KuCoin Futures Conservative", minus taken ones. */
export function suggestNames(exchange, markets, taken) {
  const marketWords = markets.map((m) => t(`market.${m}`)).join(" ");
  const base = marketWords ? `${exchange.name} ${marketWords}` : exchange.name;
  const used = new Set(taken.map((n) => n.toLowerCase()));
  return SUFFIXES.map((s) => `${base} ${t(`name.${s}`)}`).filter((n) => !used.has(n.toLowerCase()));
}

function whereToCreate(exchange) {
  const key = has(`where.${exchange.id}`) ? `where.${exchange.id}` : "where.generic";
  return h(
    "div",
    { class: "callout is-info", "data-testid": "where" },
    h("h3", { text: t("where.title", { exchange: exchange.name }) }),
    h("p", { text: t(key, { exchange: exchange.name }) }),
    exchange.api_key_page
      ? h("p", {}, h("a", { href: exchange.api_key_page, target: "_blank", rel: "noopener noreferrer", text: t("where.open", { exchange: exchange.name }) }))
      : null,
  );
}

/** Render the page into ``target``. */
export async function renderAdd(target, { go }) {
  let exchanges = [];
  let taken = [];
  try {
    const [list, connections] = await Promise.all([loadExchanges(), api.get("/connections")]);
    exchanges = list;
    taken = (connections?.connections ?? []).map((c) => c.name);
  } catch (error) {
    notify(error.message, "error");
    return;
  }

  const exchangeSelect = h("select", { name: "exchange" }, exchanges.map((e) => h("option", { value: e.id, text: e.name })));
  const name = h("input", { type: "text", name: "name", maxlength: 64, required: true, autocomplete: "off" });
  const suggestions = h("div", { class: "chips", role: "group", "aria-label": t("add.suggestions") });
  const marketsBox = h("fieldset", {}, h("legend", { text: t("add.markets") }));
  const guide = h("div", { class: "form" });
  const credentialSlot = h("div", { class: "form" });
  const error = h("div", { class: "form-error", role: "alert", hidden: true, "data-testid": "form-error" });
  const submit = h("button", { type: "submit", class: "btn btn-primary", text: t("add.submit") });
  let inputs = null;
  let marketBoxes = {};

  const current = () => exchanges.find((e) => e.id === exchangeSelect.value) || exchanges[0];
  const chosenMarkets = () => Object.entries(marketBoxes).filter(([, box]) => box.checked).map(([m]) => m);

  const refreshGuide = () => {
    const exchange = current();
    replace(guide, whereToCreate(exchange), permissionTable(chosenMarkets(), platformIps()));
    replace(
      suggestions,
      suggestNames(exchange, chosenMarkets(), taken).map((text) =>
        h("button", { type: "button", class: "chip", text, onclick: () => { name.value = text; setFieldError(name, ""); name.focus(); } }),
      ),
    );
  };

  const buildForExchange = () => {
    const exchange = current();
    marketBoxes = {};
    replace(
      marketsBox,
      h("legend", { text: t("add.markets") }),
      h(
        "div",
        { class: "checks-inline" },
        (exchange.markets || ["spot"]).map((m, i) => {
          const id = uid("market");
          const box = h("input", { type: "checkbox", id, name: "markets", value: m, checked: i === 0, onchange: refreshGuide });
          marketBoxes[m] = box;
          return h("label", { class: "check-label", for: id }, box, t(`market.${m}`));
        }),
      ),
      h("div", { class: "field-error", id: "markets-error", role: "alert" }),
    );
    if (inputs) clearSecrets(inputs);
    inputs = credentialInputs(exchange);
    replace(credentialSlot, inputs.fields);
    refreshGuide();
  };

  exchangeSelect.addEventListener("change", buildForExchange);

  const form = h(
    "form",
    { class: "form", "data-form": "add", novalidate: true, autocomplete: "off" },
    error,
    field({ label: t("add.exchange"), control: exchangeSelect }),
    guide,
    marketsBox,
    h("div", { class: "field" }, field({ label: t("add.name"), control: name, hint: t("add.name_hint") }), suggestions),
    credentialSlot,
    h("div", { class: "btn-row" }, submit, h("a", { class: "btn", href: "#/connections", text: t("action.cancel") })),
  );

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.hidden = true;
    const markets = chosenMarkets();
    document.getElementById("markets-error").textContent = markets.length ? "" : t("add.markets_required");
    setFieldError(name, name.value.trim() ? "" : t("val.required"));
    const credentials = inputs.read();
    if (!name.value.trim()) return name.focus();
    if (!markets.length) return Object.values(marketBoxes)[0]?.focus();
    if (!credentials) return;
    submit.disabled = true;
    submit.textContent = t("add.saving");
    const wanted = name.value.trim();
    try {
      const created = await api.post("/connections", { exchange: current().id, name: wanted, markets, ...credentials }, { name: wanted });
      clearSecrets(inputs);
      notify(t("add.saved", { name: created?.name ?? wanted }), "ok");
      go("#/connections");
    } catch (e) {
      clearSecrets(inputs);
      error.textContent = e.message;
      error.hidden = false;
      // Point at the fields the API names (duplicate name, bad key format, ...).
      const controls = { name, ...inputs.controls };
      let first = null;
      for (const problem of e.fields) {
        const control = controls[problem.field];
        if (!control) continue;
        setFieldError(control, problem.field === "name" && e.code === "duplicate_name" ? e.message : problem.message);
        first = first || control;
      }
      if (first) first.focus();
      else error.scrollIntoView({ block: "nearest" });
    } finally {
      submit.disabled = false;
      submit.textContent = t("add.submit");
    }
  });

  buildForExchange();
  target.append(
    h(
      "div",
      { class: "layout" },
      h(
        "section",
        { class: "panel", "aria-labelledby": "add-title" },
        h("h1", { id: "add-title", text: t("add.title") }),
        h("p", { class: "muted", text: t("add.intro") }),
        form,
      ),
      securityPanel(),
    ),
  );
  exchangeSelect.focus();
}
