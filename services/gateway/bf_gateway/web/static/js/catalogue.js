// Data that changes rarely: the supported exchanges and the platform's egress IPs
// (GET /api/v1/exchanges), and the strategy presets and pair groups (served with the
// dashboard). Loaded once per page load and shared by the views.

import * as api from "./api.js";

let exchanges = null;
let egressIps = [];
let platform = null;

/** Every supported exchange: {id, name, credential_fields, markets, api_key_page, ...}. */
export async function loadExchanges() {
  if (!exchanges) {
    const answer = await api.get("/exchanges");
    exchanges = answer?.exchanges ?? [];
    egressIps = answer?.egress_ips ?? [];
  }
  return exchanges;
}

/** The IPs users add to their keys' whitelist (after loadExchanges). */
export function platformIps() {
  return egressIps;
}

/** One exchange by id (after loadExchanges), or a minimal stand-in for an unknown id. */
export function exchangeInfo(id) {
  return (exchanges || []).find((e) => e.id === id) || { id, name: id, credential_fields: ["api_key", "secret"], markets: ["spot"] };
}

/** ``{strategy_presets, pair_groups}``: what the strategy form pre-fills. */
export async function loadPlatform() {
  if (!platform) {
    try {
      const response = await fetch("/app/config.json", { headers: { Accept: "application/json" } });
      platform = response.ok ? await response.json() : {};
    } catch {
      platform = {};
    }
  }
  return platform;
}
