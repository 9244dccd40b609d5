//! Webhooks: each source's signature is checked on the raw body before
//! anything is parsed, then its payload is turned into a task (or
//! acknowledged and ignored, saying why).

pub mod alertmanager;
pub mod github;
pub mod slack;

use crate::queue::NewTask;

/// What a verified delivery asks for.
#[derive(Debug)]
pub enum Action {
    Task(NewTask),
    Ignore(String),
    /// A ping: answered, nothing else.
    Pong,
    /// Slack's `url_verification`: the challenge is answered.
    Challenge(String),
}

/// The repository a chat message or alert names, among the service's.
/// `named`: what the source said (a word of the message, a label), if
/// anything; without it, the service's only repository, if it has one.
pub fn pick_repo(named: Option<&str>, repos: &[String]) -> Result<String, HookError> {
    match named {
        Some(r) if repos.iter().any(|m| m == r) => Ok(r.to_string()),
        Some(r) => Err(HookError::Unmapped(r.to_string())),
        None if repos.len() == 1 => Ok(repos[0].clone()),
        None => Err(HookError::Malformed(format!(
            "name the repository (one of {}): the service works on more than one",
            repos.join(", ")
        ))),
    }
}

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
