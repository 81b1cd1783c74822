// Live test events of one connection, from the gateway's Server-Sent Events endpoint.
//
// Read with fetch() rather than EventSource: fetch can send the Authorization header (so the
// token never travels in a URL, where proxies and access logs would keep it) and the page's
// Accept-Language. The stream is parsed here following the SSE format (event/data/id fields,
// a blank line dispatches). It reconnects with backoff after a network drop, resuming from
// the last event id, and stops for good on 401/403/404 or when the caller aborts.

import { BASE, headers } from "./api.js";
import * as session from "./session.js";

function parseBlock(block) {
  const event = { type: "message", data: "", id: null };
  const data = [];
  for (const line of block.split(/\r?\n/)) {
    if (!line || line.startsWith(":")) continue;
    const colon = line.indexOf(":");
    const name = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (name === "event") event.type = value;
    else if (name === "data") data.push(value);
    else if (name === "id") event.id = value;
  }
  event.data = data.join("\n");
  return data.length || event.type !== "message" ? event : null;
}

function parseJson(text) {
  try {
    return text ? JSON.parse(text) : null;
  } catch {
    return text;
  }
}

/**
 * Follow ``/connections/{id}/events`` until ``signal`` aborts.
 * @param {string} connectionId
 * @param {(type: string, data: any) => void} onEvent
 * @param {AbortSignal} signal
 */
export async function follow(connectionId, onEvent, signal) {
  let lastId = null;
  let delay = 1000;
  while (!signal.aborted) {
    try {
      const extra = lastId ? { "Last-Event-ID": lastId, Accept: "text/event-stream" } : { Accept: "text/event-stream" };
      const response = await fetch(`${BASE}/connections/${encodeURIComponent(connectionId)}/events`, {
        headers: headers(extra),
        signal,
        cache: "no-store",
      });
      if (response.status === 401) {
        session.expire();
        return;
      }
      if (response.status === 403 || response.status === 404) return;
      if (!response.ok || !response.body) throw new Error(`HTTP ${response.status}`);
      delay = 1000;
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let cut;
        while ((cut = buffer.search(/\r?\n\r?\n/)) !== -1) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut).replace(/^\r?\n\r?\n/, "");
          const event = parseBlock(block);
          if (!event) continue;
          if (event.id) lastId = event.id;
          onEvent(event.type, parseJson(event.data));
        }
      }
    } catch (error) {
      if (signal.aborted) return;
    }
    // The server closed the stream or the network dropped: try again, more slowly each time.
    await new Promise((resolve) => setTimeout(resolve, delay));
    delay = Math.min(delay * 2, 15000);
  }
}
