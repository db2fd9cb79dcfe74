// After the network drops the connection (a TCP proxy cuts it), the client reconnects,
// attaches to the same session with resume_from_seq, and the audio has no gap.
import assert from "node:assert/strict";
import { test } from "node:test";

import { CadenzaClient } from "../src/index.js";
import { CUT_URL, PROXY_URL, RATE, assertGapless, record, sleep, until } from "./helpers.js";

const proxied = PROXY_URL && CUT_URL ? {} : { skip: "set CADENZA_PROXY_WS_URL and CADENZA_CUT_URL (pytest does)" };

test("reconnects after a dropped connection and resumes without a gap", proxied, async () => {
  const client = new CadenzaClient({ url: PROXY_URL, scene: "minimal", seed: 3, beatEvents: "bars" });
  const r = record(client);
  const drops = [];
  client.on("disconnected", (d) => drops.push(d));
  try {
    const info = await client.connect();
    await until(() => r.frames.length * 2400 >= RATE, 8000, "1 s of audio");
    const response = await fetch(CUT_URL, { method: "POST" });
    assert.equal(response.status, 200);
    await until(() => drops.length === 1, 5000, "the disconnect");
    assert.equal(drops[0].willReconnect, true);
    const before = r.frames.length;
    await until(() => client.connected && r.frames.length > before + 20, 10000, "audio after the reconnect");
    await sleep(200);
    assert.equal(client.sessionId, info.session_id);
    assert.equal(client.reconnects, 1);
    assert.equal(client.seqGaps, 0);
    assertGapless(r.frames);
    assert.ok(r.bars.length >= 1, "bar events continue");
    await client.setState({ intensity: 0.9 });  // requests work on the new connection
  } finally {
    client.close();
  }
});
