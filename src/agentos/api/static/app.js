// agentos dashboard: live runs list, live run page, start, replay and cancel buttons.
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

async function refreshRuns() {
  const res = await fetch("/runs", { credentials: "same-origin" });
  if (!res.ok) return;
  const runs = await res.json();
  document.querySelector("#runs tbody").replaceChildren(...runs.map(runRow));
}

function initRuns() {
  const form = document.getElementById("start-form");
  const out = document.getElementById("start-result");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const graph = form.elements.graph.value;
    const pr = Number(form.elements.pr_number.value || 0);
    out.textContent = "starting…";
    try {
      const run = await postJson("/runs", { graph: graph, inputs: { pr_number: pr } });
      out.replaceChildren("started ");
      const link = el("a", run.run_id);
      link.href = "/dashboard/runs/" + encodeURIComponent(run.run_id);
      out.append(link);
      refreshRuns();
    } catch (err) {
      out.textContent = String(err.message);
    }
  });
  setInterval(refreshRuns, 1000);
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

  async function refreshPanel() {
    pending = null;
    const res = await fetch("/dashboard/runs/" + encodeURIComponent(runId) + "/panel", { credentials: "same-origin" });
    if (!res.ok) return;
    const closed = new Set([...document.querySelectorAll("#panel details:not([open])")].map((d) => d.dataset.node));
    // the server escapes every value in this fragment
    document.getElementById("panel").innerHTML = await res.text();
    document.querySelectorAll("#panel details").forEach((d) => { if (closed.has(d.dataset.node)) d.open = false; });
  }
  function schedule() { if (pending === null) pending = setTimeout(refreshPanel, 250); }

  const source = new EventSource(base + "/events/stream");
  source.onmessage = (msg) => {
    list.append(eventItem(JSON.parse(msg.data)));
    count.textContent = list.children.length + " events";
    schedule();
  };
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
