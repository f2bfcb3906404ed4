// The sync status a person sees, from the page's `status` (decided by the client core): one of
// synced, syncing, offline or refused, a short label, and the core's sentence as the detail.

/** `{kind, label}` for a `Status`; `kind` is "synced" | "syncing" | "offline" | "refused". */
export function describe(status) {
  const s = status.sync;
  if (status.saveError) return { kind: "refused", label: `Not saved: ${status.saveError}` };
  switch (s.state) {
    case "inSync":
      return status.unsaved ? { kind: "syncing", label: "Saving…" } : { kind: "synced", label: "Synced" };
    case "loading":
    case "connecting":
    case "syncing":
    case "refreshingToken":
      return { kind: "syncing", label: "Syncing…" };
    case "unavailable":
      return { kind: "syncing", label: "Waiting for the page on the relay…" };
    case "offline":
      return { kind: "offline", label: "Offline" };
    case "retrying": {
      const secs = Math.max(0, Math.round((s.atMs - Date.now()) / 1000));
      return { kind: "offline", label: `Offline, reconnecting${secs > 0 ? ` in ${secs} s` : "…"}` };
    }
    case "tokenNeeded":
    case "refused":
      return { kind: "refused", label: `Refused (${s.code}): ${s.message}` };
    case "loadFailed":
      return { kind: "refused", label: `Cannot read the saved page: ${s.message}` };
    default:
      return { kind: "syncing", label: s.state };
  }
}
