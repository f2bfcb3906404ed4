//! The TypeScript types of every value that crosses the boundary as plain data: options,
//! edits, the page JSON, statuses, events and errors. They mirror the serde forms in
//! `sync_core` (`model::PageEdit`, `model::PageView`, `client::ClientStatus`), which are the
//! source of truth; the browser suite checks real values against them.

use wasm_bindgen::prelude::*;

#[wasm_bindgen(typescript_custom_section)]
const TYPES: &str = r#"
/** Options of `Tessera.open`. */
export interface OpenOptions {
  /** The relay's base URL (`https://relay.example`, `http://127.0.0.1:8787`). Without it, pages stay on this device. */
  relay?: string;
  /** A JWT for the relay (sent as `?token=`). */
  token?: string;
  /** Called when the relay refuses the token; returns a fresh one. Called once per refusal streak. */
  tokenProvider?: (code: "auth_failed" | "token_expired") => string | Promise<string>;
  /** Where pages are kept. Default: the database "tessera" in SQLite on OPFS (in a dedicated worker) where this context can run it, else in IndexedDB, else (Node) in memory; `Tessera.storageType` says which. */
  storage?: StorageOptions;
  /** A WebSocket constructor, for contexts without a global one (Node 20 without `--experimental-websocket`). */
  WebSocket?: new (url: string) => object;
  /** Whether pages sync as soon as they open (default true when `relay` is set). */
  online?: boolean;
  /**
   * Whether each connection sends a small keepalive frame after 20 s without traffic, which
   * the relay drops and stock automerge-repo peers ignore. It keeps an extension's service
   * worker alive (Chrome stops one after 30 s without events). Default: true in a service
   * worker, false elsewhere.
   */
  keepalive?: boolean;
}

/** A store: `sqlite` (SQLite on OPFS in a dedicated worker), `indexeddb` (strict transactions), both durable, or `memory` (gone with the page). Leave `type` out for the best one this context can run. */
export type StorageOptions =
  | { type?: "sqlite" | "indexeddb"; name?: string }
  | { type: "memory" };

/** Which store a client opened. */
export type StorageType = "sqlite" | "indexeddb" | "memory";

/** The relay's refusal codes. */
export type RelayCode =
  | "auth_failed" | "token_expired" | "permission_denied" | "quota_exceeded"
  | "rate_limited" | "payload_too_large" | "bad_message" | "doc_deleted";

/** Every `TesseraError.code`: the relay's codes, and this client's own. */
export type ErrorCode =
  | RelayCode | "bad_options" | "bad_url" | "bad_edit" | "edit_refused" | "not_loaded"
  | "storage_failed" | "storage_unavailable" | "store_busy" | "save_failed" | "stopped"
  | "no_websocket" | "closed" | "leader_lost" | "bad_tab_message";

/** What every rejected promise and thrown error of this package is. */
export interface TesseraError extends Error {
  name: "TesseraError";
  code: ErrorCode;
}

export type BlockKind =
  | { kind: "paragraph" } | { kind: "heading"; level: 1 | 2 | 3 } | { kind: "todo"; checked?: boolean }
  | { kind: "bulleted" } | { kind: "numbered" } | { kind: "quote" }
  | { kind: "code"; language?: string | null } | { kind: "divider" };

export type MarkName = "bold" | "italic" | "underline" | "strike" | "code" | "link" | "color";

/** A mark to apply; `link` and `color` carry a value. */
export type MarkSpec =
  | { name: "bold" | "italic" | "underline" | "strike" | "code" }
  | { name: "link" | "color"; value: string };

/** Where a block goes: first or last child of `parent` (top level when absent), or right after a sibling. */
export type Target =
  | { type: "end"; parent?: string | null } | { type: "start"; parent?: string | null }
  | { type: "after"; block: string };

/** One edit of a page (positions count Unicode scalar values). */
export type PageEdit =
  | { type: "addBlock"; kind: BlockKind; text?: string; target: Target }
  | { type: "insertText"; block: string; pos: number; text: string }
  | { type: "deleteText"; block: string; pos: number; len: number }
  | { type: "setText"; block: string; text: string }
  | { type: "mark"; block: string; start: number; end: number; mark: MarkSpec }
  | { type: "unmark"; block: string; start: number; end: number; name: MarkName }
  | { type: "setKind"; block: string; kind: BlockKind }
  | { type: "move"; block: string; target: Target }
  | { type: "delete"; block: string }
  | { type: "setTitle"; title: string };

/** What an edit produced: the id of the block `addBlock` created. */
export interface Applied { created: string | null }

/** The page as `tessera show --json` prints it. */
export interface PageJSON { url: string; title: string; heads: string[]; blocks: BlockJSON[] }
export interface BlockJSON {
  id: string;
  kind: BlockKind["kind"];
  props: { level?: number; checked?: boolean; language?: string };
  text: string;
  marks: MarkJSON[];
  children: BlockJSON[];
}
export interface MarkJSON { start: number; end: number; name: MarkName; value: true | string }

/** Where a page's sync stands (decided by the client core). */
export type SyncStatus =
  | { state: "loading" } | { state: "loadFailed"; message: string } | { state: "offline" }
  | { state: "connecting" } | { state: "syncing" } | { state: "inSync" } | { state: "unavailable" }
  | { state: "retrying"; atMs: number; code: RelayCode | null; message: string }
  | { state: "refreshingToken"; code: "auth_failed" | "token_expired" }
  | { state: "tokenNeeded"; code: "auth_failed" | "token_expired"; message: string }
  | { state: "refused"; code: RelayCode; message: string };

export interface Status { sync: SyncStatus; unsaved: boolean; saveError: string | null }

/** What `page.subscribe` listeners hear. */
export type PageEvent =
  | { type: "change"; origin: "local" | "remote" }
  | { type: "status"; status: Status };

/** One row of `list()`. */
export interface PageSummary { url: string; title: string }
"#;

/// Whether `e` is an error of this package (an `Error` named `TesseraError` with a `code`).
#[wasm_bindgen(js_name = isTesseraError, unchecked_return_type = "e is TesseraError")]
pub fn is_tessera_error(#[wasm_bindgen(unchecked_param_type = "unknown")] e: JsValue) -> bool {
    e.dyn_ref::<js_sys::Error>()
        .is_some_and(|err| err.name() == "TesseraError")
        && js_sys::Reflect::get(&e, &"code".into()).is_ok_and(|c| c.is_string())
}
