// The Reelguard security dashboard. Everything shown comes from the admin
// API on this origin, called with the admin token the user gives; every
// string from it goes into the page as text (textContent), never as markup:
// alerts carry attacker-controlled evidence. The page's CSP enforces Trusted
// Types, so an accidental HTML-parsing sink would throw rather than inject.
import { SSEParser, parsePrometheus, sumBy, summarizeEvidence } from "./parse.js";

const TOKEN_KEY = "reelguard.adminToken";
const REFRESH_MS = 5000;
const RETRY_MS = 3000;
const MAX_ALERTS = 500;

const $ = (id) => document.getElementById(id);

const state = {
  token: "",
  alerts: new Map(), // id -> alert
  stream: null, // AbortController of the live stream
  timer: 0,
  generation: 0, // bumped by each restart, so a stale load stops
};

// ---- token ----

function takeTokenFromFragment() {
  const params = new URLSearchParams(location.hash.slice(1));
  const token = params.get("token");
  if (!token) return "";
  // Keep the token out of the address bar and the history.
  history.replaceState(null, "", location.pathname + location.search);
  return token;
}

function setToken(token) {
  state.token = token.trim();
  if (state.token) sessionStorage.setItem(TOKEN_KEY, state.token);
  else sessionStorage.removeItem(TOKEN_KEY);
  restart();
}

// ---- API ----

class APIError extends Error {
  constructor(status, reason, message) {
    super(message);
    this.status = status;
    this.reason = reason;
  }
}

async function api(method, path, { accept = "application/json", signal } = {}) {
  const resp = await fetch(path, {
    method,
    signal,
    headers: { Authorization: `Bearer ${state.token}`, Accept: accept },
    cache: "no-store",
    credentials: "omit",
  });
  if (!resp.ok) throw await apiError(resp);
  return resp;
}

async function apiError(resp) {
  let reason = "";
  let message = resp.statusText;
  try {
    const body = await resp.json();
    reason = String(body.reason ?? "");
    message = String(body.error ?? message);
  } catch {
    // not a JSON error: keep the status text
  }
  return new APIError(resp.status, reason, message);
}

function explain(err) {
  if (!(err instanceof APIError)) return `Cannot reach the admin API: ${err.message}`;
  const why = err.reason ? ` (${err.reason})` : "";
  if (err.status === 401) return `401 Unauthorized${why}: the token is missing, expired, revoked or invalid.`;
  if (err.status === 403) return `403 Forbidden${why}: this token is not an admin token.`;
  return `${err.status} ${err.message}${why}`;
}

function showError(err) {
  const box = $("error");
  if (!err) {
    box.hidden = true;
    box.textContent = "";
    return;
  }
  box.hidden = false;
  box.textContent = typeof err === "string" ? err : explain(err);
}

// ---- DOM helpers (text only) ----

function el(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (className) node.className = className;
  return node;
}

function row(cells, className) {
  const tr = el("tr", null, className);
  for (const cell of cells) {
    tr.append(cell instanceof Node ? cell : el("td", cell));
  }
  return tr;
}

function fillBody(table, rows, emptyText) {
  const body = $(table).tBodies[0];
  if (rows.length === 0) {
    const td = el("td", emptyText, "empty");
    td.colSpan = $(table).tHead.rows[0].cells.length;
    body.replaceChildren(row([td]));
    return;
  }
  body.replaceChildren(...rows);
}

function formatTime(value) {
  if (!value || value.startsWith("0001-01-01")) return "never";
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? String(value) : d.toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z");
}

// ---- alerts ----

function addAlert(a) {
  if (!a || typeof a !== "object" || typeof a.id !== "string") return;
  state.alerts.set(a.id, a);
  if (state.alerts.size > MAX_ALERTS) {
    const oldest = sortedAlerts().slice(MAX_ALERTS);
    for (const old of oldest) state.alerts.delete(old.id);
  }
}

// sortedAlerts is newest first; times are compared as instants (RFC 3339
// strings with trimmed fractions do not sort as text).
function sortedAlerts() {
  const at = (a) => Date.parse(a.time) || 0;
  return [...state.alerts.values()].sort((x, y) => at(y) - at(x) || String(y.id).localeCompare(String(x.id)));
}

function renderAlerts() {
  const rows = sortedAlerts().map((a) => {
    const sev = String(a.severity ?? "");
    const tr = row([formatTime(a.time), a.kind, sev, a.subject, a.ip, a.action, el("td", summarizeEvidence(a.evidence), "evidence")],
      /^[a-z]+$/.test(sev) ? `sev-${sev}` : "");
    tr.dataset.alertId = String(a.id);
    return tr;
  });
  fillBody("alerts", rows, "No alerts.");
}

async function loadAlerts() {
  const list = await (await api("GET", "/admin/alerts")).json();
  if (Array.isArray(list)) list.forEach(addAlert);
  renderAlerts();
}

function setStreamState(text, live) {
  const pill = $("stream-state");
  pill.textContent = text;
  pill.classList.toggle("live", live);
}

// followAlerts reads /admin/alerts/stream with fetch() (to send the token)
// and reconnects after a drop, unless the token is refused.
async function followAlerts(ctrl) {
  while (!ctrl.signal.aborted) {
    try {
      const resp = await api("GET", "/admin/alerts/stream", { accept: "text/event-stream", signal: ctrl.signal });
      setStreamState("live", true);
      await readEvents(resp.body, ctrl.signal);
    } catch (err) {
      if (ctrl.signal.aborted) return;
      if (err instanceof APIError && (err.status === 401 || err.status === 403)) {
        setStreamState("refused", false);
        showError(err);
        return;
      }
    }
    setStreamState("reconnecting", false);
    await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
  }
}

async function readEvents(body, signal) {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  const parser = new SSEParser((ev) => {
    if (ev.event !== "alert") return;
    try {
      addAlert(JSON.parse(ev.data));
      renderAlerts();
    } catch {
      // a malformed event is skipped, the stream goes on
    }
  });
  signal.addEventListener("abort", () => reader.cancel().catch(() => {}), { once: true });
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    parser.push(decoder.decode(value, { stream: true }));
  }
}

// ---- blocks ----

async function loadBlocks() {
  const list = await (await api("GET", "/admin/blocks")).json();
  const rows = (Array.isArray(list) ? list : []).map((b) => {
    const button = el("button", "Unblock");
    button.type = "button";
    button.addEventListener("click", () => unblock(String(b.kind), String(b.value), button));
    const tr = row([b.kind, b.value, formatTime(b.until), wrapCell(button)]);
    tr.dataset.kind = String(b.kind);
    return tr;
  });
  fillBody("blocks", rows, "Nothing blocked.");
}

function wrapCell(node) {
  const td = el("td");
  td.append(node);
  return td;
}

function blockPath(kind, value) {
  return `/admin/blocks/${encodeURIComponent(kind)}/${encodeURIComponent(value)}`;
}

async function unblock(kind, value, button) {
  button.disabled = true;
  try {
    await api("DELETE", blockPath(kind, value));
    showError(null);
    await loadBlocks();
  } catch (err) {
    showError(err);
    button.disabled = false;
  }
}

async function block(event) {
  event.preventDefault();
  const kind = $("block-kind").value;
  const value = $("block-value").value.trim();
  const ttl = $("block-ttl").value.trim();
  if (!value) return;
  const query = ttl ? `?ttl=${encodeURIComponent(ttl)}` : "";
  try {
    await api("PUT", blockPath(kind, value) + query);
    $("block-value").value = "";
    showError(null);
    await loadBlocks();
  } catch (err) {
    showError(err);
  }
}

// ---- policy, counters and principals ----

async function loadPolicy() {
  const st = await (await api("GET", "/admin/policy")).json();
  $("policy-revision").textContent = String(st.revision ?? "–");
  $("policy-loaded").textContent = formatTime(st.loaded_at);
  const last = $("policy-error");
  const failed = st.last_error !== null && st.last_error !== undefined;
  last.textContent = failed ? `rejected: ${st.last_error}` : "ok";
  last.className = failed ? "bad" : "good";
}

async function loadCounters() {
  const samples = parsePrometheus(await (await api("GET", "/metrics", { accept: "text/plain" })).text());
  const items = [];
  const byCode = sumBy(samples, "reelguard_http_requests_total", "code");
  for (const code of [...byCode.keys()].sort()) items.push([`Requests ${code}`, byCode.get(code)]);
  const limited = sumBy(samples, "reelguard_rate_limited_total", "stage");
  items.push(["Rate limited (429)", [...limited.values()].reduce((a, b) => a + b, 0)]);
  for (const stage of [...limited.keys()].sort()) items.push([`  by ${stage}`, limited.get(stage)]);
  items.push(gaugeItem(samples, "reelguard_limiter_degraded", "Limiter", "degraded (in-process fallback)", "shared", 1));
  items.push(gaugeItem(samples, "reelguard_events_broker_up", "Kafka broker", "up", "down", 0));
  const dl = $("counters");
  dl.replaceChildren();
  for (const [label, value, bad] of items) {
    dl.append(el("dt", label), el("dd", value, bad ? "bad" : ""));
  }
}

// loadStats shows GET /admin/stats: the model version and the principals
// reading the most, by requests and by distinct other users.
async function loadStats() {
  const st = await (await api("GET", "/admin/stats")).json();
  $("model-version").textContent = st.model_version ? String(st.model_version) : "not seen yet";
  $("requests-window").textContent = windowText(st.requests_window_seconds, 2);
  $("distinct-window").textContent = windowText(st.distinct_window_seconds, 1);
  const top = (list) => (Array.isArray(list) ? list : []);
  fillBody("top-requests", top(st.top_requests).map((p) => row([p.principal, p.role, p.requests])), "No requests yet.");
  fillBody("top-distinct", top(st.top_distinct).map((p) => {
    const action = String(p.action ?? "none");
    return row([p.principal, p.role, p.distinct_targets, p.threshold, p.requests, action],
      action !== "none" && action !== "" ? "flagged" : "");
  }), "No principal read other users' lists.");
}

// windowText says over what time a top list counts: windows of seconds,
// the last one to many of them.
function windowText(seconds, many) {
  const s = Number(seconds);
  if (!Number.isFinite(s) || s <= 0) return "";
  const span = s % 60 === 0 ? `${s / 60} min` : `${s} s`;
  return many > 1 ? `(last ${span} to ${many} × ${span})` : `(last ${span})`;
}

// gaugeItem shows a 0/1 gauge in words; badWhen is the alarming value.
function gaugeItem(samples, name, label, one, zero, badWhen) {
  const s = samples.find((x) => x.name === name);
  if (!s) return [label, "not reported", false];
  return [label, s.value === 1 ? one : zero, s.value === badWhen];
}

// ---- refresh loop ----

async function refresh() {
  const results = await Promise.allSettled([loadBlocks(), loadPolicy(), loadCounters(), loadStats()]);
  const failure = results.find((r) => r.status === "rejected");
  showError(failure ? failure.reason : null);
  $("status").textContent = failure ? "Last refresh failed." : `Updated ${formatTime(new Date().toISOString())}.`;
}

async function restart() {
  const generation = ++state.generation;
  state.stream?.abort();
  clearInterval(state.timer);
  state.alerts.clear();
  renderAlerts();
  if (!state.token) {
    $("status").textContent = "Enter an admin token to load the dashboard.";
    setStreamState("offline", false);
    return;
  }
  $("status").textContent = "Loading…";
  try {
    await loadAlerts();
  } catch (err) {
    showError(err);
    $("status").textContent = "The admin API refused the request.";
    setStreamState("offline", false);
    return;
  }
  if (generation !== state.generation) return;
  await refresh();
  if (generation !== state.generation) return;
  state.timer = setInterval(refresh, REFRESH_MS);
  state.stream = new AbortController();
  followAlerts(state.stream);
}

function main() {
  $("token-form").addEventListener("submit", (event) => {
    event.preventDefault();
    setToken($("token").value);
    $("token").value = "";
  });
  $("forget").addEventListener("click", () => setToken(""));
  $("block-form").addEventListener("submit", block);
  state.token = takeTokenFromFragment() || sessionStorage.getItem(TOKEN_KEY) || "";
  if (state.token) sessionStorage.setItem(TOKEN_KEY, state.token);
  restart();
}

main();
