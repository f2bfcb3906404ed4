//! The gate's decisions, one behaviour each.

use super::*;
use crate::auth::{DocAccess, Scope};
use crate::relay::PlanLimits;

const DOC: DocumentId = DocumentId::from_bytes([7; 16]);
const OTHER: DocumentId = DocumentId::from_bytes([8; 16]);

fn claims(tenant: &str, scope: Scope) -> Claims {
    Claims {
        sub: "u1".into(),
        tenant: tenant.into(),
        docs: DocAccess::All,
        scope,
        plan: None,
        exp: 1_000,
        nbf: None,
        iat: None,
        iss: None,
        aud: None,
    }
}

fn plans() -> Plans {
    Plans::from_json(
        r#"{"free":{"max_docs":1,"max_stored_bytes":2,"max_change_bytes_per_window":3,"window_secs":4},
            "pro":{"max_docs":10,"max_stored_bytes":20,"max_change_bytes_per_window":30,"window_secs":40}}"#,
    )
    .unwrap()
}

fn refused(r: Result<Admitted, Refusal>) -> Reason {
    r.expect_err("refused").reason
}

#[test]
fn rooms_are_named_by_tenant_and_document() {
    assert_ne!(room_name("a", &DOC), room_name("b", &DOC));
    assert_ne!(room_name("a", &DOC), room_name("a", &OTHER));
    // A tenant that contains the separator still cannot collide: the doc id never does.
    let tricky = format!("a/{DOC}");
    let name = room_name(&tricky, &OTHER);
    let (tenant, doc) = name.rsplit_once('/').unwrap();
    assert_eq!((tenant, doc), (tricky.as_str(), OTHER.to_string().as_str()));
    assert_ne!(name, room_name("a", &DOC));
}

#[test]
fn every_document_route_reaches_the_callers_tenant_only() {
    for route in [
        Route::Connect(DOC),
        Route::Snapshot(DOC),
        Route::Delete(DOC),
    ] {
        let a = admit(&route, &claims("a", Scope::Admin), &plans()).unwrap();
        let b = admit(&route, &claims("b", Scope::Admin), &plans()).unwrap();
        assert_eq!(a.room, Some(room_name("a", &DOC)));
        assert_ne!(a.room, b.room, "{route:?}");
        assert_eq!((a.tenant.as_str(), b.tenant.as_str()), ("a", "b"));
    }
    let usage = admit(&Route::Usage, &claims("a", Scope::Read), &plans()).unwrap();
    assert_eq!((usage.room, usage.tenant.as_str()), (None, "a"));
}

#[test]
fn delete_needs_admin_and_reading_needs_any_scope() {
    for scope in [Scope::Read, Scope::Write] {
        assert_eq!(
            refused(admit(&Route::Delete(DOC), &claims("a", scope), &plans())),
            Reason::Code(ErrorCode::PermissionDenied)
        );
        assert!(admit(&Route::Snapshot(DOC), &claims("a", scope), &plans()).is_ok());
        assert!(admit(&Route::Connect(DOC), &claims("a", scope), &plans()).is_ok());
    }
    assert!(admit(&Route::Delete(DOC), &claims("a", Scope::Admin), &plans()).is_ok());
}

#[test]
fn the_token_must_grant_the_document() {
    let mut c = claims("a", Scope::Admin);
    c.docs = DocAccess::Only(vec![OTHER.to_string()]);
    for route in [
        Route::Connect(DOC),
        Route::Snapshot(DOC),
        Route::Delete(DOC),
    ] {
        assert_eq!(
            refused(admit(&route, &c, &plans())),
            Reason::Code(ErrorCode::AuthFailed)
        );
    }
    assert!(admit(&Route::Connect(OTHER), &c, &plans()).is_ok());
}

#[test]
fn the_tenant_claim_is_bounded() {
    let at_limit = "t".repeat(MAX_TENANT_BYTES);
    assert!(admit(&Route::Usage, &claims(&at_limit, Scope::Read), &plans()).is_ok());
    let over = "t".repeat(MAX_TENANT_BYTES + 1);
    for route in [Route::Usage, Route::Connect(DOC)] {
        assert_eq!(
            refused(admit(&route, &claims(&over, Scope::Read), &plans())),
            Reason::Code(ErrorCode::AuthFailed)
        );
    }
}

#[test]
fn the_plan_claim_picks_limits_and_unknown_plans_get_free() {
    let mut c = claims("a", Scope::Write);
    let free = admit(&Route::Connect(DOC), &c, &plans()).unwrap();
    assert_eq!((free.plan.as_str(), free.access.plan.max_docs), ("free", 1));
    c.plan = Some("pro".into());
    let pro = admit(&Route::Connect(DOC), &c, &plans()).unwrap();
    assert_eq!((pro.plan.as_str(), pro.access.plan.max_docs), ("pro", 10));
    c.plan = Some("gold".into());
    let unknown = admit(&Route::Connect(DOC), &c, &plans()).unwrap();
    assert_eq!(unknown.access.plan, plans().limits("free").unwrap());
    // A deployment without `free` is the operator's fault.
    let broken = Plans::from_json(r#"{"pro":{"max_docs":1,"max_stored_bytes":1,"max_change_bytes_per_window":1,"window_secs":1}}"#).unwrap();
    assert_eq!(
        refused(admit(&Route::Connect(DOC), &c, &broken)),
        Reason::Internal
    );
}

#[test]
fn the_room_gets_the_peer_and_the_verifiers_expiry() {
    let a = admit(&Route::Connect(DOC), &claims("a", Scope::Read), &plans()).unwrap();
    assert_eq!(
        a.access,
        PeerAccess {
            subject: "u1".into(),
            tenant: "a".into(),
            can_write: false,
            expires_at_ms: (1_000 + CLOCK_LEEWAY_SECS) * 1000,
            plan: PlanLimits {
                max_docs: 1,
                max_stored_bytes: 2,
                max_change_bytes_per_window: 3,
                window_secs: 4,
                ..PlanLimits::default()
            },
        }
    );
    let w = admit(&Route::Connect(DOC), &claims("a", Scope::Write), &plans()).unwrap();
    assert!(w.access.can_write);
}

#[test]
fn routes_need_the_upgrade_and_tokens_where_they_should() {
    let path = format!("/v1/docs/{DOC}");
    assert_eq!(check_route("GET", &path, true), Ok(Route::Connect(DOC)));
    assert_eq!(
        check_route("GET", &path, false).unwrap_err().reason,
        Reason::UpgradeRequired
    );
    assert_eq!(
        check_route("GET", "/v1/docs/nope", true)
            .unwrap_err()
            .reason,
        Reason::Code(ErrorCode::BadMessage)
    );
    assert_eq!(
        check_route("GET", "/x", true).unwrap_err().reason,
        Reason::NotFound
    );
    assert_eq!(
        check_route("POST", "/v1/usage", false).unwrap_err().reason,
        Reason::MethodNotAllowed
    );
    assert!(!needs_token(&Route::Health) && !needs_token(&Route::Preflight));
    assert!(needs_token(&Route::Usage) && needs_token(&Route::Snapshot(DOC)));
}

#[test]
fn refusals_with_a_code_go_in_band_on_upgrades() {
    let r = Refusal::code(ErrorCode::TokenExpired, "old");
    let Answer::InBand { frame, close_code } = r.answer(true) else {
        panic!("not in-band");
    };
    assert_eq!(close_code, 4440);
    assert_eq!(
        Message::decode(&frame).unwrap(),
        Message::Error {
            message: "old".into(),
            code: Some(ErrorCode::TokenExpired),
            retry_after_ms: None,
        }
    );
    let Answer::Http { status, body } = r.answer(false) else {
        panic!("not HTTP");
    };
    assert_eq!(status, 401);
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        (json["code"].as_str(), json["message"].as_str()),
        (Some("token_expired"), Some("old"))
    );
}

#[test]
fn refusals_without_a_code_stay_http() {
    for (r, status, code) in [
        (Refusal::new(Reason::NotFound, "x"), 404, "not_found"),
        (Refusal::internal(), 500, "internal"),
        (Refusal::keys_unavailable(30_000), 503, "unavailable"),
    ] {
        let Answer::Http { status: s, body } = r.answer(true) else {
            panic!("{r:?} went in-band");
        };
        let json: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!((s, json["code"].as_str()), (status, Some(code)));
    }
    let Answer::Http { body, .. } = Refusal::keys_unavailable(30_000).answer(false) else {
        panic!()
    };
    assert!(body.contains(r#""retry_after_ms":30000"#), "{body}");
}

#[test]
fn auth_errors_map_to_their_codes() {
    let code = |e: AuthError| Refusal::from(e).reason;
    assert_eq!(
        code(AuthError::Expired { exp: 1, now: 2 }),
        Reason::Code(ErrorCode::TokenExpired)
    );
    assert_eq!(
        code(AuthError::BadSignature),
        Reason::Code(ErrorCode::AuthFailed)
    );
    assert_eq!(
        code(AuthError::WrongIssuer),
        Reason::Code(ErrorCode::AuthFailed)
    );
    assert_eq!(
        code(AuthError::InvalidJwks("x".into())),
        Reason::Unavailable
    );
    assert_eq!(
        Refusal::no_token().reason,
        Reason::Code(ErrorCode::AuthFailed)
    );
}
