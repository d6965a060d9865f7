// Frontline desk, Insights view (supervisors) and the "could have handled" verdict.
// Plain JavaScript, no dependencies, nothing fetched from elsewhere: charts are inline
// SVG built with DOM calls, every piece of data goes in through textContent.
"use strict";

(() => {
  const SVG = "http://www.w3.org/2000/svg";
  const OUTCOMES = [
    ["resolved_by_assistant", "Resolved by the assistant"],
    ["resolved_after_clarification", "Resolved after clarification"],
    ["handed_back_resolved", "Handed back and resolved"],
    ["resolved_by_person", "Resolved by a person"],
    ["escalated", "Escalated"],
    ["abandoned", "Abandoned"],
  ];
  const DIMENSIONS = ["channel", "tier", "interaction_type", "model_id", "policy_version"];
  const STATES = { breached: "Breached", at_risk: "At risk", met: "Met", no_data: "No data" };
  const ins = { me: null, data: null, query: null, drill: null };

  const $ = (id) => document.getElementById(id);

  async function call(method, path, body) {
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

  function svg(tag, attrs = {}, text) {
    const node = document.createElementNS(SVG, tag);
    for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, String(value));
    if (text !== undefined) node.textContent = String(text);
    return node;
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
  }

  const pct = (v) => (v === null || v === undefined ? "—" : `${(v * 100).toFixed(1)}%`);
  const num = (v, digits = 0) => (v === null || v === undefined ? "—" : Number(v).toFixed(digits));
  const words = (code) => String(code || "").replace(/_/g, " ");
  const day = (epoch) => new Date(epoch * 1000).toISOString().slice(0, 10);

  function rate(r) {
    if (!r || r.value === null || r.value === undefined) return "—";
    return `${pct(r.value)} (${r.numerator}/${r.denominator}; ${pct(r.lower)}–${pct(r.upper)})`;
  }

  // A number that opens the contacts behind it.
  function drillLink(text, filters, title) {
    const link = el("a", { text, className: "drill", attrs: { href: "#insights", "data-drill": JSON.stringify(filters) } });
    link.addEventListener("click", (event) => {
      event.preventDefault();
      drill(filters, title);
    });
    return link;
  }

  function row(cells) {
    return el("tr", {}, cells.map((cell) => (cell instanceof Node ? el("td", {}, [cell]) : el("td", { text: cell }))));
  }

  // -- views --------------------------------------------------------------------------

  function showView() {
    const wanted = location.hash === "#insights" && ins.me && ins.me.role === "supervisor";
    $("insights").hidden = !wanted;
    document.querySelector("main.layout").hidden = wanted;
    $("nav-insights").classList.toggle("current", wanted);
    $("nav-queue").classList.toggle("current", !wanted);
    if (wanted && !ins.data) load().catch((error) => ($("ins-status").textContent = error.message));
  }

  function query() {
    const params = new URLSearchParams();
    for (const name of ["since", "until", ...DIMENSIONS]) {
      const value = $(`ins-${name}`).value;
      if (value) params.set(name, value);
    }
    return params;
  }

  async function load() {
    $("ins-status").textContent = "Loading…";
    const params = query();
    const data = await call("GET", `/api/insights?${params}`);
    ins.data = data;
    ins.query = params;
    $("ins-status").textContent = `${data.overall.contacts} contacts, ${day(data.since)} to ${day(data.until - 1)}`;
    if (!$("ins-since").value) $("ins-since").value = day(data.since);
    if (!$("ins-until").value) $("ins-until").value = day(data.until - 1);
    renderFilters(data);
    renderHeadline(data.overall);
    renderOutcomes(data);
    renderSlo(data);
    renderCost(data.cost);
    renderMatrix(data.impact);
    renderReasons(data.escalation_reasons);
    $("ins-drill").hidden = true;
    $("ins-contact").hidden = true;
  }

  function renderFilters(data) {
    for (const name of DIMENSIONS) {
      const select = $(`ins-${name}`);
      const chosen = data.filters[name] || "";
      clear(select);
      select.appendChild(el("option", { text: "all", attrs: { value: "" } }));
      for (const value of data.options[name] || []) select.appendChild(el("option", { text: value, attrs: { value } }));
      select.value = chosen;
    }
  }

  function renderHeadline(o) {
    const node = $("ins-headline");
    clear(node);
    const items = [
      ["Contacts", drillLink(String(o.counted), {}, "All counted contacts"), "counted; " + o.in_progress + " in progress"],
      ["Resolution", pct(o.resolution.value), rate(o.resolution)],
      ["Containment", pct(o.containment.value), rate(o.containment)],
      ["First-contact resolution", pct(o.first_contact_resolution.value), rate(o.first_contact_resolution)],
      ["CSAT top-2-box", pct(o.csat_top2.value), `mean ${num(o.csat_mean, 2)}, coverage ${pct(o.csat_coverage.value)}`],
      ["AHT assistant / person", `${num(o.aht_assistant_seconds)} s / ${num(o.aht_person_seconds)} s`, ""],
      ["Repeat contacts", drillLink(pct(o.repeat_contact.value), { is_repeat: "true" }, "Repeat contacts"), rate(o.repeat_contact)],
      [
        "Could have handled",
        drillLink(`${o.could_have_handled.numerator}/${o.could_have_handled.denominator}`, { could_have_handled: "true" }, "Escalations the assistant could have handled"),
        "escalations a person marked",
      ],
    ];
    for (const [label, value, detail] of items) {
      const cell = el("div", { className: "kpi" }, [
        el("dt", { text: label }),
        el("dd", { className: "kpi-value" }, [value instanceof Node ? value : document.createTextNode(value)]),
        el("dd", { className: "muted", text: detail }),
      ]);
      node.appendChild(cell);
    }
  }

  function renderOutcomes(data) {
    const days = Object.keys(data.daily).map(Number).sort((a, b) => a - b);
    const chart = $("ins-outcomes-chart");
    clear(chart);
    const width = 760;
    const height = 200;
    const pad = 30;
    const totals = days.map((d) => OUTCOMES.reduce((sum, [key]) => sum + (data.daily[d][key] || 0), 0));
    const top = Math.max(1, ...totals);
    const image = svg("svg", { viewBox: `0 0 ${width} ${height + 24}`, role: "img", "aria-label": "Outcomes per day", class: "chart-svg" });
    const slot = (width - pad) / Math.max(days.length, 1);
    days.forEach((d, i) => {
      let y = height;
      const x = pad + i * slot + slot * 0.15;
      for (const [key, label] of OUTCOMES) {
        const count = data.daily[d][key] || 0;
        if (!count) continue;
        const h = (count / top) * (height - 10);
        y -= h;
        const bar = svg("rect", { x, y, width: slot * 0.7, height: h, class: `o-${key} drill-bar`, "data-day": d, "data-outcome": key });
        bar.appendChild(svg("title", {}, `${day(d * 86400)}: ${count} ${label.toLowerCase()}`));
        bar.addEventListener("click", () => drill({ outcome: key, since: day(d * 86400), until: day(d * 86400) }, `${label}, ${day(d * 86400)}`));
        image.appendChild(bar);
      }
      image.appendChild(svg("text", { x: x + slot * 0.35, y: height + 16, "text-anchor": "middle", class: "axis" }, day(d * 86400).slice(5)));
    });
    image.appendChild(svg("text", { x: 2, y: 12, class: "axis" }, String(top)));
    image.appendChild(svg("line", { x1: pad, y1: height, x2: width, y2: height, class: "axis-line" }));
    chart.appendChild(image);
    const legend = $("ins-outcomes-legend");
    clear(legend);
    for (const [key, label] of OUTCOMES) legend.appendChild(el("li", {}, [el("span", { className: `swatch o-${key}` }), document.createTextNode(label)]));
    const table = $("ins-outcomes");
    clear(table);
    for (const [key, label] of OUTCOMES) {
      const count = data.overall.outcomes[key] || 0;
      table.appendChild(row([label, drillLink(String(count), { outcome: key }, label), pct(data.overall.counted ? count / data.overall.counted : null)]));
    }
  }

  function sloFilters(s) {
    const filters = {};
    if (s.segment !== "all") {
      for (const part of s.segment.split(",")) {
        const [name, value] = part.split("=");
        filters[name] = value;
      }
    }
    filters.since = day(s.window_start);
    filters.until = day(s.evaluated_at);
    return filters;
  }

  function renderSlo(data) {
    const body = $("ins-slo");
    clear(body);
    for (const s of data.slo) {
      const sign = s.direction === "min" ? "≥" : "≤";
      const value = s.metric.endsWith("seconds") ? `${num(s.value)} s` : pct(s.value);
      const interval = s.lower === null ? "—" : s.metric.endsWith("seconds") ? `${num(s.lower)}–${num(s.upper)} s` : `${pct(s.lower)}–${pct(s.upper)}`;
      const target = s.metric.endsWith("seconds") ? `${sign} ${s.target} s` : `${sign} ${pct(s.target)}`;
      const tr = row([
        words(s.objective_id),
        s.segment,
        el("span", { className: `slo-state ${s.state}`, text: STATES[s.state] || s.state }),
        drillLink(value, sloFilters(s), `Contacts behind ${s.objective_id} [${s.segment}]`),
        interval,
        target,
        String(s.sample),
      ]);
      tr.className = `slo-${s.state}`;
      tr.title = s.text;
      body.appendChild(tr);
    }
    const open = data.breaches.filter((b) => !b.closed_at);
    $("ins-breaches").textContent = data.breaches.length
      ? `${data.breaches.length} breach(es) opened in this range, ${open.length} still open.`
      : "No breach was opened in this range.";
  }

  function renderCost(cost) {
    const node = $("ins-cost");
    clear(node);
    const money = (v) => (v === null || v === undefined ? "—" : `${Number(v).toFixed(2)} ${cost.currency}`);
    const rows = [
      ["Savings", `${money(cost.savings)}`],
      ["Interval", `${money(cost.savings_lower)} to ${money(cost.savings_upper)}`],
      ["Cost per contact", money(cost.cost_per_contact)],
      ["Without the assistant", money(cost.baseline_cost_per_contact)],
      ["Savings per contact", money(cost.savings_per_contact)],
      ["Interval method", cost.method],
    ];
    for (const [label, value] of rows) {
      node.appendChild(el("dt", { text: label }));
      node.appendChild(el("dd", { text: value }));
    }
  }

  function renderMatrix(impact) {
    const chart = $("ins-matrix-chart");
    clear(chart);
    const size = 300;
    const pad = 36;
    const image = svg("svg", { viewBox: `0 0 ${size + pad + 160} ${size + pad}`, role: "img", "aria-label": "Impact matrix", class: "chart-svg matrix" });
    image.appendChild(svg("line", { x1: pad, y1: size, x2: size + pad, y2: size, class: "axis-line" }));
    image.appendChild(svg("line", { x1: pad, y1: 0, x2: pad, y2: size, class: "axis-line" }));
    image.appendChild(svg("text", { x: pad + size / 2, y: size + 28, "text-anchor": "middle", class: "axis" }, "volume share →"));
    image.appendChild(svg("text", { x: 10, y: size / 2, class: "axis", transform: `rotate(-90 10 ${size / 2})`, "text-anchor": "middle" }, "complexity →"));
    const maxShare = Math.max(0.05, ...impact.map((r) => r.volume_share));
    for (const r of impact) {
      const cx = pad + (r.volume_share / maxShare) * (size - 20) + 10;
      const cy = size - r.complexity * (size - 20) - 10;
      const dot = svg("circle", { cx, cy, r: 6 + Math.sqrt(r.contacts), class: `rec-${r.recommendation} drill-bar` });
      dot.appendChild(svg("title", {}, `${r.interaction_type}: ${r.contacts} contacts, complexity ${r.complexity}, ${words(r.recommendation)}`));
      dot.addEventListener("click", () => drill({ interaction_type: r.interaction_type }, `Contacts about ${words(r.interaction_type)}`));
      image.appendChild(dot);
      image.appendChild(svg("text", { x: cx + 10, y: cy + 4, class: "label" }, words(r.interaction_type)));
    }
    chart.appendChild(image);
    const body = $("ins-matrix");
    clear(body);
    for (const r of impact) {
      body.appendChild(
        row([
          words(r.interaction_type),
          drillLink(String(r.contacts), { interaction_type: r.interaction_type }, `Contacts about ${words(r.interaction_type)}`),
          pct(r.volume_share),
          num(r.complexity, 2),
          pct(r.resolution_rate),
          r.impact === null ? "—" : `${(r.impact * 100).toFixed(2)} pts`,
          el("span", { className: `rec rec-${r.recommendation}`, text: words(r.recommendation) }),
        ])
      );
    }
  }

  function renderReasons(reasons) {
    const body = $("ins-reasons");
    clear(body);
    for (const [reason, r] of Object.entries(reasons)) {
      body.appendChild(row([words(reason), drillLink(String(r.numerator), { escalation_reason: reason }, `Escalated: ${words(reason)}`), pct(r.value)]));
    }
    if (!Object.keys(reasons).length) body.appendChild(row(["No escalations", "", ""]));
  }

  // -- drill-down ---------------------------------------------------------------------

  async function drill(filters, title, offset = 0) {
    const params = new URLSearchParams(ins.query);
    for (const [name, value] of Object.entries(filters)) params.set(name, value);
    if (offset) params.set("offset", String(offset));
    const data = await call("GET", `/api/insights/contacts?${params}`);
    ins.drill = { filters, title };
    $("ins-drill").hidden = false;
    $("ins-contact").hidden = true;
    $("ins-drill-title").textContent = `${title} (${data.contacts.length}${data.more ? "+" : ""})`;
    const body = $("ins-drill-list");
    clear(body);
    for (const c of data.contacts) {
      const open = el("a", { text: new Date(c.started_at * 1000).toISOString().slice(0, 16).replace("T", " "), className: "drill", attrs: { href: "#insights", "data-contact": c.contact_id } });
      open.addEventListener("click", (event) => {
        event.preventDefault();
        showContact(c.contact_id).catch((error) => ($("ins-status").textContent = error.message));
      });
      body.appendChild(row([open, c.channel, c.tier, words(c.interaction_type), words(c.outcome), words(c.escalation_reason), c.csat_score ?? "—", String(c.turns)]));
    }
    $("ins-drill-more").textContent = data.more ? "More contacts match; narrow the range or segment." : "";
    $("ins-drill").scrollIntoView();
  }

  async function showContact(contactId) {
    const data = await call("GET", `/api/insights/contacts/${encodeURIComponent(contactId)}`);
    const c = data.contact;
    $("ins-contact").hidden = false;
    $("ins-contact-title").textContent = `Contact ${c.contact_id} · ${c.conversation_id}`;
    const facts = $("ins-contact-facts");
    clear(facts);
    const rows = [
      ["Started", new Date(c.started_at * 1000).toISOString().replace("T", " ").slice(0, 19)],
      ["Channel / tier", `${c.channel} / ${c.tier}`],
      ["Interaction type", words(c.interaction_type)],
      ["Outcome", words(c.outcome)],
      ["Escalation reason", words(c.escalation_reason) || "—"],
      ["CSAT", c.csat_score ?? "—"],
      ["Turns / clarifying questions", `${c.turns} / ${c.clarifying_questions}`],
      ["Backend calls / failures", `${c.backend_calls} / ${c.backend_failures}`],
      ["Queue wait / person", `${num(c.queue_wait_seconds)} s / ${num(c.human_handle_seconds)} s`],
      ["Repeat", c.is_repeat ? "yes" : "no"],
      ["Could have handled", c.could_have_handled === null ? "not judged" : c.could_have_handled ? "yes" : "no"],
      ["Model / policies", `${c.model_id} / ${c.policy_version}`],
    ];
    for (const [label, value] of rows) {
      facts.appendChild(el("dt", { text: label }));
      facts.appendChild(el("dd", { text: value }));
    }
    const link = $("ins-open-entry");
    link.hidden = !data.entry_id;
    link.onclick = (event) => {
      event.preventDefault();
      location.hash = "#queue";
      document.dispatchEvent(new CustomEvent("desk:open-entry", { detail: data.entry_id }));
    };
    const list = $("ins-transcript");
    clear(list);
    for (const turn of data.transcript) {
      list.appendChild(el("li", { className: `turn ${turn.speaker}` }, [el("span", { className: "speaker", text: turn.speaker }), el("span", { text: turn.text })]));
    }
    if (!data.transcript.length) list.appendChild(el("li", { className: "muted", text: data.transcript_source === "unavailable" ? "The assistant's server did not answer: no transcript." : "No messages." }));
    $("ins-contact").scrollIntoView();
  }

  // -- the verdict in a conversation --------------------------------------------------

  async function renderVerdict(entry) {
    const card = $("verdict-card");
    if (entry.status !== "resolved") {
      card.hidden = true;
      return;
    }
    let data;
    try {
      data = await call("GET", `/api/entries/${encodeURIComponent(entry.entry_id)}/verdict`);
    } catch (error) {
      card.hidden = true;
      return;
    }
    card.hidden = !data.verdict;
    if (!data.verdict) return;
    const v = data.verdict;
    $("verdict-state").textContent =
      v.could_have_handled === null ? "Not judged yet." : `${v.by} judged: ${v.could_have_handled ? "the assistant could have handled it" : "a person was needed"}${v.note ? ` (${v.note})` : ""}.`;
    $("verdict-form").hidden = !data.can_judge;
    card.dataset.entryId = entry.entry_id;
  }

  async function judge(couldHave) {
    const card = $("verdict-card");
    const data = await call("POST", `/api/entries/${encodeURIComponent(card.dataset.entryId)}/verdict`, {
      could_have_handled: couldHave,
      note: $("verdict-note").value.trim() || null,
    });
    const v = data.verdict;
    $("verdict-state").textContent = `${v.by} judged: ${v.could_have_handled ? "the assistant could have handled it" : "a person was needed"}.`;
    $("verdict-note").value = "";
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("ins-filters").addEventListener("submit", (event) => {
      event.preventDefault();
      load().catch((error) => ($("ins-status").textContent = error.message));
    });
    $("verdict-yes").addEventListener("click", () => judge(true).catch((e) => ($("verdict-state").textContent = e.message)));
    $("verdict-no").addEventListener("click", () => judge(false).catch((e) => ($("verdict-state").textContent = e.message)));
    window.addEventListener("hashchange", showView);
  });
  document.addEventListener("desk:me", (event) => {
    ins.me = event.detail;
    ins.data = null;
    $("nav-insights").hidden = ins.me.role !== "supervisor";
    showView();
  });
  document.addEventListener("desk:entry", (event) => {
    renderVerdict(event.detail).catch(() => ($("verdict-card").hidden = true));
  });
})();
