use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::AuthError;

/// The `docs` entry that grants every document of the tenant.
pub const ALL_DOCS: &str = "*";

/// The plan assumed when a token carries no `plan` claim.
pub const DEFAULT_PLAN: &str = "free";

/// What a token lets its holder do to the documents it names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// Sync documents down; the relay refuses this peer's changes with `permission_denied`.
    ///
    /// Also what a token without a `scope` claim gets: a forgotten claim must never widen access.
    #[default]
    Read,
    /// Read, and send changes.
    Write,
    /// Write, and administrative operations such as deleting a document.
    Admin,
}

impl Scope {
    /// Whether changes from this peer may be applied (`write` or `admin`).
    pub fn can_write(self) -> bool {
        matches!(self, Self::Write | Self::Admin)
    }

    /// Whether administrative operations (e.g. `DELETE /v1/docs/<id>`) are allowed.
    pub fn is_admin(self) -> bool {
        matches!(self, Self::Admin)
    }
}

/// The documents a token grants, from the `docs` claim.
///
/// On the wire this is an array of document ids in which [`ALL_DOCS`] (`"*"`) matches every
/// document; a bare string (`"*"` or one id) is accepted too, because hand-written issuers
/// produce it. It always serializes as an array.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DocAccess {
    /// Every document of the tenant (`"*"` appeared in the claim).
    All,
    /// Exactly these document ids; empty grants nothing.
    Only(Vec<String>),
}

impl DocAccess {
    /// Whether `doc_id` is covered by this grant.
    pub fn allows(&self, doc_id: &str) -> bool {
        match self {
            Self::All => true,
            Self::Only(ids) => ids.iter().any(|id| id == doc_id),
        }
    }
}

impl Serialize for DocAccess {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::All => [ALL_DOCS].serialize(serializer),
            Self::Only(ids) => ids.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for DocAccess {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Wire {
            One(String),
            Many(Vec<String>),
        }
        let ids = match Wire::deserialize(deserializer)? {
            Wire::One(id) => vec![id],
            Wire::Many(ids) => ids,
        };
        // Collapsing to `All` keeps `allows` from depending on where "*" sits in the list.
        Ok(if ids.iter().any(|id| id == ALL_DOCS) {
            Self::All
        } else {
            Self::Only(ids)
        })
    }
}

/// The `aud` claim: RFC 7519 allows a single string or an array of strings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Audience {
    /// `"aud": "tessera"`.
    One(String),
    /// `"aud": ["tessera", "other"]`.
    Many(Vec<String>),
}

impl Audience {
    /// Whether `audience` is one of the token's audiences.
    pub fn contains(&self, audience: &str) -> bool {
        match self {
            Self::One(aud) => aud == audience,
            Self::Many(auds) => auds.iter().any(|aud| aud == audience),
        }
    }
}

/// The verified claims of a Tessera access token.
///
/// Deserializing enforces the same rules as [`Verifier::verify`](super::Verifier::verify):
/// `sub`, `tenant`, `docs` and `exp` are required (an empty `sub` or `tenant` counts as missing,
/// since quotas and audit are keyed on them); a missing `scope` means [`Scope::Read`]. Time
/// claims may be integers or, as RFC 7519 allows, fractional seconds (truncated).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawClaims")]
pub struct Claims {
    /// The user the token was issued to.
    pub sub: String,
    /// The tenant whose documents and quota the token draws on.
    pub tenant: String,
    /// The documents the token grants.
    pub docs: DocAccess,
    /// What the holder may do to those documents.
    pub scope: Scope,
    /// The tenant's billing plan, which selects its quota limits; see [`Claims::plan_or_default`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plan: Option<String>,
    /// Expiry, unix seconds.
    pub exp: u64,
    /// Not-before, unix seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nbf: Option<u64>,
    /// Issued-at, unix seconds; informational only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iat: Option<u64>,
    /// The issuer; checked only when [`VerifierConfig::issuer`](super::VerifierConfig) is set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    /// The audience; checked only when [`VerifierConfig::audience`](super::VerifierConfig) is set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aud: Option<Audience>,
}

impl Claims {
    /// Whether the token grants access to `doc_id`.
    pub fn allows_doc(&self, doc_id: &str) -> bool {
        self.docs.allows(doc_id)
    }

    /// The `plan` claim, or [`DEFAULT_PLAN`] (`"free"`) when the token has none.
    pub fn plan_or_default(&self) -> &str {
        self.plan.as_deref().unwrap_or(DEFAULT_PLAN)
    }
}

/// The claims as they arrive, before the required ones are checked, so that a missing claim
/// becomes [`AuthError::MissingClaim`] naming it rather than an opaque serde error.
#[derive(Deserialize)]
pub(super) struct RawClaims {
    sub: Option<String>,
    tenant: Option<String>,
    docs: Option<DocAccess>,
    scope: Option<Scope>,
    plan: Option<String>,
    exp: Option<NumericDate>,
    nbf: Option<NumericDate>,
    iat: Option<NumericDate>,
    iss: Option<String>,
    aud: Option<Audience>,
}

impl TryFrom<RawClaims> for Claims {
    type Error = AuthError;

    fn try_from(raw: RawClaims) -> Result<Self, AuthError> {
        let non_empty = |value: Option<String>, name| {
            value
                .filter(|v| !v.is_empty())
                .ok_or(AuthError::MissingClaim(name))
        };
        Ok(Self {
            sub: non_empty(raw.sub, "sub")?,
            tenant: non_empty(raw.tenant, "tenant")?,
            docs: raw.docs.ok_or(AuthError::MissingClaim("docs"))?,
            scope: raw.scope.unwrap_or_default(),
            plan: raw.plan,
            exp: raw.exp.ok_or(AuthError::MissingClaim("exp"))?.seconds()?,
            nbf: raw.nbf.map(NumericDate::seconds).transpose()?,
            iat: raw.iat.map(NumericDate::seconds).transpose()?,
            iss: raw.iss,
            aud: raw.aud,
        })
    }
}

/// An RFC 7519 NumericDate, which may legally carry a fraction.
#[derive(Deserialize)]
#[serde(untagged)]
enum NumericDate {
    Whole(u64),
    Fractional(f64),
}

impl NumericDate {
    fn seconds(self) -> Result<u64, AuthError> {
        match self {
            Self::Whole(secs) => Ok(secs),
            Self::Fractional(secs) if secs.is_finite() && secs >= 0.0 => {
                // Truncation is the intent; `as` saturates instead of wrapping above u64::MAX.
                Ok(secs as u64)
            }
            Self::Fractional(_) => Err(AuthError::Malformed),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn parse(value: serde_json::Value) -> Result<Claims, AuthError> {
        let raw: RawClaims = serde_json::from_value(value).map_err(|_| AuthError::Malformed)?;
        Claims::try_from(raw)
    }

    fn base() -> serde_json::Value {
        json!({ "sub": "u1", "tenant": "t1", "docs": ["a"], "exp": 100 })
    }

    #[test]
    fn docs_star_matches_everything_and_ids_match_exactly() {
        let mut v = base();
        v["docs"] = json!(["a", "b"]);
        let claims = parse(v.clone()).expect("valid");
        assert!(claims.allows_doc("a") && claims.allows_doc("b"));
        assert!(!claims.allows_doc("c") && !claims.allows_doc(""));

        v["docs"] = json!(["a", "*"]);
        assert_eq!(parse(v.clone()).expect("valid").docs, DocAccess::All);
        v["docs"] = json!("*");
        assert!(parse(v.clone()).expect("valid").allows_doc("anything"));
        v["docs"] = json!("a");
        assert_eq!(
            parse(v.clone()).expect("valid").docs,
            DocAccess::Only(vec!["a".into()])
        );
        v["docs"] = json!([]);
        assert!(!parse(v).expect("valid").allows_doc("a"));
    }

    #[test]
    fn missing_required_claims_are_named() {
        for name in ["sub", "tenant", "docs", "exp"] {
            let mut v = base();
            v.as_object_mut().expect("object").remove(name);
            assert_eq!(parse(v), Err(AuthError::MissingClaim(name)));
        }
        let mut v = base();
        v["tenant"] = json!("");
        assert_eq!(parse(v), Err(AuthError::MissingClaim("tenant")));
    }

    #[test]
    fn missing_scope_is_read_and_plan_defaults_to_free() {
        let claims = parse(base()).expect("valid");
        assert_eq!(claims.scope, Scope::Read);
        assert!(!claims.scope.can_write());
        assert_eq!(claims.plan_or_default(), "free");
    }

    #[test]
    fn scope_capabilities() {
        assert!(Scope::Write.can_write() && !Scope::Write.is_admin());
        assert!(Scope::Admin.can_write() && Scope::Admin.is_admin());
        let mut v = base();
        v["scope"] = json!("root");
        assert_eq!(parse(v), Err(AuthError::Malformed));
    }

    #[test]
    fn fractional_times_truncate_and_negative_is_malformed() {
        let mut v = base();
        v["exp"] = json!(100.9);
        v["nbf"] = json!(5);
        let claims = parse(v.clone()).expect("valid");
        assert_eq!((claims.exp, claims.nbf), (100, Some(5)));
        v["exp"] = json!(-1);
        assert_eq!(parse(v), Err(AuthError::Malformed));
    }

    #[test]
    fn serde_round_trip_uses_array_docs_and_omits_absent_claims() {
        let mut v = base();
        v["docs"] = json!("*");
        v["aud"] = json!(["x", "y"]);
        let claims = parse(v).expect("valid");
        let out = serde_json::to_value(&claims).expect("serializes");
        assert_eq!(out["docs"], json!(["*"]));
        assert_eq!(out["scope"], json!("read"));
        assert!(out.get("plan").is_none() && out.get("nbf").is_none());
        let back: Claims = serde_json::from_value(out).expect("deserializes");
        assert_eq!(back, claims);
        assert!(
            back.aud
                .is_some_and(|aud| aud.contains("y") && !aud.contains("z"))
        );
    }
}
