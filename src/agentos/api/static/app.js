// agentos dashboard: runs list (filters, paging, live page), run page (live), start, replay,
// cancel and signal buttons; node.js opens a node in full.
// every value from the server is put in the page with textContent, never as html,
// except the run panel, which the server renders with everything escaped.
"use strict";

function el(name, text, cls) {
  const node = document.createElement(name);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (cls) node.className = cls;
  return node;
}

function seconds(value) {
  if (value === null || value === undefined) return "-";
  return value < 1 ? Math.round(value * 1000) + " ms" : value.toFixed(2) + " s";
}

async function postJson(url, body) {
  const res = await fetch(url, {
    method: "POST",
    // a foreign page cannot send this header without a CORS preflight the server refuses
    headers: { "content-type": "application/json", "x-agentos-request": "1" },
    body: JSON.stringify(body),
    credentials: "same-origin",
  });
  const data = await res.json().catch(() => ({}));
  if (!res.ok) {
    const detail = typeof data.detail === "string" ? data.detail : JSON.stringify(data.detail);
    throw new Error(res.status + ": " + detail);
  }
  return data;
}

// the runs list

function runRow(run) {
  const tr = el("tr");
  tr.dataset.run = run.run_id;
  const first = el("td");
  const link = el("a", run.run_id);
  link.href = "/dashboard/runs/" + encodeURIComponent(run.run_id);
  first.append(link);
  if (run.replayed_from) first.append(el("small", " replay of " + run.replayed_from, "muted"));
  const status = el("td");
  status.append(el("span", run.status, "badge s-" + run.status));
  if (run.error) status.append(el("small", " " + run.error, "muted"));
  const events = el("td");
  const evLink = el("a", "events");
  evLink.href = "/runs/" + encodeURIComponent(run.run_id) + "/events";
  events.append(evLink);
  tr.append(first, el("td", run.graph), status, el("td", run.events),
    el("td", run.started ? run.started.slice(0, 19).replace("T", " ") : "-"), el("td", seconds(run.duration)), events);
  return tr;
}

// the runs list: one page, filtered on the server, kept live by the runs stream

const runsView = { status: "", graph: "", q: "", offset: 0, limit: 25, asked: 0 };

function runsQuery() {
  const params = new URLSearchParams();
  for (const key of ["status", "graph", "q"]) if (runsView[key]) params.set(key, runsView[key]);
  if (runsView.offset) params.set("offset", String(runsView.offset));
  return params;
}

async function refreshRuns() {
  const asked = ++runsView.asked;
  const params = runsQuery();
  params.set("limit", String(runsView.limit));
  const res = await fetch("/runs?" + params, { credentials: "same-origin" });
  if (!res.ok || asked !== runsView.asked) return; // a newer request answers instead
  const runs = await res.json();
  const total = Number(res.headers.get("x-total-count") || runs.length);
  if (runs.length === 0 && runsView.offset > 0 && total > 0) {
    runsView.offset = Math.max(0, Math.floor((total - 1) / runsView.limit) * runsView.limit);
    return refreshRuns(); // the page emptied under us: show the last one
  }
  document.querySelector("#runs tbody").replaceChildren(...runs.map(runRow));
  showCount(total, runs.length);
}

function showCount(total, shown) {
  const count = document.getElementById("runs-count");
  const first = shown ? runsView.offset + 1 : 0;
  count.textContent = first + "-" + (runsView.offset + shown) + " of " + total;
  count.dataset.total = String(total);
  document.getElementById("runs-prev").disabled = runsView.offset === 0;
  document.getElementById("runs-next").disabled = runsView.offset + runsView.limit >= total;
}

function initFilters() {
  const form = document.getElementById("runs-filter");
  const count = document.getElementById("runs-count");
  runsView.limit = Number(count.dataset.limit) || 25;
  const url = new URLSearchParams(window.location.search);
  for (const key of ["status", "graph", "q"]) {
    runsView[key] = url.get(key) || "";
    form.elements[key].value = runsView[key];
  }
  runsView.offset = Math.max(0, Number(url.get("offset")) || 0);
  const rows = document.querySelectorAll("#runs tbody tr").length;
  showCount(Number(count.dataset.total) || 0, rows);
  function changed() {
    const query = runsQuery();
    window.history.replaceState(null, "", "/dashboard" + (query.size ? "?" + query : ""));
    refreshRuns();
  }
  let typing = null;
  form.addEventListener("input", (event) => {
    const key = event.target.name;
    if (!(key in runsView)) return;
    runsView[key] = event.target.value.trim();
    runsView.offset = 0;
    clearTimeout(typing);
    typing = setTimeout(changed, key === "q" ? 250 : 0);
  });
  form.addEventListener("submit", (event) => event.preventDefault());
  document.getElementById("runs-prev").addEventListener("click", () => {
    runsView.offset = Math.max(0, runsView.offset - runsView.limit);
    changed();
  });
  document.getElementById("runs-next").addEventListener("click", () => {
    runsView.offset += runsView.limit;
    changed();
  });
  if (runsQuery().size) refreshRuns();
  followRuns();
}

// live updates: the server sends the summary of each run that appeared or changed
// (GET /runs/stream); a row on this page is redrawn in place, anything else that may
// change the page (a new run, a status leaving the filter, a deletion) asks for the
// page again, once per burst

let pageDue = null;

function refreshSoon() {
  if (pageDue === null) pageDue = setTimeout(() => { pageDue = null; refreshRuns(); }, 200);
}

function followRuns() {
  const source = new EventSource("/runs/stream");
  source.onopen = () => refreshRuns(); // catch up on what changed before (or between) streams
  source.addEventListener("run", (msg) => {
    const run = JSON.parse(msg.data);
    const row = document.querySelector('#runs tbody tr[data-run="' + CSS.escape(run.run_id) + '"]');
    const kept = !runsView.status || runsView.status.split(",").includes(run.status);
    if (row && kept) row.replaceWith(runRow(run));
    else refreshSoon();
  });
  source.addEventListener("removed", refreshSoon);
}

// the start form: one field per input the chosen graph declares, with its default

function inputField(name, value) {
  const label = el("label", name + " ");
  const input = el("input");
  input.name = name;
  if (typeof value === "number") {
    input.type = "number";
    input.step = "any";
    input.value = String(value);
    input.dataset.kind = "number";
  } else if (typeof value === "boolean") {
    input.type = "checkbox";
    input.checked = value;
    input.dataset.kind = "boolean";
  } else if (typeof value === "string") {
    input.type = "text";
    input.value = value;
    input.dataset.kind = "string";
  } else {
    input.type = "text";
    input.value = JSON.stringify(value);
    input.dataset.kind = "json";
  }
  label.append(input);
  return label;
}

function showInputs(form) {
  const option = form.querySelector("select[name=graph]").selectedOptions[0];
  const defaults = JSON.parse((option && option.dataset.inputs) || "{}");
  const fields = Object.entries(defaults).map(([name, value]) => inputField(name, value));
  document.getElementById("start-inputs").replaceChildren(
    ...(fields.length ? fields : [el("span", "no declared inputs", "muted")]));
}

function readInputs() {
  const inputs = {};
  for (const input of document.querySelectorAll("#start-inputs input")) {
    const kind = input.dataset.kind;
    if (kind === "boolean") inputs[input.name] = input.checked;
    else if (kind === "number") { if (input.value !== "") inputs[input.name] = Number(input.value); }
    else if (kind === "json") {
      try { inputs[input.name] = JSON.parse(input.value); } catch (err) { throw new Error("input " + input.name + " is not JSON"); }
    } else inputs[input.name] = input.value;
  }
  return inputs;
}

function initRuns() {
  const form = document.getElementById("start-form");
  const out = document.getElementById("start-result");
  const graphs = form.querySelector("select[name=graph]");
  showInputs(form);
  graphs.addEventListener("change", () => showInputs(form));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    out.textContent = "starting…";
    try {
      const run = await postJson("/runs", { graph: graphs.value, inputs: readInputs() });
      out.replaceChildren("started ");
      const link = el("a", run.run_id);
      link.href = "/dashboard/runs/" + encodeURIComponent(run.run_id);
      out.append(link);
      refreshRuns();
    } catch (err) {
      out.textContent = String(err.message);
    }
  });
  initFilters();
}

// a run's page

function eventSummary(ev) {
  const data = ev.data || {};
  if (ev.type === "model_selected") return data.provider + "/" + data.model + ": " + data.reason;
  if (ev.type === "model_called") return data.tokens_in + " in · " + data.tokens_out + " out · $" + data.cost;
  if (ev.type === "context_compiled") return "profile " + data.profile + " · " + (data.manifest.items || []).length + " items";
  if (ev.type === "node_failed" || ev.type === "run_failed") return data.error;
  if (ev.type === "file_written") return data.op + " " + data.path;
  if (ev.type === "run_created") return JSON.stringify(data.inputs);
  const text = JSON.stringify(data);
  return text === "{}" ? "" : text.slice(0, 160);
}

function eventItem(ev) {
  const li = el("li", null, "ev t-" + ev.type);
  const time = new Date(ev.ts).toISOString().slice(11, 23);
  li.append(el("span", ev.seq, "seq"), el("span", time, "ts"), el("span", ev.type, "type"),
    el("span", ev.node || "", "node"), el("span", eventSummary(ev), "sum"));
  return li;
}

function initRun() {
  const runId = document.getElementById("run").dataset.run;
  const base = "/runs/" + encodeURIComponent(runId);
  const list = document.getElementById("events");
  const count = document.getElementById("event-count");
  let pending = null;
  const nodePanel = initNodePanel(runId);

  async function refreshPanel() {
    pending = null;
    const res = await fetch("/dashboard/runs/" + encodeURIComponent(runId) + "/panel", { credentials: "same-origin" });
    if (!res.ok) return;
    const closed = new Set([...document.querySelectorAll("#panel details:not([open])")].map((d) => d.dataset.node));
    // the server escapes every value in this fragment
    document.getElementById("panel").innerHTML = await res.text();
    document.querySelectorAll("#panel details").forEach((d) => { if (closed.has(d.dataset.node)) d.open = false; });
    nodePanel.reselect();
    nodePanel.refresh();
  }
  function schedule() { if (pending === null) pending = setTimeout(refreshPanel, 250); }

  const source = new EventSource(base + "/events/stream");
  source.onmessage = (msg) => {
    const ev = JSON.parse(msg.data);
    list.append(eventItem(ev));
    count.textContent = list.children.length + " events";
    nodePanel.event(ev);
    schedule();
  };
  // live pieces of streamed model calls: never in the log, shown in the node panel
  source.addEventListener("token", (msg) => nodePanel.token(JSON.parse(msg.data)));
  const cancel = document.getElementById("cancel");
  source.addEventListener("end", () => { source.close(); refreshPanel(); count.textContent += " · ended"; cancel.disabled = true; });
  // a frame named "error" with data: the run stalled (an append failed); no reconnect
  source.addEventListener("error", (msg) => { if (!msg.data) return; source.close(); refreshPanel(); count.textContent += " · stalled"; });

  const form = document.getElementById("replay-form");
  const out = document.getElementById("replay-result");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    out.textContent = "replaying…";
    try {
      const run = await postJson(base + "/replay", { from_step: form.elements.from_step.value });
      window.location.href = "/dashboard/runs/" + encodeURIComponent(run.run_id);
    } catch (err) {
      out.textContent = String(err.message);
    }
  });

  // Approve / Reject on a waiting node (the panel is re-rendered: delegate the clicks)
  document.getElementById("panel").addEventListener("click", async (event) => {
    const button = event.target.closest("button.signal");
    if (!button) return;
    const out = button.parentElement.querySelector(".signal-result");
    button.parentElement.querySelectorAll("button.signal").forEach((b) => { b.disabled = true; });
    out.textContent = "sending…";
    try {
      const body = { approved: button.dataset.approved === "true", by: "dashboard" };
      const state = await postJson(base + "/signals/" + encodeURIComponent(button.dataset.signal), body);
      out.textContent = state.status;
      refreshPanel();
    } catch (err) {
      out.textContent = String(err.message);
      button.parentElement.querySelectorAll("button.signal").forEach((b) => { b.disabled = false; });
    }
  });

  const cancelled = document.getElementById("cancel-result");
  cancel.addEventListener("click", async () => {
    cancel.disabled = true;
    cancelled.textContent = "cancelling…";
    try {
      const state = await postJson(base + "/cancel", { reason: "cancelled from the dashboard" });
      cancelled.textContent = state.status;
      refreshPanel();
    } catch (err) {
      cancelled.textContent = String(err.message);
      cancel.disabled = false;
    }
  });
}

document.addEventListener("DOMContentLoaded", () => {
  const pageName = document.body.dataset.page;
  if (pageName === "runs") initRuns();
  if (pageName === "run") initRun();
});
