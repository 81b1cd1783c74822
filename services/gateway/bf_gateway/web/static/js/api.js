// Every call to the gateway's HTTP API (/api/v1) goes through here: the bearer token, the
// page's language as Accept-Language, and one way to turn an error answer into a message.

import { language, t, has } from "./i18n.js";
import * as session from "./session.js";

export const BASE = "/api/v1";

/** An error answer from the API: its stable ``code``, the message to show, per-field problems. */
export class ApiError extends Error {
  constructor(status, message, body) {
    super(message);
    this.status = status;
    this.body = body;
    this.code = body?.error?.code ?? null;
    this.fields = Array.isArray(body?.error?.fields) ? body.error.fields : [];
  }
}

/** The headers every API request carries. */
export function headers(extra = {}) {
  const out = { Accept: "application/json", "Accept-Language": language(), ...extra };
  const bearer = session.token();
  if (bearer) out.Authorization = `Bearer ${bearer}`;
  return out;
}

/**
 * The user-facing message of an error body ``{"error": {code, message, fields}}``.
 * The API words its messages in English; for a code the page's catalogue knows
 * (``apierror.<code>``) another language gets the catalogue's text, with ``vars`` (e.g. the
 * connection name) filled in. English always shows the API's own message.
 */
export function messageOf(status, body, vars = {}) {
  const error = body?.error;
  const code = error?.code;
  if (language() !== "en" && code && has(`apierror.${code}`)) return t(`apierror.${code}`, vars);
  if (typeof error?.message === "string" && error.message) {
    const fields = Array.isArray(error.fields) ? error.fields.map((f) => f.message).filter(Boolean) : [];
    return fields.length ? `${error.message} ${fields.join(" · ")}` : error.message;
  }
  return t("error.generic", { status });
}

/**
 * Call the API. Resolves with the parsed JSON (or null for 204); rejects with ApiError.
 * A 401 on an authenticated call ends the session: the page goes back to the login form.
 */
export async function request(method, path, body, vars = {}) {
  const init = { method, headers: headers(body === undefined ? {} : { "Content-Type": "application/json" }) };
  if (body !== undefined) init.body = JSON.stringify(body);
  let response;
  try {
    response = await fetch(`${BASE}${path}`, init);
  } catch {
    throw new ApiError(0, t("error.network"), null);
  }
  const text = await response.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (!response.ok) {
    if (response.status === 401 && init.headers.Authorization) session.expire();
    throw new ApiError(response.status, messageOf(response.status, data, vars), data);
  }
  return data;
}

export const get = (path) => request("GET", path);
export const post = (path, body = {}, vars) => request("POST", path, body, vars);
export const put = (path, body, vars) => request("PUT", path, body, vars);
export const patch = (path, body, vars) => request("PATCH", path, body, vars);
export const del = (path) => request("DELETE", path);
