//! Run state in the factory database.
use rusqlite::Connection;

pub fn migrate(conn: &Connection) -> rusqlite::Result<()> {
    crate::db::add_column(conn, "events", "run_id", "TEXT")?;
    crate::db::add_column(conn, "invocations", "run_id", "TEXT")?;
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS model_calls(
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
        CREATE INDEX IF NOT EXISTS model_calls_run ON model_calls(run_id, id);",
    )
}
