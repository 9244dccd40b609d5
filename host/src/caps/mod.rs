//! One module per capability, each with the same sections in the same order:
//! config (shared backend) → per-instance state → host impl (grant check
//! first) → linker wiring. Their abuse tests live in `tests/`.

pub mod env;
pub mod exec;
pub mod fs;
pub mod kv;
pub mod log;
pub mod model;
pub mod net;
pub mod quota;
pub mod tools;
