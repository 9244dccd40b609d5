//! The plugin's private key-value store (trust `read-only` or higher).
pub use crate::bindings::factory::plugin::kv::{delete, get, list_keys, set};
