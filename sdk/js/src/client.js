// The Cadenza WebSocket client: one session per client, for browsers and Node.
//
// Threading: single-threaded (the JS event loop). Every method only queues work and never
// blocks; requests return Promises settled by the server's `ack` / `error` for their id.
// Reconnects after a dropped connection and resumes the same session from the next seq
// (resume_from_seq): frames the server still has are sent again, duplicates are dropped.

import {
  attachMessage, configMessage, controlMessage, createMessage, decodeAudioFrame, pingMessage,
  parseServerMessage, promptsMessage, stateMessage, triggerMessage,
} from "./protocol.js";

/** An error reported by the server (or by this client): code is a protocol short code. */
export class CadenzaError extends Error {
  constructor(code, message, { field = "", id = null, fatal = false } = {}) {
    super(message);
    this.name = "CadenzaError";
    this.code = code;
    this.field = field;
    this.id = id;
    this.fatal = fatal;
  }
}

const RETRYABLE = new Set(["resource_exhausted", "unavailable"]);

/** A tiny event emitter (EventTarget would need a CustomEvent per frame in Node 18/20). */
class Emitter {
  #handlers = new Map();

  /** Adds a handler; returns a function that removes it. */
  on(name, handler) {
    if (!this.#handlers.has(name)) this.#handlers.set(name, new Set());
    this.#handlers.get(name).add(handler);
    return () => this.off(name, handler);
  }

  off(name, handler) {
    this.#handlers.get(name)?.delete(handler);
  }

  /** Resolves with the next event of this name (optionally one that satisfies `test`). */
  once(name, test = () => true, timeoutMs = 0) {
    return new Promise((resolve, reject) => {
      let timer = null;
      const off = this.on(name, (value) => {
        if (!test(value)) return;
        off();
        if (timer) clearTimeout(timer);
        resolve(value);
      });
      if (timeoutMs > 0) {
        timer = setTimeout(() => {
          off();
          reject(new CadenzaError("deadline_exceeded", `no '${name}' event within ${timeoutMs} ms`));
        }, timeoutMs);
      }
    });
  }

  emit(name, value) {
    for (const handler of [...(this.#handlers.get(name) || [])]) {
      try {
        handler(value);
      } catch (e) {
        if (name !== "handler_error") this.emit("handler_error", e);
      }
    }
  }
}

async function defaultWebSocket() {
  if (typeof globalThis.WebSocket === "function") return { Impl: globalThis.WebSocket, headers: false };
  // Node 20 has no global WebSocket without a flag: use the `ws` package.
  const module = await import("ws");
  return { Impl: module.WebSocket || module.default, headers: true };
}

/**
 * One Cadenza session over the WebSocket protocol.
 *
 * Events (client.on(name, handler)): connected, session, blend, audio, event (every server
 * event), state_changed, stinger, beat, bar, tempo, underrun, error, disconnected, ended.
 */
export class CadenzaClient extends Emitter {
  /**
   * @param {object} options url, token, scene | sceneYaml | sessionId, engine, seed, state,
   *   paused, encoding ("f32le" default), beatEvents ("none" | "beats" | "bars"), reconnect
   *   (true), maxReconnectAttempts (20), reconnectMaxDelayMs (5000), maxStateUpdatesPerSecond
   *   (20), recreateLostSession (true), WebSocket (an implementation to use instead of the
   *   global one / `ws`).
   */
  constructor(options = {}) {
    super();
    if (!options.url) throw new TypeError("options.url is required (ws://HOST:8765/v1/stream)");
    if (!options.sessionId && !options.scene && options.sceneYaml == null) {
      throw new TypeError("give options.scene, options.sceneYaml or options.sessionId");
    }
    this.options = { encoding: "f32le", beatEvents: "none", reconnect: true, maxReconnectAttempts: 20,
      reconnectMaxDelayMs: 5000, maxStateUpdatesPerSecond: 20, recreateLostSession: true, ...options };
    this.sessionId = options.sessionId || null;
    /** The server's session object (from the last `session` reply). */
    this.session = null;
    /** The seq expected next (-1: any); the resume point after a drop. */
    this.nextSeq = -1;
    this.framesReceived = 0;
    this.duplicates = 0;
    this.seqGaps = 0;
    this.reconnects = 0;
    this.connected = false;
    this.finished = false;
    this.#latestState = { ...(options.state || {}) };
  }

  #socket = null;
  #nextId = 0;
  #pending = new Map();     // id -> {resolve, reject, sent}
  #outbox = [];             // [id, text] not yet sent
  #statePending = null;     // {values, waiters}
  #stateTimer = null;
  #lastStateAt = -Infinity;
  #latestState;
  #failures = 0;
  #retryTimer = null;
  #gotSession = false;
  #refusal = null;
  #endedReason = null;
  #closing = false;
  #firstSession = null;

  /** Connects; resolves with the session info once the server has replied. */
  connect() {
    if (this.finished) return Promise.reject(new CadenzaError("failed_precondition", "the client is closed"));
    if (!this.#firstSession) {
      this.#firstSession = new Promise((resolve, reject) => {
        const offSession = this.on("session", (info) => { offSession(); offError(); resolve(info); });
        const offError = this.on("error", (error) => {
          if (error.fatal) { offSession(); offError(); reject(error); }
        });
      });
      this.#open();
    }
    return this.#firstSession;
  }

  /** Sets scene inputs. Coalesced: at most maxStateUpdatesPerSecond messages, each with the
   * latest values; resolves when the message carrying these values is acked. */
  setState(values, value) {
    if (typeof values === "string") values = { [values]: value };
    Object.assign(this.#latestState, values);
    return new Promise((resolve, reject) => {
      if (!this.#statePending) this.#statePending = { values: {}, waiters: [] };
      Object.assign(this.#statePending.values, values);
      this.#statePending.waiters.push({ resolve, reject });
      this.#scheduleState();
    });
  }

  /** Steers with weighted prompts ({text: weight}); {} hands control back to the scene. */
  setPrompts(prompts) {
    return this.#request((id) => promptsMessage(prompts, id));
  }

  /** Live generation config (temperature, top_k, guidance, seed, bpm, density, brightness,
   * scale, mute_bass, mute_drums, only_bass_and_drums, mode); a set field overrides the
   * scene's expression until cleared with `clear: [names]`. */
  setGenerationConfig(config = {}, { clear = [] } = {}) {  // throws TypeError for an unknown field
    return this.#request((id) => configMessage(config, clear, id));
  }

  /** Fires one of the scene's stingers at its next play_at boundary; a `stinger` event says
   * where it starts (or that its cooldown suppressed it). */
  trigger(stinger) {
    return this.#request((id) => triggerMessage(stinger, id));
  }

  play() { return this.#request((id) => controlMessage("play", id)); }
  pause() { return this.#request((id) => controlMessage("pause", id)); }
  /** Clears the musical context: the music starts afresh, same session. */
  reset() { return this.#request((id) => controlMessage("reset", id)); }
  /** Ends the session on the server (an `ended` event follows, then the client closes). */
  stop() { return this.#request((id) => controlMessage("stop", id)); }
  ping() { return this.#request((id) => pingMessage(id)); }

  /** Closes the connection (the session lives on on the server until its idle timeout). */
  close() {
    this.#closing = true;
    this.finished = true;
    clearTimeout(this.#retryTimer);
    clearTimeout(this.#stateTimer);
    this.#failAll(new CadenzaError("cancelled", "the client was closed"));
    const socket = this.#socket;
    if (socket && socket.readyState <= 1) socket.close(1000, "client closed");
  }

  /** For tests: drops the connection as a network failure would (the client reconnects). */
  dropConnection() {
    const socket = this.#socket;
    if (!socket) return;
    if (typeof socket.terminate === "function") socket.terminate();
    else socket.close(4000, "dropped by the client");
  }

  // ------------------------------------------------------------------ connection
  async #open() {
    this.#gotSession = false;
    this.#refusal = null;
    this.#endedReason = null;
    let Impl = this.options.WebSocket;
    let headers = false;
    if (!Impl) ({ Impl, headers } = await defaultWebSocket());
    if (this.#closing) return;  // close() while `ws` was loading
    let url = this.options.url;
    const token = this.options.token;
    let socket;
    try {
      if (token && headers) {
        socket = new Impl(url, { headers: { Authorization: `Bearer ${token}` } });
      } else {
        if (token) url += (url.includes("?") ? "&" : "?") + "token=" + encodeURIComponent(token);
        socket = new Impl(url);
      }
    } catch (e) {
      this.#onClosed(-1, String(e && e.message || e));
      return;
    }
    socket.binaryType = "arraybuffer";
    this.#socket = socket;
    socket.onopen = () => {
      const first = this.sessionId
        ? attachMessage(this.sessionId, { resumeFromSeq: this.nextSeq, encoding: this.options.encoding,
          beatEvents: this.options.beatEvents })
        : createMessage({ ...this.options, state: this.#latestState });
      socket.send(first);
      this.connected = true;
      this.emit("connected", { url: this.options.url });
    };
    socket.onmessage = (event) => {
      if (typeof event.data === "string") this.#onText(event.data);
      else this.#onAudio(event.data);
    };
    socket.onerror = () => {};  // a close event follows
    socket.onclose = (event) => {
      if (this.#socket === socket) this.#onClosed(event.code, event.reason || "");
    };
  }

  #onClosed(code, reason) {
    this.#socket = null;
    const wasConnected = this.connected;
    this.connected = false;
    // Requests already sent on this connection lost their reply; unsent ones wait.
    for (const [id, waiter] of this.#pending) {
      if (waiter.sent) {
        this.#pending.delete(id);
        waiter.reject(new CadenzaError("unavailable", "the connection dropped before the reply", { id }));
      }
    }
    if (this.#closing) return;
    if (this.#endedReason && this.#endedReason !== "shutdown") {
      this.#finish();
      this.emit("ended", { reason: this.#endedReason });
      return;
    }
    const refused = this.#refusal;
    if (refused) {
      if (refused.code === "not_found" && this.sessionId && this.options.recreateLostSession
          && (this.options.scene || this.options.sceneYaml != null)) {
        this.emit("error", new CadenzaError("not_found", `session ${this.sessionId} is gone; creating a new one`));
        this.sessionId = null;
        this.nextSeq = -1;
        this.#open();
        return;
      }
      if (!RETRYABLE.has(refused.code)) {
        this.#finish();
        this.emit("error", new CadenzaError(refused.code, refused.message, { field: refused.field, fatal: true }));
        return;
      }
    }
    this.#failures += 1;
    const retry = this.options.reconnect && this.#failures <= this.options.maxReconnectAttempts;
    if (wasConnected || this.#failures === 1) {
      this.emit("disconnected", { code, reason, willReconnect: retry });
    }
    if (!retry) {
      this.#finish();
      this.emit("error", new CadenzaError("unavailable", `could not reach ${this.options.url} after `
        + `${this.#failures} attempts (is \`cadenza serve\` running? wrong address or token?)`, { fatal: true }));
      return;
    }
    // Almost at once the first time (a cluster restores a dropped session elsewhere in
    // about half a second), then backing off from 200 ms.
    const delay = this.#failures === 1 ? 50
      : Math.min(this.options.reconnectMaxDelayMs, 200 * 2 ** (this.#failures - 2));
    this.#retryTimer = setTimeout(() => {
      this.reconnects += 1;
      this.#open();
    }, delay);
  }

  #finish() {
    this.finished = true;
    clearTimeout(this.#stateTimer);
    this.#failAll(new CadenzaError("failed_precondition", "the session has ended"));
  }

  #failAll(error) {
    for (const waiter of this.#pending.values()) waiter.reject(error);
    this.#pending.clear();
    this.#outbox = [];
    if (this.#statePending) {
      for (const w of this.#statePending.waiters) w.reject(error);
      this.#statePending = null;
    }
  }

  // ------------------------------------------------------------------ sending
  #request(build) {
    if (this.finished) return Promise.reject(new CadenzaError("failed_precondition", "the client is closed"));
    const id = ++this.#nextId;
    const text = build(id);
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject, sent: false });
      this.#outbox.push([id, text]);
      this.#flush();
    });
  }

  #ready() {
    return this.#socket && this.#gotSession && this.#socket.readyState === 1;
  }

  #flush() {
    if (!this.#ready()) return;
    while (this.#outbox.length) {
      const [id, text] = this.#outbox.shift();
      const waiter = this.#pending.get(id);
      if (!waiter) continue;
      waiter.sent = true;
      this.#socket.send(text);
    }
    this.#scheduleState();
  }

  #scheduleState() {
    if (!this.#statePending || this.#stateTimer || !this.#ready()) return;
    const interval = 1000 / this.options.maxStateUpdatesPerSecond;
    const wait = Math.max(0, this.#lastStateAt + interval - Date.now());
    this.#stateTimer = setTimeout(() => {
      this.#stateTimer = null;
      if (!this.#ready() || !this.#statePending) return;
      const { values, waiters } = this.#statePending;
      this.#statePending = null;
      this.#lastStateAt = Date.now();
      const id = ++this.#nextId;
      this.#pending.set(id, { sent: true,
        resolve: (v) => waiters.forEach((w) => w.resolve(v)),
        reject: (e) => waiters.forEach((w) => w.reject(e)) });
      this.#socket.send(stateMessage(values, id));
    }, wait);
  }

  // ------------------------------------------------------------------ receiving
  #onText(text) {
    const m = parseServerMessage(text);
    if (!m) {
      this.emit("error", new CadenzaError("internal", "unreadable server message"));
      return;
    }
    switch (m.type) {
      case "session":
        this.#gotSession = true;
        this.#failures = 0;
        this.session = m.session || {};
        this.sessionId = this.session.session_id;
        this.emit("session", this.session);
        this.#flush();
        break;
      case "blend":
        this.emit("blend", { seq: m.seq, streamTime: m.stream_time, blend: m.blend || [] });
        break;
      case "ack":
      case "pong":
        this.#settle(m.id, null, m);
        break;
      case "error": {
        const error = new CadenzaError(m.code || "internal", m.message || "", { field: m.field || "", id: m.id ?? null });
        if (!this.#gotSession) {
          this.#refusal = error;
        } else if (m.id != null && this.#pending.has(m.id)) {
          this.#settle(m.id, error);
        } else {
          this.emit("error", error);
        }
        break;
      }
      case "event":
        if (m.kind === "ended") {
          this.#endedReason = m.reason || "closed";
          return;
        }
        this.emit("event", m);
        if (["state_changed", "stinger", "beat", "bar", "tempo", "underrun", "blend_changed", "unknown_words"]
          .includes(m.kind)) this.emit(m.kind, m);
        break;
      default:
        break;  // the protocol may grow: ignore what this client does not know
    }
  }

  #settle(id, error, value) {
    const waiter = this.#pending.get(id);
    if (!waiter) return;
    this.#pending.delete(id);
    if (error) waiter.reject(error);
    else waiter.resolve(value);
  }

  #onAudio(data) {
    let frame;
    try {
      frame = decodeAudioFrame(data);
    } catch (e) {
      this.emit("error", new CadenzaError("internal", `unreadable audio frame: ${e.message}`));
      return;
    }
    if (this.nextSeq >= 0 && frame.seq < this.nextSeq) {
      this.duplicates += 1;
      return;
    }
    if (this.nextSeq >= 0 && frame.seq > this.nextSeq) this.seqGaps += 1;
    this.nextSeq = frame.seq + 1;
    this.framesReceived += frame.frames;
    this.emit("audio", frame);
  }
}
