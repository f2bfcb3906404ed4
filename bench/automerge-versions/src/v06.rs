//! The benchmark body compiled against automerge 0.6.1.
use am06 as am;

pub(crate) const LABEL: &str = "0.6.1";

// The same body is compiled once per version on purpose (see version_bench.rs).
#[allow(clippy::duplicate_mod)]
#[path = "version_bench.rs"]
mod body;
pub(crate) use body::run;
