// Parsers for what the admin listener sends: server-sent events read from a
// fetch() body (EventSource cannot send the Authorization header) and
// Prometheus' text exposition format. Pure functions, no DOM.

// SSEParser takes decoded text chunks as they arrive and calls onEvent with
// {id, event, data} for each complete event (WHATWG "event stream"
// interpretation: comments ignored, data lines joined with "\n").
export class SSEParser {
  constructor(onEvent) {
    this.onEvent = onEvent;
    this.buf = "";
    this.reset();
  }

  reset() {
    this.data = [];
    this.event = "";
    this.id = "";
  }

  push(chunk) {
    this.buf += chunk;
    let nl;
    while ((nl = this.buf.search(/\r\n|\r|\n/)) >= 0) {
      const line = this.buf.slice(0, nl);
      const sep = this.buf.startsWith("\r\n", nl) ? 2 : 1;
      this.buf = this.buf.slice(nl + sep);
      this.line(line);
    }
  }

  line(line) {
    if (line === "") {
      if (this.data.length > 0) {
        this.onEvent({ id: this.id, event: this.event || "message", data: this.data.join("\n") });
      }
      this.reset();
      return;
    }
    if (line.startsWith(":")) return;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "data") this.data.push(value);
    else if (field === "event") this.event = value;
    else if (field === "id") this.id = value;
  }
}

// parsePrometheus returns the samples of a text exposition:
// [{name, labels: {k: v}, value: Number}], skipping comments and lines it
// cannot read.
export function parsePrometheus(text) {
  const samples = [];
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const sample = parseSample(line);
    if (sample) samples.push(sample);
  }
  return samples;
}

function parseSample(line) {
  const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})?\s+(\S+)/.exec(line);
  if (!m) return null;
  const labels = m[2] ? parseLabels(m[2].slice(1, -1)) : {};
  if (labels === null) return null;
  const value = Number(m[3].replace(/^\+?Inf$/, "Infinity").replace(/^-Inf$/, "-Infinity"));
  return { name: m[1], labels, value };
}

function parseLabels(body) {
  const labels = {};
  const re = /\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?/y;
  let m;
  while (re.lastIndex < body.length && (m = re.exec(body)) !== null) {
    labels[m[1]] = m[2].replace(/\\(.)/g, (_, c) => (c === "n" ? "\n" : c));
  }
  return re.lastIndex === body.length || body.trim() === "" ? labels : null;
}

// sumBy adds up the samples named name, grouped by one label's value.
export function sumBy(samples, name, label) {
  const out = new Map();
  for (const s of samples) {
    if (s.name !== name) continue;
    const key = s.labels[label] ?? "";
    out.set(key, (out.get(key) ?? 0) + s.value);
  }
  return out;
}

// summarizeEvidence renders an alert's evidence object as short
// "key=value" text (the caller puts it in textContent, never markup).
export function summarizeEvidence(evidence, max = 300) {
  if (evidence === null || typeof evidence !== "object") return "";
  const parts = Object.keys(evidence).sort().map((k) => {
    const v = evidence[k];
    return `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`;
  });
  const text = parts.join(" ");
  return text.length > max ? text.slice(0, max - 1) + "…" : text;
}
