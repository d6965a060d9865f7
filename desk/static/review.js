// Frontline desk: the review inbox (reviewers, supervisors) and agents' flags on the
// assistant's turns. Plain JavaScript; every piece of data reaches the page through
// textContent, never as HTML. desk.js tells this file when someone signed in
// ("desk:ready") and when it drew a transcript ("desk:transcript").
"use strict";

(() => {
  const SIGNALS = {
    low_confidence: "low confidence",
    clarification: "asked “Did you mean”",
    rephrase: "asked to rephrase",
    fallback: "not understood",
    agent_flag: "flagged by an agent",
    escalation_flagged: "could have been handled",
    poor_rating: "poor rating",
    repeat_contact: "customer came back",
  };
  const review = {
    me: null,
    inbox: null,
    selected: 0,
    busy: false,
    reasons: null,
    openFlag: null, // timestamp of the turn whose flag form is open
    flagged: new Set(), // "entry timestamp" of the turns flagged from this page
  };

  const $ = (id) => document.getElementById(id);

  async function api(method, path, body) {
    const options = { method, credentials: "same-origin", headers: { Accept: "application/json" } };
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    const response = await fetch(path, options);
    let data = {};
    try {
      data = await response.json();
    } catch (error) {
      data = {};
    }
    if (!response.ok) throw new Error(data.message || `Error ${response.status}`);
    return data;
  }

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

  const human = (code) => String(code || "").replace(/_/g, " ");

  function notice(text) {
    $("review-notice").textContent = text || "";
    $("review-notice").hidden = !text;
  }

  // -- the inbox is a view like the queue and Insights (#review) -----------------------

  function reviews() {
    return review.me && (review.me.role === "reviewer" || review.me.role === "supervisor");
  }

  function showView() {
    // Reviewers see nothing else; supervisors open it from the top bar.
    const on = Boolean(review.me) && (review.me.role === "reviewer" || (reviews() && location.hash === "#review"));
    $("review").hidden = !on;
    if (on) {
      document.querySelector("main.layout").hidden = true;
      $("insights").hidden = true;
      $("nav-queue").classList.remove("current");
    }
    $("nav-review").classList.toggle("current", on);
    if (on) loadInbox();
  }

  function ready(event) {
    review.me = event.detail.agent;
    $("nav-review").hidden = !reviews() || review.me.role === "reviewer";
    $("nav-queue").hidden = review.me.role === "reviewer";
    showView();
  }

  // -- the inbox ------------------------------------------------------------------------

  async function loadInbox() {
    try {
      review.inbox = await api("GET", "/api/review/inbox");
    } catch (error) {
      notice(error.message);
      return;
    }
    const inbox = review.inbox;
    $("review-summary").textContent =
      `${inbox.total_items} message${inbox.total_items === 1 ? "" : "s"} in ${inbox.total_groups} ` +
      `group${inbox.total_groups === 1 ? "" : "s"} · last ${inbox.window_days} days`;
    review.selected = Math.min(review.selected, Math.max(inbox.groups.length - 1, 0));
    render();
  }

  function render() {
    const list = $("review-groups");
    clear(list);
    const groups = review.inbox ? review.inbox.groups : [];
    $("review-empty").hidden = groups.length > 0;
    groups.forEach((group, index) => list.appendChild(groupCard(group, index)));
    const current = list.children[review.selected];
    if (current) current.classList.add("selected");
  }

  function chips(signals) {
    return el("ul", { className: "chips" }, Object.entries(signals).map(([name, count]) =>
      el("li", { className: `signal ${name}`, text: `${SIGNALS[name] || human(name)}${count > 1 ? ` ×${count}` : ""}` })));
  }

  function groupCard(group, index) {
    const node = el("li", {
      className: "review-group",
      attrs: { "data-group-id": group.group_id, "data-intent": group.intent, tabindex: "0" },
    }, [
      el("div", { className: "line" }, [
        el("strong", { className: "intent", text: human(group.intent) }),
        el("span", { className: "count", text: `×${group.count}` }),
        el("span", { className: "impact", text: `impact ${group.impact}`, attrs: { title: "messages × how bad" } }),
      ]),
      chips(group.signals),
      el("ol", { className: "review-items" }, group.items.map(itemCard)),
      actions(group),
    ]);
    node.addEventListener("click", () => select(index));
    return node;
  }

  function itemCard(item) {
    const confidence = item.confidence === null || item.confidence === undefined
      ? "no intent" : `${Math.round(item.confidence * 100)}% sure`;
    const flags = (item.flags || []).map((flag) => el("p", { className: "flag" }, [
      el("span", { className: "flag-reason", text: `Agent: ${flag.label}` }),
      el("span", { className: "muted", text: ` — assistant said “${flag.bot_text}”` }),
    ]));
    const verdicts = el("div", { className: "verdicts" }, Object.entries(review.inbox.verdicts).map(([code, label]) => {
      const done = (item.verdicts || []).includes(code);
      const button = el("button", {
        className: `verdict${done ? " done" : ""}`,
        text: label,
        attrs: { type: "button", "data-verdict": code, "aria-pressed": String(done) },
      });
      button.addEventListener("click", (event) => {
        event.stopPropagation();
        judge(item, code);
      });
      return button;
    }));
    return el("li", { className: "review-item", attrs: { "data-key": item.key } }, [
      el("p", { className: "text", text: item.text }),
      el("p", { className: "muted meta", text: `${confidence} · ${item.actions.map(human).join(", ")}` }),
      chips(item.signals),
      ...flags,
      verdicts,
    ]);
  }

  function actions(group) {
    const intents = el("select", { className: "correct-intent", attrs: { "aria-label": "Correct intent" } }, [
      el("option", { text: "Correct to…", attrs: { value: "", disabled: "", selected: "" } }),
      ...review.inbox.intents.map((name) => el("option", { text: human(name), attrs: { value: name } })),
    ]);
    const proposed = el("input", {
      className: "new-intent",
      attrs: { placeholder: "new_intent_name", "aria-label": "New intent name", spellcheck: "false" },
    });
    const button = (label, cls, work) => {
      const node = el("button", { className: cls, text: label, attrs: { type: "button" } });
      node.addEventListener("click", (event) => {
        event.stopPropagation();
        work();
      });
      return node;
    };
    intents.addEventListener("keydown", (event) => {
      if (event.key === "Enter") label(group, "correct", intents.value);
    });
    proposed.addEventListener("keydown", (event) => {
      if (event.key === "Enter") label(group, "new_intent", proposed.value.trim());
    });
    for (const node of [intents, proposed]) node.addEventListener("click", (event) => event.stopPropagation());
    return el("div", { className: "review-actions" }, [
      button(`Confirm “${human(group.intent)}”`, "primary confirm", () => label(group, "confirm")),
      intents,
      button("Correct", "correct", () => label(group, "correct", intents.value)),
      button("Out of scope", "out-of-scope", () => label(group, "out_of_scope")),
      proposed,
      button("Propose intent", "propose", () => label(group, "new_intent", proposed.value.trim())),
    ]);
  }

  function select(index) {
    const list = $("review-groups");
    if (!list.children.length) return;
    review.selected = Math.max(0, Math.min(index, list.children.length - 1));
    for (const node of list.children) node.classList.remove("selected");
    const node = list.children[review.selected];
    node.classList.add("selected");
    node.scrollIntoView({ block: "nearest" });
  }

  async function label(group, decision, intent) {
    if (review.busy) return;
    review.busy = true;
    try {
      const result = await api("POST", "/api/review/labels", { keys: group.keys, decision, intent });
      const what = { confirm: "Confirmed", correct: `Corrected to ${human(intent)}`, out_of_scope: "Marked out of scope", new_intent: `Proposed ${intent}` }[decision];
      notice(`${what}: ${result.labelled} message${result.labelled === 1 ? "" : "s"}.`);
      await loadInbox();
    } catch (error) {
      notice(error.message);
    } finally {
      review.busy = false;
    }
  }

  async function judge(item, verdict) {
    try {
      await api("POST", "/api/review/verdicts", { conversation_id: item.conversation_id, verdict });
      notice(`Noted: ${review.inbox.verdicts[verdict]}.`);
      await loadInbox();
    } catch (error) {
      notice(error.message);
    }
  }

  function onKey(event) {
    if ($("review").hidden || review.busy) return;
    const tag = (event.target.tagName || "").toLowerCase();
    if (tag === "input" || tag === "select" || tag === "textarea") {
      if (event.key === "Escape") event.target.blur();
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const groups = review.inbox ? review.inbox.groups : [];
    const group = groups[review.selected];
    const card = $("review-groups").children[review.selected];
    if (event.key === "j" || event.key === "ArrowDown") select(review.selected + 1);
    else if (event.key === "k" || event.key === "ArrowUp") select(review.selected - 1);
    else if (!group) return;
    else if (event.key === "c") label(group, "confirm");
    else if (event.key === "o") label(group, "out_of_scope");
    else if (event.key === "r") card.querySelector(".correct-intent").focus();
    else if (event.key === "n") card.querySelector(".new-intent").focus();
    else return;
    event.preventDefault();
  }

  // -- agents flag the assistant's turns ----------------------------------------------------

  async function flagButtons(event) {
    const entryId = event.detail.entryId;
    if (!entryId || !review.me || review.me.role === "reviewer") return;
    if (!review.reasons) {
      try {
        review.reasons = (await api("GET", "/api/review/reasons")).flag_reasons;
      } catch (error) {
        return;
      }
    }
    for (const turn of document.querySelectorAll("#transcript .turn.assistant")) {
      const timestamp = turn.dataset.timestamp;
      if (!timestamp || turn.querySelector(".flag-turn, .flag-done")) continue;
      if (review.flagged.has(`${entryId} ${timestamp}`)) {
        turn.classList.add("flagged");
        turn.appendChild(el("span", { className: "flag-done", text: "Flagged for review" }));
        continue;
      }
      const button = el("button", { className: "flag-turn", text: "Flag", attrs: { type: "button", title: "Flag this answer for review" } });
      button.addEventListener("click", () => {
        review.openFlag = review.openFlag === timestamp ? null : timestamp;
        flagForm(turn, entryId, timestamp);
      });
      turn.appendChild(button);
      if (review.openFlag === timestamp) flagForm(turn, entryId, timestamp);
    }
  }

  function flagForm(turn, entryId, timestamp) {
    const existing = turn.querySelector(".flag-form");
    if (existing) existing.remove();
    if (review.openFlag !== timestamp) return;
    const reasons = el("select", { className: "flag-reason-select", attrs: { "aria-label": "Why" } },
      Object.entries(review.reasons).map(([code, text]) => el("option", { text, attrs: { value: code } })));
    const note = el("input", { className: "flag-note", attrs: { placeholder: "Note (optional)", maxlength: "500" } });
    const send = el("button", { className: "primary flag-send", text: "Send flag", attrs: { type: "button" } });
    const status = el("span", { className: "flag-status muted" });
    send.addEventListener("click", async () => {
      send.disabled = true;
      try {
        await api("POST", `/api/entries/${encodeURIComponent(entryId)}/flag`, { timestamp, reason: reasons.value, note: note.value || null });
        review.openFlag = null;
        review.flagged.add(`${entryId} ${timestamp}`);
        turn.classList.add("flagged");
        for (const node of turn.querySelectorAll(".flag-form, .flag-turn")) node.remove();
        turn.appendChild(el("span", { className: "flag-done", text: "Flagged for review" }));
      } catch (error) {
        status.textContent = error.message;
        send.disabled = false;
      }
    });
    turn.appendChild(el("div", { className: "flag-form" }, [reasons, note, send, status]));
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("review-refresh").addEventListener("click", loadInbox);
    window.addEventListener("hashchange", showView);
  });
  document.addEventListener("desk:ready", ready);
  document.addEventListener("desk:signed-out", () => {
    review.me = null;
    review.inbox = null;
    $("review").hidden = true;
    $("nav-review").hidden = true;
    $("nav-queue").hidden = false;
    document.querySelector("main.layout").hidden = false;
  });
  document.addEventListener("desk:transcript", flagButtons);
  document.addEventListener("keydown", onKey);
})();
