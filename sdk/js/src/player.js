// CadenzaPlayer: plays a CadenzaClient's audio in the browser through an AudioWorklet.
//
// It asks the AudioContext for 48 kHz (the stream's rate), so no resampling happens on
// devices that accept it; where the browser or device refuses, the stream is resampled on
// the main thread with a polyphase windowed-sinc filter (resampler.js) before it reaches
// the worklet. Main thread only; the worklet runs on the audio rendering thread.

import { SAMPLE_RATE } from "./protocol.js";
import { Resampler } from "./resampler.js";

export class CadenzaPlayer {
  /**
   * Creates the AudioContext (unless `context` is given) and loads the worklet.
   * @param {object} options context, sampleRate (48000; another rate forces resampling,
   *   for tests), prebufferSeconds (0.1), latencyHint ("interactive"), workletUrl.
   */
  static async create(options = {}) {
    let context = options.context;
    if (!context) {
      const rate = options.sampleRate || SAMPLE_RATE;
      const latencyHint = options.latencyHint || "interactive";
      try {
        context = new AudioContext({ sampleRate: rate, latencyHint });
      } catch {
        context = new AudioContext({ latencyHint });  // the device refused the rate
      }
    }
    const url = options.workletUrl || new URL("./worklet.js", import.meta.url).href;
    await context.audioWorklet.addModule(url);
    return new CadenzaPlayer(context, options);
  }

  constructor(context, { prebufferSeconds = 0.1 } = {}) {
    this.context = context;
    this.node = new AudioWorkletNode(context, "cadenza-player", {
      numberOfInputs: 0, numberOfOutputs: 1, outputChannelCount: [2],
      processorOptions: { prebufferFrames: Math.round(prebufferSeconds * context.sampleRate) },
    });
    this.node.connect(context.destination);
    /** True when the context runs at another rate than the stream and audio is resampled. */
    this.resampling = context.sampleRate !== SAMPLE_RATE;
    this.resampler = this.resampling ? new Resampler(SAMPLE_RATE, context.sampleRate, 2) : null;
    this.latest = { framesPlayed: 0, nonSilentFrames: 0, underruns: 0, peak: 0, queuedFrames: 0,
      playhead: -1, playing: false, time: 0 };
    this.framesPushed = 0;
    this.#unsubscribe = [];
    this.node.port.onmessage = (event) => {
      if (event.data.type === "stats") this.latest = event.data;
    };
  }

  #unsubscribe;

  /** Plays `client`'s audio from now on; pause()/play() on the client also fade here. */
  attach(client) {
    this.#unsubscribe.push(client.on("audio", (frame) => this.push(frame)));
    return this;
  }

  /** Queues one decoded frame ({samples, channels, streamTime, sampleRate}). */
  push(frame) {
    let samples = frame.samples;
    let channels = frame.channels;
    if (channels !== 2) {
      const stereo = new Float32Array(frame.frames * 2);
      for (let i = 0; i < frame.frames; i++) {
        stereo[2 * i] = samples[i * channels];
        stereo[2 * i + 1] = samples[i * channels + Math.min(1, channels - 1)];
      }
      samples = stereo;
      channels = 2;
    }
    // A copy (or the resampler's new array) is transferred: other listeners keep theirs.
    samples = this.resampler ? this.resampler.process(samples) : samples.slice();
    const frames = samples.length / 2;
    if (!frames) return;
    // The stream time of the chunk's first output frame (the resampler's latency aside).
    const sourcePerFrame = frame.frames / frames || SAMPLE_RATE / this.context.sampleRate;
    this.node.port.postMessage({ type: "pcm", samples, channels, streamTime: frame.streamTime, sourcePerFrame },
      [samples.buffer]);
    this.framesPushed += frames;
  }

  /** Fades out locally (use with client.pause()). */
  pause() { this.node.port.postMessage({ type: "pause" }); }

  /** Fades back in (use with client.play()). */
  play() { this.node.port.postMessage({ type: "play" }); }

  /** Drops everything queued (e.g. after client.reset()). */
  flush() { this.node.port.postMessage({ type: "flush" }); }

  /** What the worklet reported last: framesPlayed, nonSilentFrames, underruns, peak,
   * queuedFrames, playhead (stream time at `time`), playing, time (context seconds). */
  stats() { return { ...this.latest }; }

  /**
   * The AudioContext time at which the stream sample `streamTime` is heard, for scheduling
   * game events on a beat (`beat` events carry the beat's stream_time). null before sound.
   */
  timeOf(streamTime) {
    const s = this.latest;
    if (s.playhead < 0) return null;
    const latency = (this.context.outputLatency || 0) + (this.context.baseLatency || 0);
    return s.time + (streamTime - s.playhead) / SAMPLE_RATE + latency;
  }

  /** Disconnects from the client and closes the AudioContext. */
  async close() {
    for (const off of this.#unsubscribe) off();
    this.#unsubscribe = [];
    this.node.disconnect();
    await this.context.close();
  }
}
