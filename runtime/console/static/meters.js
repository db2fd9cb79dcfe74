// Level meters of one session, read from the audio the page plays (Player.tap):
// sample peak and RMS (dBFS) over the last ~85 ms, short-term loudness (EBU R128: 3 s,
// K-weighted, LUFS), and the min/max envelope for a scrolling waveform.
//
// K-weighting is the standard's two biquads (a +4 dB high shelf at 1681 Hz and a 38 Hz
// high-pass) as Web Audio filters, per channel; channel powers are summed as BS.1770
// asks. `read()` is called about 10 times a second; each call measures the latest
// analyser window and keeps 3 s of them for the short-term value (windows are samples
// of the 100 ms between calls: a meter, not a certified loudness measurement).

const FLOOR_DB = -90;
const db = (x) => (x > 0 ? Math.max(FLOOR_DB, 20 * Math.log10(x)) : FLOOR_DB);

export class Meters {
  constructor(player, { shortTermS = 3, tickS = 0.1 } = {}) {
    const ctx = player.ctx;
    this.size = 4096;
    this.analyser = ctx.createAnalyser();
    this.analyser.fftSize = this.size;
    this.analyser.smoothingTimeConstant = 0.6;
    player.tap.connect(this.analyser);
    const shelf = ctx.createBiquadFilter();
    Object.assign(shelf, { type: "highshelf" });
    shelf.frequency.value = 1681;
    shelf.gain.value = 4;
    const highpass = ctx.createBiquadFilter();
    highpass.type = "highpass";
    highpass.frequency.value = 38;
    highpass.Q.value = 20 * Math.log10(0.5); // BS.1770: Q 0.5 (Web Audio wants dB here)
    const split = ctx.createChannelSplitter(2);
    player.tap.connect(shelf);
    shelf.connect(highpass);
    highpass.connect(split);
    this.channels = [0, 1].map((i) => {
      const a = ctx.createAnalyser();
      a.fftSize = this.size;
      split.connect(a, i);
      return a;
    });
    // Analysers must be pulled by the graph to keep running: into a silent sink.
    const sink = ctx.createGain();
    sink.gain.value = 0;
    for (const a of [this.analyser, ...this.channels]) a.connect(sink);
    sink.connect(ctx.destination);
    this.buf = new Float32Array(this.size);
    this.powers = [];
    this.keep = Math.max(1, Math.round(shortTermS / tickS));
    this.peakHold = FLOOR_DB;
    this.last = { peakDb: FLOOR_DB, rmsDb: FLOOR_DB, lufs: FLOOR_DB, min: 0, max: 0 };
  }

  read() {
    this.analyser.getFloatTimeDomainData(this.buf);
    let peak = 0, sum = 0, min = 0, max = 0;
    for (const x of this.buf) {
      const a = Math.abs(x);
      if (a > peak) peak = a;
      if (x < min) min = x;
      if (x > max) max = x;
      sum += x * x;
    }
    let power = 0;
    for (const a of this.channels) {
      a.getFloatTimeDomainData(this.buf);
      let s = 0;
      for (const x of this.buf) s += x * x;
      power += s / this.buf.length;
    }
    this.powers.push(power);
    if (this.powers.length > this.keep) this.powers.shift();
    const mean = this.powers.reduce((a, b) => a + b, 0) / this.powers.length;
    const peakDb = db(peak);
    this.peakHold = Math.max(peakDb, this.peakHold - 1.5); // falls 15 dB/s
    this.last = {
      peakDb, peakHoldDb: this.peakHold, rmsDb: db(Math.sqrt(sum / this.size)),
      lufs: mean > 0 ? Math.max(FLOOR_DB, -0.691 + 10 * Math.log10(mean)) : FLOOR_DB,
      min, max,
    };
    return this.last;
  }

  spectrum(out) {
    this.analyser.getByteFrequencyData(out);
    return out;
  }
}

export { FLOOR_DB };
