// A streaming polyphase windowed-sinc resampler (rational ratio), for players whose audio
// device refuses 48 kHz. Pure and stateful per stream: feed interleaved chunks in order and
// the output is the same as resampling the whole signal at once.
//
// Design: a Kaiser-windowed sinc low-pass (beta 8.6: ~86 dB stop band) whose stop band
// starts at the lower of the two Nyquist rates (its transition band, about 2.7 kHz with 96
// taps, lies below it), split into `up` phases of `taps` taps each. Latency: taps / 2 input
// frames (1 ms at 48 kHz).

function gcd(a, b) {
  while (b) [a, b] = [b, a % b];
  return a;
}

function besselI0(x) {
  let sum = 1;
  let term = 1;
  for (let k = 1; k < 50; k++) {
    term *= (x / (2 * k)) ** 2;
    sum += term;
    if (term < 1e-12 * sum) break;
  }
  return sum;
}

export class Resampler {
  /**
   * @param {number} fromRate input rate in Hz (e.g. 48000)
   * @param {number} toRate output rate in Hz (e.g. 44100)
   * @param {number} channels interleaved channels
   * @param {{taps?: number, beta?: number}} options taps per phase (96), Kaiser beta (8.6)
   */
  constructor(fromRate, toRate, channels = 2, { taps = 96, beta = 8.6 } = {}) {
    const g = gcd(fromRate, toRate);
    this.up = toRate / g;
    this.down = fromRate / g;
    this.channels = channels;
    this.taps = taps;
    const up = this.up;
    const length = up * taps;
    const attenuation = beta / 0.1102 + 8.7;  // dB, Kaiser's formula inverted
    const transition = (attenuation - 8) / (2.285 * 2 * Math.PI * taps);  // cycles per input sample
    const edge = 0.5 * Math.min(1, up / this.down);  // the lower Nyquist, per input sample
    const fc = Math.max(0.05, edge - transition / 2) / up;  // cycles per upsampled sample
    const centre = (length - 1) / 2;
    const i0beta = besselI0(beta);
    // phases[p][j] = h[p + j * up]; each phase is scaled so the filter's DC gain is `up`.
    this.phases = [];
    const h = new Float64Array(length);
    for (let n = 0; n < length; n++) {
      const t = n - centre;
      const sinc = t === 0 ? 2 * fc : Math.sin(2 * Math.PI * fc * t) / (Math.PI * t);
      const r = (2 * n) / (length - 1) - 1;
      h[n] = sinc * (besselI0(beta * Math.sqrt(Math.max(0, 1 - r * r))) / i0beta) * up;
    }
    for (let p = 0; p < up; p++) {
      const phase = new Float32Array(taps);
      for (let j = 0; j < taps; j++) phase[j] = h[p + j * up];
      this.phases.push(phase);
    }
    // Input history: the last taps-1 frames before the current chunk, per channel.
    this.history = new Float32Array((taps - 1) * channels);
    this.consumed = 0;  // input frames seen
    this.produced = 0;  // output frames written
  }

  /** Output frames that `inputFrames` more input will produce. */
  outputFramesFor(inputFrames) {
    const total = this.consumed + inputFrames;
    // output k needs input index floor(k * down / up) < total
    return Math.ceil((total * this.up) / this.down) - this.produced;
  }

  /** Resamples one interleaved chunk; returns the interleaved output (may be empty). */
  process(input) {
    const ch = this.channels;
    const taps = this.taps;
    const frames = input.length / ch;
    const count = this.outputFramesFor(frames);
    const out = new Float32Array(Math.max(0, count) * ch);
    const hist = this.history;
    const histFrames = taps - 1;
    const base = this.consumed;  // global index of input[0]
    for (let k = 0; k < count; k++) {
      const u = (this.produced + k) * this.down;
      const n = Math.floor(u / this.up);  // newest input frame used
      const phase = this.phases[u - n * this.up];
      for (let c = 0; c < ch; c++) {
        let acc = 0;
        for (let j = 0; j < taps; j++) {
          const idx = n - j - base;  // index into this chunk; negative: history
          let x;
          if (idx >= 0) x = input[idx * ch + c];
          else {
            const hIdx = histFrames + idx;
            x = hIdx >= 0 ? hist[hIdx * ch + c] : 0;
          }
          acc += phase[j] * x;
        }
        out[k * ch + c] = acc;
      }
    }
    // Keep the last taps-1 input frames (across chunks shorter than that, too).
    const joined = new Float32Array((histFrames + frames) * ch);
    joined.set(hist, 0);
    joined.set(input, histFrames * ch);
    this.history = joined.slice(joined.length - histFrames * ch);
    this.consumed += frames;
    this.produced += Math.max(0, count);
    return out;
  }
}
