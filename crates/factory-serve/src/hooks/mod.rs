//! Webhooks: each source's signature is checked on the raw body before
//! anything is parsed, then its payload is turned into a task (or
//! acknowledged and ignored, saying why).

pub mod github;

#[derive(Debug, thiserror::Error)]
pub enum HookError {
    /// 401: nothing is stored.
    #[error("bad signature: {0}")]
    Signature(&'static str),
    /// 400.
    #[error("malformed payload: {0}")]
    Malformed(String),
    /// 400: the service does not work on this repository.
    #[error("repository `{0}` is not one this service works on (map it with --repo {0}=PATH)")]
    Unmapped(String),
}
