// The audio end of the console: a jitter buffer and the AudioWorklet that plays it.
//
// Loaded twice: as an AudioWorklet module (registerProcessor exists there: the processor
// below runs on the audio thread) and imported by player.js on the main thread for the
// ScriptProcessor fallback (pages served over plain http to another machine are not a
// secure context and have no AudioWorklet).

// A ring of interleaved stereo float32 frames at the stream's rate, read at the output
// rate with linear interpolation (resampling when the page runs at another rate).
// Playback starts once `target` frames are buffered; running dry while audio is expected
// counts a gap and re-buffers to the target. Pausing (no audio expected) is not a gap.
export class JitterBuffer {
  constructor(inRate, outRate, { targetMs = 100, maxMs = 8000 } = {}) {
    this.step = inRate / outRate; // source frames per output frame
    this.target = Math.max(1, Math.round((inRate * targetMs) / 1000));
    this.capacity = Math.round((inRate * maxMs) / 1000);
    this.ring = new Float32Array(this.capacity * 2);
    this.written = 0; // frames ever written
    this.pos = 0; // read position, source frames since the start (fractional)
    this.running = false;
    this.started = false;
    this.paused = false; // set by the page while the session is paused
    this.gaps = 0;
    this.gapsAt = []; // stream seconds played at the last 8 gaps (for a report, bounded)
    this.inRate = inRate;
    this.dropped = 0; // frames discarded because the buffer overflowed
    this.outFrames = 0;
  }

  get buffered() {
    return Math.max(0, this.written - this.pos);
  }

  push(samples) {
    const n = samples.length >> 1;
    const over = this.written + n - Math.floor(this.pos) - this.capacity;
    if (over > 0) {
      this.pos += over;
      this.dropped += over;
    }
    let w = this.written % this.capacity;
    let i = 0;
    while (i < n) {
      const run = Math.min(n - i, this.capacity - w);
      this.ring.set(samples.subarray(i * 2, (i + run) * 2), w * 2);
      i += run;
      w = (w + run) % this.capacity;
    }
    this.written += n;
  }

  render(left, right) {
    const m = left.length;
    let i = 0;
    if (!this.running && this.buffered >= this.target) {
      this.running = true;
      this.started = true;
    }
    if (this.running) {
      const ring = this.ring, cap = this.capacity, step = this.step, end = this.written;
      let pos = this.pos;
      for (; i < m; i++) {
        const k = Math.floor(pos);
        if (k + 1 >= end) break;
        const f = pos - k, a = (k % cap) * 2, b = ((k + 1) % cap) * 2;
        left[i] = ring[a] + (ring[b] - ring[a]) * f;
        right[i] = ring[a + 1] + (ring[b + 1] - ring[a + 1]) * f;
        pos += step;
      }
      this.pos = pos;
      if (i < m) {
        this.running = false;
        if (!this.paused) {
          this.gaps++;
          this.gapsAt = this.gapsAt.slice(-7).concat([Math.round(this.pos / this.inRate * 100) / 100]);
        }
      }
    }
    for (; i < m; i++) {
      left[i] = 0;
      right[i] = 0;
    }
    this.outFrames += m;
  }

  stats() {
    return {
      played: Math.floor(this.pos) - this.dropped,
      gaps: this.gaps,
      gapsAt: this.gapsAt,
      buffered: Math.floor(this.buffered),
      running: this.running,
      started: this.started,
      dropped: this.dropped,
      outFrames: this.outFrames,
    };
  }

  command(msg) {
    if (msg.cmd === "pause") this.paused = true;
    else if (msg.cmd === "play") this.paused = false;
  }
}

if (typeof registerProcessor === "function") {
  registerProcessor(
    "cadenza-player",
    class extends AudioWorkletProcessor {
      constructor(options) {
        super();
        const o = options.processorOptions || {};
        this.buffer = new JitterBuffer(o.inRate || 48000, sampleRate, o);
        this.quanta = 0;
        this.port.onmessage = (e) => {
          if (e.data.pcm) this.buffer.push(e.data.pcm);
          else this.buffer.command(e.data);
        };
      }

      process(inputs, outputs) {
        const out = outputs[0];
        this.buffer.render(out[0], out[1] || out[0]);
        if (++this.quanta % 16 === 0) this.port.postMessage(this.buffer.stats());
        return true;
      }
    },
  );
}
