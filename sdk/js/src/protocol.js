// The Cadenza WebSocket protocol, version 1 (docs/websocket-protocol.md), without I/O:
// builders for the client's JSON messages, a parser for the server's text frames, and
// a decoder for binary audio frames. Pure functions; safe anywhere (browser, Node, worklet).

export const PROTOCOL_VERSION = 1;
export const MIN_HEADER_SIZE = 32;
export const SAMPLE_RATE = 48000;
export const FLAG_CLOCK = 1;

/** The live generation config fields (Lyria RealTime's names), as the server accepts them. */
export const CONFIG_FIELDS = Object.freeze([
  "temperature", "top_k", "guidance", "seed", "bpm", "density", "brightness", "scale",
  "mute_bass", "mute_drums", "only_bass_and_drums", "mode",
]);

const CAMEL = { topK: "top_k", muteBass: "mute_bass", muteDrums: "mute_drums",
  onlyBassAndDrums: "only_bass_and_drums" };

function message(type, id, fields) {
  const m = { type, ...fields };
  if (id !== undefined && id !== null) m.id = id;
  return JSON.stringify(m);
}

/**
 * A `create` message. `options`: scene | sceneYaml, engine, seed, state, paused,
 * encoding ("s16le" | "f32le"), beatEvents ("none" | "beats" | "bars"), record.
 */
export function createMessage(options, id) {
  const fields = {};
  if (options.sceneYaml != null) fields.scene_yaml = options.sceneYaml;
  else fields.scene = options.scene;
  if (options.engine) fields.engine = options.engine;
  if (options.seed != null && options.seed >= 0) fields.seed = options.seed;
  if (options.state && Object.keys(options.state).length) fields.state = options.state;
  if (options.paused) fields.paused = true;
  fields.encoding = options.encoding || "f32le";
  if (options.beatEvents && options.beatEvents !== "none") fields.beat_events = options.beatEvents;
  if (options.record) fields.record = true;
  return message("create", id, fields);
}

/** An `attach` message; resumeFromSeq < 0 (or null) streams live. */
export function attachMessage(sessionId, { resumeFromSeq = -1, encoding = "f32le", beatEvents } = {}, id) {
  const fields = { session_id: sessionId, encoding };
  if (resumeFromSeq != null && resumeFromSeq >= 0) fields.resume_from_seq = resumeFromSeq;
  if (beatEvents && beatEvents !== "none") fields.beat_events = beatEvents;
  return message("attach", id, fields);
}

export const stateMessage = (values, id) => message("state", id, { values });
export const promptsMessage = (prompts, id) => message("prompts", id, { prompts: prompts || {} });
export const controlMessage = (action, id) => message("control", id, { action });
export const triggerMessage = (stinger, id) => message("trigger", id, { stinger });
export const pingMessage = (id) => message("ping", id, {});

/**
 * A `config` message: set live generation fields and/or clear earlier ones (the scene's
 * expression for a cleared field applies again; `null` as a value, or "*" in `clear`
 * for every field, clears too). camelCase names (muteDrums) are accepted and sent in the
 * protocol's snake_case. Throws TypeError for an unknown field. The ack carries `config`
 * (the whole live override now in effect) and `unsupported` (fields the engine ignores).
 */
export function configMessage(config = {}, clear = [], id) {
  const out = {};
  for (const [key, value] of Object.entries(config || {})) {
    const name = CAMEL[key] || key;
    if (!CONFIG_FIELDS.includes(name)) throw new TypeError(`unknown generation config field '${key}'`);
    if (value !== undefined) out[name] = value;
  }
  const cleared = (clear || []).map((key) => {
    const name = CAMEL[key] || key;
    if (name !== "*" && !CONFIG_FIELDS.includes(name)) throw new TypeError(`unknown generation config field '${key}'`);
    return name;
  });
  const fields = { config: out };
  if (cleared.length) fields.clear = cleared;
  return message("config", id, fields);
}

/** Parses a server text frame; returns null when it is not a JSON object. */
export function parseServerMessage(text) {
  let value;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  return value && typeof value === "object" && !Array.isArray(value) ? value : null;
}

/** {name: weight} from a blend list [{name, text, weight}]. */
export function blendWeights(blend) {
  const out = {};
  for (const entry of blend || []) out[entry.name] = entry.weight;
  return out;
}

/**
 * Decodes a binary audio frame (ArrayBuffer or a typed array view). Returns
 * {seq, streamTime, sampleRate, channels, encoding, frames, samples (Float32Array,
 * interleaved, in [-1, 1]), clock: {beat, bpm, beatsPerBar, beatUnit} | null}.
 * Throws RangeError for a frame this client cannot play.
 */
export function decodeAudioFrame(data) {
  const bytes = data instanceof ArrayBuffer ? new Uint8Array(data)
    : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (bytes.length < MIN_HEADER_SIZE) throw new RangeError("audio frame shorter than its 32-byte header");
  if (bytes[0] !== 0x43 || bytes[1] !== 0x44 || bytes[2] !== 0x5a || bytes[3] !== 0x41) {
    throw new RangeError("bad magic");
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint16(4, true);
  const headerSize = view.getUint16(6, true);
  if (version !== PROTOCOL_VERSION || headerSize < MIN_HEADER_SIZE || headerSize > bytes.length) {
    throw new RangeError(`unsupported frame version ${version} / header size ${headerSize}`);
  }
  const seq = Number(view.getBigUint64(8, true));
  const streamTime = Number(view.getBigUint64(16, true));
  const sampleRate = view.getUint32(24, true);
  const channels = view.getUint8(28);
  const code = view.getUint8(29);
  const flags = view.getUint16(30, true);
  if (channels < 1) throw new RangeError("a frame needs at least one channel");
  if (code !== 1 && code !== 2) throw new RangeError(`unknown encoding ${code}`);
  const width = code === 1 ? 2 : 4;
  const payload = bytes.length - headerSize;
  if (payload % (channels * width) !== 0) throw new RangeError("payload is not a whole number of sample frames");
  const count = payload / width;
  const samples = new Float32Array(count);
  if (code === 1) {
    for (let i = 0, p = headerSize; i < count; i++, p += 2) samples[i] = view.getInt16(p, true) / 32768;
  } else {
    for (let i = 0, p = headerSize; i < count; i++, p += 4) samples[i] = view.getFloat32(p, true);
  }
  let clock = null;
  if (flags & FLAG_CLOCK && headerSize >= MIN_HEADER_SIZE + 16) {
    clock = { beat: view.getFloat64(32, true), bpm: view.getFloat32(40, true),
      beatsPerBar: view.getUint8(44), beatUnit: view.getUint8(45) };
  }
  return { seq, streamTime, sampleRate, channels, encoding: code === 1 ? "s16le" : "f32le",
    frames: count / channels, samples, clock };
}
