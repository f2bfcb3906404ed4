//! The shell's one error type, and how each error becomes an HTTP refusal.

use sync_core::auth::AuthError;
use sync_core::protocol::ErrorCode;
use sync_core::relay::PlansError;
use sync_core::relay::gate::{Reason, Refusal};

/// Everything that can go wrong in the relay shell.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A protocol-level refusal with a typed code (auth, permission, quota, deleted...).
    #[error("{message}")]
    Refused {
        /// The machine-readable code.
        code: ErrorCode,
        /// A human-readable explanation.
        message: String,
    },
    /// A refusal decided by `sync_core::relay::gate`, which also knows its form.
    #[error("{}", .0.message)]
    Gate(Refusal),
    /// No such route.
    #[error("not found")]
    NotFound,
    /// The route exists but not for this method.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// A var or secret is missing or malformed in the deployment.
    #[error("configuration: {0}")]
    Config(String),
    /// The Workers runtime (storage, R2, fetch) failed.
    #[error("runtime: {0}")]
    Runtime(String),
}

/// The shell's result type.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// A refusal with `code`.
    pub fn refused(code: ErrorCode, message: impl Into<String>) -> Self {
        Self::Refused {
            code,
            message: message.into(),
        }
    }

    /// The HTTP status of the refusal.
    pub fn status(&self) -> u16 {
        match self {
            Self::Refused { code, .. } => code.http_status(),
            Self::Gate(r) => r.reason.http_status(),
            Self::NotFound => 404,
            Self::MethodNotAllowed => 405,
            Self::Config(_) | Self::Runtime(_) => 500,
        }
    }

    /// The `code` of the JSON body.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Refused { code, .. } => code.as_str(),
            Self::Gate(r) => r.reason.as_str(),
            Self::NotFound => "not_found",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::Config(_) | Self::Runtime(_) => "internal",
        }
    }

    /// The refusal the gate answers this error with; internal errors say only "internal error".
    pub fn refusal(&self) -> Refusal {
        match self {
            Self::Refused { code, message } => Refusal::code(*code, message.clone()),
            Self::Gate(r) => r.clone(),
            Self::NotFound => Refusal::new(Reason::NotFound, "not found"),
            Self::MethodNotAllowed => Refusal::new(Reason::MethodNotAllowed, "method not allowed"),
            Self::Config(_) | Self::Runtime(_) => Refusal::internal(),
        }
    }

    /// The JSON body `{"code","message"}`. Internal errors do not leak their details.
    pub fn body(&self) -> String {
        let message = match self {
            Self::Config(_) | Self::Runtime(_) => "internal error".to_string(),
            other => other.to_string(),
        };
        serde_json::json!({ "code": self.code(), "message": message }).to_string()
    }
}

impl From<PlansError> for Error {
    fn from(e: PlansError) -> Self {
        Self::Config(e.to_string())
    }
}

impl From<AuthError> for Error {
    fn from(e: AuthError) -> Self {
        Self::Gate(Refusal::from(e))
    }
}

impl From<Refusal> for Error {
    fn from(r: Refusal) -> Self {
        Self::Gate(r)
    }
}

#[cfg(target_arch = "wasm32")]
impl From<worker::Error> for Error {
    fn from(e: worker::Error) -> Self {
        Self::Runtime(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_carry_code_and_status() {
        let e = Error::refused(ErrorCode::PermissionDenied, "read only");
        assert_eq!(e.status(), ErrorCode::PermissionDenied.http_status());
        let body: serde_json::Value = serde_json::from_str(&e.body()).unwrap();
        assert_eq!(body["code"], "permission_denied");
        assert_eq!(body["message"], "read only");
        let e = Error::Runtime("secret path /x".into());
        assert_eq!(e.status(), 500);
        assert!(!e.body().contains("/x"));
        assert!(!e.refusal().message.contains("/x"));
        let e = Error::from(AuthError::Expired { exp: 1, now: 2 });
        assert_eq!(e.code(), "token_expired");
        assert_eq!(e.refusal().reason, Reason::Code(ErrorCode::TokenExpired));
    }
}
