// agentos dashboard: the node panel of a run's page. a click on a node, an instance or
// a loop pass opens everything the log says about it (GET /runs/{id}/nodes/{node}),
// and, while a streamed model call of it runs, the answer as it arrives.
// every value goes in with textContent, never as html.
"use strict";

function nodeEl(name, text, cls) {
  const node = document.createElement(name);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (cls) node.className = cls;
  return node;
}

function pretty(value) {
  return nodeEl("pre", value === null || value === undefined ? "-" : JSON.stringify(value, null, 2));
}

function section(title, ...children) {
  const box = nodeEl("section");
  box.dataset.section = title.toLowerCase().replace(/ /g, "-");
  box.append(nodeEl("h3", title), ...children);
  return box;
}

function smallTable(headers, rows) {
  const table = nodeEl("table");
  const head = nodeEl("tr");
  headers.forEach((h) => head.append(nodeEl("th", h)));
  const thead = nodeEl("thead");
  thead.append(head);
  const body = nodeEl("tbody");
  rows.forEach((cells) => {
    const tr = nodeEl("tr");
    cells.forEach((c) => tr.append(c instanceof Node ? (() => { const td = nodeEl("td"); td.append(c); return td; })() : nodeEl("td", c)));
    body.append(tr);
  });
  table.append(thead, body);
  return table;
}

// an agent's error names its type already ("KeyError: 'questions'"); older logs' do not
function typed(error) {
  return error.message.startsWith(error.error_type + ":") || error.message === error.error_type;
}

function errorText(error) {
  if (!error) return "";
  return typed(error) ? error.message : error.error_type + ": " + error.message;
}

function chips(label, items, current) {
  const box = nodeEl("div", null, "chips");
  box.append(nodeEl("span", label, "muted"));
  items.forEach(([text, address]) => {
    const button = nodeEl("button", text, address === current ? "current" : "");
    button.type = "button";
    button.dataset.open = address;
    box.append(button);
  });
  return box;
}

function renderNode(runId, d) {
  const parts = [];
  const passes = (d.iterations || []).length > 1;
  const title = nodeEl("h2", passes && !d.node.includes("#") ? d.node + "#" + d.iteration : d.node);
  const badge = d.status === "never ran" ? "s-never" : "s-" + d.status;
  title.append(nodeEl("span", d.status, "badge " + badge));
  if (d.origin) title.append(nodeEl("span", d.origin, "badge origin o-" + d.origin));
  const close = nodeEl("button", "close", "close");
  close.type = "button";
  close.id = "node-close";
  title.append(close);
  parts.push(title);

  const facts = nodeEl("p", null, "muted");
  facts.append("graph node " + d.name + " · pass " + d.iteration);
  if (d.index !== null && d.index !== undefined) facts.append(" · item " + d.index);
  facts.append(" · " + d.attempts.length + " attempt(s) · events ");
  const evLink = nodeEl("a", d.events.length ? d.events.join(", ") : "none");
  const entry = d.node.split("#")[0];
  evLink.href = "/runs/" + encodeURIComponent(runId) + "/events?node=" + encodeURIComponent(entry);
  facts.append(evLink);
  parts.push(facts);
  if (d.child_run) {
    const child = nodeEl("p", "child run ");
    const link = nodeEl("a", d.child_run, "child-run");
    link.href = "/dashboard/runs/" + encodeURIComponent(d.child_run);
    child.append(link);
    parts.push(child);
  }
  if (d.waiting) parts.push(nodeEl("p", "waits for signal " + d.waiting.signal + " since " + d.waiting.since, "wait-info"));
  if (d.skip_reason) parts.push(nodeEl("p", "skipped: " + d.skip_reason, "muted"));
  if (passes) {
    parts.push(chips("passes", d.iterations.map((i) => ["#" + i, entry + "#" + i]), d.node.includes("#") ? d.node : entry + "#" + d.iteration));
  }
  if ((d.instances || []).length) parts.push(chips("instances", d.instances.map((n) => [n.slice(d.name.length), n]), d.node));

  if (d.error) {
    const err = nodeEl("pre", null, "error node-error");
    if (typed(d.error)) {
      const rest = d.error.message.slice(d.error.error_type.length);
      err.append(nodeEl("span", d.error.error_type, "error-type"), rest);
    } else {
      err.append(nodeEl("span", d.error.error_type, "error-type"), ": " + d.error.message);
    }
    parts.push(section("Error", err));
  }
  parts.push(section("Input", d.input === null ? nodeEl("p", "it never started", "muted") : pretty(d.input)));
  parts.push(section("Output", d.output === null ? nodeEl("p", "no output", "muted") : pretty(d.output)));
  if (d.next) parts.push(section("Next", pretty(d.next)));
  const attempts = d.attempts.map((a) => [a.attempt, a.outcome, a.started_at ? a.started_at.slice(11, 23) : "-",
    a.duration_ms === null ? "-" : Math.round(a.duration_ms) + " ms", errorText(a.error),
    a.retry_in === null ? "" : "retry in " + a.retry_in + " s"]);
  parts.push(section("Attempts", attempts.length ? smallTable(["#", "outcome", "started", "took", "error", ""], attempts) : nodeEl("p", "none", "muted")));
  const calls = d.model_calls.map((c) => [c.seq, c.attempt, c.provider + "/" + c.model, c.tokens_in, c.tokens_out,
    "$" + c.cost, Math.round(c.latency_ms) + " ms", c.ok ? "ok" : (c.error || "failed")]);
  parts.push(section("Model calls", calls.length ? smallTable(["seq", "attempt", "model", "in", "out", "cost", "latency", ""], calls) : nodeEl("p", "none", "muted")));
  const chosen = d.attempts.filter((a) => a.model).map((a) => [a.attempt, a.model.provider + "/" + a.model.model, a.model.reason]);
  if (chosen.length) parts.push(section("Model choice", smallTable(["attempt", "model", "reason"], chosen)));
  if (d.manifest) {
    const items = (d.manifest.items || []).map((i) => [i.name, i.source, i.tokens + "/" + i.original_tokens, i.status, i.cut || "", i.reason || ""]);
    parts.push(section("Manifest", nodeEl("p", "profile " + d.manifest.profile + " · budget " + JSON.stringify(d.manifest.budget || {}), "muted"),
      smallTable(["item", "source", "tokens", "status", "cut", "reason"], items)));
  }
  d.attempts.filter((a) => a.context_text).forEach((a) => {
    const box = nodeEl("details", null, "context");
    box.append(nodeEl("summary", "context given to attempt " + a.attempt), nodeEl("pre", a.context_text));
    parts.push(box);
  });
  if (d.spec) parts.push(section("Declared as", pretty(d.spec)));
  return parts;
}

// the text of streamed model calls as their `token` frames arrive, by node address
// (what the events name: "writer", "researcher[1]"); dropped when the node's attempt
// ends, when its output (or error) is in the panel
const liveText = new Map();

function liveNode(address) {
  return address ? address.split("#")[0] : null;
}

function liveSection(entry) {
  const box = section("Streaming", nodeEl("pre", entry.text, "live-tokens"));
  box.querySelector("h3").append(nodeEl("small", " attempt " + entry.attempt + " · call " + entry.call, "muted"));
  return box;
}

// the open node's live text, put before its output (or taken away)
function paintLive(aside) {
  const old = aside.querySelector("[data-section=streaming]");
  const entry = aside.hidden ? undefined : liveText.get(liveNode(aside.dataset.open));
  if (!entry) { if (old) old.remove(); return; }
  const fresh = liveSection(entry);
  if (old) { old.replaceWith(fresh); return; }
  const output = aside.querySelector("[data-section=output]");
  if (output) output.before(fresh);
}

// opens `address` in the panel; refreshes it in place when it is already open
async function showNode(runId, address) {
  const aside = document.getElementById("node-detail");
  aside.dataset.open = address;
  aside.hidden = false;
  const res = await fetch("/runs/" + encodeURIComponent(runId) + "/nodes/" + encodeURIComponent(address), { credentials: "same-origin" });
  if (aside.dataset.open !== address) return; // another node was opened meanwhile
  if (!res.ok) {
    const data = await res.json().catch(() => ({}));
    aside.replaceChildren(nodeEl("p", res.status + ": " + (data.detail || res.statusText), "error"));
    return;
  }
  const detail = await res.json();
  const opened = new Set([...aside.querySelectorAll("details[open]")].map((d) => d.firstChild.textContent));
  aside.replaceChildren(...renderNode(runId, detail));
  aside.querySelectorAll("details").forEach((d) => { if (opened.has(d.firstChild.textContent)) d.open = true; });
  paintLive(aside);
  markSelected(address);
}

function markSelected(address) {
  document.querySelectorAll("#panel .selected").forEach((n) => n.classList.remove("selected"));
  if (!address) return;
  document.querySelectorAll("#panel svg [data-open]").forEach((n) => {
    if (n.dataset.open === address || n.dataset.node === address.split("#")[0]) n.classList.add("selected");
  });
}

function initNodePanel(runId) {
  const aside = document.getElementById("node-detail");
  function open(event) {
    const target = event.target.closest("[data-open]");
    if (!target) return;
    event.preventDefault(); // a button in a card's summary must not fold the card
    showNode(runId, target.dataset.open);
  }
  document.getElementById("panel").addEventListener("click", open);
  aside.addEventListener("click", (event) => {
    if (event.target.closest("#node-close")) {
      aside.hidden = true;
      delete aside.dataset.open;
      markSelected(null);
      return;
    }
    open(event);
  });
  return {
    // the run moved on: the open node is fetched again
    refresh() { if (!aside.hidden && aside.dataset.open) showNode(runId, aside.dataset.open); },
    reselect() { markSelected(aside.hidden ? null : aside.dataset.open); },
    // a `token` frame: a piece of a streamed call's answer; `restart` begins a new try
    token(delta) {
      const entry = liveText.get(delta.node);
      const same = entry && entry.attempt === delta.attempt && entry.call === delta.call && !delta.restart;
      liveText.set(delta.node, { attempt: delta.attempt, call: delta.call, text: (same ? entry.text : "") + delta.text });
      if (delta.node === liveNode(aside.dataset.open)) paintLive(aside);
    },
    // an event of the log: the end of an attempt replaces its live text with what the
    // panel shows next (the output, or the error)
    event(ev) {
      if (!ev.node || !["node_succeeded", "node_failed", "node_retrying", "node_cancelled"].includes(ev.type)) return;
      if (liveText.delete(ev.node) && ev.node === liveNode(aside.dataset.open)) paintLive(aside);
    },
  };
}
