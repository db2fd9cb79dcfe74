// One session's page: a column of panels fed by the session's details (polled each
// second over the API) and by its bridge stream (audio, blend, events).
//
// A panel is a function (ctx) -> {el, column, update(info), bridge(msg), tick(now)}; every
// method is optional. `update` gets the API's session detail, `bridge` every JSON message
// of the WebSocket bridge (event kinds a panel does not know are simply ignored), `tick`
// the stream second being heard, about 10 times a second. To add a panel -- the bar/beat
// display and stinger buttons are one (musicPanel) -- write one and list it in PANELS.

import { withToken } from "./api.js";
import { BlendChart } from "./chart.js";
import { SceneEditor } from "./editor.js";
import { Bridge, Player } from "./player.js";
import { eventLogPanel, metersPanel, profilingPanel, snapshotsPanel, valuesPanel } from "./profiler.js";

export const PANELS = [transportPanel, musicPanel, inputsPanel, valuesPanel, snapshotsPanel,
  promptsPanel, metersPanel, eventLogPanel, blendPanel, profilingPanel, editorPanel];
// Several sessions side by side (#/compare/A,B): a column each, with these panels.
export const COMPACT_PANELS = [transportPanel, metersPanel, eventLogPanel];

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

// ------------------------------------------------------------------------ playback
function transportPanel(ctx) {
  const box = panel("Playback", "panel-transport");
  const state = el("span", "badge", "…");
  state.id = "session-state";
  const buttons = el("div", "buttons");
  const make = (label, action) => {
    const b = el("button", "", label);
    b.dataset.action = action;
    b.addEventListener("click", () => ctx.control(action));
    buttons.append(b);
    return b;
  };
  const play = make("Play", "play"), pause = make("Pause", "pause");
  make("Reset", "reset");
  // Stop: silence and back to the start (the session stays, paused at zero).
  const stop = el("button", "", "Stop");
  stop.id = "stop";
  stop.addEventListener("click", () => ctx.control("pause").then(() => ctx.control("reset")));
  buttons.append(stop);
  const listen = el("button", "primary", "Mute");
  listen.id = "listen";
  listen.addEventListener("click", async () => {
    await ctx.player.resume();
    ctx.player.muted = !ctx.player.muted;
  });
  buttons.append(listen);
  const stats = el("p", "stats");
  stats.id = "audio-stats";
  box.append(state, buttons, stats);
  return {
    el: box, column: "left",
    update(info) {
      state.textContent = info.state;
      state.className = `badge ${info.state}`;
      play.disabled = info.state === "playing";
      pause.disabled = info.state !== "playing";
    },
    bridge(msg) {
      if (msg.type === "event" && msg.kind === "state_changed") {
        if (msg.state === "playing") ctx.player.play();
        else ctx.player.pause();
      }
    },
    tick() {
      const a = ctx.audio();
      const suspended = ctx.player.ctx.state !== "running";
      listen.textContent = suspended ? "Listen" : ctx.player.muted ? "Unmute" : "Mute";
      stats.textContent = `heard ${(a.samplesPlayed / a.streamRate).toFixed(1)} s · gaps ${a.gaps}` +
        ` · buffer ${a.bufferedMs.toFixed(0)} ms · latency ${a.latencyMs.toFixed(0)} ms · ` +
        `${(a.contextRate / 1000).toFixed(1)} kHz ${a.mode || ""} · ${ctx.streamStatus}`;
    },
  };
}

// ------------------------------------------------------------------- musical time
// Where the music is heard on the beat grid (from the clock in every audio frame), and a
// button per stinger of the scene.
function musicPanel(ctx) {
  const box = panel("Musical time", "panel-music");
  const position = el("p", "beat-position", "bar – · beat –");
  position.id = "beat-position";
  const stingers = el("div", "buttons");
  stingers.id = "stingers";
  const last = el("p", "stats", "");
  last.id = "stinger-status";
  box.append(position, stingers, last);
  let names = "";
  return {
    el: box, column: "left",
    update(info) {
      const list = (info.stingers || []).map((s) => s.name);
      if (list.join() === names) return;
      names = list.join();
      stingers.replaceChildren(...(info.stingers || []).map((st) => {
        const b = el("button", "", st.name);
        b.dataset.stinger = st.name;
        b.title = `plays on the next ${st.play_at}`;
        b.addEventListener("click", () => ctx.api
          .call("trigger", { session_id: ctx.sessionId, stinger: st.name })
          .catch((e) => ctx.flash(e)));
        return b;
      }));
      if (!list.length) stingers.append(el("span", "stats", "this scene has no stingers"));
    },
    bridge(msg) {
      if (msg.type === "event" && msg.kind === "stinger") {
        const at = ctx.beatAt(msg.at);
        const where = at ? ` at bar ${at.bar + 1} beat ${at.beat + 1}` : "";
        last.textContent = `${msg.stinger}: ${msg.status}${where}`;
        ctx.lastStinger = { name: msg.stinger, status: msg.status, at: msg.at };
      }
    },
    tick(now) {
      const at = ctx.beatAt(now * ctx.rate);
      if (!at) return;
      position.textContent = `bar ${at.bar + 1} · beat ${at.beat + 1} of ${at.beatsPerBar}` +
        ` · ${at.bpm.toFixed(1)} bpm`;
      ctx.beatNow = at;
    },
  };
}

// -------------------------------------------------------------------------- inputs
function inputsPanel(ctx) {
  const box = panel("Inputs", "panel-inputs");
  const list = el("div", "inputs");
  box.append(list);
  let signature = "";
  const controls = new Map(); // name -> {set(value), touched}
  const pending = {};
  let timer = null;
  const send = (name, value) => {
    pending[name] = value;
    controls.get(name).touched = performance.now();
    if (timer) return;
    timer = setTimeout(() => {
      timer = null;
      const values = { ...pending };
      for (const k of Object.keys(pending)) delete pending[k];
      ctx.api.call("state", { session_id: ctx.sessionId, values }).catch((e) => ctx.flash(e));
    }, 50);
  };
  const build = (specs, values) => {
    controls.clear();
    list.replaceChildren(...specs.map((spec) => {
      const row = el("label", "input-row");
      const name = el("span", "input-name", spec.name);
      const shown = el("output", "input-value");
      let input;
      if (spec.type === "number") {
        input = el("input");
        input.type = "range";
        input.min = spec.min;
        input.max = spec.max;
        input.step = (spec.max - spec.min) / 1000 || "any";
        input.addEventListener("input", () => {
          shown.textContent = Number(input.value).toFixed(2);
          send(spec.name, Number(input.value));
        });
      } else if (spec.type === "enum") {
        input = el("select");
        for (const v of spec.values) input.append(new Option(v, v));
        input.addEventListener("change", () => send(spec.name, input.value));
      } else {
        input = el("input", "toggle");
        input.type = "checkbox";
        input.addEventListener("change", () => send(spec.name, input.checked));
      }
      input.id = `input-${spec.name}`;
      input.dataset.input = spec.name;
      const set = (v) => {
        if (spec.type === "bool") input.checked = !!v;
        else input.value = v;
        shown.textContent = spec.type === "number" ? Number(v).toFixed(2) : "";
      };
      set(values[spec.name] ?? spec.default);
      controls.set(spec.name, { set, touched: 0 });
      row.append(name, input, shown);
      return row;
    }));
  };
  return {
    el: box, column: "left",
    update(info) {
      const sig = JSON.stringify(info.input_specs);
      if (sig !== signature) {
        signature = sig;
        build(info.input_specs, info.inputs);
        return;
      }
      const now = performance.now();
      for (const [name, c] of controls) {
        if (now - c.touched > 1500 && name in info.inputs) c.set(info.inputs[name]);
      }
    },
  };
}

// ------------------------------------------------------------------ direct prompts
// Audition prompts by ear: weighted text prompts that bypass the scene's mix (the API's
// SetPrompts; the scene's knobs still apply), then hand the music back to the scene.
// Starts from the scene's prompts at their current weights.
function promptsPanel(ctx) {
  const box = panel("Direct prompts", "panel-prompts");
  const rows = el("div", "prompt-rows");
  rows.id = "prompt-rows";
  const buttons = el("div", "buttons");
  const add = el("button", "small", "Add prompt");
  const apply = el("button", "primary", "Apply prompts");
  apply.id = "apply-prompts";
  const back = el("button", "", "Back to the scene");
  back.id = "scene-steers";
  const status = el("p", "stats");
  status.id = "prompts-status";
  buttons.append(add, apply, back);
  box.append(rows, buttons, status);
  const row = (text = "", weight = 1) => {
    const line = el("div", "prompt-row");
    const t = el("input", "prompt-text");
    t.type = "text";
    t.value = text;
    t.placeholder = "e.g. dark ambient drones";
    t.maxLength = 500;
    const w = el("input", "prompt-weight");
    w.type = "number";
    Object.assign(w, { min: 0, max: 10, step: 0.05, value: weight });
    const drop = el("button", "small", "×");
    drop.title = "remove";
    drop.addEventListener("click", () => line.remove());
    line.append(t, w, drop);
    rows.append(line);
    return line;
  };
  add.addEventListener("click", () => row().querySelector("input").focus());
  const send = (weights) => ctx.api.call("prompts", { session_id: ctx.sessionId, weights })
    .then((result) => {
      const unknown = Object.entries(result.unknown_words || {})
        .map(([text, words]) => `"${text}": ${words.join(", ")}`);
      ctx.unknownWords = unknown;
      return ctx.api.call("session", { session_id: ctx.sessionId }).then(ctx.update);
    }, ctx.flash);
  apply.addEventListener("click", () => {
    const weights = {};
    for (const line of rows.children) {
      const [t, w] = line.querySelectorAll("input");
      if (t.value.trim()) weights[t.value.trim()] = Number(w.value) || 0;
    }
    send(weights);
  });
  back.addEventListener("click", () => send({}));
  let filled = false;
  return {
    el: box, column: "left",
    update(info) {
      const direct = info.direct_prompts;
      back.disabled = !direct;
      const unknown = ctx.unknownWords && ctx.unknownWords.length
        ? ` Words the engine does not know: ${ctx.unknownWords.join("; ")}.` : "";
      status.textContent = direct
        ? `Direct prompts steer the music (${Object.values(direct).filter((w) => w > 0).length} sounding).${unknown}`
        : "The scene steers the music.";
      status.dataset.steering = direct ? "prompts" : "scene";
      if (filled) return;
      filled = true;
      const weights = Object.fromEntries((info.blend || []).map((b) => [b.name, b.weight]));
      const start = direct ? Object.entries(direct)
        : Object.entries(info.prompts || {}).filter(([, text]) => !text.startsWith("audio:"))
          .map(([name, text]) => [text, weights[name] || 0]);
      for (const [text, weight] of start) row(text, Number(weight.toFixed(2)));
      if (!rows.children.length) row();
    },
  };
}

// --------------------------------------------------------------------------- blend
function blendPanel(ctx) {
  const box = panel("Blend", "panel-blend");
  const canvas = el("canvas", "chart");
  canvas.id = "blend-chart";
  const legend = el("ul", "legend");
  legend.id = "blend-legend";
  const windows = el("div", "windows");
  const chart = (ctx.chart = new BlendChart(canvas, legend, { windowS: 60 }));
  for (const [label, s] of [["30 s", 30], ["1 min", 60], ["2 min", 120], ["5 min", 300]]) {
    const b = el("button", s === 60 ? "small on" : "small", label);
    b.addEventListener("click", () => {
      chart.windowS = s;
      for (const other of windows.children) other.classList.toggle("on", other === b);
    });
    windows.append(b);
  }
  box.append(windows, canvas, legend);
  return {
    el: box, column: "right",
    bridge(msg) {
      if (msg.type === "blend") chart.add(msg.stream_time / ctx.rate, msg.blend);
    },
    tick(now) {
      chart.draw(now);
    },
  };
}

// -------------------------------------------------------------------------- editor
function editorPanel(ctx) {
  const box = panel("Scene", "panel-editor");
  let loaded = false;
  let filename = "<scene>";
  const editor = new SceneEditor(box, {
    validate: (yaml) => ctx.api.call("validate", { yaml, filename }),
    apply: (yaml) => ctx.api.call("apply_scene", { session_id: ctx.sessionId, yaml, filename }),
    onApplied: (info) => ctx.update(info),
  });
  ctx.editor = editor;
  // Save to the scene's file in the served folder (the server keeps a backup).
  const save = el("button", "", "Save to file");
  save.id = "save-scene";
  save.title = "write the editor's text to the scene's file (cadenza serve --scenes DIR)";
  box.querySelector(".editor-bar").prepend(save);
  save.addEventListener("click", async () => {
    editor.cancelCheck();
    try {
      const r = await ctx.api.call("profiler.save_scene", { yaml: editor.text.value, filename });
      editor.status.textContent = `saved ${r.path}` + (r.backup ? ` (backup ${r.backup})` : "");
      editor.status.className = "editor-status good saved";
      editor.original = editor.text.value;
    } catch (e) {
      if (e.issues) editor.show(e.issues, false, e.message);
      else editor.check();
      ctx.flash(e);
    }
  });
  return {
    el: box, column: "right",
    update(info) {
      if (loaded) return;
      loaded = true;
      filename = info.filename;
      editor.setText(info.scene_yaml);
    },
  };
}

// ------------------------------------------------------------------------- the page
export async function openSession(root, api, config, sessionId, { panels: makers = PANELS,
  compact = false } = {}) {
  const info = await api.call("session", { session_id: sessionId });
  const params = new URLSearchParams(location.search);
  // The context runs at the stream's rate (48 kHz); tests may force another (?rate=).
  const outRate = Number(params.get("rate")) || info.sample_rate;
  const ctx = {
    api, config, sessionId, rate: info.sample_rate, streamStatus: "connecting",
    player: new Player({ inRate: info.sample_rate, outRate }),
    streamGaps: 0, expected: 0,
  };
  ctx.audio = () => {
    const s = ctx.player.stats;
    return {
      samplesPlayed: s.played, gaps: s.gaps + ctx.streamGaps, streamGaps: ctx.streamGaps,
      gapsAt: s.gapsAt || [],
      bufferedMs: (s.buffered / ctx.rate) * 1000, latencyMs: ctx.player.latencyMs,
      contextRate: ctx.player.ctx.sampleRate, streamRate: ctx.rate, mode: ctx.player.mode,
      running: s.running, started: s.started, contextState: ctx.player.ctx.state,
    };
  };
  const header = el("div", "session-head");
  const title = el("h1", "", `${info.scene}`);
  const sub = el("span", "muted", ` ${info.engine} · ${sessionId}`);
  const close = el("button", "danger", "Close session");
  close.id = "close-session";
  close.addEventListener("click", async () => {
    await api.call("close", { session_id: sessionId }).catch(() => {});
    location.hash = "#/";
  });
  const flash = el("p", "flash");
  header.append(title, sub, close);
  const left = el("div", "col"), right = el("div", "col");
  const grid = el("div", "grid");
  grid.append(left, right);
  root.replaceChildren(header, flash, grid);

  ctx.flash = (e) => {
    flash.textContent = e ? e.message || String(e) : "";
    clearTimeout(ctx.flashTimer);
    ctx.flashTimer = setTimeout(() => (flash.textContent = ""), 4000);
  };
  ctx.control = (action) =>
    api.call("control", { session_id: sessionId, action }).then(refresh, ctx.flash);

  const panels = makers.map((make) => make(ctx));
  if (compact) root.classList.add("compact");
  for (const p of panels) (p.column === "right" ? right : left).append(p.el);
  ctx.update = (detail) => {
    title.textContent = detail.scene;
    for (const p of panels) p.update?.(detail);
  };

  let stopped = false;
  async function refresh() {
    try {
      ctx.update(await api.call("session", { session_id: sessionId }));
    } catch (e) {
      if (e.code === "not_found") {
        ctx.flash({ message: "This session has ended." });
        stopped = true;
      }
    }
  }
  ctx.update(info);
  const scheme = location.protocol === "https:" || config.bridge.tls ? "wss" : "ws";
  const url = withToken(`${scheme}://${location.hostname}:${config.bridge.port}${config.bridge.path}`);
  // Recent frames' beat clocks, to place any stream sample on the grid.
  const clocks = [];
  ctx.beatAt = (sample) => {
    let c = null;
    for (let i = clocks.length - 1; i >= 0; i--) {
      if (clocks[i].streamTime <= sample) { c = clocks[i]; break; }
    }
    if (!c) return null;
    const beat = c.beat + (sample - c.streamTime) * c.bpm / 60 / ctx.rate;
    const whole = Math.floor(beat + 1e-6);
    return { bar: Math.floor(whole / c.beatsPerBar), beat: whole % c.beatsPerBar,
             beatsPerBar: c.beatsPerBar, bpm: c.bpm, position: beat };
  };
  const bridge = new Bridge(url, sessionId, {
    audio: (frame) => {
      ctx.expected = frame.streamTime + frame.frames;
      if (frame.clock) {
        clocks.push({ streamTime: frame.streamTime, ...frame.clock });
        if (clocks.length > 400) clocks.shift();
      }
      ctx.player.push(frame.pcm);
    },
    message: (msg) => {
      for (const p of panels) p.bridge?.(msg);
    },
    status: (s) => (ctx.streamStatus = s),
    discontinuity: () => ctx.streamGaps++,
  });
  if (info.state !== "playing") ctx.player.pause();

  const poll = setInterval(() => !stopped && refresh(), 1000);
  const ticker = setInterval(() => {
    const a = ctx.audio();
    const heard = a.contextState === "running" ? ctx.expected - a.bufferedMs * ctx.rate / 1000
      : ctx.expected;
    const now = heard / ctx.rate;
    for (const p of panels) p.tick?.(now);
  }, 100);
  const view = { sessionId, ctx, audio: ctx.audio, chart: () => ctx.chart,
    blendNow: () => ctx.chart?.current(), beatNow: () => ctx.beatNow || null,
    lastStinger: () => ctx.lastStinger || null, levels: () => ctx.levels || null };
  if (!compact) window.cadenzaConsole = view;
  else (window.cadenzaSessions ||= {})[sessionId] = view;
  return {
    close() {
      clearInterval(poll);
      clearInterval(ticker);
      for (const p of panels) p.close?.();
      bridge.close();
      ctx.player.close();
      if (!compact) window.cadenzaConsole = null;
      else delete window.cadenzaSessions[sessionId];
    },
  };
}
