// The workerd floor for P1: a Durable Object that only rebroadcasts. Every WebSocket goes to
// one object (hibernatable sockets, as the relay's rooms use), and each message is sent as is
// to every other socket. Whatever a relay does beyond this costs time above the floor.
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
    for (const ws of this.state.getWebSockets()) if (ws !== from) ws.send(message);
  }
  webSocketClose(ws, code) {
    try { ws.close(code === 1005 ? 1000 : code); } catch {}
  }
}

export default {
  fetch(request, env) {
    return env.FLOOR.get(env.FLOOR.idFromName("floor")).fetch(request);
  },
};
