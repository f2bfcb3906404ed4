// The SQLite store's dedicated worker, spawned by the package (src/store/sqlite.rs): it loads
// the package's SQLite wasm (crate client-wasm-sqlite, `tessera_sqlite_bg.wasm`), which keeps
// the database on OPFS and answers the page's storage ops. wasm-bindgen copies this file to
// `snippets/<crate>/src/store/` in the package, four levels below the package's root.
import init, { serveSqlite } from "../../../../tessera_sqlite.js";

// The page posts `open` at once; messages that arrive while the wasm loads wait here.
const early = [];
self.onmessage = (e) => early.push(e);
await init();
serveSqlite();
for (const e of early) self.onmessage(e);
