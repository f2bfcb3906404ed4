//! Tokens for the tests.

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use sync_core::auth::{Claims, DocAccess, Scope, mint_hs256};

/// The secret in `.dev.vars.example`, which `scripts/relay.sh` copies to `.dev.vars`.
pub const DEV_SECRET: &str = "tessera-dev-secret-change-me";

/// What a test token says.
#[derive(Debug, Clone)]
pub struct TokenSpec {
    /// Tenant.
    pub tenant: String,
    /// Documents granted (`None`: all).
    pub docs: Option<Vec<String>>,
    /// Scope.
    pub scope: Scope,
    /// Plan.
    pub plan: Option<String>,
    /// Expiry relative to now, seconds (negative: expired).
    pub exp_in: i64,
}

impl TokenSpec {
    /// A write token for tenant `t1`, all documents, valid for an hour.
    pub fn writer() -> Self {
        Self {
            tenant: "t1".into(),
            docs: None,
            scope: Scope::Write,
            plan: None,
            exp_in: 3600,
        }
    }

    /// The claims.
    pub fn claims(&self) -> Claims {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock")
            .as_secs() as i64;
        Claims {
            sub: "tester".into(),
            tenant: self.tenant.clone(),
            docs: self.docs.clone().map_or(DocAccess::All, DocAccess::Only),
            scope: self.scope,
            plan: self.plan.clone(),
            exp: (now + self.exp_in).max(1) as u64,
            nbf: None,
            iat: None,
            iss: None,
            aud: None,
        }
    }

    /// Signed with the dev secret.
    pub fn mint(&self) -> String {
        mint_hs256(&self.claims(), DEV_SECRET.as_bytes()).expect("mint")
    }

    /// Signed with another secret.
    pub fn mint_with(&self, secret: &str) -> String {
        mint_hs256(&self.claims(), secret.as_bytes()).expect("mint")
    }
}

/// An RS256 token signed by sync-core's test key `rs-1` (public half in its `jwks.json`).
pub fn rs256_token(spec: &TokenSpec) -> String {
    let pem = include_bytes!("../../../sync-core/src/auth/testdata/rs256.pem");
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some("rs-1".into());
    jsonwebtoken::encode(
        &header,
        &spec.claims(),
        &EncodingKey::from_rsa_pem(pem).expect("test key"),
    )
    .expect("sign")
}
