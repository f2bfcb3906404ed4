//! Development-only routes under `/__dev/`, answered only when `TESSERA_DEV_FAULTS` is set
//! (otherwise `404`, as for any unknown path). The end-to-end tests use them to inject faults
//! into a document's room, to ask a room what it stores, to plant R2 keys and to run the cron
//! sweep on demand.

use sync_core::protocol::DocumentId;
use worker::{Env, Method, Request, RequestInit, Response};

use crate::dev_faults::{DEV_FAULTS_VAR, dev_faults_enabled};
use crate::error::{Error, Result};
use crate::http;

/// Whether this Worker runs with fault injection on.
pub(crate) fn enabled(env: &Env) -> bool {
    dev_faults_enabled(
        env.var(DEV_FAULTS_VAR)
            .ok()
            .map(|v| v.to_string())
            .as_deref(),
    )
}

/// Most keys one test may plant, so a typo cannot fill the bucket.
const MAX_PLANT: u64 = 5_000;

pub(crate) async fn serve(req: &Request, env: &Env) -> Result<Response> {
    if !enabled(env) {
        return Err(Error::NotFound);
    }
    let url = req.url()?;
    let query = |name: &str| {
        url.query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.to_string())
    };
    let parts: Vec<String> = url
        .path()
        .trim_end_matches('/')
        .split('/')
        .skip(2)
        .map(str::to_owned)
        .collect();
    let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
    match (req.method(), parts.as_slice()) {
        (Method::Post, ["docs", id, "faults"]) => {
            // `?quota_calls=2&loads=1`: the room parses it as a `FaultPlan`.
            let plan: serde_json::Map<String, serde_json::Value> = url
                .query_pairs()
                .filter(|(k, _)| k != "tenant")
                .map(|(k, v)| (k.to_string(), v.parse::<u64>().unwrap_or(0).into()))
                .collect();
            let body = serde_json::Value::Object(plan).to_string();
            let tenant = query("tenant").ok_or(Error::NotFound)?;
            to_room(env, &tenant, id, "/__faults", Method::Post, Some(body)).await
        }
        (Method::Get, ["docs", id, "stored"]) => {
            let tenant = query("tenant").ok_or(Error::NotFound)?;
            to_room(env, &tenant, id, "/__stored", Method::Get, None).await
        }
        (Method::Post, ["r2", "plant"]) => {
            let prefix = query("prefix").ok_or(Error::NotFound)?;
            let from: u64 = query("from").and_then(|v| v.parse().ok()).unwrap_or(1);
            let count: u64 = query("count").and_then(|v| v.parse().ok()).unwrap_or(0);
            let bucket = env.bucket("SNAPSHOTS")?;
            for generation in from..from + count.min(MAX_PLANT) {
                bucket
                    .put(format!("{prefix}{generation:020}"), vec![0u8; 8])
                    .execute()
                    .await?;
            }
            Ok(http::json(format!(r#"{{"planted":{count}}}"#), 200)?)
        }
        (Method::Get, ["r2", "count"]) => {
            let prefix = query("prefix").unwrap_or_default();
            let keys = crate::cron::list_keys(&env.bucket("SNAPSHOTS")?, &prefix).await?;
            Ok(http::json(format!(r#"{{"count":{}}}"#, keys.len()), 200)?)
        }
        (Method::Post, ["sweep"]) => {
            let deleted = crate::cron::sweep(env).await?;
            Ok(http::json(format!(r#"{{"deleted":{deleted}}}"#), 200)?)
        }
        _ => Err(Error::NotFound),
    }
}

/// Forwards to the document's room (named the way the Worker names it).
/// Reaches the room of `tenant`'s document `id`, named exactly as the Worker names it.
async fn to_room(
    env: &Env,
    tenant: &str,
    id: &str,
    path: &str,
    method: Method,
    body: Option<String>,
) -> Result<Response> {
    let doc: DocumentId = id
        .parse()
        .map_err(|_| Error::Runtime(format!("dev route: bad document id {id}")))?;
    let mut init = RequestInit::new();
    init.with_method(method).with_body(body.map(Into::into));
    let fwd = Request::new_with_init(&format!("https://room{path}"), &init)?;
    let name = sync_core::relay::room_name(tenant, &doc);
    Ok(crate::entry::room_named(env, &name)?
        .fetch_with_request(fwd)
        .await?)
}
