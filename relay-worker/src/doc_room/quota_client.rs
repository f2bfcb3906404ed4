//! Calls to the tenant's `TenantQuota`: reservations (answered to the room) and releases
//! (fire and forget: a lost release leaves the tenant over-counted, never under).

use sync_core::protocol::ErrorCode;
use sync_core::relay::QuotaRefusal;
use worker::{Headers, Method, Request, RequestInit, Response};

use super::DocRoom;
use crate::access::PLAN_HEADER;
use crate::dev_faults::Fault;
use crate::error::{Error, Result};

impl DocRoom {
    /// Asks for `bytes`; `Err` when the call itself failed (the room retries).
    pub(super) async fn reserve(
        &self,
        bytes: u64,
        new_document: bool,
    ) -> Result<std::result::Result<u64, QuotaRefusal>> {
        let body = serde_json::json!({ "bytes": bytes, "new_document": new_document });
        let mut resp = self.quota_call("reserve", &body).await?;
        if resp.status_code() != 200 {
            return Err(Error::Runtime(format!(
                "quota answered {}",
                resp.status_code()
            )));
        }
        let answer: serde_json::Value = resp.json().await?;
        if let Some(granted) = answer["granted"].as_u64() {
            return Ok(Ok(granted));
        }
        let code = answer["code"]
            .as_str()
            .and_then(|c| c.parse::<ErrorCode>().ok())
            .ok_or_else(|| Error::Runtime(format!("quota answered {answer}")))?;
        Ok(Err(QuotaRefusal {
            code,
            retry_after_ms: answer["retry_after_ms"].as_u64(),
        }))
    }

    /// Gives `bytes` (and with `document` the document) back to the tenant.
    pub(super) async fn release(&self, bytes: u64, document: bool) {
        let body = serde_json::json!({ "bytes": bytes, "document": document });
        match self.quota_call("release", &body).await {
            Ok(resp) if resp.status_code() == 200 => {}
            Ok(resp) => worker::console_warn!("quota release answered {}", resp.status_code()),
            Err(e) => worker::console_warn!("quota release failed: {e}"),
        }
    }

    /// POSTs `body` to this room's tenant's `TenantQuota` at `/<path>`.
    async fn quota_call(&self, path: &str, body: &serde_json::Value) -> Result<Response> {
        if self.fault(Fault::QuotaCall) {
            return Err(Self::injected("quota call"));
        }
        let identity = self
            .known_identity()?
            .ok_or_else(|| Error::Runtime("quota call from a room without a tenant".into()))?;
        let stub = self
            .env
            .durable_object("TENANT_QUOTA")?
            .id_from_name(&identity.tenant)?
            .get_stub()?;
        let headers = Headers::new();
        headers.set(PLAN_HEADER, &identity.plan)?;
        headers.set("content-type", "application/json")?;
        let mut init = RequestInit::new();
        init.with_method(Method::Post)
            .with_headers(headers)
            .with_body(Some(body.to_string().into()));
        let req = Request::new_with_init(&format!("https://quota/{path}"), &init)?;
        Ok(stub.fetch_with_request(req).await?)
    }
}
