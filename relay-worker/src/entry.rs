//! The Worker's `fetch`: route, verify the token, then (and only then) reach a Durable Object.

use std::cell::RefCell;

use sync_core::auth::{Claims, Jwks, Verifier, VerifierConfig, bearer_token};
use sync_core::protocol::{DocumentId, ErrorCode};
use sync_core::relay::Plans;
use worker::{Context, Env, Fetch, Headers, Method, Request, RequestInit, Response, event};

use crate::access::{ACCESS_HEADER, DOC_HEADER, PLAN_HEADER, peer_access};
use crate::error::{Error, Result};
use crate::http;
use crate::route::{Route, route};

/// How long a fetched JWKS is trusted before it is fetched again.
const JWKS_TTL_MS: f64 = 300_000.0;

thread_local! {
    static JWKS_CACHE: RefCell<Option<(String, f64, Jwks)>> = const { RefCell::new(None) };
}

#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> worker::Result<Response> {
    let origin = req.headers().get("origin")?;
    let resp = match handle(req, &env).await {
        Ok(resp) => resp,
        Err(e) => http::refusal(&e)?,
    };
    http::finish(resp, origin, &env).await
}

async fn handle(req: Request, env: &Env) -> Result<Response> {
    let url = req.url()?;
    let route = route(req.method().as_ref(), url.path())?;
    match route {
        Route::Health => Ok(Response::ok("ok")?),
        Route::Dev => crate::dev::serve(req, env).await,
        Route::Preflight => Ok(Response::empty()?.with_status(204)),
        Route::Usage => {
            let claims = verify(&req, env).await?;
            let stub = env
                .durable_object("TENANT_QUOTA")?
                .id_from_name(&claims.tenant)?
                .get_stub()?;
            let fwd = forward(env, "https://quota/usage", Method::Get, &claims, None)?;
            Ok(stub.fetch_with_request(fwd).await?)
        }
        Route::Connect(doc) => {
            let claims = verify_for_doc(&req, env, doc).await?;
            let upgrade = req.headers().get("upgrade")?.unwrap_or_default();
            if !upgrade.eq_ignore_ascii_case("websocket") {
                return Ok(http::json(
                    r#"{"code":"upgrade_required","message":"expected a WebSocket upgrade"}"#
                        .into(),
                    426,
                )?);
            }
            let fwd = forward(env, "https://room/connect", Method::Get, &claims, Some(doc))?;
            for h in [
                "upgrade",
                "sec-websocket-key",
                "sec-websocket-version",
                "sec-websocket-protocol",
            ] {
                if let Some(v) = req.headers().get(h)? {
                    fwd.headers().set(h, &v)?;
                }
            }
            room(env, doc)?
                .fetch_with_request(fwd)
                .await
                .map_err(Into::into)
        }
        Route::Snapshot(doc) => {
            let claims = verify_for_doc(&req, env, doc).await?;
            let fwd = forward(
                env,
                "https://room/snapshot",
                Method::Get,
                &claims,
                Some(doc),
            )?;
            if let Some(v) = req.headers().get("if-none-match")? {
                fwd.headers().set("if-none-match", &v)?;
            }
            room(env, doc)?
                .fetch_with_request(fwd)
                .await
                .map_err(Into::into)
        }
        Route::Delete(doc) => {
            let claims = verify_for_doc(&req, env, doc).await?;
            if !claims.scope.is_admin() {
                return Err(Error::refused(
                    ErrorCode::PermissionDenied,
                    "deleting a document needs the admin scope",
                ));
            }
            let fwd = forward(
                env,
                "https://room/delete",
                Method::Delete,
                &claims,
                Some(doc),
            )?;
            room(env, doc)?
                .fetch_with_request(fwd)
                .await
                .map_err(Into::into)
        }
    }
}

pub(crate) fn room(env: &Env, doc: DocumentId) -> Result<worker::Stub> {
    Ok(env
        .durable_object("DOC_ROOM")?
        .id_from_name(&doc.to_string())?
        .get_stub()?)
}

/// A request to a Durable Object carrying the verified peer's access.
fn forward(
    env: &Env,
    url: &str,
    method: Method,
    claims: &Claims,
    doc: Option<DocumentId>,
) -> Result<Request> {
    let headers = Headers::new();
    let plans = Plans::from_json(&env.var("PLANS")?.to_string())?;
    let limits = plans.limits(claims.plan_or_default())?;
    let access = serde_json::to_string(&peer_access(claims, limits))
        .map_err(|e| Error::Runtime(e.to_string()))?;
    headers.set(ACCESS_HEADER, &access)?;
    headers.set(PLAN_HEADER, claims.plan_or_default())?;
    if let Some(doc) = doc {
        headers.set(DOC_HEADER, &doc.to_string())?;
    }
    let mut init = RequestInit::new();
    init.with_method(method).with_headers(headers);
    Ok(Request::new_with_init(url, &init)?)
}

async fn verify_for_doc(req: &Request, env: &Env, doc: DocumentId) -> Result<Claims> {
    let claims = verify(req, env).await?;
    if !claims.allows_doc(&doc.to_string()) {
        return Err(Error::refused(
            ErrorCode::AuthFailed,
            "the token does not grant this document",
        ));
    }
    Ok(claims)
}

async fn verify(req: &Request, env: &Env) -> Result<Claims> {
    let url = req.url()?;
    let token = bearer_token(req.headers().get("authorization")?.as_deref(), url.query())
        .ok_or_else(|| Error::refused(ErrorCode::AuthFailed, "no token"))?;
    let secret = env
        .secret("TESSERA_JWT_SECRET")
        .map(|s| s.to_string())
        .or_else(|_| env.var("TESSERA_JWT_SECRET").map(|s| s.to_string()))
        .ok();
    let opt_var = |name: &str| {
        env.var(name)
            .map(|v| v.to_string())
            .ok()
            .filter(|v| !v.is_empty())
    };
    let jwks = match opt_var("JWKS_URL") {
        Some(u) => Some(jwks(&u).await?),
        None => None,
    };
    let verifier = Verifier::new(VerifierConfig {
        hs256_secret: secret.map(String::into_bytes),
        jwks,
        issuer: opt_var("JWT_ISSUER"),
        audience: opt_var("JWT_AUDIENCE"),
        ..VerifierConfig::default()
    });
    let now_secs = worker::Date::now().as_millis() / 1000;
    Ok(verifier.verify(&token, now_secs)?)
}

async fn jwks(url: &str) -> Result<Jwks> {
    let now = worker::js_sys::Date::now();
    let cached = JWKS_CACHE.with(|c| {
        c.borrow()
            .as_ref()
            .filter(|(u, at, _)| u == url && now - at < JWKS_TTL_MS)
            .map(|(_, _, j)| j.clone())
    });
    if let Some(j) = cached {
        return Ok(j);
    }
    let parsed = worker::Url::parse(url).map_err(|e| Error::Config(format!("JWKS_URL: {e}")))?;
    let mut resp = Fetch::Url(parsed).send().await?;
    if resp.status_code() != 200 {
        return Err(Error::Runtime(format!(
            "JWKS fetch answered {}",
            resp.status_code()
        )));
    }
    let text = resp.text().await?;
    let jwks = Jwks::from_json(&text).map_err(|e| Error::Config(format!("JWKS: {e}")))?;
    JWKS_CACHE.with(|c| *c.borrow_mut() = Some((url.to_string(), now, jwks.clone())));
    Ok(jwks)
}
