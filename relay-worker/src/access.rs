//! What the Worker tells a Durable Object about a verified peer, in headers of the forwarded
//! request. Only the Worker sets these: a DO is reachable only through its namespace binding.

use sync_core::auth::Claims;
use sync_core::relay::{PeerAccess, PlanLimits};

/// Header carrying the JSON [`PeerAccess`] of the verified token.
pub const ACCESS_HEADER: &str = "x-tessera-access";
/// Header carrying the document id (a DO created by `idFromName` does not know its name).
pub const DOC_HEADER: &str = "x-tessera-doc";
/// Header carrying the token's plan, for the tenant quota.
pub const PLAN_HEADER: &str = "x-tessera-plan";

/// The room's view of a verified token, with the limits of its plan.
pub fn peer_access(claims: &Claims, plan: PlanLimits) -> PeerAccess {
    PeerAccess {
        subject: claims.sub.clone(),
        tenant: claims.tenant.clone(),
        can_write: claims.scope.can_write(),
        expires_at_ms: claims.exp.saturating_mul(1000),
        plan,
    }
}
