// The console as a profiler: panels for one session's page (see session.js for what a
// panel is). Level meters and a scrolling waveform/spectrum (meters.js), the event log
// with filters, derived values and knobs, named input snapshots, a profiling recording,
// and the real-time factor / underrun graph. The server side is runtime/console/profiler.py
// (ops "profiler.*"); the log is polled 4 times a second from the last entry seen.

import { FLOOR_DB, Meters } from "./meters.js";

const el = (tag, cls, text) => {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
};

function panel(title, id) {
  const box = el("section", "panel");
  box.id = id;
  box.append(el("h2", "", title));
  return box;
}

const fmt = (v) => (v <= FLOOR_DB ? "−∞" : v.toFixed(1));

// A canvas's 2D context sized to its box; resized only when the box changes (resizing
// reallocates the bitmap and forces layout: not ten times a second).
function fit(canvas, fallbackH) {
  const w = canvas.clientWidth || 400, h = canvas.clientHeight || fallbackH;
  if (canvas.width !== w) canvas.width = w;
  if (canvas.height !== h) canvas.height = h;
  return [canvas.getContext("2d"), w, h];
}

// ------------------------------------------------------------------------- meters
export function metersPanel(ctx) {
  const box = panel("Meters", "panel-meters");
  const meters = (ctx.meters = new Meters(ctx.player));
  const rows = el("div", "meters");
  const bars = {};
  for (const [key, label, unit] of [["peak", "Peak", "dBFS"], ["rms", "RMS", "dBFS"],
    ["lufs", "Short-term", "LUFS"]]) {
    const row = el("div", "meter-row");
    const bar = el("div", "meter-bar");
    const fill = el("div", "meter-fill");
    bar.append(fill);
    const value = el("output", "meter-value", "−∞");
    value.id = `meter-${key}`;
    row.append(el("span", "meter-name", label), bar, value, el("span", "muted", unit));
    rows.append(row);
    bars[key] = { fill, value };
  }
  const wave = el("canvas", "wave");
  wave.id = "waveform";
  const mode = el("button", "small", "Spectrum");
  mode.id = "wave-mode";
  let spectrum = false;
  mode.addEventListener("click", () => {
    spectrum = !spectrum;
    mode.textContent = spectrum ? "Waveform" : "Spectrum";
  });
  box.append(rows, mode, wave);
  const history = [];
  const bins = new Uint8Array(meters.analyser.frequencyBinCount);
  ctx.levels = meters.last;
  const draw = () => {
    const [g, w, h] = fit(wave, 90);
    g.clearRect(0, 0, w, h);
    g.fillStyle = "#4e9af1";
    if (spectrum) {
      meters.spectrum(bins);
      const n = Math.min(bins.length, 512);
      for (let i = 0; i < n; i++) {
        const x = (Math.log10(1 + i) / Math.log10(1 + n)) * w;
        g.fillRect(x, h - (bins[i] / 255) * h, Math.max(1, w / n), (bins[i] / 255) * h);
      }
      return;
    }
    const step = w / 300;
    history.forEach(([lo, hi], i) => {
      g.fillRect(i * step, h / 2 - hi * h / 2, Math.max(1, step), Math.max(1, (hi - lo) * h / 2));
    });
  };
  return {
    el: box, column: "right",
    tick() {
      const m = (ctx.levels = meters.read());
      for (const [key, v] of [["peak", m.peakHoldDb], ["rms", m.rmsDb], ["lufs", m.lufs]]) {
        bars[key].value.textContent = fmt(v);
        bars[key].value.dataset.db = String(v);
        bars[key].fill.style.width = `${Math.max(0, Math.min(100, (v + 60) / 60 * 100))}%`;
      }
      history.push([m.min, m.max]);
      if (history.length > 300) history.shift();
      draw();
    },
  };
}

// ---------------------------------------------------------------------- event log
const KINDS = [["state", "State"], ["latch", "Latches"], ["transition", "Transitions"],
  ["stinger", "Stingers"], ["underrun", "Underruns"], ["error", "Errors"], ["tempo", "Tempo"]];

export function eventLogPanel(ctx) {
  const box = panel("Event log", "panel-events");
  const filters = el("div", "filters");
  const shown = new Set(KINDS.map(([k]) => k));
  for (const [kind, label] of KINDS) {
    const l = el("label", "filter");
    const c = el("input");
    c.type = "checkbox";
    c.checked = true;
    c.dataset.filter = kind;
    c.addEventListener("change", () => {
      if (c.checked) shown.add(kind); else shown.delete(kind);
      for (const li of list.children) li.hidden = !shown.has(li.dataset.kind);
    });
    l.append(c, ` ${label}`);
    filters.append(l);
  }
  const list = el("ol", "event-log");
  list.id = "event-log";
  box.append(filters, list);
  let next = 0;
  let busy = false;
  const poll = async () => {
    if (busy || ctx.ended) return;
    busy = true;
    try {
      const r = await ctx.api.call("profiler.poll", { session_id: ctx.sessionId, after: next });
      next = r.next;
      for (const e of r.events) {
        const li = el("li", `ev ${e.kind}`);
        li.dataset.kind = e.kind;
        if (e.bar) { li.dataset.bar = e.bar; li.dataset.beat = e.beat; }
        if (e.phase) li.dataset.phase = e.phase;
        const where = e.bar ? `bar ${e.bar}.${e.beat}` : "";
        li.append(el("span", "ev-time", `${e.t.toFixed(2)} s`), el("span", "ev-where", where),
          el("span", "ev-kind", e.kind), el("span", "ev-text", e.text));
        li.hidden = !shown.has(e.kind);
        list.prepend(li);
      }
      while (list.children.length > 300) list.lastChild.remove();
      ctx.profile = r;
      ctx.onProfile?.forEach((f) => f(r));
    } catch (e) {
      if (e.code === "not_found") ctx.ended = true;
    } finally {
      busy = false;
    }
  };
  const timer = setInterval(poll, 250);
  poll();
  return { el: box, column: "right", close: () => clearInterval(timer) };
}

// --------------------------------------------------------- derived values and knobs
export function valuesPanel(ctx) {
  const box = panel("Derived and knobs", "panel-values");
  const table = el("dl", "values");
  table.id = "values";
  box.append(table);
  const cells = new Map();
  const show = (prefix, values) => {
    for (const [name, v] of Object.entries(values)) {
      const key = `${prefix}-${name}`;
      let dd = cells.get(key);
      if (!dd) {
        const dt = el("dt", "", name);
        dt.title = prefix === "derived" ? "derived (scene)" : "knob";
        dd = el("dd", prefix);
        dd.id = key;
        cells.set(key, dd);
        table.append(dt, dd);
      }
      dd.textContent = typeof v === "number" ? v.toFixed(3) : String(v);
      dd.dataset.value = String(v);
    }
  };
  (ctx.onProfile ||= []).push((r) => {
    show("derived", r.derived || {});
    show("knob", r.knobs || {});
  });
  return { el: box, column: "left" };
}

// -------------------------------------------------------------------- snapshots
export function snapshotsPanel(ctx) {
  const box = panel("Snapshots", "panel-snapshots");
  const name = el("input");
  name.type = "text";
  name.id = "snapshot-name";
  name.placeholder = "snapshot name, e.g. boss fight";
  name.maxLength = 60;
  const save = el("button", "", "Save inputs");
  save.id = "snapshot-save";
  const list = el("div", "buttons");
  list.id = "snapshots";
  const row = el("div", "buttons");
  row.append(name, save);
  box.append(row, list);
  const render = (snapshots) => {
    list.replaceChildren(...Object.keys(snapshots).map((n) => {
      const b = el("button", "small", n);
      b.dataset.snapshot = n;
      b.title = Object.entries(snapshots[n]).map(([k, v]) => `${k} = ${v}`).join("\n");
      b.addEventListener("click", () => ctx.api
        .call("profiler.recall", { session_id: ctx.sessionId, name: n })
        .then(() => ctx.api.call("session", { session_id: ctx.sessionId }).then(ctx.update))
        .catch((e) => ctx.flash(e)));
      return b;
    }));
  };
  save.addEventListener("click", () => {
    if (!name.value.trim()) return ctx.flash({ message: "name the snapshot first" });
    ctx.api.call("profiler.snapshot", { session_id: ctx.sessionId, name: name.value.trim() })
      .then((r) => render(r.snapshots), ctx.flash);
  });
  ctx.api.call("profiler.snapshots", { session_id: ctx.sessionId }).then((r) => render(r.snapshots),
    () => {});
  return { el: box, column: "left" };
}

// --------------------------------------------------------- recording and performance
export function profilingPanel(ctx) {
  const box = panel("Profiling", "panel-profiling");
  const record = el("button", "", "Record");
  record.id = "record";
  const link = el("a", "download");
  link.id = "record-download";
  link.hidden = true;
  const status = el("p", "stats");
  status.id = "record-status";
  const canvas = el("canvas", "perf");
  canvas.id = "perf-chart";
  const perf = el("p", "stats");
  perf.id = "perf-stats";
  const row = el("div", "buttons");
  row.append(record, link);
  box.append(row, status, canvas, perf);
  let recording = false;
  record.addEventListener("click", async () => {
    try {
      if (!recording) {
        const r = await ctx.api.call("profiler.record", { session_id: ctx.sessionId });
        recording = true;
        record.textContent = "Stop recording";
        status.textContent = `recording ${r.recording}`;
        link.hidden = true;
      } else {
        const r = await ctx.api.call("profiler.stop_record", { session_id: ctx.sessionId });
        recording = false;
        record.textContent = "Record";
        status.textContent = `${r.events} events recorded; replay with: cadenza replay ${r.recording} --out again.wav`;
        link.href = r.url;
        link.download = r.recording;
        link.textContent = `Download ${r.recording}`;
        link.hidden = false;
      }
    } catch (e) {
      ctx.flash(e);
    }
  });
  const points = []; // [rtf, underruns delta, buffer_s]
  let lastUnderruns = null;
  const draw = () => {
    const [g, w, h] = fit(canvas, 90);
    g.clearRect(0, 0, w, h);
    const top = Math.max(2, ...points.map((p) => p[0]));
    const step = w / 120;
    g.strokeStyle = "#9aa5b1";
    g.beginPath();
    g.moveTo(0, h - h / top);
    g.lineTo(w, h - h / top); // 1x real time: below it the session cannot keep up
    g.stroke();
    g.strokeStyle = "#5cc98b";
    g.beginPath();
    points.forEach(([rtf], i) => (i ? g.lineTo(i * step, h - (rtf / top) * h)
      : g.moveTo(0, h - (rtf / top) * h)));
    g.stroke();
    g.fillStyle = "#f08a97";
    points.forEach(([, u], i) => u && g.fillRect(i * step, 0, Math.max(2, step), h * 0.15));
  };
  return {
    el: box, column: "right",
    update(info) {
      const delta = lastUnderruns === null ? 0 : info.underruns - lastUnderruns;
      lastUnderruns = info.underruns;
      points.push([info.rtf || 0, delta, info.buffer_s]);
      if (points.length > 120) points.shift();
      perf.textContent = `real-time factor ${(info.rtf || 0).toFixed(1)}× · underruns ` +
        `${info.underruns} · buffer ${Math.round(info.buffer_s * 1000)} ms`;
      draw();
    },
  };
}

export const PROFILER_PANELS = { left: [valuesPanel, snapshotsPanel],
  right: [metersPanel, eventLogPanel, profilingPanel] };
