// The automerge-repo Node sync server for the P1 comparison: a Repo with a WebSocket server
// adapter and a file store, bound to 127.0.0.1, set up like automerge-repo-sync-server
// (it shares a document with a peer only when that peer asks for it).
// Usage: node automerge-repo-server.mjs PORT STORAGE_DIR
import { WebSocketServer } from "ws";
import { Repo } from "@automerge/automerge-repo";
import { WebSocketServerAdapter } from "@automerge/automerge-repo-network-websocket";
import { NodeFSStorageAdapter } from "@automerge/automerge-repo-storage-nodefs";

const [port, dir] = process.argv.slice(2);
const wss = new WebSocketServer({ host: "127.0.0.1", port: Number(port) });
new Repo({
  network: [new WebSocketServerAdapter(wss)],
  storage: new NodeFSStorageAdapter(dir),
  peerId: `automerge-repo-server-${port}`,
  sharePolicy: async () => false,
});
wss.on("listening", () => console.log(`listening on 127.0.0.1:${port}`));
