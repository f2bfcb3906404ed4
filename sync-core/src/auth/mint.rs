use super::jws::{self, HmacKey};
use super::{AuthError, Claims};

/// The JOSE header of every minted token.
const HS256_HEADER: &[u8] = br#"{"typ":"JWT","alg":"HS256"}"#;

/// Signs `claims` as an HS256 token with `secret`, for development (`tessera token`) and tests.
///
/// Production tokens come from the deployment's identity provider; this exists so that a
/// developer with the relay's dev secret can mint one locally.
///
/// Fails with [`AuthError::UnknownKey`] if `secret` is empty, because a [`Verifier`] never
/// accepts such a token.
///
/// [`Verifier`]: super::Verifier
pub fn mint_hs256(claims: &Claims, secret: &[u8]) -> Result<String, AuthError> {
    let key = HmacKey::new(secret).ok_or(AuthError::UnknownKey)?;
    // `Claims` always serializes, so this cannot fail today; the mapping keeps a future
    // serialization error from becoming a panic.
    let payload = serde_json::to_vec(claims).map_err(|_| AuthError::Malformed)?;
    Ok(jws::encode(HS256_HEADER, &payload, |input| key.sign(input)))
}
