//! The CPU time of one call, without two clock syscalls on every call.
//!
//! Reading a thread's CPU clock is a system call (about as costly as a tenth
//! of a whole no-op invocation here). A call that never yields ran on this
//! thread the whole time, so its CPU time is its wall time; the thread clock
//! is read only once the call first yields (awaits host I/O, a sleep, a
//! nested call), and from then on it counts.

use std::future::Future;
use std::time::{Duration, Instant};

/// Where a call first yielded: when, and this thread's CPU clock then.
#[derive(Clone, Copy, Debug)]
pub struct FirstYield(Instant, Duration);

/// Run `fut`, noting when it first yields.
pub async fn watch<F: Future>(fut: F) -> (F::Output, Option<FirstYield>) {
    let mut fut = std::pin::pin!(fut);
    let mut first = None;
    let out = std::future::poll_fn(|cx| {
        let p = fut.as_mut().poll(cx);
        if p.is_pending() && first.is_none() {
            first = Some(FirstYield(Instant::now(), thread_cpu()));
        }
        p
    })
    .await;
    (out, first)
}

/// CPU time from `started` to now: wall time up to the first yield, then
/// this thread's CPU clock. (A call that migrates to another thread of the
/// runtime after yielding under-reports.)
pub fn since(started: Instant, first: Option<FirstYield>) -> Duration {
    match first {
        None => started.elapsed(),
        Some(FirstYield(at, cpu)) => {
            at.saturating_duration_since(started) + thread_cpu().saturating_sub(cpu)
        }
    }
}

fn thread_cpu() -> Duration {
    cpu_time::ThreadTime::try_now()
        .map(|t| t.as_duration())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_call_that_never_yields_costs_its_wall_time() {
        let started = Instant::now();
        let (v, first) = watch(async { 7 }).await;
        assert_eq!(v, 7);
        assert!(first.is_none());
        assert!(since(started, first) <= started.elapsed());
    }

    #[tokio::test]
    async fn time_asleep_after_a_yield_is_not_cpu_time() {
        let started = Instant::now();
        let ((), first) = watch(tokio::time::sleep(Duration::from_millis(50))).await;
        assert!(first.is_some());
        let cpu = since(started, first);
        let wall = started.elapsed();
        assert!(wall >= Duration::from_millis(50));
        assert!(cpu < wall / 2, "cpu {cpu:?} wall {wall:?}");
    }
}
