// The AudioWorklet side of CadenzaPlayer: plays queued PCM chunks (already at the
// context's rate) on the audio rendering thread, with a prebuffer, a short fade-in when
// sound starts and a fade-out instead of a click when the queue runs dry.
// Reports what it played (frames, non-silent frames, peak, underruns, the stream time of
// the playhead) to the main thread about every 50 ms.
//
// Messages in: {type: "pcm", samples: Float32Array (interleaved), channels, streamTime,
// sourcePerFrame}, {type: "pause"}, {type: "play"}, {type: "flush"}, {type: "prebuffer", frames}.

const FADE = 240;
const SILENT = 1e-4;

class CadenzaPlayerProcessor extends AudioWorkletProcessor {
  constructor(options) {
    super();
    const opts = (options && options.processorOptions) || {};
    this.prebuffer = opts.prebufferFrames ?? Math.round(0.1 * sampleRate);
    this.queue = [];
    this.offset = 0;   // frames of queue[0] already played
    this.queued = 0;   // frames waiting
    this.playing = false;
    this.paused = false;
    this.gain = 0;
    this.lastL = 0;
    this.lastR = 0;
    this.framesPlayed = 0;
    this.nonSilentFrames = 0;
    this.underruns = 0;
    this.peak = 0;
    this.playhead = -1;
    this.sinceReport = 0;
    this.port.onmessage = (event) => this.onMessage(event.data);
  }

  onMessage(m) {
    if (m.type === "pcm") {
      this.queue.push(m);
      this.queued += m.samples.length / m.channels;
    } else if (m.type === "pause") {
      this.paused = true;
    } else if (m.type === "play") {
      this.paused = false;
    } else if (m.type === "flush") {
      this.queue = [];
      this.offset = 0;
      this.queued = 0;
    } else if (m.type === "prebuffer") {
      this.prebuffer = m.frames;
    }
  }

  process(_inputs, outputs) {
    const out = outputs[0];
    const n = out[0].length;
    const outChannels = out.length;
    if (!this.playing && !this.paused && this.queued >= this.prebuffer) this.playing = true;
    for (let i = 0; i < n; i++) {
      let l = 0;
      let r = 0;
      const target = this.playing && !this.paused ? 1 : 0;
      if (this.gain !== target) this.gain = Math.max(0, Math.min(1, this.gain + (target ? 1 : -1) / FADE));
      if (this.playing && this.queue.length && (this.gain > 0 || target)) {
        const chunk = this.queue[0];
        const ch = chunk.channels;
        const at = this.offset * ch;
        l = chunk.samples[at];
        r = ch > 1 ? chunk.samples[at + 1] : l;
        this.playhead = chunk.streamTime + this.offset * chunk.sourcePerFrame;
        this.lastL = l;
        this.lastR = r;
        this.offset += 1;
        this.queued -= 1;
        if (this.offset * ch >= chunk.samples.length) {
          this.queue.shift();
          this.offset = 0;
        }
      } else if (this.playing && !this.paused && !this.queue.length) {
        this.underruns += 1;  // ran dry: fade the last sample out, wait for the prebuffer
        this.playing = false;
      }
      if (!this.queue.length || !this.playing) {
        // fading out (underrun or pause): decay the last sample instead of jumping to 0
        l = this.lastL * this.gain;
        r = this.lastR * this.gain;
      } else {
        l *= this.gain;
        r *= this.gain;
      }
      out[0][i] = l;
      if (outChannels > 1) out[1][i] = r;
      const a = Math.max(Math.abs(l), Math.abs(r));
      if (a > SILENT) this.nonSilentFrames += 1;
      if (a > this.peak) this.peak = a;
      this.framesPlayed += 1;
    }
    this.sinceReport += n;
    if (this.sinceReport >= sampleRate / 20) {
      this.sinceReport = 0;
      this.port.postMessage({ type: "stats", framesPlayed: this.framesPlayed, nonSilentFrames: this.nonSilentFrames,
        underruns: this.underruns, peak: this.peak, queuedFrames: this.queued, playhead: this.playhead,
        playing: this.playing && !this.paused, time: currentTime });
    }
    return true;
  }
}

registerProcessor("cadenza-player", CadenzaPlayerProcessor);
