// Frontline desk: plain JavaScript, no dependencies. Every piece of data reaches the
// page through textContent, never as HTML, so nothing a customer types can run here.
"use strict";

(() => {
  const REFRESH_MS = 4000;
  const REASONS = {
    customer_request: "Customer asked for a person",
    verification_failed: "Identity verification failed",
    repeated_fallback: "Assistant kept not understanding",
    backend_error: "A backend system failed",
    out_of_scope: "Request out of scope",
    policy: "Policy requires a person",
    complaint: "Complaint",
    fraud: "Possible fraud or account takeover",
    legal: "Threat of legal action",
    chargeback: "Chargeback or payment dispute",
    self_harm: "Customer may be at risk: respond now",
    frustration: "Customer is frustrated",
    late_delivery: "Late delivery",
    refund_overdue: "Refund overdue",
    protected_change: "Protected detail change",
    privacy_request: "Privacy request",
    outcome_unknown: "A change may or may not have happened: check it",
  };
  const state = {
    me: null,
    config: null,
    tab: "pending",
    queue: { pending: [], mine: [], claimed: [] },
    selectedId: null,
    entry: null,
    timers: [],
    busy: false,
  };

  const $ = (id) => document.getElementById(id);

  class ApiError extends Error {
    constructor(status, code, message) {
      super(message);
      this.status = status;
      this.code = code;
    }
  }

  async function api(method, path, body) {
    const options = { method, credentials: "same-origin", headers: { Accept: "application/json" } };
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(path, options);
    } catch (error) {
      setConnection("Desk unreachable — retrying…");
      throw new ApiError(0, "network", "The desk cannot be reached.");
    }
    setConnection("");
    let data = {};
    try {
      data = await response.json();
    } catch (error) {
      data = {};
    }
    if (response.status === 401 && path !== "/api/session") {
      showSignIn();
    }
    if (!response.ok) {
      throw new ApiError(response.status, data.error, data.message || `Error ${response.status}`);
    }
    return data;
  }

  // -- small DOM helpers ------------------------------------------------------------

  function el(tag, options = {}, children = []) {
    const node = document.createElement(tag);
    if (options.className) node.className = options.className;
    if (options.text !== undefined && options.text !== null) node.textContent = String(options.text);
    for (const [name, value] of Object.entries(options.attrs || {})) node.setAttribute(name, value);
    for (const child of children) if (child) node.appendChild(child);
    return node;
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
  }

  function duration(seconds) {
    if (seconds === null || seconds === undefined) return "—";
    const s = Math.max(0, Math.round(seconds));
    if (s < 60) return `${s} s`;
    const m = Math.floor(s / 60);
    if (m < 60) return `${m} min`;
    return `${Math.floor(m / 60)} h ${m % 60} min`;
  }

  function clock(iso) {
    if (!iso) return "";
    const date = new Date(iso);
    return date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  }

  function humanize(code) {
    return REASONS[code] || String(code || "").replace(/_/g, " ");
  }

  function setConnection(text) {
    $("connection").textContent = text;
  }

  function notice(text) {
    const node = $("entry-notice");
    node.textContent = text || "";
    node.hidden = !text;
  }

  // -- sign-in ------------------------------------------------------------------------

  function showSignIn() {
    stopTimers();
    state.me = null;
    document.dispatchEvent(new CustomEvent("desk:signed-out"));
    $("app").hidden = true;
    $("signin").hidden = false;
    $("signin-name").focus();
  }

  async function signIn(event) {
    event.preventDefault();
    $("signin-error").textContent = "";
    $("signin-submit").disabled = true;
    try {
      await api("POST", "/api/session", {
        name: $("signin-name").value.trim(),
        password: $("signin-password").value,
      });
      $("signin-password").value = "";
      await start();
    } catch (error) {
      $("signin-error").textContent = error.message;
    } finally {
      $("signin-submit").disabled = false;
    }
  }

  async function signOut() {
    try {
      await api("DELETE", "/api/session");
    } finally {
      state.selectedId = null;
      state.entry = null;
      showSignIn();
    }
  }

  // -- the queue ----------------------------------------------------------------------

  async function refreshQueue() {
    const queue = await api("GET", "/api/queue");
    state.queue = { pending: queue.pending || [], mine: queue.mine || [], claimed: queue.claimed || [] };
    renderQueue();
  }

  function renderQueue() {
    $("count-pending").textContent = state.queue.pending.length;
    $("count-mine").textContent = state.queue.mine.length;
    $("count-claimed").textContent = state.queue.claimed.length;
    for (const tab of document.querySelectorAll(".tab")) {
      tab.setAttribute("aria-selected", String(tab.dataset.tab === state.tab));
    }
    const list = $("queue-list");
    clear(list);
    const items = state.queue[state.tab] || [];
    $("queue-empty").hidden = items.length > 0;
    $("queue-empty").textContent =
      state.tab === "pending" ? "Nobody is waiting." : "No conversations here.";
    for (const item of items) list.appendChild(queueItem(item));
  }

  function queueItem(item) {
    const customer = item.customer || {};
    const who = customer.verified ? customer.name || "Verified customer" : "Unverified customer";
    const node = el("li", {
      className: "queue-item" + (item.entry_id === state.selectedId ? " selected" : ""),
      attrs: { "data-entry-id": item.entry_id, tabindex: "0", role: "button" },
    }, [
      el("div", { className: "line" }, [
        el("span", { className: `badge ${item.priority}`, text: item.priority }),
        el("span", { className: "who-line", text: who }),
        el("span", { className: "waited", text: duration(item.waited_seconds), attrs: { title: "Waiting" } }),
      ]),
      el("div", { className: "line muted" }, [
        el("span", { text: humanize(item.reason) }),
        el("span", { text: `· ${item.channel || "unknown"}` }),
        item.claimed_by ? el("span", { text: `· ${item.claimed_by}` }) : null,
        item.reoffers ? el("span", { text: `· re-offered ${item.reoffers}×` }) : null,
      ]),
      el("p", { className: "preview", text: item.summary }),
    ]);
    const open = () => select(item.entry_id);
    node.addEventListener("click", open);
    node.addEventListener("keydown", (event) => {
      if (event.key === "Enter" || event.key === " ") {
        event.preventDefault();
        open();
      }
    });
    return node;
  }

  async function heartbeat() {
    const result = await api("POST", "/api/heartbeat");
    const held = new Set((result.held || []).map((entry) => entry.entry_id));
    const entry = state.entry;
    if (entry && entry.status === "claimed" && entry.claimed_by === state.me.name && !held.has(entry.entry_id)) {
      notice("Your claim on this conversation lapsed; it went back to the queue.");
      await loadEntry(entry.entry_id);
    }
  }

  // -- one conversation -------------------------------------------------------------

  async function select(entryId) {
    state.selectedId = entryId;
    notice("");
    $("reply-text").value = "";
    renderQueue();
    await loadEntry(entryId);
  }

  async function loadEntry(entryId) {
    try {
      const entry = await api("GET", `/api/entries/${encodeURIComponent(entryId)}`);
      if (state.selectedId !== entryId) return;
      state.entry = entry;
      renderEntry();
    } catch (error) {
      if (state.selectedId !== entryId) return;
      state.entry = null;
      $("entry").hidden = true;
      $("detail-empty").hidden = false;
      $("detail-empty").textContent = error.message;
    }
  }

  function renderEntry() {
    const entry = state.entry;
    const packet = entry.packet || {};
    const mine = entry.status === "claimed" && entry.claimed_by === state.me.name;
    const supervisor = state.me.role === "supervisor";
    $("detail-empty").hidden = true;
    $("entry").hidden = false;

    const priority = $("entry-priority");
    priority.className = `badge ${entry.priority}`;
    priority.textContent = entry.priority;
    const customer = packet.customer || {};
    // The channel and the id the customer's channel knows the conversation by.
    const where = [entry.channel || packet.channel || "", entry.channel_conversation_id || ""]
      .filter(Boolean)
      .join(" ");
    $("entry-title").textContent = customer.verified
      ? `${customer.name || "Verified customer"} · ${where}`
      : `Unverified customer · ${where}`;
    const status = {
      pending: "Waiting for an agent",
      claimed: mine ? "You are on it" : `${entry.claimed_by} is on it`,
      resolved: `Resolved (${entry.resolution_code})`,
    }[entry.status];
    $("entry-status").textContent = status;
    const timings = entry.timings || {};
    $("entry-waited").textContent = {
      pending: `waiting ${duration(entry.waited_seconds)}`,
      claimed: `waited ${duration(timings.waiting_seconds)}`,
      resolved: `waited ${duration(timings.waiting_seconds)} · handled ${duration(timings.handling_seconds)}`,
    }[entry.status];

    $("claim-button").hidden = !(entry.status === "pending" || (entry.status === "claimed" && !mine && leaseLapsed(entry)));
    $("release-button").hidden = !mine;
    $("reassign").hidden = !(supervisor && entry.status !== "resolved");
    $("compose").hidden = !mine;

    const reason = packet.reason || {};
    $("why-reason").textContent = humanize(reason.code);
    $("why-rationale").textContent = reason.rationale || "";
    $("summary").textContent = packet.summary || "";
    renderCustomer(customer);
    renderIntent(packet);
    renderActions(packet.actions_attempted || []);
    renderContacts(packet.recent_contacts || []);
    renderTimings(entry);
    renderTranscript(entry);
    // insights.js adds the "could have handled" verdict of a resolved escalation.
    document.dispatchEvent(new CustomEvent("desk:entry", { detail: entry }));
  }

  function leaseLapsed(entry) {
    return entry.lease_expires_at && new Date(entry.lease_expires_at) < new Date();
  }

  function facts(node, rows) {
    clear(node);
    for (const [label, value, className] of rows) {
      if (value === null || value === undefined || value === "") continue;
      node.appendChild(el("dt", { text: label }));
      node.appendChild(el("dd", { text: value, className }));
    }
  }

  function renderCustomer(customer) {
    facts($("customer"), [
      ["Identity", customer.verified ? "Verified" : "Not verified", customer.verified ? "verified" : "unverified"],
      ["Name", customer.name],
      ["Customer id", customer.customer_id],
      ["E-mail", customer.email],
      ["Phone", customer.phone],
      ["Tier", customer.tier],
    ]);
  }

  function renderIntent(packet) {
    const intent = packet.intent;
    $("intent").textContent = intent
      ? `${intent.name.replace(/_/g, " ")} (${Math.round((intent.confidence || 0) * 100)}% sure)`
      : "No intent recognised.";
    const list = $("entities");
    clear(list);
    for (const entity of packet.entities || []) {
      list.appendChild(el("li", { text: `${entity.entity}: ${entity.value}` }));
    }
    const slots = packet.slots || {};
    for (const [name, value] of Object.entries(slots)) {
      if (name === "requested_slot" || name === "handoff_reason") continue;
      list.appendChild(el("li", { text: `${name.replace(/_/g, " ")}: ${value}` }));
    }
  }

  function renderActions(actions) {
    const body = $("actions");
    clear(body);
    $("actions-empty").hidden = actions.length > 0;
    for (const action of actions) {
      body.appendChild(el("tr", {}, [
        el("td", { text: action.action.replace(/_/g, " ") }),
        el("td", { text: action.result, className: `result-${action.result}` }),
        el("td", { text: action.detail || "" }),
      ]));
    }
  }

  function renderContacts(contacts) {
    const list = $("contacts");
    clear(list);
    $("contacts-card").hidden = contacts.length === 0;
    for (const contact of contacts) {
      const when = contact.started_at ? new Date(contact.started_at).toLocaleString() : "";
      const parts = [when, contact.channel, contact.topic || "no topic", contact.current ? "this conversation" : ""];
      list.appendChild(el("li", { text: parts.filter(Boolean).join(" · ") }));
    }
  }

  function renderTimings(entry) {
    const timings = entry.timings || {};
    facts($("timings"), [
      ["Waited for an agent", duration(timings.waiting_seconds !== null && timings.waiting_seconds !== undefined ? timings.waiting_seconds : entry.waited_seconds)],
      ["Handled for", timings.handling_seconds === null || timings.handling_seconds === undefined ? null : duration(timings.handling_seconds)],
      ["Claimed by", entry.claimed_by],
      ["Lease until", entry.lease_expires_at ? clock(entry.lease_expires_at) : null],
      ["Times claimed", entry.claims],
      ["Times re-offered", entry.reoffers || null],
    ]);
  }

  function renderTranscript(entry) {
    const list = $("transcript");
    const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
    clear(list);
    $("transcript-source").textContent =
      entry.transcript_source === "packet" ? "(from the packet: the assistant's server did not answer)" : "";
    for (const turn of entry.transcript || []) {
      const who = turn.speaker === "agent" ? `Agent ${turn.agent || ""}` : turn.speaker === "customer" ? "Customer" : "Assistant";
      const meta = [who, clock(turn.timestamp), turn.while_waiting ? "while waiting for a person" : ""].filter(Boolean).join(" · ");
      list.appendChild(el("li", {
        className: `turn ${turn.speaker}${turn.while_waiting ? " waiting" : ""}`,
        attrs: { "data-speaker": turn.speaker || "", "data-timestamp": turn.timestamp || "" },
      }, [el("span", { className: "meta", text: meta }), el("span", { className: "text", text: turn.text })]));
    }
    if (atBottom) list.scrollTop = list.scrollHeight;
    // review.js adds its "Flag" buttons to the assistant's turns.
    document.dispatchEvent(new CustomEvent("desk:transcript", { detail: { entryId: state.selectedId } }));
  }

  // -- actions ------------------------------------------------------------------------

  async function act(label, work) {
    if (state.busy) return;
    state.busy = true;
    for (const button of document.querySelectorAll(".entry button")) button.disabled = true;
    try {
      await work();
    } catch (error) {
      notice(`${label}: ${error.message}`);
    } finally {
      state.busy = false;
      for (const button of document.querySelectorAll(".entry button")) button.disabled = false;
    }
  }

  function entryAction(path, body, done) {
    const id = state.selectedId;
    return act(path, async () => {
      const result = await api("POST", `/api/entries/${encodeURIComponent(id)}/${path}`, body);
      if (done) done(result);
      await Promise.all([loadEntry(id), refreshQueue()]);
    });
  }

  function bindActions() {
    $("claim-button").addEventListener("click", () => entryAction("claim", undefined, () => notice("")));
    $("release-button").addEventListener("click", () => entryAction("release", undefined, () => notice("Put back on the queue.")));
    $("reassign-button").addEventListener("click", () => {
      const agent = $("reassign-agent").value;
      if (agent) entryAction("reassign", { agent }, () => notice(`Reassigned to ${agent}.`));
    });
    $("reply-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const text = $("reply-text").value.trim();
      if (!text) return;
      entryAction("reply", { text }, () => {
        $("reply-text").value = "";
        notice("");
      });
    });
    $("reply-text").addEventListener("keydown", (event) => {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) $("reply-form").requestSubmit();
    });
    $("resolve-button").addEventListener("click", () =>
      entryAction("resolve", { resolution_code: $("resolution-code").value }, () =>
        notice("Resolved. The assistant answers the customer from now on.")));
    $("handback-button").addEventListener("click", () =>
      entryAction("hand-back", { resolution_code: $("resolution-code").value }, () =>
        notice("Resolved and handed back: the customer was told they are with the assistant again.")));
    for (const tab of document.querySelectorAll(".tab")) {
      tab.addEventListener("click", () => {
        state.tab = tab.dataset.tab;
        renderQueue();
      });
    }
    $("signin-form").addEventListener("submit", signIn);
    // The Insights view opens a handed-off conversation here.
    document.addEventListener("desk:open-entry", (event) => select(event.detail));
    $("signout").addEventListener("click", signOut);
  }

  // -- start --------------------------------------------------------------------------

  function stopTimers() {
    for (const timer of state.timers) clearInterval(timer);
    state.timers = [];
  }

  function every(ms, work) {
    state.timers.push(setInterval(() => work().catch(() => undefined), ms));
  }

  async function start() {
    const me = await api("GET", "/api/me");
    state.me = me.agent;
    state.config = me;
    $("agent-name").textContent = me.agent.name;
    $("agent-role").textContent = me.agent.role;
    if (me.agent.role === "reviewer") {
      // Reviewers never see the queue: review.js shows them the review inbox.
      stopTimers();
      $("signin").hidden = true;
      $("app").hidden = false;
      document.dispatchEvent(new CustomEvent("desk:ready", { detail: me }));
      return;
    }
    $("tab-claimed").hidden = me.agent.role !== "supervisor";
    // insights.js shows the Insights view to supervisors.
    document.dispatchEvent(new CustomEvent("desk:me", { detail: me.agent }));
    const codes = $("resolution-code");
    clear(codes);
    for (const code of me.resolution_codes) {
      if (code !== "handed_back") codes.appendChild(el("option", { text: code.replace(/_/g, " "), attrs: { value: code } }));
    }
    $("reply-text").setAttribute("maxlength", String(me.max_reply_length));
    if (me.agent.role === "supervisor") {
      const agents = await api("GET", "/api/agents");
      const select = $("reassign-agent");
      clear(select);
      for (const agent of agents.agents.filter((a) => a.active)) {
        select.appendChild(el("option", { text: `${agent.name} (${agent.role})`, attrs: { value: agent.name } }));
      }
    }
    $("signin").hidden = true;
    $("app").hidden = false;
    stopTimers();
    await refreshQueue();
    every(REFRESH_MS, async () => {
      await refreshQueue();
      if (state.selectedId && !state.busy) await loadEntry(state.selectedId);
    });
    every(Math.max(500, me.heartbeat_seconds * 1000), heartbeat);
    await heartbeat();
    document.dispatchEvent(new CustomEvent("desk:ready", { detail: me }));
  }

  document.addEventListener("DOMContentLoaded", () => {
    bindActions();
    start().catch(() => showSignIn());
  });
})();
