//! The plugin registry: installed components, their trust, grants and
//! limits, in the factory database. Only the operator's CLI writes it.

mod install;
mod stamp;

pub use install::{InstallError, InstallRequest, Installed};
pub use stamp::{FileStamp, sha256_hex};

use crate::grants::{Grant, GrantError};
use crate::journal::{EventRecord, Journal};
use crate::policy::{self, LimitOverrides, Policy};
use crate::trust::TrustLevel;
use rusqlite::hooks::Action;
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub use factory_sandbox::World;

#[derive(Clone, Debug, Serialize)]
pub struct PluginRecord {
    pub name: String,
    pub digest: String,
    pub world: World,
    /// A role's kind (`coder`, …) or an intake adapter's format; empty for
    /// tools.
    pub kind: String,
    pub trust: TrustLevel,
    pub builtin: bool,
    pub size: u64,
    pub source: String,
    pub installed_at: i64,
    pub description: String,
    pub input_schema: String,
    pub imports: Vec<String>,
    pub limits: LimitOverrides,
    #[serde(skip)]
    pub file_stamp: String,
    /// The permissions the plugin asked for: its manifest as TOML (empty
    /// when it declared none). Nothing here is granted by itself.
    pub requested: String,
    /// Who signed it: `NAME (sha256:...)` of the trusted signer, `unsigned`
    /// for an OCI install with --allow-unsigned, empty for a local file.
    pub signer: String,
}

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("no plugin named `{0}` (see `factory plugin list`)")]
    Unknown(String),
    #[error("`{0}` is built in and cannot be removed or replaced")]
    Builtin(String),
    #[error(transparent)]
    Grant(#[from] GrantError),
    #[error(transparent)]
    Limits(#[from] policy::LimitsError),
    #[error("registry database")]
    Db(#[from] rusqlite::Error),
}

pub struct Registry {
    conn: Mutex<Connection>,
    journal: Journal,
    /// Rows written through this registry's connection, counted by an
    /// SQLite update hook (seen at once by [`Registry::version`]).
    local_writes: Arc<AtomicU64>,
    /// The last database generation read, and when.
    seen: Mutex<Option<(Instant, i64)>>,
}

/// How stale a running host's view of changes made by *other* processes
/// (e.g. `factory plugin revoke` while a run is going) may be. Changes made
/// in this process are seen at once.
pub const REVALIDATE: Duration = Duration::from_millis(1);

fn row_to_record(r: &rusqlite::Row<'_>) -> rusqlite::Result<PluginRecord> {
    let trust: u8 = r.get(3)?;
    let imports: String = r.get(10)?;
    let limits: String = r.get(11)?;
    Ok(PluginRecord {
        name: r.get(0)?,
        digest: r.get(1)?,
        world: World::parse(&r.get::<_, String>(2)?),
        trust: TrustLevel::from_number(trust).unwrap_or(TrustLevel::Untrusted),
        builtin: r.get(4)?,
        size: r.get::<_, i64>(5)? as u64,
        source: r.get(6)?,
        installed_at: r.get(7)?,
        description: r.get(8)?,
        input_schema: r.get(9)?,
        imports: serde_json::from_str(&imports).unwrap_or_default(),
        limits: serde_json::from_str(&limits).unwrap_or_default(),
        file_stamp: r.get(12)?,
        kind: r.get(13)?,
        requested: r.get(14)?,
        signer: r.get(15)?,
    })
}

const COLUMNS: &str = "name, digest, world, trust, builtin, size, source, installed_at, description, input_schema, imports, limits, file_stamp, kind, requested, signer";

impl Registry {
    pub fn open(path: &std::path::Path, journal: Journal) -> rusqlite::Result<Self> {
        let conn = crate::db::open(path)?;
        let local_writes = Arc::new(AtomicU64::new(0));
        let counter = local_writes.clone();
        conn.update_hook(Some(move |_: Action, _: &str, _: &str, _: i64| {
            counter.fetch_add(1, Ordering::SeqCst);
        }));
        Ok(Registry {
            conn: Mutex::new(conn),
            journal,
            local_writes,
            seen: Mutex::new(None),
        })
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A version of the plugins and grants: it changes at once with a write
    /// through this registry, and within [`REVALIDATE`] of a write by
    /// another process (a database trigger counts every change; it is read
    /// at most once per window, so a busy host does not query per call).
    pub fn version(&self) -> rusqlite::Result<(i64, u64)> {
        let local = self.local_writes.load(Ordering::SeqCst);
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        match *seen {
            Some((at, generation)) if at.elapsed() < REVALIDATE => Ok((generation, local)),
            _ => {
                let generation = self
                    .conn()
                    .prepare_cached("SELECT value FROM meta WHERE key='registry'")?
                    .query_row([], |r| r.get(0))?;
                *seen = Some((Instant::now(), generation));
                Ok((generation, local))
            }
        }
    }

    /// A number the host keeps in the database's `meta` table.
    pub fn meta(&self, key: &str) -> Result<Option<i64>, RegistryError> {
        use rusqlite::OptionalExtension;
        Ok(self
            .conn()
            .prepare_cached("SELECT value FROM meta WHERE key=?1")?
            .query_row([key], |r| r.get(0))
            .optional()?)
    }

    pub fn set_meta(&self, key: &str, value: i64) -> Result<(), RegistryError> {
        self.conn().execute(
            "INSERT INTO meta(key, value) VALUES(?1, ?2) ON CONFLICT(key) DO UPDATE SET value=excluded.value",
            params![key, value],
        )?;
        Ok(())
    }

    pub fn get(&self, name: &str) -> Result<Option<PluginRecord>, RegistryError> {
        let conn = self.conn();
        Ok(conn
            .query_row(
                &format!("SELECT {COLUMNS} FROM plugins WHERE name=?1"),
                [name],
                row_to_record,
            )
            .optional()?)
    }

    pub fn require(&self, name: &str) -> Result<PluginRecord, RegistryError> {
        self.get(name)?
            .ok_or_else(|| RegistryError::Unknown(name.to_string()))
    }

    pub fn list(&self) -> Result<Vec<PluginRecord>, RegistryError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!(
            "SELECT {COLUMNS} FROM plugins ORDER BY builtin DESC, name"
        ))?;
        let rows = stmt.query_map([], row_to_record)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub(crate) fn upsert(&self, p: &PluginRecord) -> Result<(), RegistryError> {
        self.conn().execute(
            &format!(
                "INSERT INTO plugins({COLUMNS}) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16)
                 ON CONFLICT(name) DO UPDATE SET digest=excluded.digest, world=excluded.world, trust=excluded.trust,
                 builtin=excluded.builtin, size=excluded.size, source=excluded.source, installed_at=excluded.installed_at,
                 description=excluded.description, input_schema=excluded.input_schema, imports=excluded.imports,
                 file_stamp=excluded.file_stamp, kind=excluded.kind, requested=excluded.requested,
                 signer=excluded.signer"
            ),
            params![
                p.name,
                p.digest,
                p.world.as_str(),
                p.trust.number(),
                p.builtin,
                p.size as i64,
                p.source,
                p.installed_at,
                p.description,
                p.input_schema,
                serde_json::to_string(&p.imports).unwrap_or_default(),
                serde_json::to_string(&p.limits).unwrap_or_default(),
                p.file_stamp,
                p.kind,
                p.requested,
                p.signer
            ],
        )?;
        Ok(())
    }

    pub(crate) fn set_stamp(&self, name: &str, stamp: &str) -> Result<(), RegistryError> {
        self.conn().execute(
            "UPDATE plugins SET file_stamp=?2 WHERE name=?1",
            params![name, stamp],
        )?;
        Ok(())
    }

    pub fn grants(&self, name: &str) -> Result<Vec<Grant>, RegistryError> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT kind, target FROM grants WHERE plugin=?1 ORDER BY added_at, kind, target",
        )?;
        let rows = stmt.query_map([name], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (k, t) = row?;
            out.push(Grant::from_stored(&k, &t)?);
        }
        Ok(out)
    }

    /// The compiled policy of a plugin.
    pub fn policy(&self, record: &PluginRecord) -> Result<Policy, RegistryError> {
        Ok(policy::compile(
            &record.name,
            record.trust,
            &self.grants(&record.name)?,
            &record.limits,
        ))
    }

    /// Add grants. All are checked against the ceiling first; none is added
    /// if one is refused.
    pub fn grant(&self, name: &str, grants: &[Grant]) -> Result<(), RegistryError> {
        let p = self.require(name)?;
        for g in grants {
            g.check_ceiling(name, p.trust)?;
        }
        let now = crate::db::now_ms();
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        for g in grants {
            tx.execute(
                "INSERT OR IGNORE INTO grants(plugin, kind, target, added_at) VALUES(?1,?2,?3,?4)",
                params![name, g.column(), g.target(), now],
            )?;
        }
        tx.commit()?;
        for g in grants {
            self.journal.event(EventRecord {
                capability: g.kind().to_string(),
                target: g.target(),
                ..EventRecord::new(name, "grant", format!("granted {}", g.flag()))
            });
        }
        Ok(())
    }

    /// Remove grants; returns how many existed.
    pub fn revoke(&self, name: &str, grants: &[Grant]) -> Result<usize, RegistryError> {
        self.require(name)?;
        let mut n = 0;
        for g in grants {
            n += self.conn().execute(
                "DELETE FROM grants WHERE plugin=?1 AND kind=?2 AND target=?3",
                params![name, g.column(), g.target()],
            )?;
            self.journal.event(EventRecord {
                capability: g.kind().to_string(),
                target: g.target(),
                ..EventRecord::new(name, "revoke", format!("revoked {}", g.flag()))
            });
        }
        Ok(n)
    }

    /// Remove every grant of a plugin; returns how many.
    pub fn revoke_all(&self, name: &str) -> Result<usize, RegistryError> {
        self.require(name)?;
        let n = self
            .conn()
            .execute("DELETE FROM grants WHERE plugin=?1", [name])?;
        self.journal.event(EventRecord::new(
            name,
            "revoke",
            format!("revoked all {n} grants"),
        ));
        Ok(n)
    }

    pub fn set_trust(&self, name: &str, level: TrustLevel) -> Result<TrustLevel, RegistryError> {
        let old = self.require(name)?.trust;
        self.conn().execute(
            "UPDATE plugins SET trust=?2 WHERE name=?1",
            params![name, level.number()],
        )?;
        self.journal.event(EventRecord::new(
            name,
            "trust",
            format!("trust {old} -> {level}"),
        ));
        Ok(old)
    }

    /// Record where an installed component came from, what it asks for and
    /// who signed it (the same component, installed again).
    pub fn set_provenance(
        &self,
        name: &str,
        source: &str,
        requested: &str,
        signer: &str,
    ) -> Result<(), RegistryError> {
        self.require(name)?;
        self.conn().execute(
            "UPDATE plugins SET source=?2, requested=?3, signer=?4 WHERE name=?1",
            params![name, source, requested, signer],
        )?;
        Ok(())
    }

    /// Set a plugin's resource limits: positive, and within its trust
    /// level's ceiling (the one check, whoever calls).
    pub fn set_limits(&self, name: &str, limits: &LimitOverrides) -> Result<(), RegistryError> {
        let p = self.require(name)?;
        limits.check(p.trust)?;
        self.conn().execute(
            "UPDATE plugins SET limits=?2 WHERE name=?1",
            params![name, serde_json::to_string(limits).unwrap_or_default()],
        )?;
        self.journal.event(EventRecord::new(
            name,
            "limits",
            format!(
                "limits set to {}",
                serde_json::to_string(limits).unwrap_or_default()
            ),
        ));
        Ok(())
    }

    /// Remove a plugin, its grants and its key-value data. The component file
    /// is deleted when no other plugin uses the same digest.
    pub fn remove(
        &self,
        name: &str,
        home: &crate::home::Home,
    ) -> Result<PluginRecord, RegistryError> {
        let p = self.require(name)?;
        if p.builtin {
            return Err(RegistryError::Builtin(name.to_string()));
        }
        let others: i64 = {
            let mut conn = self.conn();
            let tx = conn.transaction()?;
            tx.execute("DELETE FROM plugins WHERE name=?1", [name])?;
            tx.execute("DELETE FROM grants WHERE plugin=?1", [name])?;
            tx.execute("DELETE FROM kv WHERE plugin=?1", [name])?;
            let others = tx.query_row(
                "SELECT COUNT(*) FROM plugins WHERE digest=?1",
                [&p.digest],
                |r| r.get(0),
            )?;
            tx.commit()?;
            others
        };
        if others == 0 {
            let _ = std::fs::remove_file(home.component_path(&p.digest));
        }
        self.journal.event(EventRecord::new(
            name,
            "remove",
            format!("removed (digest {})", p.digest),
        ));
        Ok(p)
    }

    /// Whether any plugin is installed with this digest.
    pub(crate) fn digest_in_use(&self, digest: &str) -> Result<bool, RegistryError> {
        let n: i64 = self.conn().query_row(
            "SELECT COUNT(*) FROM plugins WHERE digest=?1",
            [digest],
            |r| r.get(0),
        )?;
        Ok(n > 0)
    }

    /// The recorded stamp of a cache file, if any.
    pub(crate) fn cache_stamp(&self, path: &str) -> Result<Option<String>, RegistryError> {
        Ok(self
            .conn()
            .query_row("SELECT stamp FROM cache WHERE path=?1", [path], |r| {
                r.get(0)
            })
            .optional()?)
    }

    pub(crate) fn set_cache_stamp(&self, path: &str, stamp: &str) -> Result<(), RegistryError> {
        self.conn().execute(
            "INSERT INTO cache(path, stamp) VALUES(?1,?2) ON CONFLICT(path) DO UPDATE SET stamp=excluded.stamp",
            params![path, stamp],
        )?;
        Ok(())
    }

    pub fn journal(&self) -> &Journal {
        &self.journal
    }
}
