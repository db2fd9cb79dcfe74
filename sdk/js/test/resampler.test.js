// The resampler used where a device refuses 48 kHz: frequency kept, images and aliases
// suppressed, and chunked processing identical to one-shot processing.
import assert from "node:assert/strict";
import { test } from "node:test";

import { Resampler } from "../src/resampler.js";

function sine(freq, rate, frames, channels = 2) {
  const out = new Float32Array(frames * channels);
  for (let i = 0; i < frames; i++) for (let c = 0; c < channels; c++) out[i * channels + c] = 0.5 * Math.sin(2 * Math.PI * freq * i / rate);
  return out;
}

// Power of `freq` in a mono signal by correlation with a sine and cosine (a one-bin DFT).
function toneDb(x, freq, rate, channels = 2) {
  let re = 0; let im = 0; let n = 0;
  for (let i = 0, k = 0; i < x.length; i += channels, k++) {
    re += x[i] * Math.cos(2 * Math.PI * freq * k / rate);
    im += x[i] * Math.sin(2 * Math.PI * freq * k / rate);
    n += 1;
  }
  return 20 * Math.log10((2 * Math.hypot(re, im)) / n + 1e-12);
}

test("48 kHz -> 44.1 kHz keeps a 1 kHz tone and its level", () => {
  const r = new Resampler(48000, 44100, 2);
  const out = r.process(sine(1000, 48000, 48000));
  assert.equal(out.length / 2, 44100);
  const body = out.subarray(2 * 1000);  // past the filter's latency
  assert.ok(Math.abs(toneDb(body, 1000, 44100) - 20 * Math.log10(0.5)) < 0.1);
});

test("a tone above the new Nyquist is removed, not aliased (> 70 dB down)", () => {
  const r = new Resampler(48000, 44100, 2);
  const out = r.process(sine(23000, 48000, 48000)).subarray(2000);
  const alias = 44100 - 23000;  // where it would fold to
  assert.ok(toneDb(out, alias, 44100) < 20 * Math.log10(0.5) - 70, `alias at ${toneDb(out, alias, 44100)} dB`);
});

test("upsampling 48 -> 96 kHz leaves no image above 24 kHz (> 70 dB down)", () => {
  const r = new Resampler(48000, 96000, 2);
  const out = r.process(sine(5000, 48000, 24000)).subarray(4000);
  assert.ok(Math.abs(toneDb(out, 5000, 96000) - 20 * Math.log10(0.5)) < 0.1);
  assert.ok(toneDb(out, 48000 - 5000, 96000) < 20 * Math.log10(0.5) - 70);
});

test("chunks of any size give the same output as the whole signal", () => {
  const input = sine(440, 48000, 9600);
  const whole = new Resampler(48000, 44100, 2).process(input);
  const chunked = new Resampler(48000, 44100, 2);
  const parts = [];
  for (let at = 0, size = 7; at < 9600; at += size, size = (size * 3) % 2400 + 1) {
    parts.push(chunked.process(input.subarray(2 * at, 2 * Math.min(9600, at + size))));
  }
  const joined = Float32Array.from(parts.flatMap((p) => [...p]));
  assert.equal(joined.length, whole.length);
  for (let i = 0; i < whole.length; i++) assert.ok(Math.abs(joined[i] - whole[i]) < 1e-6, `sample ${i}`);
});
