use jsonwebtoken::{Algorithm, EncodingKey, Header};

use super::{AuthError, Claims};

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
    if secret.is_empty() {
        return Err(AuthError::UnknownKey);
    }
    // HMAC takes keys of any length and `Claims` always serializes, so encoding cannot fail
    // today; the mapping keeps a future jsonwebtoken error from becoming a panic.
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret),
    )
    .map_err(|_| AuthError::Malformed)
}
