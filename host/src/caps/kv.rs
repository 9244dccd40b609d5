//! `factory:plugin/kv`: a key-value store private to each plugin, in the
//! factory database. Needs trust `read-only`; keys ≤ 1 KiB, values ≤ 1 MiB,
//! at most 10 000 keys and 64 MiB per plugin.

use crate::bindings::ErrorCode;
use crate::bindings::imports::factory::plugin::kv::Host;
use crate::runtime::call::CallInfo;
use crate::runtime::state::InstanceState;
use crate::trust::CapabilityKind;
use rusqlite::{Connection, OptionalExtension, params};
use std::sync::{Arc, Mutex};
use wasmtime::component::{HasSelf, Linker};

const MAX_KEY: usize = 1024;
const MAX_VALUE: usize = 1 << 20;
const MAX_KEYS: i64 = 10_000;
const MAX_BYTES: i64 = 64 << 20;

/// Config: the shared backend.
pub struct KvStore {
    conn: Mutex<Connection>,
}

impl KvStore {
    pub fn open(path: &std::path::Path) -> rusqlite::Result<Self> {
        Ok(KvStore {
            conn: Mutex::new(crate::db::open(path)?),
        })
    }

    fn with<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Result<T, ErrorCode> {
        let conn = self
            .conn
            .lock()
            .map_err(|_| ErrorCode::Failed("key-value store unavailable".into()))?;
        f(&conn).map_err(|e| ErrorCode::Failed(format!("key-value store: {e}")))
    }
}

/// Per-instance state.
pub struct KvState {
    pub call: Arc<CallInfo>,
    pub store: Arc<KvStore>,
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
    async fn get(&mut self, key: String) -> wasmtime::Result<Result<Option<Vec<u8>>, ErrorCode>> {
        if let Err(e) = self.check("get", &key) {
            return Ok(Err(e));
        }
        let plugin = &self.call.plugin;
        Ok(self.store.with(|c| {
            c.query_row(
                "SELECT value FROM kv WHERE plugin=?1 AND key=?2",
                params![plugin, key],
                |r| r.get(0),
            )
            .optional()
        }))
    }

    async fn set(
        &mut self,
        key: String,
        value: Vec<u8>,
    ) -> wasmtime::Result<Result<(), ErrorCode>> {
        if let Err(e) = self.check("set", &key) {
            return Ok(Err(e));
        }
        if value.len() > MAX_VALUE {
            return Ok(Err(ErrorCode::LimitExceeded(format!(
                "value is {} bytes; the limit is {MAX_VALUE}",
                value.len()
            ))));
        }
        let plugin = &self.call.plugin;
        let usage = self.store.with(|c| {
            c.query_row(
                "SELECT COUNT(*), COALESCE(SUM(LENGTH(value)),0) FROM kv WHERE plugin=?1 AND key<>?2",
                params![plugin, key],
                |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)),
            )
        });
        match usage {
            Err(e) => return Ok(Err(e)),
            Ok((n, _)) if n >= MAX_KEYS => {
                return Ok(Err(ErrorCode::LimitExceeded(format!(
                    "the store holds {MAX_KEYS} keys, its limit"
                ))));
            }
            Ok((_, bytes)) if bytes + value.len() as i64 > MAX_BYTES => {
                return Ok(Err(ErrorCode::LimitExceeded(format!(
                    "the store would exceed {MAX_BYTES} bytes"
                ))));
            }
            Ok(_) => {}
        }
        Ok(self.store.with(|c| {
            c.execute(
                "INSERT INTO kv(plugin, key, value) VALUES(?1,?2,?3) ON CONFLICT(plugin, key) DO UPDATE SET value=excluded.value",
                params![plugin, key, value],
            )
            .map(|_| ())
        }))
    }

    async fn delete(&mut self, key: String) -> wasmtime::Result<Result<bool, ErrorCode>> {
        if let Err(e) = self.check("delete", &key) {
            return Ok(Err(e));
        }
        let plugin = &self.call.plugin;
        Ok(self.store.with(|c| {
            c.execute(
                "DELETE FROM kv WHERE plugin=?1 AND key=?2",
                params![plugin, key],
            )
            .map(|n| n > 0)
        }))
    }

    async fn list_keys(
        &mut self,
        prefix: String,
        limit: u32,
    ) -> wasmtime::Result<Result<Vec<String>, ErrorCode>> {
        if let Err(e) = self.check("list", &prefix) {
            return Ok(Err(e));
        }
        let plugin = &self.call.plugin;
        let limit = limit.min(MAX_KEYS as u32);
        Ok(self.store.with(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT key FROM kv WHERE plugin=?1 AND substr(key, 1, length(?2)) = ?2 ORDER BY key LIMIT ?3",
            )?;
            let keys = stmt.query_map(params![plugin, prefix, limit], |r| r.get(0))?;
            keys.collect()
        }))
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
    use crate::journal::{Entry, Journal};
    use crate::trust::TrustLevel;

    fn state(dir: &std::path::Path, plugin: &str, trust: TrustLevel) -> (KvState, Journal) {
        let db = dir.join("factory.db");
        let journal = Journal::open(&db).unwrap();
        let call = CallInfo::for_test(plugin, trust, &[], journal.clone());
        let store = Arc::new(KvStore::open(&db).unwrap());
        (KvState { call, store }, journal)
    }

    #[tokio::test]
    async fn untrusted_plugins_are_denied_and_it_is_journaled() {
        let d = tempfile::tempdir().unwrap();
        let (mut kv, journal) = state(d.path(), "p", TrustLevel::Untrusted);
        let e = kv
            .set("k".into(), b"v".to_vec())
            .await
            .unwrap()
            .unwrap_err();
        assert!(
            matches!(e, ErrorCode::Denied(ref m) if m.contains("trust read-only")),
            "{e:?}"
        );
        journal.flush();
        let conn = crate::db::open(&d.path().join("factory.db")).unwrap();
        let entries = crate::journal::query(&conn, Some("p"), None, 10).unwrap();
        assert!(
            entries
                .iter()
                .any(|e| matches!(e, Entry::Event { record, .. } if record.kind == "denial")),
            "{entries:?}"
        );
    }

    #[tokio::test]
    async fn each_plugin_has_its_own_store_within_limits() {
        let d = tempfile::tempdir().unwrap();
        let (mut a, _) = state(d.path(), "a", TrustLevel::ReadOnly);
        let (mut b, _) = state(d.path(), "b", TrustLevel::ReadOnly);
        a.set("shared/x".into(), b"from a".to_vec())
            .await
            .unwrap()
            .unwrap();
        a.set("shared/y".into(), b"2".to_vec())
            .await
            .unwrap()
            .unwrap();
        a.set("other".into(), b"3".to_vec()).await.unwrap().unwrap();
        assert_eq!(
            b.get("shared/x".into()).await.unwrap().unwrap(),
            None,
            "b sees a's key"
        );
        assert_eq!(
            a.get("shared/x".into()).await.unwrap().unwrap().as_deref(),
            Some(&b"from a"[..])
        );
        assert_eq!(
            a.list_keys("shared/".into(), 10).await.unwrap().unwrap(),
            ["shared/x", "shared/y"]
        );
        assert!(
            b.list_keys("".into(), 10)
                .await
                .unwrap()
                .unwrap()
                .is_empty()
        );
        assert!(a.delete("other".into()).await.unwrap().unwrap());
        assert!(
            !b.delete("shared/x".into()).await.unwrap().unwrap(),
            "b deleted a's key"
        );
        let long = "k".repeat(MAX_KEY + 1);
        assert!(matches!(
            a.get(long).await.unwrap(),
            Err(ErrorCode::InvalidInput(_))
        ));
        assert!(matches!(
            a.set("big".into(), vec![0; MAX_VALUE + 1]).await.unwrap(),
            Err(ErrorCode::LimitExceeded(_))
        ));
    }
}
