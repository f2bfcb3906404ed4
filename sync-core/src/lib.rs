//! placeholder

pub mod protocol;
