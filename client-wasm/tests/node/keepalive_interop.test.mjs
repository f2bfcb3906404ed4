// The keepalive frame the client core sends ({type: "keepalive"}, the golden bytes in
// sync-core/tests/fixtures/wire/keepalive.cbor) against an unmodified automerge-repo sync
// server (WebSocketServerAdapter): the server ignores it, answers nothing and keeps serving
// the connection.
// Run: node --experimental-websocket --test client-wasm/tests/node/keepalive_interop.test.mjs
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, test } from "node:test";

import * as Automerge from "@automerge/automerge";
import { Repo, cbor } from "@automerge/automerge-repo";
import { WebSocketServerAdapter } from "@automerge/automerge-repo-network-websocket";
import { WebSocketServer } from "ws";

import { root, sleep, until } from "../support/relay.mjs";

const keepalive = readFileSync(join(root, "sync-core/tests/fixtures/wire/keepalive.cbor"));
let wss, repo;
after(() => {
  repo?.networkSubsystem.adapters.forEach((a) => a.disconnect());
  wss?.close();
});

test("an unmodified automerge-repo server ignores the keepalive frame and keeps serving", async () => {
  wss = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  await new Promise((ok) => wss.once("listening", ok));
  repo = new Repo({ network: [new WebSocketServerAdapter(wss)], peerId: "stock-server", sharePolicy: async () => false });
  const handle = repo.create({ title: "on a stock server" });

  const ws = new WebSocket(`ws://127.0.0.1:${wss.address().port}`);
  ws.binaryType = "arraybuffer";
  const got = [];
  let closed = false;
  ws.onmessage = (e) => got.push(cbor.decode(new Uint8Array(e.data)));
  ws.onclose = () => { closed = true; };
  await new Promise((ok, fail) => { ws.onopen = ok; ws.onerror = fail; });
  ws.send(cbor.encode({ type: "join", senderId: "tessera-client", supportedProtocolVersions: ["1"], peerMetadata: { isEphemeral: true } }));
  await until("the server's peer message", () => got.some((m) => m.type === "peer"));

  const before = got.length;
  for (let i = 0; i < 3; i++) ws.send(keepalive);
  await sleep(500);
  assert.equal(closed, false, "the server kept the connection");
  assert.equal(got.length, before, `no answer: ${JSON.stringify(got.slice(before))}`);

  // The connection still syncs: a request for the document gets its contents.
  const [, data] = Automerge.generateSyncMessage(Automerge.init(), Automerge.initSyncState());
  ws.send(cbor.encode({ type: "request", senderId: "tessera-client", targetId: "stock-server", documentId: handle.documentId, data }));
  await until("the server's sync answer", () => got.some((m) => m.type === "sync" && m.documentId === handle.documentId));
  assert.ok(!got.some((m) => m.type === "error"), JSON.stringify(got));
  ws.close();
});
