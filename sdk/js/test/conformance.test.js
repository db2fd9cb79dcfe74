// The conformance scenario against a real `cadenza serve` (Node):
// create -> state -> prompts -> config -> trigger -> beat events -> pause/play -> stop.
import assert from "node:assert/strict";
import { test } from "node:test";

import { CadenzaClient, CadenzaError } from "../src/index.js";
import { RATE, WS_URL, assertGapless, live, record, rmsDb, sleep, until } from "./helpers.js";

test("conformance: create, state, prompts, config, trigger, beats, pause/play, stop", live, async () => {
  const client = new CadenzaClient({ url: WS_URL, scene: "dungeon", seed: 7, state: { biome: "cave" },
    beatEvents: "beats" });
  const r = record(client);
  try {
    // create
    const info = await client.connect();
    assert.equal(info.scene, "dungeon");
    assert.equal(info.sample_rate, RATE);
    assert.equal(info.inputs.biome, "cave");
    assert.ok(info.stingers.includes("hit"), `stingers: ${info.stingers}`);
    await until(() => r.frames.length * 2400 >= RATE, 8000, "1 s of audio");
    assert.equal(r.frames[0][0], 0);
    assert.ok(rmsDb(r.samples) > -40, `the music is silent (${rmsDb(r.samples)} dB)`);
    assert.ok(r.frames.every((f) => f[3] !== null), "every frame carries the beat clock");

    // state: danger 0.9 enters combat (hysteresis above 0.7), heard in the blend
    await client.setState({ danger: 0.9 });
    await until(() => r.blends.some((b) => b.blend.some((e) => e.name === "combat" && e.weight > 0.5)), 8000,
      "the combat prompt in the blend");
    await assert.rejects(client.setState("danger", 7), (e) => e instanceof CadenzaError
      && e.code === "invalid_argument" && e.field === "danger");

    // prompts: direct prompts bypass the scene; {} hands control back
    await client.setPrompts({ "dark techno": 1.0 });
    await until(() => r.blends.some((b) => b.blend.length === 1 && b.blend[0].text === "dark techno"), 8000,
      "the direct prompt in the blend");
    await client.setPrompts({});
    await sleep(1000);

    // config: a live bpm moves the beat clock; clearing hands the tempo back to the scene
    const sceneBpm = r.frames.at(-1)[3].bpm;
    const ack = await client.setGenerationConfig({ bpm: 100, muteDrums: true });
    assert.equal(ack.config.bpm, 100);
    assert.equal(ack.config.mute_drums, true);
    const asked = r.frames.length;
    await until(() => r.frames.slice(asked).some((f) => Math.abs(f[3].bpm - 100) <= 2), 8000, "the clock at 100 bpm");
    await assert.rejects(client.setGenerationConfig({ bpm: 5000 }), (e) => e.code === "invalid_argument"
      && e.field === "config.bpm");
    const cleared = await client.setGenerationConfig({}, { clear: ["bpm", "mute_drums"] });
    assert.deepEqual(cleared.config, {});
    const back = r.frames.length;
    await until(() => r.frames.slice(back).some((f) => Math.abs(f[3].bpm - sceneBpm) < 0.5), 8000,
      "the scene's tempo again");

    // trigger: a stinger is scheduled at a stream time ahead of what was sent
    const sentAt = r.frames.at(-1)[1];
    await client.trigger("hit");
    await until(() => r.stingers.length > 0, 5000, "a stinger event");
    assert.equal(r.stingers[0].stinger, "hit");
    assert.equal(r.stingers[0].status, "scheduled");
    assert.ok(r.stingers[0].at >= sentAt - RATE, `at ${r.stingers[0].at}, sent near ${sentAt}`);
    await assert.rejects(client.trigger("nope"), (e) => e.code === "invalid_argument" && e.field === "stinger");

    // beat events: consecutive beats, spaced by the clock's tempo
    await until(() => r.beats.length >= 6, 8000, "six beat events");
    for (let i = 1; i < r.beats.length; i++) {
      const [a, b] = [r.beats[i - 1], r.beats[i]];
      assert.equal(Math.round(b.beat - a.beat), 1, `beats ${a.beat} -> ${b.beat}`);
      assert.ok(b.stream_time > a.stream_time);
      const expected = (60 / a.bpm) * RATE;
      if (a.bpm === b.bpm) assert.ok(Math.abs(b.stream_time - a.stream_time - expected) <= 2, "beat spacing");
    }

    // pause/play: no audio while paused; the stream continues with the next seq
    await client.pause();
    await until(() => r.states.includes("paused"), 5000, "state_changed paused");
    const pausedAt = r.frames.length;
    await sleep(600);
    const during = r.frames.length - pausedAt;
    assert.ok(during <= 12, `${during} frames arrived while paused`);  // at most the queued lookahead
    await client.play();
    await until(() => r.states.at(-1) === "playing", 5000, "state_changed playing");
    await until(() => r.frames.length > pausedAt + during + 10, 5000, "audio after play");
    assertGapless(r.frames);  // seq and stream_time continue across the pause

    // stop: the session ends
    const ended = client.once("ended", () => true, 5000);
    await client.stop();
    assert.equal((await ended).reason, "closed");
    assert.equal(client.finished, true);
    await assert.rejects(client.play(), (e) => e.code === "failed_precondition");
  } finally {
    client.close();
  }
});

test("an unknown scene is refused with not_found and the client stops", live, async () => {
  const client = new CadenzaClient({ url: WS_URL, scene: "no-such-scene" });
  await assert.rejects(client.connect(), (e) => e.code === "not_found" && e.fatal === true);
  assert.equal(client.finished, true);
  client.close();
});

test("no server: the error names `cadenza serve`", async () => {
  const client = new CadenzaClient({ url: "ws://127.0.0.1:9/v1/stream", scene: "minimal", maxReconnectAttempts: 1,
    reconnectMaxDelayMs: 10 });
  await assert.rejects(client.connect(), (e) => e.code === "unavailable" && /cadenza serve/.test(e.message));
  client.close();
});
