// The signed-in session: the API's bearer token, the e-mail it belongs to, and when it expires.
// Kept in sessionStorage (one browser tab, gone when the tab closes) rather than localStorage:
// a trading credential should not outlive the tab it was opened in. The page uses exactly
// the API's rules: the token's own ``exp`` ends the session, and any 401 ends it early.

const STORAGE_KEY = "bf.session";
let timer = null;
let expiredHandler = () => {};

function decodeExp(token) {
  try {
    const payload = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const json = JSON.parse(atob(payload.padEnd(payload.length + ((4 - (payload.length % 4)) % 4), "=")));
    return typeof json.exp === "number" ? json.exp * 1000 : null;
  } catch {
    return null;
  }
}

/** The current session, or null when signed out or expired. */
export function current() {
  const raw = sessionStorage.getItem(STORAGE_KEY);
  if (!raw) return null;
  try {
    const session = JSON.parse(raw);
    if (session.expiresAt && session.expiresAt <= Date.now()) return null;
    return session;
  } catch {
    return null;
  }
}

export function token() {
  return current()?.token ?? null;
}

/** Called once by the app: what to do when the session ends by itself. */
export function onExpired(fn) {
  expiredHandler = fn;
}

function schedule(session) {
  clearTimeout(timer);
  if (!session?.expiresAt) return;
  // setTimeout overflows above ~24.8 days; a longer token is simply re-checked later.
  const delay = Math.min(Math.max(session.expiresAt - Date.now(), 0), 2 ** 31 - 1);
  timer = setTimeout(() => expire(), delay);
}

/**
 * Start a session from the login response.
 * The expiry comes from the JWT's ``exp`` claim, or from ``expires_in`` when the token is opaque.
 */
export function start(email, loginResponse) {
  const accessToken = loginResponse.access_token;
  let expiresAt = decodeExp(accessToken);
  if (!expiresAt && typeof loginResponse.expires_in === "number") expiresAt = Date.now() + loginResponse.expires_in * 1000;
  const session = { token: accessToken, email, expiresAt };
  sessionStorage.setItem(STORAGE_KEY, JSON.stringify(session));
  schedule(session);
  return session;
}

/** Re-arm the expiry timer after a reload. */
export function resume() {
  const session = current();
  if (session) schedule(session);
  else sessionStorage.removeItem(STORAGE_KEY);
  return session;
}

/** Sign out by choice. */
export function end() {
  clearTimeout(timer);
  sessionStorage.removeItem(STORAGE_KEY);
}

/** The session ended by itself (token expired, or the API answered 401). */
export function expire() {
  const hadSession = sessionStorage.getItem(STORAGE_KEY) !== null;
  end();
  if (hadSession) expiredHandler();
}
