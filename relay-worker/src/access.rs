//! What the Worker tells a Durable Object about a verified peer, in headers of the forwarded
//! request. Only the Worker sets these: a DO is reachable only through its namespace binding.
//! What goes in them is decided by `sync_core::relay::gate`.

/// Header carrying the JSON `PeerAccess` of the verified token.
pub const ACCESS_HEADER: &str = "x-tessera-access";
/// Header carrying the document id (a DO created by `idFromName` does not know its name).
pub const DOC_HEADER: &str = "x-tessera-doc";
/// Header carrying the token's plan, for the tenant quota.
pub const PLAN_HEADER: &str = "x-tessera-plan";
