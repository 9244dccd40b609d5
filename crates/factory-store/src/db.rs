//! The embedded SQLite database: one file, WAL mode, schema created on open.

use rusqlite::Connection;
use std::path::Path;
use std::time::Duration;

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS plugins(
    name TEXT PRIMARY KEY,
    digest TEXT NOT NULL,
    world TEXT NOT NULL,
    trust INTEGER NOT NULL,
    builtin INTEGER NOT NULL DEFAULT 0,
    size INTEGER NOT NULL,
    source TEXT NOT NULL,
    installed_at INTEGER NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    input_schema TEXT NOT NULL DEFAULT '',
    imports TEXT NOT NULL DEFAULT '[]',
    limits TEXT NOT NULL DEFAULT '{}',
    file_stamp TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS grants(
    plugin TEXT NOT NULL,
    kind TEXT NOT NULL,
    target TEXT NOT NULL,
    added_at INTEGER NOT NULL,
    PRIMARY KEY(plugin, kind, target)
);
CREATE TABLE IF NOT EXISTS invocations(
    id INTEGER PRIMARY KEY,
    call_id TEXT NOT NULL,
    parent_call TEXT,
    ts INTEGER NOT NULL,
    plugin TEXT NOT NULL,
    digest TEXT NOT NULL,
    trust INTEGER NOT NULL,
    grants TEXT NOT NULL,
    input_bytes INTEGER NOT NULL,
    outcome TEXT NOT NULL,
    detail TEXT NOT NULL,
    output_bytes INTEGER NOT NULL,
    duration_us INTEGER NOT NULL,
    cpu_us INTEGER NOT NULL,
    peak_memory INTEGER NOT NULL,
    stderr TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS invocations_plugin ON invocations(plugin, id);
CREATE TABLE IF NOT EXISTS events(
    id INTEGER PRIMARY KEY,
    ts INTEGER NOT NULL,
    call_id TEXT,
    plugin TEXT NOT NULL,
    kind TEXT NOT NULL,
    capability TEXT NOT NULL DEFAULT '',
    target TEXT NOT NULL DEFAULT '',
    message TEXT NOT NULL,
    remedy TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS events_plugin ON events(plugin, id);
CREATE INDEX IF NOT EXISTS events_kind ON events(kind, id);
CREATE TABLE IF NOT EXISTS cache(
    path TEXT PRIMARY KEY,
    stamp TEXT NOT NULL
);
-- `registry` counts changes to plugins and grants, by any process: a
-- running host compares it to know when its cached policies are stale.
CREATE TABLE IF NOT EXISTS meta(
    key TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
INSERT OR IGNORE INTO meta(key, value) VALUES('registry', 0);
CREATE TRIGGER IF NOT EXISTS plugins_ins AFTER INSERT ON plugins BEGIN UPDATE meta SET value=value+1 WHERE key='registry'; END;
CREATE TRIGGER IF NOT EXISTS plugins_upd AFTER UPDATE ON plugins BEGIN UPDATE meta SET value=value+1 WHERE key='registry'; END;
CREATE TRIGGER IF NOT EXISTS plugins_del AFTER DELETE ON plugins BEGIN UPDATE meta SET value=value+1 WHERE key='registry'; END;
CREATE TRIGGER IF NOT EXISTS grants_ins AFTER INSERT ON grants BEGIN UPDATE meta SET value=value+1 WHERE key='registry'; END;
CREATE TRIGGER IF NOT EXISTS grants_upd AFTER UPDATE ON grants BEGIN UPDATE meta SET value=value+1 WHERE key='registry'; END;
CREATE TRIGGER IF NOT EXISTS grants_del AFTER DELETE ON grants BEGIN UPDATE meta SET value=value+1 WHERE key='registry'; END;
CREATE TABLE IF NOT EXISTS kv(
    plugin TEXT NOT NULL,
    key TEXT NOT NULL,
    value BLOB NOT NULL,
    PRIMARY KEY(plugin, key)
);
"#;

/// Open (and create) the database at `path`.
pub fn open(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(Duration::from_secs(10))?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    // The journal mode and the schema are the file's, not the connection's:
    // set them up once per database per process (a host opens several
    // connections to the same file), and not at all when the file says it
    // is at this version already (one read; a cold CLI call pays no more).
    static READY: std::sync::Mutex<Vec<std::path::PathBuf>> = std::sync::Mutex::new(Vec::new());
    if READY
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .iter()
        .any(|p| p == path)
    {
        return Ok(conn);
    }
    let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if version == SCHEMA_VERSION {
        READY
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(path.to_path_buf());
        return Ok(conn);
    }
    // Switching to WAL, or creating the schema, can meet SQLITE_BUSY
    // without the busy handler being consulted (another process opening or
    // closing the database at the same moment): retry for a while.
    let mut wait = Duration::from_millis(10);
    let started = std::time::Instant::now();
    loop {
        match setup(&conn) {
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::DatabaseBusy
                    && started.elapsed() < Duration::from_secs(30) =>
            {
                std::thread::sleep(wait);
                wait = (wait * 2).min(Duration::from_millis(500));
            }
            Ok(()) => {
                READY
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push(path.to_path_buf());
                return Ok(conn);
            }
            Err(e) => return Err(e),
        }
    }
}

const MODEL_CALLS: &str = "CREATE TABLE IF NOT EXISTS model_calls(
            id INTEGER PRIMARY KEY,
            ts INTEGER NOT NULL,
            call_id TEXT NOT NULL,
            run_id TEXT,
            task_id TEXT,
            role TEXT,
            plugin TEXT NOT NULL,
            model TEXT NOT NULL,
            provider TEXT NOT NULL,
            input_tokens INTEGER NOT NULL,
            output_tokens INTEGER NOT NULL,
            cost_micro_usd INTEGER NOT NULL,
            latency_ms INTEGER NOT NULL,
            outcome TEXT NOT NULL,
            detail TEXT NOT NULL
        );
        CREATE INDEX IF NOT EXISTS model_calls_run ON model_calls(run_id, id);";

/// The schema's version, kept in the file (`PRAGMA user_version`). Bump it
/// with every change to [`SCHEMA`] or [`setup`]: a database at this version
/// is opened without running either. (The run store creates its own
/// tables when it is opened.)
pub const SCHEMA_VERSION: i64 = 6;

fn setup(conn: &Connection) -> rusqlite::Result<()> {
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.execute_batch(SCHEMA)?;
    add_column(conn, "plugins", "kind", "TEXT NOT NULL DEFAULT ''")?;
    // The journal's records name the run they served (a run is the
    // orchestrator's; the journal only keeps its id).
    add_column(conn, "events", "run_id", "TEXT")?;
    add_column(conn, "invocations", "run_id", "TEXT")?;
    // Calls that came through a protocol server name their client and its
    // request id.
    add_column(conn, "invocations", "client", "TEXT")?;
    add_column(conn, "invocations", "request_id", "TEXT")?;
    // A plugin's supply chain: the permissions it asked for (its manifest,
    // as TOML) and who signed it.
    add_column(conn, "plugins", "requested", "TEXT NOT NULL DEFAULT ''")?;
    add_column(conn, "plugins", "signer", "TEXT NOT NULL DEFAULT ''")?;
    conn.execute_batch(MODEL_CALLS)?;
    conn.pragma_update(None, "user_version", SCHEMA_VERSION)
}

/// Add a column that a newer version of the schema has (databases created
/// by an older factory lack it).
pub fn add_column(
    conn: &Connection,
    table: &str,
    column: &str,
    decl: &str,
) -> rusqlite::Result<()> {
    let exists = conn
        .prepare(&format!(
            "SELECT 1 FROM pragma_table_info('{table}') WHERE name=?1"
        ))?
        .exists([column])?;
    if !exists {
        match conn.execute_batch(&format!("ALTER TABLE {table} ADD COLUMN {column} {decl}")) {
            // Another process added it first.
            Err(rusqlite::Error::SqliteFailure(_, Some(m))) if m.contains("duplicate column") => {}
            other => other?,
        }
    }
    Ok(())
}

/// Milliseconds since the Unix epoch.
pub use factory_sandbox::records::now_ms;

/// RFC 3339 (UTC, milliseconds) for a timestamp from [`now_ms`].
pub fn format_ms(ms: i64) -> String {
    let t = std::time::UNIX_EPOCH + Duration::from_millis(ms.max(0) as u64);
    humantime::format_rfc3339_millis(t).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A database an older factory made (no version, a column missing) is
    /// brought up to date once and then only has its version read.
    #[test]
    fn an_older_database_is_migrated_once() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("factory.db");
        {
            let c = Connection::open(&path).unwrap();
            c.execute_batch(
                "CREATE TABLE plugins(name TEXT PRIMARY KEY, digest TEXT NOT NULL, world TEXT NOT NULL,
                 trust INTEGER NOT NULL, builtin INTEGER NOT NULL DEFAULT 0, size INTEGER NOT NULL,
                 source TEXT NOT NULL, installed_at INTEGER NOT NULL);
                 CREATE TABLE invocations(id INTEGER PRIMARY KEY, call_id TEXT NOT NULL, parent_call TEXT,
                 ts INTEGER NOT NULL, plugin TEXT NOT NULL, digest TEXT NOT NULL, trust INTEGER NOT NULL,
                 grants TEXT NOT NULL, input_bytes INTEGER NOT NULL, outcome TEXT NOT NULL,
                 detail TEXT NOT NULL, output_bytes INTEGER NOT NULL, duration_us INTEGER NOT NULL,
                 cpu_us INTEGER NOT NULL, peak_memory INTEGER NOT NULL, stderr TEXT NOT NULL);",
            )
            .unwrap();
        }
        let c = open(&path).unwrap();
        let version: i64 = c
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(version, SCHEMA_VERSION);
        let has_kind = c
            .prepare("SELECT 1 FROM pragma_table_info('plugins') WHERE name='kind'")
            .unwrap()
            .exists([])
            .unwrap();
        assert!(has_kind, "the missing column was added");
        for column in ["run_id", "client", "request_id"] {
            let has = c
                .prepare("SELECT 1 FROM pragma_table_info('invocations') WHERE name=?1")
                .unwrap()
                .exists([column])
                .unwrap();
            assert!(has, "invocations.{column} was added");
        }
        let model_calls = c
            .prepare("SELECT 1 FROM sqlite_master WHERE name='model_calls'")
            .unwrap()
            .exists([])
            .unwrap();
        assert!(model_calls, "the journal's tables were created");
    }
}
