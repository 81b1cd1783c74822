// Interface language: English, French, Bulgarian; English is the fallback for any missing key.
// The choice is kept in localStorage and sent to the API as Accept-Language, so the server's
// causes and remedies come back in the same language as the page.

export const LANGUAGES = ["en", "fr", "bg"];
const STORAGE_KEY = "bf.lang";

let current = "en";
let english = {};
let active = {};
const listeners = new Set();

async function load(lang) {
  const response = await fetch(`/app/locales/${lang}.json`, { headers: { Accept: "application/json" } });
  if (!response.ok) throw new Error(`locale ${lang}: HTTP ${response.status}`);
  return response.json();
}

function initialLanguage() {
  const saved = localStorage.getItem(STORAGE_KEY);
  if (LANGUAGES.includes(saved)) return saved;
  for (const tag of navigator.languages || [navigator.language || "en"]) {
    const base = String(tag).toLowerCase().split("-")[0];
    if (LANGUAGES.includes(base)) return base;
  }
  return "en";
}

/** Load English plus the saved (or browser) language. */
export async function initI18n() {
  english = await load("en");
  await applyLanguage(initialLanguage());
}

async function applyLanguage(lang) {
  try {
    active = lang === "en" ? english : await load(lang);
    current = lang;
  } catch {
    // A missing catalogue must not break the page: fall back to English.
    active = english;
    current = "en";
  }
  document.documentElement.lang = current;
}

/** Switch language, persist it and re-render whoever listens. */
export async function setLanguage(lang) {
  if (!LANGUAGES.includes(lang)) lang = "en";
  localStorage.setItem(STORAGE_KEY, lang);
  await applyLanguage(lang);
  for (const fn of listeners) fn(current);
}

export function language() {
  return current;
}

export function onLanguageChange(fn) {
  listeners.add(fn);
}

/** Whether a key exists in the catalogues (used for optional per-exchange notes). */
export function has(key) {
  return key in active || key in english;
}

/**
 * Translate ``key``, filling ``{placeholders}`` from ``vars``.
 * @param {string} key
 * @param {Record<string, string|number>} [vars]
 */
export function t(key, vars = {}) {
  const template = active[key] ?? english[key] ?? key;
  return template.replace(/\{(\w+)\}/g, (whole, name) => (name in vars ? String(vars[name]) : whole));
}

/** Translate every element carrying data-i18n in ``root`` (the static shell). */
export function translateStatic(root = document) {
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
}

/** A date/time in the page's language. */
export function formatTime(value) {
  if (!value) return "";
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return "";
  return new Intl.DateTimeFormat(current, { dateStyle: "medium", timeStyle: "medium" }).format(date);
}

/** "in 40 s" / "dans 40 s" / "след 40 с" for a future time, in the page's language. */
export function formatRelative(value, now = Date.now()) {
  const seconds = Math.round((new Date(value).getTime() - now) / 1000);
  const rtf = new Intl.RelativeTimeFormat(current, { numeric: "auto", style: "short" });
  if (Math.abs(seconds) < 90) return rtf.format(seconds, "second");
  const minutes = Math.round(seconds / 60);
  if (Math.abs(minutes) < 90) return rtf.format(minutes, "minute");
  return rtf.format(Math.round(minutes / 60), "hour");
}

/** A number in the page's language (decimal separator, grouping), with ``digits`` decimals. */
export function formatNumber(value, digits = 2) {
  const number = Number(value);
  if (!Number.isFinite(number)) return "—";
  return new Intl.NumberFormat(current, { minimumFractionDigits: digits, maximumFractionDigits: digits }).format(number);
}
