//! The key-value capability's storage in the factory database (table `kv`),
//! behind the sandbox's [`KvBackend`] hook.

use factory_sandbox::hooks::{KvBackend, KvError};
use rusqlite::{Connection, OptionalExtension, params};
use std::sync::Mutex;

/// The connection is opened on the first key-value call: most calls (and
/// every cold `factory tool call` of a tool without the capability) make
/// none.
pub struct SqliteKv {
    path: std::path::PathBuf,
    conn: Mutex<Option<Connection>>,
}

impl SqliteKv {
    pub fn new(path: &std::path::Path) -> Self {
        SqliteKv {
            path: path.to_path_buf(),
            conn: Mutex::new(None),
        }
    }

    fn with<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Result<T, KvError> {
        let mut guard = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        let conn = match &mut *guard {
            Some(c) => c,
            empty => empty.insert(crate::db::open(&self.path).map_err(|e| KvError(Box::new(e)))?),
        };
        f(conn).map_err(|e| KvError(Box::new(e)))
    }
}

impl KvBackend for SqliteKv {
    fn get(&self, plugin: &str, key: &str) -> Result<Option<Vec<u8>>, KvError> {
        self.with(|c| {
            c.query_row(
                "SELECT value FROM kv WHERE plugin=?1 AND key=?2",
                params![plugin, key],
                |r| r.get(0),
            )
            .optional()
        })
    }

    fn usage_except(&self, plugin: &str, key: &str) -> Result<(u64, u64), KvError> {
        self.with(|c| {
            c.query_row(
                "SELECT COUNT(*), COALESCE(SUM(LENGTH(value)),0) FROM kv WHERE plugin=?1 AND key<>?2",
                params![plugin, key],
                |r| Ok((r.get::<_, i64>(0)? as u64, r.get::<_, i64>(1)? as u64)),
            )
        })
    }

    fn set(&self, plugin: &str, key: &str, value: &[u8]) -> Result<(), KvError> {
        self.with(|c| {
            c.execute(
                "INSERT INTO kv(plugin, key, value) VALUES(?1,?2,?3) ON CONFLICT(plugin, key) DO UPDATE SET value=excluded.value",
                params![plugin, key, value],
            )
            .map(|_| ())
        })
    }

    fn delete(&self, plugin: &str, key: &str) -> Result<bool, KvError> {
        self.with(|c| {
            c.execute(
                "DELETE FROM kv WHERE plugin=?1 AND key=?2",
                params![plugin, key],
            )
            .map(|n| n > 0)
        })
    }

    fn list(&self, plugin: &str, prefix: &str, limit: u32) -> Result<Vec<String>, KvError> {
        self.with(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT key FROM kv WHERE plugin=?1 AND substr(key, 1, length(?2)) = ?2 ORDER BY key LIMIT ?3",
            )?;
            let keys = stmt.query_map(params![plugin, prefix, limit], |r| r.get(0))?;
            keys.collect()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespaces_prefixes_and_usage() {
        let d = tempfile::tempdir().unwrap();
        let db = d.path().join("factory.db");
        drop(crate::db::open(&db).unwrap());
        let kv = SqliteKv::new(&db);
        kv.set("a", "x/1", b"12").unwrap();
        kv.set("a", "x/2", b"345").unwrap();
        kv.set("a", "y", b"6").unwrap();
        kv.set("b", "x/1", b"other").unwrap();
        assert_eq!(kv.get("a", "x/1").unwrap().as_deref(), Some(&b"12"[..]));
        assert_eq!(kv.get("b", "y").unwrap(), None);
        assert_eq!(kv.list("a", "x/", 10).unwrap(), ["x/1", "x/2"]);
        assert_eq!(kv.list("a", "", 1).unwrap(), ["x/1"]);
        assert_eq!(kv.usage_except("a", "x/2").unwrap(), (2, 3));
        assert!(kv.delete("a", "y").unwrap());
        assert!(!kv.delete("a", "y").unwrap());
        assert_eq!(kv.usage_except("a", "").unwrap(), (2, 5));
    }
}
