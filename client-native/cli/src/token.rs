//! `tessera token`: HS256 development tokens.

use std::time::{SystemTime, UNIX_EPOCH};

use sync_core::auth::{ALL_DOCS, Claims, DocAccess, Scope, mint_hs256};

use crate::args::TokenArgs;

pub(crate) fn mint(t: &TokenArgs) -> anyhow::Result<String> {
    let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
    let docs = if t.docs.is_empty() || t.docs.iter().any(|d| d == ALL_DOCS) {
        DocAccess::All
    } else {
        // Accept URLs too; the relay compares bare ids.
        let ids = t
            .docs
            .iter()
            .map(|d| crate::parse_doc(d).map(|id| id.to_string()))
            .collect::<anyhow::Result<_>>()?;
        DocAccess::Only(ids)
    };
    let scope = match t.scope.as_str() {
        "read" => Scope::Read,
        "admin" => Scope::Admin,
        _ => Scope::Write,
    };
    let claims = Claims {
        sub: t.sub.clone(),
        tenant: t.tenant.clone(),
        docs,
        scope,
        plan: t.plan.clone(),
        exp: now + t.ttl,
        nbf: None,
        iat: Some(now),
        iss: None,
        aud: None,
    };
    mint_hs256(&claims, t.secret.as_bytes())
        .map_err(|e| anyhow::anyhow!("cannot mint a token: {e} (is --secret empty?)"))
}
