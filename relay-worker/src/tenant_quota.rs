//! `TenantQuota`: one Durable Object per tenant. It keeps the tenant's [`Ledger`] in SQLite and
//! answers the rooms' reservations against the plan named in the request, and their releases.

use serde::Deserialize;
use worker::{Env, Request, Response, State, durable_object};

use crate::access::PLAN_HEADER;
use crate::error::{Error, Result};
use crate::http;
use sync_core::relay::Ledger;

/// A room's reservation request.
#[derive(Debug, Deserialize)]
pub(crate) struct Reserve {
    pub(crate) bytes: u64,
    pub(crate) new_document: bool,
}

/// A room giving back stored bytes (and, with `document`, the document).
#[derive(Debug, Deserialize)]
pub(crate) struct Release {
    pub(crate) bytes: u64,
    pub(crate) document: bool,
}

// State and Env are JS handles without Debug.
#[allow(missing_debug_implementations)]
#[durable_object]
pub struct TenantQuota {
    state: State,
    env: Env,
}

impl worker::DurableObject for TenantQuota {
    fn new(state: State, env: Env) -> Self {
        // Creating a table is idempotent; a failure here surfaces on the first query.
        let _ = state.storage().sql().exec(
            "CREATE TABLE IF NOT EXISTS ledger (id INTEGER PRIMARY KEY, json TEXT NOT NULL)",
            None,
        );
        Self { state, env }
    }

    async fn fetch(&self, req: Request) -> worker::Result<Response> {
        match self.serve(req).await {
            Ok(resp) => Ok(resp),
            Err(e) => http::refusal(&e),
        }
    }
}

impl TenantQuota {
    async fn serve(&self, mut req: Request) -> Result<Response> {
        let plan = req
            .headers()
            .get(PLAN_HEADER)?
            .unwrap_or_else(|| "free".into());
        let plans = crate::plans::plans(&self.env)?;
        let limits = plans.limits(&plan)?;
        // Every body is read before the ledger is: an `await` between loading the ledger and
        // saving it would let a concurrent request load the same ledger, and one of the two
        // updates would be lost (rooms waking together release their budgets together).
        // Between `load` and `save` nothing awaits, so each update sees the one before it.
        let path = req.url()?.path().to_owned();
        match path.as_str() {
            "/reserve" => {
                let body: Reserve = req
                    .json()
                    .await
                    .map_err(|e| Error::Runtime(format!("reserve body: {e}")))?;
                let now = worker::Date::now().as_millis();
                let mut ledger = self.load()?;
                let answer = ledger.reserve(&limits, now, body.bytes, body.new_document);
                // Written synchronously before the answer leaves: the output gate holds the
                // response until the write is durable, so counts are exact across restarts.
                self.save(&ledger)?;
                let json = match answer {
                    Ok(granted) => serde_json::json!({ "granted": granted }),
                    Err(r) => serde_json::json!({
                        "code": r.code.as_str(),
                        "retry_after_ms": r.retry_after_ms,
                    }),
                };
                Ok(http::json(json.to_string(), 200)?)
            }
            "/release" => {
                let body: Release = req
                    .json()
                    .await
                    .map_err(|e| Error::Runtime(format!("release body: {e}")))?;
                let mut ledger = self.load()?;
                ledger.release(body.bytes, body.document);
                self.save(&ledger)?;
                Ok(http::json("{}".into(), 200)?)
            }
            "/usage" => {
                let now = worker::Date::now().as_millis();
                let ledger = self.load()?;
                let json = serde_json::json!({
                    "plan": plan,
                    "docs": ledger.docs,
                    "stored_bytes": ledger.stored_bytes,
                    "window_change_bytes": ledger.window_bytes(&limits, now),
                    "limits": limits,
                });
                Ok(http::json(json.to_string(), 200)?)
            }
            _ => Err(Error::NotFound),
        }
    }

    fn load(&self) -> Result<Ledger> {
        let sql = self.state.storage().sql();
        let cursor = sql.exec("SELECT json FROM ledger WHERE id = 1", None)?;
        for row in cursor.raw() {
            if let Some(worker::SqlStorageValue::String(s)) = row?.into_iter().next() {
                return serde_json::from_str(&s).map_err(|e| Error::Runtime(e.to_string()));
            }
        }
        Ok(Ledger::default())
    }

    fn save(&self, ledger: &Ledger) -> Result<()> {
        let json = serde_json::to_string(ledger).map_err(|e| Error::Runtime(e.to_string()))?;
        self.state.storage().sql().exec(
            "INSERT OR REPLACE INTO ledger (id, json) VALUES (1, ?)",
            vec![json.into()],
        )?;
        Ok(())
    }
}
