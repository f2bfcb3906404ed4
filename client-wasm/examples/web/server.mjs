// A tiny static server for the web demo, on 127.0.0.1 only: the demo at / and the package
// (client-wasm/pkg) at /pkg/, with the MIME types browsers insist on (`application/wasm` for
// streaming compilation, `text/javascript` for modules).
//
//   node client-wasm/examples/web/server.mjs [PORT]    (default 8080; 0 picks a free port)
import { createReadStream, statSync } from "node:fs";
import { createServer } from "node:http";
import { dirname, extname, join, normalize, sep } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const ROOTS = [["/pkg/", join(here, "../../pkg")], ["/", here]];
const TYPES = {
  ".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8", ".wasm": "application/wasm", ".json": "application/json", ".png": "image/png",
  ".svg": "image/svg+xml", ".ts": "text/plain; charset=utf-8",
};

function file(urlPath) {
  for (const [prefix, dir] of ROOTS) {
    if (!urlPath.startsWith(prefix)) continue;
    const path = normalize(join(dir, urlPath.slice(prefix.length) || "index.html"));
    // No way out of the served directories (`..`, encoded or not).
    if (path !== dir && !path.startsWith(dir + sep)) return null;
    try { if (statSync(path).isFile()) return path; } catch {}
    return null;
  }
  return null;
}

/** Starts the server; resolves to `{url, port, close()}`. */
export function serveDemo({ port = 8080 } = {}) {
  const server = createServer((req, res) => {
    if (req.method !== "GET" && req.method !== "HEAD") return res.writeHead(405).end();
    let path;
    try { path = file(decodeURIComponent(new URL(req.url, "http://x").pathname)); } catch { path = null; }
    if (!path) return res.writeHead(404, { "content-type": "text/plain" }).end("not found");
    res.writeHead(200, { "content-type": TYPES[extname(path)] ?? "application/octet-stream", "cache-control": "no-store" });
    if (req.method === "HEAD") return res.end();
    createReadStream(path).pipe(res);
  });
  return new Promise((ok, fail) => {
    server.once("error", fail);
    server.listen(port, "127.0.0.1", () => {
      const p = server.address().port;
      ok({ url: `http://127.0.0.1:${p}`, port: p, close: () => new Promise((done) => { server.closeAllConnections(); server.close(done); }) });
    });
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === normalize(process.argv[1])) {
  const port = Number(process.argv[2] ?? 8080);
  serveDemo({ port }).then(
    ({ url }) => console.error(`web demo: serving ${url} (Ctrl+C stops)`),
    (e) => { console.error(`web demo: cannot listen on 127.0.0.1:${port}: ${e.message}`); process.exit(1); },
  );
}
