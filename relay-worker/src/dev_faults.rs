//! Development-only fault injection: the `TESSERA_DEV_FAULTS` var (absent everywhere in
//! `wrangler.toml`, so off in every deployed environment) lets the end-to-end tests make the
//! `DocRoom`'s IO steps fail on purpose, "the next N of this kind". Off, nothing here is
//! consulted and the relay behaves exactly as without it. Pure, so it is tested natively.

use serde::{Deserialize, Serialize};

/// The Worker var that turns fault injection (and the `/__dev/` routes) on.
pub const DEV_FAULTS_VAR: &str = "TESSERA_DEV_FAULTS";

/// Whether the var's value turns fault injection on (`1`, `true`, anything but empty or `0`).
pub fn dev_faults_enabled(value: Option<&str>) -> bool {
    value.is_some_and(|v| !v.is_empty() && v != "0" && v != "false")
}

/// An IO step that can be made to fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// A call to the tenant's `TenantQuota`.
    QuotaCall,
    /// A SQLite write of a log row.
    LogWrite,
    /// An R2 put of a snapshot.
    R2Put,
    /// An R2 delete (superseded snapshot or tombstone).
    R2Delete,
    /// Loading the room's stored state.
    Load,
    /// A new connection's first attachment, padded over the runtime's 16 KiB limit.
    OversizedAttachment,
}

/// How many of the next steps of each kind fail. Plans posted to a room add up.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FaultPlan {
    /// Quota calls to fail.
    pub quota_calls: u32,
    /// Log row writes to fail.
    pub log_writes: u32,
    /// R2 snapshot puts to fail.
    pub r2_puts: u32,
    /// R2 deletes to fail.
    pub r2_deletes: u32,
    /// Loads to fail.
    pub loads: u32,
    /// Attachments to make oversized.
    pub oversized_attachments: u32,
}

impl FaultPlan {
    /// Adds `more` to what is still planned.
    pub fn add(&mut self, more: &Self) {
        self.quota_calls = self.quota_calls.saturating_add(more.quota_calls);
        self.log_writes = self.log_writes.saturating_add(more.log_writes);
        self.r2_puts = self.r2_puts.saturating_add(more.r2_puts);
        self.r2_deletes = self.r2_deletes.saturating_add(more.r2_deletes);
        self.loads = self.loads.saturating_add(more.loads);
        self.oversized_attachments = self
            .oversized_attachments
            .saturating_add(more.oversized_attachments);
    }

    /// Whether this step of kind `fault` is to fail; counts it off if so.
    pub fn take(&mut self, fault: Fault) -> bool {
        let left = match fault {
            Fault::QuotaCall => &mut self.quota_calls,
            Fault::LogWrite => &mut self.log_writes,
            Fault::R2Put => &mut self.r2_puts,
            Fault::R2Delete => &mut self.r2_deletes,
            Fault::Load => &mut self.loads,
            Fault::OversizedAttachment => &mut self.oversized_attachments,
        };
        if *left == 0 {
            return false;
        }
        *left -= 1;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_count_down_and_plans_add_up() {
        let mut plan: FaultPlan = serde_json::from_str(r#"{"quota_calls":2}"#).unwrap();
        plan.add(&FaultPlan {
            quota_calls: 1,
            loads: 1,
            ..FaultPlan::default()
        });
        assert!((0..3).all(|_| plan.take(Fault::QuotaCall)));
        assert!(!plan.take(Fault::QuotaCall));
        assert!(plan.take(Fault::Load) && !plan.take(Fault::Load));
        assert!(!plan.take(Fault::R2Put));
        assert!(serde_json::from_str::<FaultPlan>(r#"{"typo":1}"#).is_err());
    }

    #[test]
    fn only_a_set_var_turns_it_on() {
        assert!(!dev_faults_enabled(None));
        assert!(!dev_faults_enabled(Some("")));
        assert!(!dev_faults_enabled(Some("0")));
        assert!(dev_faults_enabled(Some("1")));
    }
}
