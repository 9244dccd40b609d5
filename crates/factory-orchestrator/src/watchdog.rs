//! The last line of the wall budget: a thread that outlives any host work
//! that stops yielding (a pathological match, a blocking call). If a run is
//! still going `GRACE` after its wall time, the thread records the run as
//! failed, with the reason, and ends the process: nothing else can stop a
//! thread that does not yield. `factory resume` can take the run up again.

use super::Ctx;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// How long past the wall time the phases get to end by themselves.
pub const GRACE: Duration = Duration::from_secs(60);

pub struct Watchdog {
    done: Arc<AtomicBool>,
}

impl Watchdog {
    pub fn arm(ctx: &Ctx, after: Duration) -> Watchdog {
        let done = Arc::new(AtomicBool::new(false));
        let flag = done.clone();
        let db = ctx.host.home().db_path();
        let run_id = ctx.run_id.clone();
        let deadline = Instant::now() + after;
        let spawned = std::thread::Builder::new()
            .name(format!("watchdog-{run_id}"))
            .spawn(move || {
                while Instant::now() < deadline {
                    if flag.load(Ordering::Acquire) {
                        return;
                    }
                    std::thread::sleep(
                        deadline
                            .saturating_duration_since(Instant::now())
                            .min(Duration::from_millis(500)),
                    );
                }
                if flag.load(Ordering::Acquire) {
                    return;
                }
                let reason = "budget: the run's wall time ran out while host work did not yield; \
                              the process was stopped (factory resume takes the run up again)";
                if let Ok(store) = super::store::Store::open(&db) {
                    let _ = store.set_run_status(&run_id, super::state::RunStatus::Failed, reason);
                }
                eprintln!("factory: run {run_id}: {reason}");
                std::process::exit(3);
            });
        if let Err(e) = spawned {
            tracing::error!("cannot start the run's watchdog: {e}");
        }
        Watchdog { done }
    }

    pub fn disarm(self) {
        self.done.store(true, Ordering::Release);
    }
}
