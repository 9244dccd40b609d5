//! A run's rows, copied between factory databases: out of a worker's onto
//! the events stream, into the service's (ingest) or into the database of
//! a worker that takes the run over.
//!
//! Rows come from other processes, so nothing in them is trusted as SQL:
//! the table must be one of [`TABLES`], every column one the table has, and
//! every row must belong to the run the event is about.

use rusqlite::{Connection, params_from_iter, types::Value as Sql};
use serde_json::{Map, Value};

pub type Row = Map<String, Value>;

/// The tables a run's state and journal live in, each with the column that
/// names the run, and whether its rows are kept by key (replaced when the
/// worker changes them) rather than appended.
pub const TABLES: [(&str, &str, bool); 6] = [
    ("runs", "id", true),
    ("tasks", "run_id", true),
    ("steps", "run_id", false),
    ("events", "run_id", false),
    ("invocations", "run_id", false),
    ("model_calls", "run_id", false),
];

#[derive(Debug, thiserror::Error)]
pub enum RowsError {
    #[error("`{0}` is not a table a run's rows go to")]
    Table(String),
    #[error("table {0} has no column `{1}`")]
    Column(String, String),
    #[error("a row of {0} belongs to another run than {1}")]
    OtherRun(String, String),
    #[error("a value of {0}.{1} is not a number, text or null")]
    Value(String, String),
    #[error(transparent)]
    Db(#[from] rusqlite::Error),
}

fn table(name: &str) -> Result<(&'static str, &'static str, bool), RowsError> {
    TABLES
        .iter()
        .find(|(t, _, _)| *t == name)
        .copied()
        .ok_or_else(|| RowsError::Table(name.into()))
}

fn columns(conn: &Connection, table: &str) -> rusqlite::Result<Vec<String>> {
    let mut st = conn.prepare_cached(&format!("PRAGMA table_info({table})"))?;
    st.query_map([], |r| r.get::<_, String>(1))?.collect()
}

fn to_json(v: Sql) -> Value {
    match v {
        Sql::Null => Value::Null,
        Sql::Integer(i) => Value::from(i),
        Sql::Real(f) => Value::from(f),
        Sql::Text(s) => Value::String(s),
        Sql::Blob(b) => Value::String(hex::encode(b)),
    }
}

fn to_sql(v: &Value) -> Option<Sql> {
    Some(match v {
        Value::Null => Sql::Null,
        Value::Bool(b) => Sql::Integer(*b as i64),
        Value::Number(n) => match n.as_i64() {
            Some(i) => Sql::Integer(i),
            None => Sql::Real(n.as_f64()?),
        },
        Value::String(s) => Sql::Text(s.clone()),
        _ => return None,
    })
}

/// `run_id`'s rows of `name`: all of them for a keyed table, those with
/// `id` above `after` for an appended one, oldest first.
pub fn read(
    conn: &Connection,
    name: &str,
    run_id: &str,
    after: i64,
) -> Result<Vec<Row>, RowsError> {
    let (t, run_col, keyed) = table(name)?;
    let cols = columns(conn, t)?;
    let sql = if keyed {
        format!("SELECT * FROM {t} WHERE {run_col}=?1")
    } else {
        format!("SELECT * FROM {t} WHERE {run_col}=?1 AND id>?2 ORDER BY id")
    };
    let mut st = conn.prepare_cached(&sql)?;
    let map = |r: &rusqlite::Row<'_>| {
        let mut row = Row::new();
        for (i, c) in cols.iter().enumerate() {
            row.insert(c.clone(), to_json(r.get::<_, Sql>(i)?));
        }
        Ok(row)
    };
    let rows = if keyed {
        st.query_map([run_id], map)?
            .collect::<Result<Vec<_>, _>>()?
    } else {
        st.query_map(rusqlite::params![run_id, after], map)?
            .collect::<Result<Vec<_>, _>>()?
    };
    Ok(rows)
}

/// Write `rows` of `name` for `run_id`: a keyed table's rows replace what
/// is there; an appended table's get ids of this database (their own `id`
/// is the writer's), and with `seen`, a row whose (writer, id) was
/// written before is skipped. Returns how many rows were written.
pub fn write(
    conn: &Connection,
    name: &str,
    run_id: &str,
    rows: &[Row],
    seen: Option<&str>,
) -> Result<usize, RowsError> {
    let (t, run_col, keyed) = table(name)?;
    let cols = columns(conn, t)?;
    let mut n = 0;
    for row in rows {
        if row.get(run_col).and_then(Value::as_str) != Some(run_id) {
            return Err(RowsError::OtherRun(t.into(), run_id.into()));
        }
        let mut names = Vec::new();
        let mut values = Vec::new();
        for (c, v) in row {
            if !cols.contains(c) {
                return Err(RowsError::Column(t.into(), c.clone()));
            }
            if !keyed && c == "id" {
                continue;
            }
            names.push(c.as_str());
            values.push(to_sql(v).ok_or_else(|| RowsError::Value(t.into(), c.clone()))?);
        }
        if !keyed && let Some(writer) = seen {
            let local = row.get("id").and_then(Value::as_i64).unwrap_or(-1);
            let fresh = conn.execute(
                "INSERT OR IGNORE INTO serve_ingested(run_id, tbl, writer, local_id) VALUES(?1,?2,?3,?4)",
                rusqlite::params![run_id, t, writer, local],
            )?;
            if fresh == 0 {
                continue;
            }
        }
        let marks = vec!["?"; names.len()].join(",");
        let verb = if keyed { "INSERT OR REPLACE" } else { "INSERT" };
        conn.execute(
            &format!("{verb} INTO {t}({}) VALUES({marks})", names.join(",")),
            params_from_iter(values),
        )?;
        n += 1;
    }
    Ok(n)
}

/// The table that remembers which appended rows were ingested.
pub const INGESTED: &str = "CREATE TABLE IF NOT EXISTS serve_ingested(
    run_id TEXT NOT NULL, tbl TEXT NOT NULL, writer TEXT NOT NULL, local_id INTEGER NOT NULL,
    PRIMARY KEY(run_id, tbl, writer, local_id))";

/// Remove every row of `run_id` (a worker about to rebuild the run from
/// the stream).
pub fn clear(conn: &Connection, run_id: &str) -> Result<(), RowsError> {
    for (t, run_col, _) in TABLES {
        conn.execute(&format!("DELETE FROM {t} WHERE {run_col}=?1"), [run_id])?;
    }
    Ok(())
}

/// The highest `id` of `run_id`'s rows in appended table `name`.
pub fn last_id(conn: &Connection, name: &str, run_id: &str) -> Result<i64, RowsError> {
    let (t, run_col, _) = table(name)?;
    Ok(conn.query_row(
        &format!("SELECT COALESCE(MAX(id), 0) FROM {t} WHERE {run_col}=?1"),
        [run_id],
        |r| r.get(0),
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> (tempfile::TempDir, Connection) {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("f.db");
        let c = factory_store::db::open(&path).unwrap();
        factory_orchestrator::store::migrate(&c).unwrap();
        c.execute_batch(INGESTED).unwrap();
        (d, c)
    }

    fn step(run: &str, id: i64) -> Row {
        serde_json::json!({"id": id, "run_id": run, "ts": 1, "task_id": "t", "role": "coder",
            "attempt": 1, "kind": "role", "status": "ok", "summary": "s", "detail": "",
            "call_id": null, "duration_ms": 3})
        .as_object()
        .unwrap()
        .clone()
    }

    #[test]
    fn rows_copy_once_and_only_into_their_run() {
        let (_a, from) = db();
        let (_b, to) = db();
        for i in 0..3 {
            write(&from, "steps", "r1", &[step("r1", i)], None).unwrap();
        }
        let rows = read(&from, "steps", "r1", 0).unwrap();
        assert_eq!(rows.len(), 3);
        assert_eq!(write(&to, "steps", "r1", &rows, Some("w/1")).unwrap(), 3);
        assert_eq!(
            write(&to, "steps", "r1", &rows, Some("w/1")).unwrap(),
            0,
            "a redelivery is skipped"
        );
        assert_eq!(read(&to, "steps", "r1", 0).unwrap().len(), 3);
        // A row of another run, an unknown column, an unknown table.
        assert!(matches!(
            write(&to, "steps", "r1", &[step("r2", 9)], None),
            Err(RowsError::OtherRun(..))
        ));
        let mut bad = step("r1", 10);
        bad.insert(
            "summary) VALUES(1); DROP TABLE steps; --".into(),
            Value::Null,
        );
        assert!(matches!(
            write(&to, "steps", "r1", &[bad], None),
            Err(RowsError::Column(..))
        ));
        assert!(matches!(
            write(&to, "serve_tasks", "r1", &[], None),
            Err(RowsError::Table(..))
        ));
        clear(&to, "r1").unwrap();
        assert!(read(&to, "steps", "r1", 0).unwrap().is_empty());
    }
}
