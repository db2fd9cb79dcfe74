// Shared by the live tests: the server's address (set by tests/sdk/js/test_js_sdk.py,
// which starts a real `cadenza serve`) and a recorder of what a client received.
import assert from "node:assert/strict";

export const WS_URL = process.env.CADENZA_WS_URL;
export const PROXY_URL = process.env.CADENZA_PROXY_WS_URL;
export const CUT_URL = process.env.CADENZA_CUT_URL;
export const RATE = 48000;
export const live = WS_URL ? {} : { skip: "set CADENZA_WS_URL (pytest tests/sdk/js starts a server)" };

export function record(client) {
  const r = { frames: [], events: [], blends: [], beats: [], bars: [], stingers: [], states: [], samples: [] };
  client.on("audio", (f) => {
    r.frames.push([f.seq, f.streamTime, f.frames, f.clock]);
    r.samples.push(f.samples);
  });
  client.on("event", (e) => r.events.push(e));
  client.on("blend", (b) => r.blends.push(b));
  client.on("beat", (e) => r.beats.push(e));
  client.on("bar", (e) => r.bars.push(e));
  client.on("stinger", (e) => r.stingers.push(e));
  client.on("state_changed", (e) => r.states.push(e.state));
  return r;
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export async function until(test, timeoutMs = 8000, what = "condition") {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (test()) return;
    await sleep(20);
  }
  assert.fail(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

/** seq from the first frame on, +1 per frame, and stream_time gapless. */
export function assertGapless(frames) {
  for (let i = 1; i < frames.length; i++) {
    assert.equal(frames[i][0], frames[i - 1][0] + 1, `seq ${frames[i - 1][0]} -> ${frames[i][0]}`);
    assert.equal(frames[i][1], frames[i - 1][1] + frames[i - 1][2], `stream_time gap at seq ${frames[i][0]}`);
  }
}

export function rmsDb(chunks) {
  let sum = 0;
  let n = 0;
  for (const c of chunks) for (const x of c) { sum += x * x; n += 1; }
  return 10 * Math.log10(sum / Math.max(1, n) + 1e-20);
}
