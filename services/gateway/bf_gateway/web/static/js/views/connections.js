// The connections page: one card per connection, live test progress, and the security panel.
//
// Freshness: a connection whose test is running (or whose retry is scheduled) is followed on
// the gateway's event stream; the list is also re-read every POLL_MS so changes made elsewhere
// (another tab, a periodic re-test) show up. At most MAX_STREAMS streams are open at once:
// browsers allow six HTTP/1.1 connections per origin and the API calls need the rest.

import * as api from "../api.js";
import { h } from "../dom.js";
import { t } from "../i18n.js";
import { loadExchanges } from "../catalogue.js";
import { follow } from "../events.js";
import { notify } from "../notices.js";
import { Card } from "./card.js";
import { securityPanel } from "./security.js";

const POLL_MS = 15000;
const MAX_STREAMS = 4;
const FINAL_EVENTS = new Set(["test-passed", "test-failed"]);

let page = null;

function needsStream(connection) {
  return connection.status === "testing" || connection.status === "untested" || Boolean(connection.last_test?.next_retry_at);
}

class ConnectionsPage {
  constructor(target) {
    this.cards = new Map();
    this.streams = new Map();
    this.list = h("div", { class: "cards", id: "connection-list", "aria-live": "off" });
    this.empty = h(
      "div",
      { class: "panel", hidden: true, "data-testid": "empty" },
      h("p", { text: t("conn.empty") }),
      h("a", { class: "btn btn-primary", href: "#/connections/new", text: t("conn.add") }),
    );
    target.append(
      h(
        "div",
        { class: "layout" },
        h(
          "section",
          { "aria-labelledby": "connections-title" },
          h(
            "div",
            { class: "page-head" },
            h("div", {}, h("h1", { id: "connections-title", text: t("conn.title") }), h("p", { text: t("conn.subtitle") })),
            h("a", { class: "btn btn-primary", href: "#/connections/new", id: "add-connection", text: t("conn.add") }),
          ),
          this.empty,
          this.list,
        ),
        securityPanel(),
      ),
    );
    this.timer = setInterval(() => this.refreshAll(), POLL_MS);
  }

  async refreshAll() {
    let connections;
    try {
      connections = (await api.get("/connections"))?.connections ?? [];
    } catch (error) {
      if (error.status !== 401) notify(error.message, "error");
      return;
    }
    if (this.closed) return;
    const seen = new Set();
    for (const connection of connections) {
      seen.add(connection.id);
      let card = this.cards.get(connection.id);
      if (card) card.update(connection);
      else {
        card = new Card(connection, this.context());
        this.cards.set(connection.id, card);
      }
      this.list.append(card.el); // keeps the API's order; moving a node keeps its state
      if (needsStream(connection)) this.watch(connection.id);
    }
    for (const id of [...this.cards.keys()]) if (!seen.has(id)) this.drop(id);
    this.empty.hidden = connections.length > 0;
  }

  context() {
    return {
      watch: (id) => this.watch(id),
      removed: (id) => {
        this.drop(id);
        this.empty.hidden = this.cards.size > 0;
        document.getElementById("add-connection")?.focus();
      },
    };
  }

  /** Follow the live events of one connection until its test is over. */
  watch(id) {
    if (this.closed || this.streams.has(id) || this.streams.size >= MAX_STREAMS) return;
    const controller = new AbortController();
    this.streams.set(id, controller);
    const onEvent = (type, data) => {
      const card = this.cards.get(id);
      if (!card) return;
      if (type === "connection-deleted") return this.drop(id);
      // The stream opens with the connection as it is now: catches up on anything missed.
      if (type === "connection") return data?.id === id && card.update(data);
      card.event(type, data);
      if (FINAL_EVENTS.has(type)) this.settle(id);
    };
    follow(id, onEvent, controller.signal).finally(() => {
      if (this.streams.get(id) === controller) this.streams.delete(id);
    });
  }

  /**
   * Re-read one connection after its test ended. The read model can lag the event by a
   * moment, so read again a few times until the card has the new result.
   */
  async settle(id) {
    for (let attempt = 0; attempt < 10 && !this.closed; attempt += 1) {
      let connection;
      try {
        connection = await api.get(`/connections/${encodeURIComponent(id)}`);
      } catch (error) {
        if (error.status === 404) this.drop(id);
        return;
      }
      const card = this.cards.get(id);
      if (!card) return;
      card.update(connection);
      if (!card.live && connection.status !== "testing") {
        if (!needsStream(connection)) this.unwatch(id);
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }

  unwatch(id) {
    this.streams.get(id)?.abort();
    this.streams.delete(id);
  }

  drop(id) {
    this.unwatch(id);
    this.cards.get(id)?.el.remove();
    this.cards.delete(id);
  }

  close() {
    this.closed = true;
    clearInterval(this.timer);
    for (const id of [...this.streams.keys()]) this.unwatch(id);
  }
}

/** Render the page into ``target``. */
export async function renderConnections(target) {
  page = new ConnectionsPage(target);
  try {
    await loadExchanges();
  } catch (error) {
    notify(error.message, "error");
  }
  await page.refreshAll();
}

/** Stop streams and timers when another page is shown. */
export function leaveConnections() {
  page?.close();
  page = null;
}
