// A Cadenza client in Node.js (@grpc/grpc-js), driven by tests/transports/test_node_client.py.
//
//   node client.js ADDRESS [TOKEN]
//
// Creates a session of the example scene "minimal", streams 3 s of audio, pushes a state
// update after 1 s, and prints one JSON line with what it saw. Exits non-zero on failure.
"use strict";
const path = require("path");
const grpc = require("@grpc/grpc-js");
const protoLoader = require("@grpc/proto-loader");

const PROTO = path.join(__dirname, "..", "..", "proto", "cadenza", "v1", "runtime.proto");
const definition = protoLoader.loadSync(PROTO, {
  keepCase: true, longs: Number, enums: String, defaults: true, oneofs: true,
});
const cadenza = grpc.loadPackageDefinition(definition).cadenza.v1;

const [address, token] = process.argv.slice(2);
const metadata = new grpc.Metadata();
if (token) metadata.set("authorization", `Bearer ${token}`);
const client = new cadenza.Runtime(address, grpc.credentials.createInsecure());

function unary(method, request) {
  return new Promise((resolve, reject) => {
    client[method](request, metadata, (err, response) => (err ? reject(err) : resolve(response)));
  });
}

async function main() {
  const info = await unary("CreateSession", { scene: "minimal", seed: 5 });
  const result = { session_id: info.session_id, chunks: 0, frames: 0, gaps: 0, bytes: 0,
                   blends: [], update_ok: false, first_seq: null };
  const stream = client.Stream(metadata);
  let expectedSeq = 0;
  let expectedTime = 0;
  await new Promise((resolve, reject) => {
    stream.on("data", async (message) => {
      if (message.message !== "audio") return;
      const chunk = message.audio;
      if (result.first_seq === null) result.first_seq = chunk.seq;
      if (chunk.seq !== expectedSeq || chunk.stream_time !== expectedTime) result.gaps += 1;
      const frames = chunk.pcm.length / (2 * chunk.channels);
      expectedSeq = chunk.seq + 1;
      expectedTime = chunk.stream_time + frames;
      result.chunks += 1;
      result.frames += frames;
      result.bytes += chunk.pcm.length;
      const blend = {};
      for (const entry of chunk.blend) blend[entry.name] = entry.weight;
      result.blends.push(blend);
      if (result.chunks === 20) {
        try {
          await unary("UpdateState", { session_id: info.session_id,
                                       values: { intensity: { number: 1.0 } } });
          result.update_ok = true;
        } catch (err) { reject(err); }
      }
      if (result.frames >= 3 * 48000) { stream.cancel(); resolve(); }
    });
    stream.on("error", (err) => (err.code === grpc.status.CANCELLED ? resolve() : reject(err)));
    stream.write({ attach: { session_id: info.session_id, encoding: "PCM_S16LE" } });
  });
  result.first_blend = result.blends[0];
  result.last_blend = result.blends[result.blends.length - 1];
  delete result.blends;
  await unary("CloseSession", { session_id: info.session_id });
  console.log(JSON.stringify(result));
  client.close();
}

main().catch((err) => {
  console.error(`node client failed: ${err.code} ${err.details || err.message}`);
  process.exit(1);
});
