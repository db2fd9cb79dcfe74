// The codec, without a server: message shapes and audio frame decoding.
import assert from "node:assert/strict";
import { test } from "node:test";

import { attachMessage, configMessage, createMessage, decodeAudioFrame, triggerMessage } from "../src/index.js";

function frame({ seq = 3, streamTime = 7200, encoding = 2, clock = null, samples = [0.5, -0.25] } = {}) {
  const width = encoding === 1 ? 2 : 4;
  const header = clock ? 48 : 32;
  const buffer = new ArrayBuffer(header + samples.length * width);
  const v = new DataView(buffer);
  [0x43, 0x44, 0x5a, 0x41].forEach((b, i) => v.setUint8(i, b));
  v.setUint16(4, 1, true);
  v.setUint16(6, header, true);
  v.setBigUint64(8, BigInt(seq), true);
  v.setBigUint64(16, BigInt(streamTime), true);
  v.setUint32(24, 48000, true);
  v.setUint8(28, 2);
  v.setUint8(29, encoding);
  v.setUint16(30, clock ? 1 : 0, true);
  if (clock) {
    v.setFloat64(32, clock.beat, true);
    v.setFloat32(40, clock.bpm, true);
    v.setUint8(44, clock.beatsPerBar);
    v.setUint8(45, clock.beatUnit);
  }
  samples.forEach((x, i) => (encoding === 1 ? v.setInt16(header + 2 * i, Math.round(x * 32768), true)
    : v.setFloat32(header + 4 * i, x, true)));
  return buffer;
}

test("create and attach carry beat_events, encoding and the resume point", () => {
  const create = JSON.parse(createMessage({ scene: "dungeon", seed: 7, state: { biome: "cave" }, beatEvents: "bars" }));
  assert.deepEqual(create, { type: "create", scene: "dungeon", seed: 7, state: { biome: "cave" }, encoding: "f32le",
    beat_events: "bars" });
  const attach = JSON.parse(attachMessage("abc", { resumeFromSeq: 41, encoding: "s16le", beatEvents: "beats" }, 2));
  assert.deepEqual(attach, { type: "attach", session_id: "abc", encoding: "s16le", resume_from_seq: 41,
    beat_events: "beats", id: 2 });
  assert.equal(JSON.parse(attachMessage("abc", { resumeFromSeq: -1 })).resume_from_seq, undefined);
});

test("config takes Lyria's names (and camelCase) and clear; unknown fields are refused", () => {
  const m = JSON.parse(configMessage({ bpm: 100, muteDrums: true, temperature: 1.2 }, ["density"], 5));
  assert.deepEqual(m, { type: "config", config: { bpm: 100, mute_drums: true, temperature: 1.2 },
    clear: ["density"], id: 5 });
  assert.throws(() => configMessage({ tempo: 90 }), /unknown generation config field 'tempo'/);
  assert.throws(() => configMessage({}, ["loudness"]), /'loudness'/);
  assert.deepEqual(JSON.parse(triggerMessage("hit", 9)), { type: "trigger", stinger: "hit", id: 9 });
});

test("audio frames decode with and without the clock block", () => {
  const plain = decodeAudioFrame(frame());
  assert.equal(plain.seq, 3);
  assert.equal(plain.streamTime, 7200);
  assert.equal(plain.frames, 1);
  assert.deepEqual([...plain.samples], [0.5, -0.25]);
  assert.equal(plain.clock, null);
  const clocked = decodeAudioFrame(new Uint8Array(frame({ encoding: 1, clock: { beat: 6.5, bpm: 240, beatsPerBar: 6,
    beatUnit: 8 } })));
  assert.deepEqual(clocked.clock, { beat: 6.5, bpm: 240, beatsPerBar: 6, beatUnit: 8 });
  assert.deepEqual([...clocked.samples], [0.5, -0.25]);
  assert.throws(() => decodeAudioFrame(new ArrayBuffer(10)), /shorter/);
  const bad = new Uint8Array(frame());
  bad[0] = 0;
  assert.throws(() => decodeAudioFrame(bad), /magic/);
});
