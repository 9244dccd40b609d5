//! Delivery guards: whoever runs a run on behalf of someone else (a
//! scale-out worker holding a lease) registers a check that delivery makes
//! right before each push. A guard that says no stops the delivery: the
//! run's right to deliver was lost (another worker holds its task now).

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, LazyLock, Mutex};

/// A check: Ok to deliver, or why not.
pub type Check =
    Arc<dyn Fn() -> Pin<Box<dyn Future<Output = Result<(), String>> + Send>> + Send + Sync>;

static GUARDS: LazyLock<Mutex<HashMap<String, Check>>> = LazyLock::new(Default::default);

/// While the returned value lives, delivery of `run_id` asks `check`
/// first.
pub fn register(run_id: &str, check: Check) -> Registered {
    GUARDS
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(run_id.to_string(), check);
    Registered(run_id.to_string())
}

pub struct Registered(String);

impl Drop for Registered {
    fn drop(&mut self) {
        GUARDS
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&self.0);
    }
}

/// Ok if `run_id` may deliver now (no guard, or its guard says so).
pub async fn check(run_id: &str) -> Result<(), String> {
    let g = GUARDS
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get(run_id)
        .cloned();
    match g {
        Some(g) => g().await,
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_registered_guard_is_asked_until_it_is_dropped() {
        assert!(check("r-guard").await.is_ok());
        let no: Check = Arc::new(|| Box::pin(async { Err("the lease was lost".to_string()) }));
        let held = register("r-guard", no);
        assert_eq!(check("r-guard").await, Err("the lease was lost".into()));
        assert!(check("r-other").await.is_ok());
        drop(held);
        assert!(check("r-guard").await.is_ok());
    }
}
