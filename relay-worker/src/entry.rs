//! The Worker's `fetch`: asks `sync_core::relay::gate` what a request may do, then carries it
//! out. Nothing reaches a Durable Object before the token is verified, and every refusal is
//! answered in the form the gate chose (in-band on a WebSocket upgrade, HTTP otherwise).

use sync_core::auth::{Claims, Verifier, VerifierConfig, bearer_token};
use sync_core::protocol::Route;
use sync_core::relay::gate::{self, Admitted, Answer, Refusal};
use worker::{Context, Env, Headers, Method, Request, RequestInit, Response, WebSocketPair, event};

use crate::access::{ACCESS_HEADER, DOC_HEADER, PLAN_HEADER};
use crate::error::{Error, Result};
use crate::log::RequestLog;
use crate::{http, jwks, plans};

#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> worker::Result<Response> {
    let started = worker::Date::now().as_millis();
    let origin = req.headers().get("origin")?;
    let upgrade = req
        .headers()
        .get("upgrade")?
        .is_some_and(|u| u.eq_ignore_ascii_case("websocket"));
    let mut log = RequestLog::new(req.method().as_ref());
    let resp = match handle(&req, &env, upgrade, &mut log).await {
        Ok(resp) => resp,
        Err(e) => {
            if matches!(e, Error::Config(_) | Error::Runtime(_)) {
                worker::console_error!("relay error: {e}");
            }
            let refusal = e.refusal();
            log.code = Some(refusal.reason.as_str());
            answer(&refusal, upgrade)?
        }
    };
    log.status = resp.status_code();
    log.duration_ms = worker::Date::now().as_millis().saturating_sub(started);
    worker::console_log!("{}", log.line());
    http::finish(resp, origin, &env).await
}

/// Carries out a refusal: an HTTP response, or an accepted socket that says why and closes.
fn answer(refusal: &Refusal, upgrade: bool) -> worker::Result<Response> {
    match refusal.answer(upgrade) {
        Answer::Http { status, body } => http::json(body, status),
        Answer::InBand { frame, close_code } => {
            // Answered by the Worker itself: no Durable Object is woken for a refusal.
            let pair = WebSocketPair::new()?;
            pair.server.accept()?;
            pair.server.send_with_bytes(frame)?;
            pair.server
                .close(Some(close_code), Some(refusal.reason.as_str()))?;
            Response::from_websocket(pair.client)
        }
    }
}

async fn handle(req: &Request, env: &Env, upgrade: bool, log: &mut RequestLog) -> Result<Response> {
    let url = req.url()?;
    if url.path().starts_with("/__dev/") {
        // Development-only routes: 404 unless TESSERA_DEV_FAULTS is set (see dev.rs).
        log.route = "dev";
        return crate::dev::serve(req, env).await;
    }
    let route = gate::check_route(req.method().as_ref(), url.path(), upgrade)?;
    log.route = route.name();
    log.doc = route.doc().map(|d| d.to_string());
    match route {
        Route::Health => return Ok(Response::ok("ok")?),
        Route::Preflight => return Ok(Response::empty()?.with_status(204)),
        _ => {}
    }
    let token = bearer_token(req.headers().get("authorization")?.as_deref(), url.query())
        .ok_or_else(Refusal::no_token)?;
    let claims = verify(&token, env).await?;
    let admitted = gate::admit(&route, &claims, &plans::plans(env)?)?;
    log.tenant = Some(admitted.tenant.clone());
    match route {
        Route::Usage => {
            let stub = env
                .durable_object("TENANT_QUOTA")?
                .id_from_name(&admitted.tenant)?
                .get_stub()?;
            let fwd = forward("https://quota/usage", Method::Get, &admitted, &route)?;
            Ok(stub.fetch_with_request(fwd).await?)
        }
        Route::Connect(_) => {
            let fwd = forward("https://room/connect", Method::Get, &admitted, &route)?;
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
            room(env, &admitted)?
                .fetch_with_request(fwd)
                .await
                .map_err(Into::into)
        }
        Route::Snapshot(_) => {
            let fwd = forward("https://room/snapshot", Method::Get, &admitted, &route)?;
            if let Some(v) = req.headers().get("if-none-match")? {
                fwd.headers().set("if-none-match", &v)?;
            }
            room(env, &admitted)?
                .fetch_with_request(fwd)
                .await
                .map_err(Into::into)
        }
        Route::Delete(_) => {
            let fwd = forward("https://room/delete", Method::Delete, &admitted, &route)?;
            room(env, &admitted)?
                .fetch_with_request(fwd)
                .await
                .map_err(Into::into)
        }
        Route::Health | Route::Preflight => unreachable!("answered before the token check"),
    }
}

/// The caller's tenant's room of the document: never another tenant's.
fn room(env: &Env, admitted: &Admitted) -> Result<worker::Stub> {
    let name = admitted
        .room
        .as_deref()
        .ok_or_else(|| Error::Runtime("a document route without a room".into()))?;
    room_named(env, name)
}

/// The room called `name` (`sync_core::relay::room_name`).
pub(crate) fn room_named(env: &Env, name: &str) -> Result<worker::Stub> {
    Ok(env
        .durable_object("DOC_ROOM")?
        .id_from_name(name)?
        .get_stub()?)
}

/// A request to a Durable Object carrying the verified peer's access.
fn forward(url: &str, method: Method, admitted: &Admitted, route: &Route) -> Result<Request> {
    let headers = Headers::new();
    let access =
        serde_json::to_string(&admitted.access).map_err(|e| Error::Runtime(e.to_string()))?;
    headers.set(ACCESS_HEADER, &access)?;
    headers.set(PLAN_HEADER, &admitted.plan)?;
    if let Some(doc) = route.doc() {
        headers.set(DOC_HEADER, &doc.to_string())?;
    }
    let mut init = RequestInit::new();
    init.with_method(method).with_headers(headers);
    Ok(Request::new_with_init(url, &init)?)
}

async fn verify(token: &str, env: &Env) -> Result<Claims> {
    let secret = env
        .secret("TESSERA_JWT_SECRET")
        .map(|s| s.to_string())
        .or_else(|_| env.var("TESSERA_JWT_SECRET").map(|s| s.to_string()))
        .ok();
    let jwks = match opt_var(env, "JWKS_URL") {
        Some(url) => jwks::keys_for(token, &url, env).await?,
        None => None,
    };
    let verifier = Verifier::new(VerifierConfig {
        hs256_secret: secret.map(String::into_bytes),
        jwks,
        issuer: opt_var(env, "JWT_ISSUER"),
        audience: opt_var(env, "JWT_AUDIENCE"),
        ..VerifierConfig::default()
    });
    let now_secs = worker::Date::now().as_millis() / 1000;
    Ok(verifier.verify(token, now_secs)?)
}

/// A var that is set and not empty.
pub(crate) fn opt_var(env: &Env, name: &str) -> Option<String> {
    env.var(name)
        .map(|v| v.to_string())
        .ok()
        .filter(|v| !v.is_empty())
}
