//! The relay's plans, stated once: `plans.json` compiled into the Worker, which a `PLANS` var
//! (the same JSON) may override per deployment. The Worker's gate and the `TenantQuota` both
//! read plans through [`plans`], so they cannot disagree.

use sync_core::relay::{Plans, PlansError};

/// The shipped plans (`relay-worker/plans.json`).
pub const DEFAULT_PLANS: &str = include_str!("../plans.json");

/// The plans from a `PLANS` var's value, or the shipped ones when it is absent or empty.
pub fn plans_from(var: Option<&str>) -> Result<Plans, PlansError> {
    let json = var
        .filter(|v| !v.trim().is_empty())
        .unwrap_or(DEFAULT_PLANS);
    Plans::from_json(json)
}

/// The deployment's plans.
#[cfg(target_arch = "wasm32")]
pub(crate) fn plans(env: &worker::Env) -> Result<Plans, PlansError> {
    let var = env.var("PLANS").ok().map(|v| v.to_string());
    plans_from(var.as_deref())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_plans_parse_and_have_free() {
        let plans = plans_from(None).unwrap();
        assert_eq!(plans.limits("free").unwrap().max_docs, 100);
        assert_eq!(plans.limits("enterprise").unwrap().max_docs, 1_000_000);
        assert_eq!(plans_from(Some("")).unwrap(), plans);
    }

    #[test]
    fn a_var_overrides_them() {
        let var = r#"{"free":{"max_docs":1,"max_stored_bytes":2,"max_change_bytes_per_window":3,"window_secs":4}}"#;
        let plans = plans_from(Some(var)).unwrap();
        assert_eq!(plans.limits("enterprise").unwrap().max_docs, 1);
        assert!(plans_from(Some("{")).is_err());
    }
}
