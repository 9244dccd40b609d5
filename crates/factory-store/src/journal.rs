//! The journal: every invocation and every event (denials, installs, grant
//! and trust changes, logs) in SQLite.
//!
//! Writes go through a channel to one writer thread that commits in batches,
//! so recording costs the caller a channel send. Once woken by a record the
//! writer collects for [`BATCH_WINDOW`] before committing, so a busy host
//! commits (and wakes the writer) once per window rather than once per call.
//! [`Journal::flush`] cuts the window short and waits until everything sent
//! so far is committed; dropping the journal flushes.
//!
//! The records a batch held go back to the recording threads to be freed
//! there ([`Spent`]): freed on the writer, memory a caller allocated makes
//! the two threads contend for the caller's malloc arena on every call.

use crate::db;
pub use factory_sandbox::records::{EventRecord, InvocationRecord, ModelCallRecord};
use rusqlite::{Connection, params};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread::{JoinHandle, Thread};
use std::time::{Duration, Instant};

/// How long the writer gathers records before it commits them.
pub const BATCH_WINDOW: Duration = Duration::from_millis(10);
const MAX_BATCH: usize = 4096;

enum Msg {
    Invocation(Box<InvocationRecord>),
    Event(Box<EventRecord>),
    ModelCall(Box<ModelCallRecord>),
    Flush(mpsc::SyncSender<()>),
}

/// Written batches, waiting to be freed by whichever thread records next.
#[derive(Default)]
struct Spent(std::sync::Mutex<Vec<Vec<Msg>>>);

impl Spent {
    /// Hand back a written batch; the writer frees it itself only if the
    /// recording threads have stopped collecting.
    fn put(&self, batch: Vec<Msg>) {
        let mut q = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if q.len() < 8 {
            q.push(batch);
        }
    }

    /// Free what the writer handed back, on this (the recording) thread.
    fn collect(&self) {
        let taken = match self.0.try_lock() {
            Ok(mut q) if !q.is_empty() => std::mem::take(&mut *q),
            _ => return,
        };
        drop(taken);
    }
}

/// Handle to the journal writer. Cheap to clone.
#[derive(Clone)]
pub struct Journal {
    tx: mpsc::Sender<Msg>,
    spent: std::sync::Arc<Spent>,
    /// The writer thread, unparked by [`Journal::flush`].
    thread: Thread,
    _writer: std::sync::Arc<WriterThread>,
    path: PathBuf,
}

struct WriterThread {
    tx: mpsc::Sender<Msg>,
    thread: Thread,
    handle: std::sync::Mutex<Option<JoinHandle<()>>>,
}

impl Drop for WriterThread {
    fn drop(&mut self) {
        let (ack_tx, ack_rx) = mpsc::sync_channel(1);
        if self.tx.send(Msg::Flush(ack_tx)).is_ok() {
            self.thread.unpark();
            let _ = ack_rx.recv();
        }
        // The thread exits when the last sender is gone; don't wait for
        // clones held elsewhere.
        drop(self.handle.lock().ok().and_then(|mut h| h.take()));
    }
}

impl Journal {
    pub fn open(path: &Path) -> rusqlite::Result<Journal> {
        let conn = db::open(path)?;
        let (tx, rx) = mpsc::channel();
        let spent = std::sync::Arc::new(Spent::default());
        let returned = spent.clone();
        let handle = std::thread::Builder::new()
            .name("factory-journal".into())
            .spawn(move || writer(conn, rx, &returned))
            .expect("spawn journal thread");
        Ok(Journal {
            spent,
            tx: tx.clone(),
            thread: handle.thread().clone(),
            _writer: std::sync::Arc::new(WriterThread {
                tx,
                thread: handle.thread().clone(),
                handle: std::sync::Mutex::new(Some(handle)),
            }),
            path: path.to_path_buf(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn invocation(&self, r: InvocationRecord) {
        self.spent.collect();
        let _ = self.tx.send(Msg::Invocation(Box::new(r)));
    }

    pub fn event(&self, e: EventRecord) {
        tracing::debug!(plugin = %e.plugin, kind = %e.kind, "{}", e.message);
        self.spent.collect();
        let _ = self.tx.send(Msg::Event(Box::new(e)));
    }

    pub fn model_call(&self, m: ModelCallRecord) {
        self.spent.collect();
        let _ = self.tx.send(Msg::ModelCall(Box::new(m)));
    }

    /// Block until everything recorded so far is committed.
    pub fn flush(&self) {
        let (ack_tx, ack_rx) = mpsc::sync_channel(1);
        if self.tx.send(Msg::Flush(ack_tx)).is_ok() {
            self.thread.unpark();
            let _ = ack_rx.recv();
        }
    }
}

fn writer(mut conn: Connection, rx: mpsc::Receiver<Msg>, spent: &Spent) {
    while let Ok(first) = rx.recv() {
        let until = Instant::now() + BATCH_WINDOW;
        let mut batch = vec![first];
        // Gather until the window closes, the batch is full, or a flush
        // asks for it now. Parked (not blocked in `recv`), this thread is
        // not woken by each send.
        loop {
            while let Ok(m) = rx.try_recv() {
                batch.push(m);
                if batch.len() >= MAX_BATCH {
                    break;
                }
            }
            let now = Instant::now();
            if now >= until
                || batch.len() >= MAX_BATCH
                || batch.iter().any(|m| matches!(m, Msg::Flush(_)))
            {
                break;
            }
            std::thread::park_timeout(until - now);
        }
        let result = write_batch(&mut conn, &batch);
        if let Err(e) = result {
            tracing::error!("journal write failed: {e}");
            eprintln!("factory: journal write failed: {e}");
        }
        for m in &batch {
            if let Msg::Flush(ack) = m {
                let _ = ack.send(());
            }
        }
        spent.put(batch);
    }
}

fn write_batch(conn: &mut Connection, batch: &[Msg]) -> rusqlite::Result<()> {
    let tx = conn.transaction()?;
    {
        let mut inv = tx.prepare_cached(
            "INSERT INTO invocations(call_id, parent_call, ts, plugin, digest, trust, grants, input_bytes, outcome, detail, output_bytes, duration_us, cpu_us, peak_memory, stderr, run_id, client, request_id)
             VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18)",
        )?;
        let mut ev = tx.prepare_cached(
            "INSERT INTO events(ts, call_id, plugin, kind, capability, target, message, remedy, run_id) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9)",
        )?;
        let mut mc = tx.prepare_cached(
            "INSERT INTO model_calls(ts, call_id, run_id, task_id, role, plugin, model, provider, input_tokens, output_tokens, cost_micro_usd, latency_ms, outcome, detail)
             VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14)",
        )?;
        for m in batch {
            match m {
                Msg::Invocation(r) => {
                    inv.execute(params![
                        r.call_id,
                        r.parent_call,
                        r.ts,
                        r.plugin,
                        r.digest,
                        r.trust,
                        r.grants,
                        r.input_bytes as i64,
                        r.outcome,
                        r.detail,
                        r.output_bytes as i64,
                        r.duration_us as i64,
                        r.cpu_us as i64,
                        r.peak_memory as i64,
                        r.stderr,
                        r.run_id,
                        r.client,
                        r.request_id
                    ])?;
                }
                Msg::Event(e) => {
                    ev.execute(params![
                        e.ts,
                        e.call_id,
                        e.plugin,
                        e.kind,
                        e.capability,
                        e.target,
                        e.message,
                        e.remedy,
                        e.run_id
                    ])?;
                }
                Msg::ModelCall(m) => {
                    mc.execute(params![
                        m.ts,
                        m.call_id,
                        m.run_id,
                        m.task_id,
                        m.role,
                        m.plugin,
                        m.model,
                        m.provider,
                        m.input_tokens as i64,
                        m.output_tokens as i64,
                        m.cost_micro_usd as i64,
                        m.latency_ms as i64,
                        m.outcome,
                        m.detail
                    ])?;
                }
                Msg::Flush(_) => {}
            }
        }
    }
    tx.commit()
}

/// One row of `factory log`.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum Entry {
    Invocation {
        id: i64,
        time: String,
        #[serde(flatten)]
        record: InvocationRecord,
    },
    Event {
        id: i64,
        time: String,
        #[serde(flatten)]
        record: EventRecord,
    },
}

impl Entry {
    fn ts(&self) -> i64 {
        match self {
            Entry::Invocation { record, .. } => record.ts,
            Entry::Event { record, .. } => record.ts,
        }
    }
}

/// Read the journal: the last `limit` invocations and events, oldest first,
/// optionally for one plugin and one run.
pub fn query(
    conn: &Connection,
    plugin: Option<&str>,
    run: Option<&str>,
    limit: usize,
) -> rusqlite::Result<Vec<Entry>> {
    let limit = limit as i64;
    let mut out = Vec::new();
    let mut inv = conn.prepare(
        "SELECT id, call_id, parent_call, ts, plugin, digest, trust, grants, input_bytes, outcome, detail, output_bytes, duration_us, cpu_us, peak_memory, stderr, run_id, client, request_id
         FROM invocations WHERE (?1 IS NULL OR plugin = ?1) AND (?3 IS NULL OR run_id = ?3) ORDER BY id DESC LIMIT ?2",
    )?;
    let rows = inv.query_map(params![plugin, limit, run], |r| {
        let record = InvocationRecord {
            call_id: r.get(1)?,
            parent_call: r.get(2)?,
            ts: r.get(3)?,
            plugin: r.get(4)?,
            digest: r.get(5)?,
            trust: r.get(6)?,
            grants: r.get(7)?,
            input_bytes: r.get::<_, i64>(8)? as u64,
            outcome: r.get(9)?,
            detail: r.get(10)?,
            output_bytes: r.get::<_, i64>(11)? as u64,
            duration_us: r.get::<_, i64>(12)? as u64,
            cpu_us: r.get::<_, i64>(13)? as u64,
            peak_memory: r.get::<_, i64>(14)? as u64,
            stderr: r.get(15)?,
            run_id: r.get(16)?,
            client: r.get(17)?,
            request_id: r.get(18)?,
        };
        Ok(Entry::Invocation {
            id: r.get(0)?,
            time: db::format_ms(record.ts),
            record,
        })
    })?;
    for row in rows {
        out.push(row?);
    }
    let mut ev = conn.prepare(
        "SELECT id, ts, call_id, plugin, kind, capability, target, message, remedy, run_id
         FROM events WHERE (?1 IS NULL OR plugin = ?1) AND (?3 IS NULL OR run_id = ?3) ORDER BY id DESC LIMIT ?2",
    )?;
    let rows = ev.query_map(params![plugin, limit, run], |r| {
        let (id, record) = event_row(r)?;
        Ok(Entry::Event {
            id,
            time: db::format_ms(record.ts),
            record,
        })
    })?;
    for row in rows {
        out.push(row?);
    }
    // Stable: by time, invocations after the events they contain.
    out.sort_by_key(|e| (e.ts(), matches!(e, Entry::Invocation { .. })));
    let skip = out.len().saturating_sub(limit as usize);
    Ok(out.split_off(skip))
}

/// Journal events after id `after`, oldest first, at most `limit`: a tail
/// of the journal as it grows (its ids only grow).
pub fn events_since(
    conn: &Connection,
    after: i64,
    limit: usize,
) -> rusqlite::Result<Vec<(i64, EventRecord)>> {
    let mut st = conn.prepare_cached(
        "SELECT id, ts, call_id, plugin, kind, capability, target, message, remedy, run_id
         FROM events WHERE id > ?1 ORDER BY id LIMIT ?2",
    )?;
    let rows = st.query_map(params![after, limit as i64], event_row)?;
    rows.collect()
}

/// The newest `limit` journal events of one kind (`denial`, …), newest
/// first.
pub fn recent_events(
    conn: &Connection,
    kind: &str,
    limit: usize,
) -> rusqlite::Result<Vec<(i64, EventRecord)>> {
    let mut st = conn.prepare_cached(
        "SELECT id, ts, call_id, plugin, kind, capability, target, message, remedy, run_id
         FROM events WHERE kind = ?1 ORDER BY id DESC LIMIT ?2",
    )?;
    let rows = st.query_map(params![kind, limit as i64], event_row)?;
    rows.collect()
}

fn event_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(i64, EventRecord)> {
    Ok((
        r.get(0)?,
        EventRecord {
            ts: r.get(1)?,
            call_id: r.get(2)?,
            plugin: r.get(3)?,
            kind: r.get(4)?,
            capability: r.get(5)?,
            target: r.get(6)?,
            message: r.get(7)?,
            remedy: r.get(8)?,
            run_id: r.get(9)?,
        },
    ))
}

/// The newest journal event's id (0 when there is none).
pub fn last_event_id(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row("SELECT COALESCE(MAX(id), 0) FROM events", [], |r| r.get(0))
}

impl factory_sandbox::Events for Journal {
    fn event(&self, e: EventRecord) {
        Journal::event(self, e)
    }
    fn invocation(&self, r: InvocationRecord) {
        Journal::invocation(self, r)
    }
    fn model_call(&self, r: ModelCallRecord) {
        Journal::model_call(self, r)
    }
}
