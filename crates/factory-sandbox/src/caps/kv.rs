//! `factory:plugin/kv`: a key-value store private to each plugin, kept by
//! the embedder's [`KvBackend`] (the factory's is its database). Needs
//! trust `read-only`; keys ≤ 1 KiB, values ≤ 1 MiB, at most 10 000 keys and
//! 64 MiB per plugin.

use crate::bindings::ErrorCode;
use crate::bindings::imports::factory::plugin::kv::Host;
use crate::call::CallInfo;
use crate::caps::CapError;
use crate::hooks::{KvBackend, KvError};
use crate::state::InstanceState;
use crate::trust::CapabilityKind;
use std::sync::Arc;
use wasmtime::component::{HasSelf, Linker};

const MAX_KEY: usize = 1024;
const MAX_VALUE: usize = 1 << 20;
const MAX_KEYS: u64 = 10_000;
const MAX_BYTES: u64 = 64 << 20;

// Config: the shared backend is the embedder's (`Hooks::kv`).

/// Per-instance state.
pub struct KvState {
    pub call: Arc<CallInfo>,
    pub store: Arc<dyn KvBackend>,
}

fn failed(e: KvError) -> ErrorCode {
    tracing::warn!("{e:#}");
    ErrorCode::Failed(e.to_string())
}

impl KvState {
    fn check(&self, op: &str, key: &str) -> Result<(), ErrorCode> {
        if !self.call.policy.kv {
            return Err(ErrorCode::Denied(self.call.deny(
                CapabilityKind::Kv,
                &format!("{op} {key}"),
                "the key-value store needs trust read-only or higher",
                Some(""),
            )));
        }
        if key.len() > MAX_KEY {
            return Err(ErrorCode::InvalidInput(format!(
                "key is {} bytes; the limit is {MAX_KEY}",
                key.len()
            )));
        }
        Ok(())
    }
}

impl Host for KvState {
    async fn get(&mut self, key: String) -> Result<Option<Vec<u8>>, CapError> {
        self.check("get", &key)?;
        Ok(self.store.get(&self.call.plugin, &key).map_err(failed)?)
    }

    async fn set(&mut self, key: String, value: Vec<u8>) -> Result<(), CapError> {
        self.check("set", &key)?;
        if value.len() > MAX_VALUE {
            return Err(ErrorCode::LimitExceeded(format!(
                "value is {} bytes; the limit is {MAX_VALUE}",
                value.len()
            ))
            .into());
        }
        let plugin = &self.call.plugin;
        let (keys, bytes) = self.store.usage_except(plugin, &key).map_err(failed)?;
        if keys >= MAX_KEYS {
            return Err(ErrorCode::LimitExceeded(format!(
                "the store holds {MAX_KEYS} keys, its limit"
            ))
            .into());
        }
        if bytes + value.len() as u64 > MAX_BYTES {
            return Err(ErrorCode::LimitExceeded(format!(
                "the store would exceed {MAX_BYTES} bytes"
            ))
            .into());
        }
        Ok(self.store.set(plugin, &key, &value).map_err(failed)?)
    }

    async fn delete(&mut self, key: String) -> Result<bool, CapError> {
        self.check("delete", &key)?;
        Ok(self.store.delete(&self.call.plugin, &key).map_err(failed)?)
    }

    async fn list_keys(&mut self, prefix: String, limit: u32) -> Result<Vec<String>, CapError> {
        self.check("list", &prefix)?;
        let limit = limit.min(MAX_KEYS as u32);
        Ok(self
            .store
            .list(&self.call.plugin, &prefix, limit)
            .map_err(failed)?)
    }
}

pub fn add_to_linker(linker: &mut Linker<InstanceState>) -> wasmtime::Result<()> {
    crate::bindings::imports::factory::plugin::kv::add_to_linker::<_, HasSelf<KvState>>(
        linker,
        |s| &mut s.kv,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::caps::AsGuestSees;
    use crate::hooks::{MemoryEvents, MemoryKv};
    use crate::trust::TrustLevel;

    fn state(
        store: &Arc<MemoryKv>,
        plugin: &str,
        trust: TrustLevel,
    ) -> (KvState, Arc<MemoryEvents>) {
        let events = Arc::new(MemoryEvents::default());
        let call = CallInfo::for_test(plugin, trust, &[], events.clone());
        let store = store.clone();
        (KvState { call, store }, events)
    }

    #[tokio::test]
    async fn untrusted_plugins_are_denied_and_it_is_journaled() {
        let (mut kv, events) = state(&Arc::default(), "p", TrustLevel::Untrusted);
        let e = kv.set("k".into(), b"v".to_vec()).await.guest().unwrap_err();
        assert!(
            matches!(e, ErrorCode::Denied(ref m) if m.contains("trust read-only")),
            "{e:?}"
        );
        let entries = events.events();
        assert!(
            entries
                .iter()
                .any(|e| e.kind == "denial" && e.plugin == "p"),
            "{entries:?}"
        );
    }

    #[tokio::test]
    async fn each_plugin_has_its_own_store_within_limits() {
        let store = Arc::default();
        let (mut a, _) = state(&store, "a", TrustLevel::ReadOnly);
        let (mut b, _) = state(&store, "b", TrustLevel::ReadOnly);
        a.set("shared/x".into(), b"from a".to_vec())
            .await
            .guest()
            .unwrap();
        a.set("shared/y".into(), b"2".to_vec())
            .await
            .guest()
            .unwrap();
        a.set("other".into(), b"3".to_vec()).await.guest().unwrap();
        assert_eq!(
            b.get("shared/x".into()).await.guest().unwrap(),
            None,
            "b sees a's key"
        );
        assert_eq!(
            a.get("shared/x".into()).await.guest().unwrap().as_deref(),
            Some(&b"from a"[..])
        );
        assert_eq!(
            a.list_keys("shared/".into(), 10).await.guest().unwrap(),
            ["shared/x", "shared/y"]
        );
        assert!(b.list_keys("".into(), 10).await.guest().unwrap().is_empty());
        assert!(a.delete("other".into()).await.guest().unwrap());
        assert!(
            !b.delete("shared/x".into()).await.guest().unwrap(),
            "b deleted a's key"
        );
        let long = "k".repeat(MAX_KEY + 1);
        assert!(matches!(
            a.get(long).await.guest(),
            Err(ErrorCode::InvalidInput(_))
        ));
        assert!(matches!(
            a.set("big".into(), vec![0; MAX_VALUE + 1]).await.guest(),
            Err(ErrorCode::LimitExceeded(_))
        ));
    }
}
