// Type-checked (never run) against the package's generated .d.ts by types.test.mjs: the API
// as an app writes it, and, under @ts-expect-error, mistakes the types must reject (so the
// check fails if any of them degrades to `any`).
import init, { Tessera, isTesseraError } from "../../pkg/web/tessera.js";
import type { PageEdit, PageJSON, Status, PageEvent, Applied, PageSummary, ErrorCode, StorageType } from "../../pkg/web/tessera.js";

export async function app(): Promise<void> {
  await init();
  const tessera: Tessera = await Tessera.open({
    relay: "https://relay.example",
    token: "jwt",
    tokenProvider: async (code) => (code === "token_expired" ? "fresh" : "other"),
    storage: { type: "indexeddb", name: "app" },
    keepalive: true,
  });
  const page = await tessera.create("title");
  const applied: Applied = await page.addBlock({ kind: "heading", level: 2 }, "text", { type: "end", parent: null });
  const id: string | null = applied.created;
  if (id === null) return;
  const edit: PageEdit = { type: "mark", block: id, start: 0, end: 2, mark: { name: "link", value: "https://x" } };
  await page.apply(edit);
  await page.move(id, { type: "after", block: id });
  const json: PageJSON = page.toJSON();
  const firstKind: "paragraph" | "heading" | "todo" | "bulleted" | "numbered" | "quote" | "code" | "divider" = json.blocks[0].kind;
  const status: Status = page.status;
  if (status.sync.state === "retrying") {
    const at: number = status.sync.atMs;
    void at;
  }
  const stop: () => void = page.subscribe((e: PageEvent) => {
    if (e.type === "change") { const o: "local" | "remote" = e.origin; void o; }
  });
  stop();
  const rows: PageSummary[] = await tessera.list();
  try {
    await page.synced();
  } catch (e) {
    if (isTesseraError(e)) { const code: ErrorCode = e.code; void code; }
  }
  void firstKind; void rows;

  // @ts-expect-error: not an edit type
  await page.apply({ type: "explode" });
  // @ts-expect-error: headings have levels 1 to 3
  await page.addBlock({ kind: "heading", level: 7 });
  // @ts-expect-error: a link needs its value
  await page.mark(id, 0, 1, { name: "link" });
  // @ts-expect-error: not a store
  await Tessera.open({ storage: { type: "floppy" } });
  const local = await Tessera.open({ storage: { type: "sqlite", name: "app" } });
  const best = await Tessera.open({ storage: { name: "app" } });
  const opened: StorageType = best.storageType;
  // @ts-expect-error: storageType is one of three stores
  const wrong: "opfs" = local.storageType;
  // @ts-expect-error: memory has no name
  await Tessera.open({ storage: { type: "memory", name: "x" } });
  void opened; void wrong;
  // @ts-expect-error: keepalive is on or off, not an interval
  await Tessera.open({ keepalive: 20000 });
  // @ts-expect-error: titles are strings
  const n: number = page.toJSON().title;
  void n;
  await tessera.close();
}
