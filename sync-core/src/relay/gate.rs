//! The relay Worker's gate: every decision about a request before it reaches a Durable Object.
//!
//! The Worker parses the route ([`check_route`]), finds the token, verifies it with
//! [`Verifier`](crate::auth::Verifier), and asks [`admit`] what the verified claims may do on
//! that route: which room (named by tenant *and* document, so two tenants never share one), with
//! which [`PeerAccess`] and plan. Every "no" is a [`Refusal`] that knows its code, its message
//! and its form ([`Refusal::answer`]): an HTTP status with a JSON body for plain requests, and
//! for a WebSocket upgrade an `error` message and close code sent on an accepted socket, because
//! a browser can read neither the status nor the body of a refused upgrade.
//!
//! Pure: the Worker passes what it read from the request and carries out the answer.

use super::{PeerAccess, Plans};
use crate::auth::{AuthError, CLOCK_LEEWAY_SECS, Claims};
use crate::protocol::{DocumentId, ErrorCode, Message, Route, RouteError};

/// The longest `tenant` claim admitted, in bytes. Tenants name rooms, quota objects and storage
/// keys; an unbounded claim from an issuer's bug would make all of those unbounded.
pub const MAX_TENANT_BYTES: usize = 128;

/// The name of the room (Durable Object) of `doc` in `tenant`: `<tenant>/<doc>`.
///
/// Unambiguous for any tenant: a document id is bs58 and never contains `/`, so the last `/`
/// always separates the two. Two tenants with the same document id get two rooms.
pub fn room_name(tenant: &str, doc: &DocumentId) -> String {
    format!("{tenant}/{doc}")
}

/// Why the gate said no.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// A refusal with a wire code (auth, permission, bad document id...): in-band on upgrades.
    Code(ErrorCode),
    /// No such route.
    NotFound,
    /// The route exists, not for this method.
    MethodNotAllowed,
    /// `GET /v1/docs/<id>` without `Upgrade: websocket`.
    UpgradeRequired,
    /// The relay cannot check the token right now (its key set could not be fetched); the
    /// request may succeed later.
    Unavailable,
    /// A deployment or runtime fault; details go to the relay's log, never to the caller.
    Internal,
}

impl Reason {
    /// The JSON `code` (and log field) of the refusal.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Code(code) => code.as_str(),
            Self::NotFound => "not_found",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::UpgradeRequired => "upgrade_required",
            Self::Unavailable => "unavailable",
            Self::Internal => "internal",
        }
    }

    /// The HTTP status of the refusal.
    pub fn http_status(self) -> u16 {
        match self {
            Self::Code(code) => code.http_status(),
            Self::NotFound => 404,
            Self::MethodNotAllowed => 405,
            Self::UpgradeRequired => 426,
            Self::Unavailable => 503,
            Self::Internal => 500,
        }
    }
}

/// A refusal of one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// Why.
    pub reason: Reason,
    /// For people; never carries a token or internal details.
    pub message: String,
    /// When a retry may succeed, if the gate knows.
    pub retry_after_ms: Option<u64>,
}

/// How to answer a [`Refusal`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// A plain HTTP response: `status`, JSON `{"code","message"[,"retry_after_ms"]}`.
    Http {
        /// The status.
        status: u16,
        /// The JSON body.
        body: String,
    },
    /// Accept the WebSocket, send `frame` (a CBOR `error` message), close with `close_code`.
    InBand {
        /// The encoded `error` message.
        frame: Vec<u8>,
        /// The close code matching the error's code.
        close_code: u16,
    },
}

impl Refusal {
    /// A refusal for `reason`.
    pub fn new(reason: Reason, message: impl Into<String>) -> Self {
        Self {
            reason,
            message: message.into(),
            retry_after_ms: None,
        }
    }

    /// A refusal with a wire code.
    pub fn code(code: ErrorCode, message: impl Into<String>) -> Self {
        Self::new(Reason::Code(code), message)
    }

    /// The request carried no token, in the header or the query.
    pub fn no_token() -> Self {
        Self::code(
            ErrorCode::AuthFailed,
            "no token: send `Authorization: Bearer <token>` or `?token=<token>`",
        )
    }

    /// A fault of the deployment or the runtime. The caller sees only "internal error".
    pub fn internal() -> Self {
        Self::new(Reason::Internal, "internal error")
    }

    /// The key set for RS256/ES256 tokens is unavailable; try again in `retry_after_ms`.
    pub fn keys_unavailable(retry_after_ms: u64) -> Self {
        Self {
            retry_after_ms: Some(retry_after_ms),
            ..Self::new(
                Reason::Unavailable,
                "the relay cannot verify this token right now; retry later",
            )
        }
    }

    /// How to answer: in-band for a WebSocket upgrade when the refusal has a wire code (the
    /// only form a browser can read), HTTP otherwise. Refusals without a wire code (no such
    /// route, a fault of the relay) stay HTTP even on an upgrade: a browser then backs off and
    /// retries, which is right for them.
    pub fn answer(&self, upgrade: bool) -> Answer {
        match self.reason {
            Reason::Code(code) if upgrade => Answer::InBand {
                frame: Message::Error {
                    message: self.message.clone(),
                    code: Some(code),
                    retry_after_ms: self.retry_after_ms,
                }
                .encode(),
                close_code: code.close_code(),
            },
            reason => {
                let mut body = serde_json::json!({
                    "code": reason.as_str(),
                    "message": self.message,
                });
                if let Some(ms) = self.retry_after_ms {
                    body["retry_after_ms"] = ms.into();
                }
                Answer::Http {
                    status: reason.http_status(),
                    body: body.to_string(),
                }
            }
        }
    }
}

impl From<RouteError> for Refusal {
    fn from(e: RouteError) -> Self {
        let reason = match e {
            RouteError::NotFound => Reason::NotFound,
            RouteError::MethodNotAllowed => Reason::MethodNotAllowed,
            RouteError::BadDocumentId(_) => Reason::Code(ErrorCode::BadMessage),
        };
        Self::new(reason, e.to_string())
    }
}

impl From<AuthError> for Refusal {
    fn from(e: AuthError) -> Self {
        match e {
            // The operator's key set, not the peer's token, is broken.
            AuthError::InvalidJwks(_) => Self::keys_unavailable(30_000),
            AuthError::Expired { .. } => Self::code(ErrorCode::TokenExpired, e.to_string()),
            _ => Self::code(ErrorCode::AuthFailed, e.to_string()),
        }
    }
}

/// The route `method` on `path` asks for, or why there is none. A document's socket route
/// needs the WebSocket upgrade (`upgrade` is whether the request carries `Upgrade: websocket`).
pub fn check_route(method: &str, path: &str, upgrade: bool) -> Result<Route, Refusal> {
    let route = Route::parse(method, path)?;
    if matches!(route, Route::Connect(_)) && !upgrade {
        return Err(Refusal::new(
            Reason::UpgradeRequired,
            "expected a WebSocket upgrade",
        ));
    }
    Ok(route)
}

/// Whether `route` needs a verified token.
pub fn needs_token(route: &Route) -> bool {
    !matches!(route, Route::Health | Route::Preflight)
}

/// What an admitted request carries to its Durable Object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Admitted {
    /// The caller's tenant: the `TenantQuota` object's name.
    pub tenant: String,
    /// The plan name the tenant's quota uses (`free` when the token names none).
    pub plan: String,
    /// The room to reach, for a document's route.
    pub room: Option<String>,
    /// What the room learns about the peer.
    pub access: PeerAccess,
}

/// What `claims` may do on `route`: the room and access, or the refusal.
///
/// Every route reaches only the caller's tenant (the room is [`room_name`] of the claims'
/// tenant); the document must be granted by `docs`; deleting needs the admin scope; the plan
/// comes from `plans` by the `plan` claim, an unknown plan getting `free`'s limits.
pub fn admit(route: &Route, claims: &Claims, plans: &Plans) -> Result<Admitted, Refusal> {
    if claims.tenant.len() > MAX_TENANT_BYTES {
        return Err(Refusal::code(
            ErrorCode::AuthFailed,
            format!("the token's tenant claim is longer than {MAX_TENANT_BYTES} bytes"),
        ));
    }
    let doc = route.doc();
    if let Some(doc) = doc
        && !claims.allows_doc(&doc.to_string())
    {
        return Err(Refusal::code(
            ErrorCode::AuthFailed,
            "the token does not grant this document",
        ));
    }
    if matches!(route, Route::Delete(_)) && !claims.scope.is_admin() {
        return Err(Refusal::code(
            ErrorCode::PermissionDenied,
            "deleting a document needs the admin scope",
        ));
    }
    let plan = claims.plan_or_default().to_owned();
    // Without a `free` plan the deployment is broken, not the token.
    let limits = plans.limits(&plan).map_err(|_| Refusal::internal())?;
    Ok(Admitted {
        room: doc.map(|doc| room_name(&claims.tenant, &doc)),
        tenant: claims.tenant.clone(),
        plan,
        access: PeerAccess {
            subject: claims.sub.clone(),
            tenant: claims.tenant.clone(),
            can_write: claims.scope.can_write(),
            // The verifier admits the token until `exp + leeway`; the room ends the session
            // at the same instant, so the two never disagree about a token near its expiry.
            expires_at_ms: claims
                .exp
                .saturating_add(CLOCK_LEEWAY_SECS)
                .saturating_mul(1000),
            plan: limits,
        },
    })
}

#[cfg(test)]
mod tests;
