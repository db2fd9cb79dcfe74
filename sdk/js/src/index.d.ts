// Type declarations for @cadenza/client (hand-written beside the JavaScript sources and
// checked by `tsc --strict` against test/types-usage.ts).

export declare const PROTOCOL_VERSION: 1;
export declare const MIN_HEADER_SIZE: 32;
export declare const SAMPLE_RATE: 48000;
export declare const FLAG_CLOCK: 1;
export declare const CONFIG_FIELDS: readonly ConfigField[];

export type Encoding = "s16le" | "f32le";
export type BeatEvents = "none" | "beats" | "bars";
export type InputValue = number | string | boolean;
export type ErrorCode =
  | "invalid_argument" | "unauthenticated" | "permission_denied" | "not_found" | "failed_precondition"
  | "resource_exhausted" | "unavailable" | "deadline_exceeded" | "internal" | "cancelled" | (string & {});

export type Scale =
  | "C_MAJOR_A_MINOR" | "D_FLAT_MAJOR_B_FLAT_MINOR" | "D_MAJOR_B_MINOR" | "E_FLAT_MAJOR_C_MINOR"
  | "E_MAJOR_D_FLAT_MINOR" | "F_MAJOR_D_MINOR" | "G_FLAT_MAJOR_E_FLAT_MINOR" | "G_MAJOR_E_MINOR"
  | "A_FLAT_MAJOR_F_MINOR" | "A_MAJOR_G_FLAT_MINOR" | "B_FLAT_MAJOR_G_MINOR" | "B_MAJOR_A_FLAT_MINOR"
  | "SCALE_UNSPECIFIED";

/** Live generation config, Lyria RealTime's names and ranges; `null` clears a field. */
export interface GenerationConfig {
  /** 0–3 */ temperature?: number | null;
  /** 1–1000 */ top_k?: number | null;
  /** 0–6 */ guidance?: number | null;
  /** takes effect at the next reset() */ seed?: number | null;
  /** 60–200 quarter notes per minute */ bpm?: number | null;
  /** 0–1 */ density?: number | null;
  /** 0–1 */ brightness?: number | null;
  scale?: Scale | null;
  mute_bass?: boolean | null;
  mute_drums?: boolean | null;
  only_bass_and_drums?: boolean | null;
  mode?: "quality" | "diversity" | "vocalization" | null;
  topK?: number | null;
  muteBass?: boolean | null;
  muteDrums?: boolean | null;
  onlyBassAndDrums?: boolean | null;
}
export type ConfigField =
  | "temperature" | "top_k" | "guidance" | "seed" | "bpm" | "density" | "brightness" | "scale"
  | "mute_bass" | "mute_drums" | "only_bass_and_drums" | "mode";

export interface BlendEntry { name: string; text: string; weight: number }

export interface SessionInfo {
  session_id: string;
  scene: string;
  engine: string;
  seed: number;
  state: "created" | "playing" | "paused" | "failed" | "closed";
  sample_rate: number;
  channels: number;
  seq: number;
  stream_time: number;
  inputs: Record<string, InputValue>;
  input_names: string[];
  stingers?: string[];
  blend: BlendEntry[];
  config?: GenerationConfig;
  unsupported_knobs?: string[];
  [field: string]: unknown;
}

export interface Clock { beat: number; bpm: number; beatsPerBar: number; beatUnit: number }

export interface AudioFrame {
  seq: number;
  /** Index of the first sample frame since the session started (48 kHz). */
  streamTime: number;
  sampleRate: number;
  channels: number;
  encoding: Encoding;
  frames: number;
  /** Interleaved samples in [-1, 1]. */
  samples: Float32Array;
  clock: Clock | null;
}

export interface ServerEvent {
  type: "event";
  kind: string;
  stream_time?: number;
  [field: string]: unknown;
}

export interface BeatEvent extends ServerEvent {
  kind: "beat" | "bar";
  stream_time: number;
  beat: number;
  bar: number;
  beat_in_bar: number;
  bpm: number;
  beats_per_bar: number;
  beat_unit: number;
}

export interface StingerEvent extends ServerEvent {
  kind: "stinger";
  stinger: string;
  status: "scheduled" | "suppressed" | "unavailable";
  at: number;
}

export interface StateChangedEvent extends ServerEvent {
  kind: "state_changed";
  state: SessionInfo["state"];
  previous: SessionInfo["state"];
}

export interface Ack { type: "ack" | "pong"; id: number; [field: string]: unknown }
export interface ConfigAck extends Ack { config: GenerationConfig; unsupported: ConfigField[] }

export interface ClientEvents {
  connected: { url: string };
  session: SessionInfo;
  blend: { seq: number; streamTime: number; blend: BlendEntry[] };
  audio: AudioFrame;
  event: ServerEvent;
  state_changed: StateChangedEvent;
  stinger: StingerEvent;
  beat: BeatEvent;
  bar: BeatEvent;
  tempo: ServerEvent;
  underrun: ServerEvent;
  blend_changed: ServerEvent;
  unknown_words: ServerEvent;
  error: CadenzaError;
  disconnected: { code: number; reason: string; willReconnect: boolean };
  ended: { reason: string };
  handler_error: unknown;
}

export interface ClientOptions {
  /** ws://HOST:8765/v1/stream (wss:// with TLS). */
  url: string;
  /** Sent as a Bearer header in Node (`ws`), as ?token= in browsers. */
  token?: string;
  scene?: string;
  sceneYaml?: string;
  /** Attach to this existing session instead of creating one. */
  sessionId?: string;
  engine?: string;
  seed?: number;
  state?: Record<string, InputValue>;
  paused?: boolean;
  encoding?: Encoding;
  beatEvents?: BeatEvents;
  record?: boolean;
  reconnect?: boolean;
  maxReconnectAttempts?: number;
  reconnectMaxDelayMs?: number;
  maxStateUpdatesPerSecond?: number;
  recreateLostSession?: boolean;
  /** A WebSocket implementation (default: the global one, else the `ws` package). */
  WebSocket?: unknown;
}

export declare class CadenzaError extends Error {
  constructor(code: ErrorCode, message: string, options?: { field?: string; id?: number | null; fatal?: boolean });
  code: ErrorCode;
  /** The offending value: an input name, "stinger", "config.bpm" ... */
  field: string;
  id: number | null;
  /** True when the client has stopped because of it. */
  fatal: boolean;
}

export declare class CadenzaClient {
  constructor(options: ClientOptions);
  readonly options: Required<Pick<ClientOptions, "encoding" | "beatEvents" | "reconnect">> & ClientOptions;
  sessionId: string | null;
  session: SessionInfo | null;
  nextSeq: number;
  framesReceived: number;
  duplicates: number;
  seqGaps: number;
  reconnects: number;
  connected: boolean;
  finished: boolean;
  on<K extends keyof ClientEvents>(name: K, handler: (value: ClientEvents[K]) => void): () => void;
  off<K extends keyof ClientEvents>(name: K, handler: (value: ClientEvents[K]) => void): void;
  once<K extends keyof ClientEvents>(name: K, test?: (value: ClientEvents[K]) => boolean,
    timeoutMs?: number): Promise<ClientEvents[K]>;
  connect(): Promise<SessionInfo>;
  setState(values: Record<string, InputValue>): Promise<Ack>;
  setState(name: string, value: InputValue): Promise<Ack>;
  setPrompts(prompts: Record<string, number>): Promise<Ack>;
  setGenerationConfig(config?: GenerationConfig, options?: { clear?: (ConfigField | "*")[] }): Promise<ConfigAck>;
  trigger(stinger: string): Promise<Ack>;
  play(): Promise<Ack>;
  pause(): Promise<Ack>;
  reset(): Promise<Ack>;
  stop(): Promise<Ack>;
  ping(): Promise<Ack>;
  close(): void;
  dropConnection(): void;
}

export interface PlayerOptions {
  context?: AudioContext;
  /** 48000 by default; another rate forces the resampler (for tests). */
  sampleRate?: number;
  prebufferSeconds?: number;
  latencyHint?: AudioContextLatencyCategory | number;
  workletUrl?: string;
}

export interface PlayerStats {
  framesPlayed: number;
  nonSilentFrames: number;
  underruns: number;
  peak: number;
  queuedFrames: number;
  /** Stream time (48 kHz frames) playing at `time`; -1 before sound. */
  playhead: number;
  playing: boolean;
  /** AudioContext time of the report. */
  time: number;
}

export declare class CadenzaPlayer {
  static create(options?: PlayerOptions): Promise<CadenzaPlayer>;
  readonly context: AudioContext;
  readonly node: AudioWorkletNode;
  readonly resampling: boolean;
  framesPushed: number;
  attach(client: CadenzaClient): this;
  push(frame: AudioFrame): void;
  pause(): void;
  play(): void;
  flush(): void;
  stats(): PlayerStats;
  timeOf(streamTime: number): number | null;
  close(): Promise<void>;
}

export declare class Resampler {
  constructor(fromRate: number, toRate: number, channels?: number, options?: { taps?: number; beta?: number });
  readonly up: number;
  readonly down: number;
  outputFramesFor(inputFrames: number): number;
  process(input: Float32Array): Float32Array;
}

export declare function createMessage(options: {
  scene?: string; sceneYaml?: string; engine?: string; seed?: number; state?: Record<string, InputValue>;
  paused?: boolean; encoding?: Encoding; beatEvents?: BeatEvents; record?: boolean;
}, id?: number): string;
export declare function attachMessage(sessionId: string,
  options?: { resumeFromSeq?: number; encoding?: Encoding; beatEvents?: BeatEvents }, id?: number): string;
export declare function stateMessage(values: Record<string, InputValue>, id?: number): string;
export declare function promptsMessage(prompts: Record<string, number>, id?: number): string;
export declare function controlMessage(action: "play" | "pause" | "reset" | "stop", id?: number): string;
export declare function triggerMessage(stinger: string, id?: number): string;
export declare function pingMessage(id?: number): string;
export declare function configMessage(config?: GenerationConfig, clear?: (ConfigField | "*")[], id?: number): string;
export declare function parseServerMessage(text: string): Record<string, unknown> | null;
export declare function blendWeights(blend: BlendEntry[]): Record<string, number>;
export declare function decodeAudioFrame(data: ArrayBuffer | ArrayBufferView): AudioFrame;
