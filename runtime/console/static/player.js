// The music in the page: a WebSocket bridge client (docs/websocket-protocol.md) feeding
// Web Audio through the jitter buffer of worklet.js.

import { JitterBuffer } from "./worklet.js";

const MAGIC = 0x43445a41; // "CDZA"

// Decodes one binary audio frame of the bridge: header fields and float32 PCM.
export function decodeAudio(buf) {
  const v = new DataView(buf);
  if (buf.byteLength < 32 || v.getUint32(0, false) !== MAGIC) return null;
  const header = v.getUint16(6, true);
  const seq = Number(v.getBigUint64(8, true));
  const streamTime = Number(v.getBigUint64(16, true));
  const rate = v.getUint32(24, true);
  const channels = v.getUint8(28);
  const encoding = v.getUint8(29);
  const flags = v.getUint16(30, true);
  // The beat clock at the frame's first sample (header bit 0; docs/websocket-protocol.md).
  const clock = flags & 1 && header >= 48
    ? { beat: v.getFloat64(32, true), bpm: v.getFloat32(40, true),
        beatsPerBar: v.getUint8(44), beatUnit: v.getUint8(45) }
    : null;
  let pcm;
  if (encoding === 2) {
    pcm = new Float32Array(buf.slice(header));
  } else {
    const s16 = new Int16Array(buf, header, (buf.byteLength - header) >> 1);
    pcm = new Float32Array(s16.length);
    for (let i = 0; i < s16.length; i++) pcm[i] = s16[i] / 32768;
  }
  if (channels === 1) {
    const stereo = new Float32Array(pcm.length * 2);
    for (let i = 0; i < pcm.length; i++) stereo[2 * i] = stereo[2 * i + 1] = pcm[i];
    pcm = stereo;
  }
  return { seq, streamTime, rate, frames: pcm.length / 2, pcm, clock };
}

// One session's stream over the bridge. Reconnects after a drop and resumes from the
// next seq (gapless while the server still has it). `on` receives:
// audio(frame), message(json), status(text), discontinuity(frames).
export class Bridge {
  constructor(url, sessionId, on) {
    this.url = url;
    this.sessionId = sessionId;
    this.on = on;
    this.nextSeq = null;
    this.expected = null; // stream time of the next frame
    this.closed = false;
    this.ended = false;
    this.retry = 500;
    this.connect();
  }

  connect() {
    const ws = (this.ws = new WebSocket(this.url));
    ws.binaryType = "arraybuffer";
    ws.onopen = () => {
      this.retry = 500;
      const attach = { type: "attach", session_id: this.sessionId, encoding: "s16le" };
      if (this.nextSeq !== null) attach.resume_from_seq = this.nextSeq;
      ws.send(JSON.stringify(attach));
      this.on.status("streaming");
    };
    ws.onmessage = (e) => {
      if (typeof e.data === "string") {
        const msg = JSON.parse(e.data);
        if (msg.type === "event" && msg.kind === "ended") this.ended = true;
        this.on.message(msg);
        return;
      }
      const frame = decodeAudio(e.data);
      if (!frame) return;
      if (this.expected !== null && frame.streamTime < this.expected) return; // resent
      if (this.expected !== null && frame.streamTime > this.expected) {
        this.on.discontinuity(frame.streamTime - this.expected);
      }
      this.expected = frame.streamTime + frame.frames;
      this.nextSeq = frame.seq + 1;
      this.on.audio(frame);
    };
    ws.onclose = (e) => {
      if (this.closed || this.ended || (e.code >= 4400 && e.code !== 4429)) {
        this.on.status(this.ended ? "ended" : `closed (${e.code} ${e.reason || ""})`);
        return;
      }
      this.on.status("reconnecting");
      setTimeout(() => !this.closed && this.connect(), this.retry);
      this.retry = Math.min(this.retry * 2, 8000);
    };
  }

  close() {
    this.closed = true;
    if (this.ws) this.ws.close(1000);
  }
}

// Web Audio output: an AudioWorklet (or a ScriptProcessor where there is none) reading
// the jitter buffer. `stats` is refreshed ~every 50 ms; counters are in stream frames.
// The context runs at the stream's rate (48 kHz) unless `outRate` asks for another (the
// jitter buffer then resamples linearly). `tap` carries the session's audio before the
// mute gain: the meters listen there (meters.js), so muting does not hide the level.
export class Player {
  constructor({ inRate = 48000, outRate, targetMs = 100 } = {}) {
    this.inRate = inRate;
    this.options = { inRate, targetMs };
    this.ctx = new AudioContext({ sampleRate: outRate || inRate, latencyHint: "interactive" });
    this.gain = this.ctx.createGain();
    this.gain.connect(this.ctx.destination);
    this.tap = this.ctx.createGain();
    this.tap.connect(this.gain);
    this.stats = { played: 0, gaps: 0, buffered: 0, running: false, started: false, dropped: 0 };
    this.pending = [];
    this.node = null;
    this.ready = this.init();
  }

  async init() {
    if (this.ctx.audioWorklet) {
      await this.ctx.audioWorklet.addModule(new URL("./worklet.js", import.meta.url).href);
      this.node = new AudioWorkletNode(this.ctx, "cadenza-player", {
        numberOfInputs: 0, numberOfOutputs: 1, outputChannelCount: [2],
        processorOptions: this.options,
      });
      this.node.port.onmessage = (e) => (this.stats = e.data);
      this.mode = "worklet";
    } else {
      const buffer = new JitterBuffer(this.inRate, this.ctx.sampleRate, this.options);
      this.node = this.ctx.createScriptProcessor(2048, 0, 2);
      this.node.onaudioprocess = (e) => {
        buffer.render(e.outputBuffer.getChannelData(0), e.outputBuffer.getChannelData(1));
        this.stats = buffer.stats();
      };
      this.fallback = buffer;
      this.mode = "script-processor";
    }
    this.node.connect(this.tap);
    for (const item of this.pending) this.send(item);
    this.pending = [];
    this.resume();
  }

  send(item) {
    if (!this.node) return this.pending.push(item);
    if (this.fallback) {
      if (item.pcm) this.fallback.push(item.pcm);
      else this.fallback.command(item);
    } else if (item.pcm) {
      this.node.port.postMessage(item, [item.pcm.buffer]);
    } else {
      this.node.port.postMessage(item);
    }
  }

  push(pcm) {
    this.send({ pcm });
  }

  pause() {
    this.send({ cmd: "pause" });
  }

  play() {
    this.send({ cmd: "play" });
  }

  resume() {
    return this.ctx.resume().catch(() => {});
  }

  set muted(on) {
    this.gain.gain.value = on ? 0 : 1;
  }

  get muted() {
    return this.gain.gain.value === 0;
  }

  // Seconds from a frame's arrival to the speaker: what is buffered plus the output path.
  get latencyMs() {
    const out = (this.ctx.baseLatency || 0) + (this.ctx.outputLatency || 0);
    return (this.stats.buffered / this.inRate + out) * 1000;
  }

  close() {
    this.ctx.close().catch(() => {});
  }
}
