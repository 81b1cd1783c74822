// Entry point: language, session, and a hash router between the few pages of the dashboard.
// Everything is rendered in the browser from the gateway's JSON API; no build step.

import { initI18n, language, setLanguage, onLanguageChange, t, translateStatic } from "./i18n.js";
import * as api from "./api.js";
import * as session from "./session.js";
import { notify, clearNotices } from "./notices.js";
import { renderLogin, renderRegister } from "./views/auth.js";
import { renderConnections, leaveConnections } from "./views/connections.js";
import { renderAdd } from "./views/add.js";

const main = () => document.getElementById("main");

const ROUTES = {
  "#/login": { view: renderLogin, auth: false },
  "#/register": { view: renderRegister, auth: false },
  "#/connections": { view: renderConnections, auth: true, nav: "nav-connections" },
  "#/connections/new": { view: renderAdd, auth: true, nav: "nav-add" },
};

/** Navigate to ``hash`` (re-rendering even when already there). */
export function go(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

function updateChrome() {
  const signedIn = session.current();
  document.getElementById("topnav").hidden = !signedIn;
  document.getElementById("logout").hidden = !signedIn;
  const email = document.getElementById("user-email");
  email.hidden = !signedIn;
  email.textContent = signedIn?.email ?? "";
}

async function route() {
  leaveConnections();
  const hash = location.hash || "#/connections";
  const entry = ROUTES[hash] || ROUTES["#/connections"];
  if (entry.auth && !session.current()) {
    location.replace("#/login");
    return route();
  }
  if (!entry.auth && session.current()) {
    location.replace("#/connections");
    return route();
  }
  updateChrome();
  for (const link of document.querySelectorAll(".topnav a")) {
    if (link.id === entry.nav) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  const target = main();
  target.replaceChildren();
  await entry.view(target, { go });
  document.title = `${t(`title.${hash.slice(2).replace("/", "_")}`)} · BackFuture Connect`;
}

async function boot() {
  await initI18n();
  translateStatic();
  const select = document.getElementById("lang-select");
  select.value = language();
  select.addEventListener("change", () => setLanguage(select.value));
  onLanguageChange(() => {
    clearNotices(); // they were worded in the previous language
    translateStatic();
    select.value = language();
    route();
  });

  session.onExpired(() => {
    clearNotices();
    notify(t("auth.expired"), "info");
    go("#/login");
  });
  session.resume();

  document.getElementById("logout").addEventListener("click", async () => {
    // Revoke the token on the server too; signing out locally must not wait on the network.
    const revoke = api.post("/auth/logout").catch(() => {});
    await Promise.race([revoke, new Promise((resolve) => setTimeout(resolve, 1500))]);
    session.end();
    clearNotices();
    notify(t("auth.logged_out"), "ok");
    go("#/login");
  });

  window.addEventListener("hashchange", () => route());
  await route();
  document.body.dataset.ready = "true";
}

boot();
