// The token: a Bearer header in Node (the `ws` package can set one), the ?token= query
// where the WebSocket cannot (browsers; here an implementation passed in), and a refused
// token ends in a fatal error that says what to check.
import assert from "node:assert/strict";
import { test } from "node:test";

import { WebSocket as WsSocket } from "ws";

import { CadenzaClient } from "../src/index.js";

const URL = process.env.CADENZA_TOKEN_WS_URL;
const TOKEN = process.env.CADENZA_TOKEN;
const secured = URL && TOKEN ? {} : { skip: "set CADENZA_TOKEN_WS_URL and CADENZA_TOKEN (pytest does)" };

// A browser-like WebSocket: a constructor taking only the URL (no headers).
class UrlOnlySocket extends WsSocket {
  constructor(url) {
    super(url);
    UrlOnlySocket.urls.push(url);
  }
}
UrlOnlySocket.urls = [];

test("the token as a Bearer header (Node)", secured, async () => {
  const client = new CadenzaClient({ url: URL, token: TOKEN, scene: "minimal", paused: true });
  try {
    const info = await client.connect();
    assert.equal(info.state, "created");
    await client.stop();
  } finally {
    client.close();
  }
});

test("the token in the query string where headers cannot be set (browsers)", secured, async () => {
  const client = new CadenzaClient({ url: URL, token: TOKEN, scene: "minimal", paused: true,
    WebSocket: UrlOnlySocket });
  try {
    await client.connect();
    assert.equal(UrlOnlySocket.urls.at(-1), `${URL}?token=${encodeURIComponent(TOKEN)}`);
    await client.stop();
  } finally {
    client.close();
  }
});

test("a wrong token is refused; the error says what to check", secured, async () => {
  const client = new CadenzaClient({ url: URL, token: "wrong", scene: "minimal", maxReconnectAttempts: 1,
    reconnectMaxDelayMs: 10 });
  await assert.rejects(client.connect(), (e) => e.fatal && e.code === "unavailable" && /token/.test(e.message));
  client.close();
});
