// llama-orch dashboard: reads GET /v2/events (fetch + a stream reader, since EventSource cannot
// send the Authorization header) and keeps the page current from it. No dependency, no build.
"use strict";

const TOKEN_KEY = "llorch.token";
const state = {
  profile: "", nodes: new Map(), pools: new Map(), running: new Map(), errors: [],
  queue: { interactive: 0, batch: 0, total: 0 }, history: [], stats: null,
};
let controller = null;
let retryMs = 1000;

const $ = (id) => document.getElementById(id);

function token() { return sessionStorage.getItem(TOKEN_KEY) || ""; }
function authHeaders() {
  const t = token();
  return t ? { Authorization: "Bearer " + t } : {};
}

function setConn(s, text) {
  const el = $("conn");
  el.dataset.state = s;
  el.textContent = text;
}

function showLogin(message) {
  $("login").hidden = false;
  $("main").hidden = true;
  $("login-error").textContent = message || "";
  $("token").focus();
}

// ---- the stream -------------------------------------------------------------------------------

async function connect() {
  if (controller) controller.abort();
  controller = new AbortController();
  setConn("connecting", "connecting…");
  let res;
  try {
    res = await fetch("/v2/events", { headers: authHeaders(), signal: controller.signal,
                                      cache: "no-store" });
  } catch (e) {
    if (e.name === "AbortError") return;
    return reconnectLater("cannot reach orchestratord");
  }
  if (res.status === 401) {
    let msg = "";
    try { msg = (await res.json()).message; } catch (_) { /* not JSON */ }
    const hadToken = token() !== "";
    sessionStorage.removeItem(TOKEN_KEY);
    setConn("error", "token needed");
    return showLogin(hadToken ? "The token was refused: " + msg : msg);
  }
  if (!res.ok || !res.body) return reconnectLater("HTTP " + res.status);
  $("login").hidden = true;
  $("main").hidden = false;
  $("signout").hidden = !token();
  retryMs = 1000;
  setConn("live", "live");
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let buf = "";
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += decoder.decode(value, { stream: true }).replace(/\r\n?/g, "\n");
      let cut;
      while ((cut = buf.indexOf("\n\n")) >= 0) {
        const block = buf.slice(0, cut);
        buf = buf.slice(cut + 2);
        const ev = parseFrame(block);
        if (ev) handle(ev.event, ev.data);
      }
    }
  } catch (e) {
    if (e.name === "AbortError") return;
  }
  reconnectLater("stream ended");
}

function parseFrame(block) {
  let event = "message";
  const data = [];
  for (const line of block.split("\n")) {
    if (line.startsWith(":")) continue;  // keep-alive comment
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "event") event = value;
    else if (field === "data") data.push(value);
  }
  if (!data.length) return null;
  try { return { event, data: JSON.parse(data.join("\n")) }; } catch (_) { return null; }
}

function reconnectLater(why) {
  setConn("error", why + "; retrying");
  setTimeout(connect, retryMs);
  retryMs = Math.min(retryMs * 2, 10000);
}

// ---- events -----------------------------------------------------------------------------------

function handle(type, d) {
  switch (type) {
    case "snapshot":
      state.profile = d.profile;
      state.nodes = new Map(d.nodes.map((n) => [n.node_id, n]));
      state.pools = new Map(d.pools.map((p) => [p.id, p]));
      state.running = new Map(d.running.map((t) => [t.task_id, t]));
      state.errors = d.errors.slice().reverse();
      state.queue = d.queue;
      state.history = d.history;
      state.stats = d.history.length ? d.history[d.history.length - 1] : null;
      renderAll();
      break;
    case "task_queued":
      break;  // the queue event that follows carries the depths
    case "task_started":
      state.running.set(d.task_id, { ...d, tokens: 0, tokens_per_s: null, ttft_ms: null });
      renderTasks(d.task_id);
      break;
    case "task_ended":
      state.running.delete(d.task_id);
      if (d.error_code && d.error_code !== "CANCELLED") {
        state.errors.unshift({ at_ms: d.at_ms, task_id: d.task_id, model: d.model, pool: d.pool,
                               code: d.error_code, message: d.message });
        state.errors.length = Math.min(state.errors.length, 50);
        renderErrors();
      }
      renderTasks();
      break;
    case "queue":
      state.queue = d;
      renderQueue();
      break;
    case "pool":
      state.pools.set(d.id, d);
      renderPools(d.id);
      break;
    case "pool_removed":
      state.pools.delete(d.id);
      renderPools();
      break;
    case "node":
      state.nodes.set(d.node_id, d);
      renderNodes(d.node_id);
      break;
    case "node_removed":
      state.nodes.delete(d.node_id);
      renderNodes();
      break;
    case "stats":
      state.stats = d;
      state.history.push(d);
      if (state.history.length > 300) state.history.shift();
      for (const p of d.running_tasks) {
        const t = state.running.get(p.task_id);
        if (t) Object.assign(t, p);
      }
      renderStats();
      renderTasks();
      renderNodes();
      break;
    case "cut_off":
      connect();
      break;
  }
}

// ---- rendering --------------------------------------------------------------------------------

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v;
    else if (k.startsWith("data-")) e.setAttribute(k, v);
    else e[k] = v;
  }
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}

function fmt(v, digits = 1) {
  return v === null || v === undefined ? "–" : Number(v).toFixed(digits);
}

function bytes(n) {
  if (!n) return "–";
  const u = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
  return n.toFixed(i ? 1 : 0) + " " + u[i];
}

function ago(ms) {
  if (!ms) return "–";
  const s = Math.max(0, (Date.now() - ms) / 1000);
  return s < 60 ? s.toFixed(0) + " s ago" : (s / 60).toFixed(1) + " min ago";
}

function badge(s) { return el("span", { class: "state", "data-state": s }, s); }

function fillTable(id, rows, flashKey) {
  const tbody = $(id).tBodies[0];
  tbody.replaceChildren(...rows);
  if (flashKey) {
    for (const r of rows) if (r.dataset.key === flashKey) r.classList.add("flash");
  }
}

function renderAll() {
  $("profile").textContent = state.profile === "cloud" ? "CLOUD profile" : "HOME profile";
  renderStats(); renderQueue(); renderNodes(); renderPools(); renderTasks(); renderErrors();
}

function renderStats() {
  const s = state.stats;
  $("tps").textContent = s ? fmt(s.tokens_per_s) : "–";
  $("ttft").textContent = s ? fmt(s.ttft_p50_ms, 0) + " / " + fmt(s.ttft_p95_ms, 0) : "–";
  $("running-count").textContent = String(state.running.size);
  chart($("chart-tps"), [state.history.map((p) => p.tokens_per_s)], ["line"]);
  chart($("chart-ttft"), [state.history.map((p) => p.ttft_p50_ms),
                          state.history.map((p) => p.ttft_p95_ms)], ["line", "line p95"]);
}

// Lines of up to 300 points (one a second), scaled to the largest value shown; the x axis spans
// at least a minute, so that a fresh history does not fill the width with a few points.
function chart(svg, series, classes) {
  const W = 300, H = 80;
  const N = Math.max(60, ...series.map((s) => s.length));
  let max = 0;
  for (const s of series) for (const v of s) if (v !== null && v > max) max = v;
  const ns = "http://www.w3.org/2000/svg";
  const kids = [];
  const axis = document.createElementNS(ns, "line");
  axis.setAttribute("class", "axis");
  axis.setAttribute("x1", 0); axis.setAttribute("x2", W);
  axis.setAttribute("y1", H - 1); axis.setAttribute("y2", H - 1);
  kids.push(axis);
  series.forEach((s, k) => {
    const pts = [];
    const off = N - s.length;
    s.forEach((v, i) => {
      if (v === null || v === undefined) return;
      const x = ((off + i) / (N - 1)) * W;
      const y = H - 2 - (max > 0 ? (v / max) * (H - 12) : 0);
      pts.push(x.toFixed(1) + "," + y.toFixed(1));
    });
    // One point is no line: draw it as a short flat step.
    if (pts.length === 1) pts.unshift(((N - 2) / (N - 1)) * W + "," + pts[0].split(",")[1]);
    const line = document.createElementNS(ns, "polyline");
    line.setAttribute("class", classes[k]);
    line.setAttribute("points", pts.join(" "));
    kids.push(line);
  });
  const label = document.createElementNS(ns, "text");
  label.setAttribute("x", 2); label.setAttribute("y", 9);
  label.textContent = max > 0 ? "max " + fmt(max) : "";
  kids.push(label);
  svg.replaceChildren(...kids);
}

function renderQueue() {
  const q = state.queue;
  $("queue").textContent = String(q.total);
  $("queue-detail").textContent = "interactive " + q.interactive + " · batch " + q.batch;
}

function renderNodes(flash) {
  const cloud = state.profile === "cloud";
  $("nodes").hidden = !cloud;
  $("nodes-home").hidden = cloud;
  const rows = [...state.nodes.values()].map((n) => {
    const drain = el("button", { type: "button", title: "Take the node out of placement" },
                     "Drain");
    drain.addEventListener("click", () => act("POST", "/v2/nodes/" + enc(n.node_id) + "/drain",
                                              null, "drain node " + n.node_id));
    return el("tr", { "data-key": n.node_id, "data-node-id": n.node_id, "data-state": n.state },
      el("td", {}, n.node_id), el("td", {}, badge(n.state)), el("td", {}, n.address),
      el("td", {}, n.pools), el("td", {}, ago(n.last_heartbeat_ms)), el("td", {}, n.version),
      el("td", {}, drain));
  });
  fillTable("nodes", rows, flash);
}

function renderPools(flash) {
  let busy = 0, total = 0;
  const rows = [...state.pools.values()].map((p) => {
    busy += p.slots_busy; total += p.slots_total;
    const bar = el("span", { class: "bar" }, el("span"));
    bar.firstChild.style.width = (p.slots_total ? (100 * p.slots_busy) / p.slots_total : 0) + "%";
    const drain = el("button", { type: "button", title: "No new tasks; running ones finish" },
                     "Drain");
    drain.addEventListener("click", () => act("POST", "/v2/pools/" + enc(p.id) + "/drain",
                                              { deadline_ms: 30000 }, "drain pool " + p.id));
    const reload = el("button", { type: "button", title: "Restart the pool on a model" },
                      "Reload");
    reload.addEventListener("click", () => {
      const ref = prompt("Model to load on pool " + p.id + " (GGUF path or name):", p.model);
      if (ref) act("POST", "/v2/pools/" + enc(p.id) + "/reload", { new_model_ref: ref },
                   "reload pool " + p.id);
    });
    const vramUsed = p.vram_total_bytes ? p.vram_total_bytes - p.vram_free_bytes : 0;
    const stateCell = el("td", {}, badge(p.state));
    if (p.last_error) stateCell.title = p.last_error;
    return el("tr", { "data-key": p.id, "data-pool-id": p.id, "data-state": p.state },
      el("td", {}, p.id), stateCell, el("td", {}, p.model), el("td", {}, p.device || "–"),
      el("td", {}, bar, p.slots_busy + " / " + p.slots_total),
      el("td", {}, p.gpu_util_percent === null ? "–" : fmt(p.gpu_util_percent, 0) + " %"),
      el("td", {}, p.vram_total_bytes ? bytes(vramUsed) + " / " + bytes(p.vram_total_bytes) : "–"),
      el("td", {}, drain, " ", reload));
  });
  $("slots").textContent = total ? "slots busy " + busy + " / " + total : "";
  fillTable("pools", rows, flash);
}

function renderTasks(flash) {
  const rows = [...state.running.values()].map((t) =>
    el("tr", { "data-key": t.task_id, "data-task-id": t.task_id },
      el("td", {}, t.task_id), el("td", {}, t.model), el("td", {}, t.priority || "–"),
      el("td", {}, t.pool), el("td", {}, t.tokens ?? 0), el("td", {}, fmt(t.tokens_per_s)),
      el("td", {}, fmt(t.ttft_ms, 0))));
  $("tasks-none").hidden = rows.length > 0;
  $("running-count").textContent = String(state.running.size);
  fillTable("tasks", rows, flash);
}

function renderErrors() {
  const rows = state.errors.map((e) =>
    el("tr", { "data-code": e.code },
      el("td", {}, new Date(e.at_ms).toLocaleTimeString()), el("td", {}, e.code),
      el("td", {}, e.task_id), el("td", {}, e.pool || "–"),
      el("td", { class: "msg" }, e.message)));
  $("errors-none").hidden = rows.length > 0;
  fillTable("errors", rows);
}

function enc(id) { return encodeURIComponent(id); }

// ---- operator actions -------------------------------------------------------------------------

async function act(method, path, body, what) {
  const status = $("action-status");
  status.textContent = what + "…";
  try {
    const res = await fetch(path, {
      method, headers: { ...authHeaders(), "Content-Type": "application/json" },
      body: body ? JSON.stringify(body) : undefined,
    });
    let msg = "";
    if (!res.ok) {
      try { const e = await res.json(); msg = (e.code ? e.code + ": " : "") + e.message; }
      catch (_) { msg = "HTTP " + res.status; }
    }
    status.textContent = what + (res.ok ? ": done" : " failed: " + msg);
    status.className = res.ok ? "muted" : "error";
  } catch (e) {
    status.textContent = what + " failed: " + e.message;
    status.className = "error";
  }
}

// ---- start ------------------------------------------------------------------------------------

$("login-form").addEventListener("submit", (e) => {
  e.preventDefault();
  sessionStorage.setItem(TOKEN_KEY, $("token").value.trim());
  $("token").value = "";
  connect();
});
$("signout").addEventListener("click", () => {
  sessionStorage.removeItem(TOKEN_KEY);
  if (controller) controller.abort();
  setConn("error", "signed out");
  showLogin("");
});
// "x s ago" moves even when no event comes.
setInterval(() => { if (state.profile === "cloud") renderNodes(); }, 5000);
connect();
