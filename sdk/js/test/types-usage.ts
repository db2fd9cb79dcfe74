// Compiled (not run) by `tsc -p tsconfig.json`: the declarations describe what a game writes.
import { CadenzaClient, CadenzaError, CadenzaPlayer, configMessage } from "../src/index.js";
import type { BeatEvent, ConfigAck, SessionInfo } from "../src/index.js";

export async function game(): Promise<void> {
  const client = new CadenzaClient({ url: "ws://127.0.0.1:8765/v1/stream", scene: "dungeon", beatEvents: "beats" });
  const player = await CadenzaPlayer.create({ prebufferSeconds: 0.1 });
  player.attach(client);
  const info: SessionInfo = await client.connect();
  const stingers: string[] = info.stingers ?? [];
  client.on("beat", (beat: BeatEvent) => {
    const at: number | null = player.timeOf(beat.stream_time);
    if (at !== null && beat.beat_in_bar === 0) console.log(`downbeat ${beat.bar} at ${at.toFixed(3)} s`);
  });
  client.on("stinger", (e) => console.log(e.stinger, e.status, e.at));
  client.on("error", (e: CadenzaError) => console.warn(e.code, e.field, e.fatal));
  await client.setState({ danger: 0.7, biome: "cave", alive: true });
  await client.setState("danger", 0.8);
  await client.setPrompts({ "dark techno": 1 });
  const ack: ConfigAck = await client.setGenerationConfig({ bpm: 100, muteDrums: true, scale: "D_MAJOR_B_MINOR" });
  const unsupported: string[] = ack.unsupported;
  await client.setGenerationConfig({}, { clear: ["bpm", "mute_drums"] });
  if (stingers.includes("hit")) await client.trigger("hit");
  await client.pause();
  player.pause();
  await client.play();
  player.play();
  const played: number = player.stats().nonSilentFrames;
  console.log(unsupported, played, configMessage({ temperature: 1.1 }, ["*"]));
  await client.stop();
  await player.close();
}
