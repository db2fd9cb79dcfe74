// @cadenza/client: the Cadenza WebSocket protocol for browsers and Node.
export { CadenzaClient, CadenzaError } from "./client.js";
export { CadenzaPlayer } from "./player.js";
export { Resampler } from "./resampler.js";
export * from "./protocol.js";
