// The workerd floor for P1: a Durable Object that only rebroadcasts. Every WebSocket goes to
// one object (hibernatable sockets, as the relay's rooms use), and each message is sent as is
// to every other socket. Whatever a relay does beyond this costs time above the floor.
//
// A Tessera client opens with a `join` and waits for a `peer` before it syncs, so a `join` is
// answered with one fixed `peer` message and not rebroadcast; every other frame is. Two
// Tessera clients through it then sync with each other directly, which is the relay's path
// without the room: no graph, no storage, no acks.
export class Floor {
  constructor(state) {
    this.state = state;
  }
  async fetch(request) {
    if (request.headers.get("upgrade") !== "websocket") return new Response("floor", { status: 200 });
    const [client, server] = Object.values(new WebSocketPair());
    this.state.acceptWebSocket(server);
    return new Response(null, { status: 101, webSocket: client });
  }
  webSocketMessage(from, message) {
    if (isJoin(message)) {
      from.send(PEER);
      return;
    }
    for (const ws of this.state.getWebSockets()) if (ws !== from) ws.send(message);
  }
  webSocketClose(ws, code) {
    try { ws.close(code === 1005 ? 1000 : code); } catch {}
  }
}

// `{type: "join", ...}` as sync_core's encoder writes it: a map whose first entry is the text
// "type" with the text "join" (a stock client's frame is rebroadcast like any other).
const JOIN_HEAD = [0x64, ...utf8("type"), 0x64, ...utf8("join")];
function isJoin(message) {
  if (typeof message === "string" || message.byteLength <= JOIN_HEAD.length) return false;
  const bytes = new Uint8Array(message);
  return JOIN_HEAD.every((b, i) => bytes[i + 1] === b);
}

// `{type: "peer", senderId: "floor", selectedProtocolVersion: "1", targetId: "floor-peer"}`.
const PEER = cborTextMap([
  ["type", "peer"],
  ["senderId", "floor"],
  ["selectedProtocolVersion", "1"],
  ["targetId", "floor-peer"],
]);

function utf8(s) {
  return [...new TextEncoder().encode(s)];
}

// A CBOR map of short text keys and values (each under 256 bytes).
function cborTextMap(entries) {
  const out = [0xa0 | entries.length];
  const text = (s) => {
    const b = utf8(s);
    out.push(...(b.length < 24 ? [0x60 | b.length] : [0x78, b.length]), ...b);
  };
  for (const [k, v] of entries) {
    text(k);
    text(v);
  }
  return new Uint8Array(out);
}

export default {
  fetch(request, env) {
    return env.FLOOR.get(env.FLOOR.idFromName("floor")).fetch(request);
  },
};
