//! Tessera's edge relay: a Cloudflare Worker (workers-rs) that is a thin shell over
//! `sync_core::relay::RelayRoom`.
//!
//! It owns IO only: carrying out the gate's decisions (`sync_core::relay::gate`: route, token,
//! tenant, room, refusal form) before any Durable Object is touched, fetching the JWKS when
//! `sync_core::auth::JwksCache` says so, one JSON log line per request, the `DocRoom` Durable Object (hibernatable WebSockets, SQLite log, R2
//! snapshots, alarms) and the `TenantQuota` Durable Object. It must never make a sync, persistence
//! or authorization decision of its own: every such decision comes out of the room as a
//! `RoomOutput`, which the shell carries out in order and answers with a `RoomInput`.
//!
//! The quota ledger is `sync_core::relay::Ledger`. The pure parts (error mapping, the log line, the
//! plans, the deployment checks) build natively and are unit-tested on the host; the runtime parts exist only
//! on `wasm32`.

mod access;
mod dev_faults;
mod error;
mod log;
mod plans;
mod room_log;
mod sweep;

#[cfg(test)]
mod deploy_config;

pub use access::{ACCESS_HEADER, DOC_HEADER, PLAN_HEADER};
pub use dev_faults::{DEV_FAULTS_VAR, Fault, FaultPlan, dev_faults_enabled};
pub use error::{Error, Result};
pub use log::RequestLog;
pub use plans::{DEFAULT_PLANS, plans_from};
pub use room_log::{DataPoint, MAX_INDEX_BYTES, RoomLabels, data_point, event_line, metrics_line};
pub use sweep::{
    DELETE_BATCH, KEEP_GENERATIONS, SNAPSHOTS, TOMBSTONES, legacy_snapshot_key, snapshot_key,
    snapshot_prefix, superseded, tenant_segment, tombstone_key,
};

#[cfg(target_arch = "wasm32")]
mod cron;
#[cfg(target_arch = "wasm32")]
mod dev;
#[cfg(target_arch = "wasm32")]
mod doc_room;
#[cfg(target_arch = "wasm32")]
mod entry;
#[cfg(target_arch = "wasm32")]
mod http;
#[cfg(target_arch = "wasm32")]
mod jwks;
#[cfg(target_arch = "wasm32")]
mod tenant_quota;
