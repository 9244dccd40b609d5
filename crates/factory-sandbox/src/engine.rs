//! The wasmtime engine: configuration, the epoch ticker that enforces
//! deadlines, and the key that ties a precompiled `.cwasm` to this engine.

use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use wasmtime::{Config, Enabled, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

/// How often the epoch advances; deadlines are rounded up to it.
pub const TICK: Duration = Duration::from_millis(5);

/// How often a cancellable call checks whether it was cancelled (and
/// yields to the other calls on its thread).
pub const CANCEL_CHECK: Duration = Duration::from_millis(25);

/// How much of a linear memory a fresh instance's reset may memset.
const KEEP_RESIDENT: usize = 2 << 20;

/// Largest linear memory any instance may get (the `full` ceiling).
const MAX_MEMORY: u64 = 4 << 30;

#[derive(Clone, Copy, Debug, Default)]
pub struct EngineOptions {
    /// Use the pooling allocator: faster for many calls in one process,
    /// slightly slower for a single cold call. Falls back to on-demand
    /// allocation (with a warning) when the reservation fails.
    pub pooling: bool,
}

fn base_config() -> Config {
    let mut cfg = Config::new();
    cfg.epoch_interruption(true)
        .wasm_component_model(true)
        .concurrency_support(false)
        .memory_reservation(MAX_MEMORY)
        .max_wasm_stack(1 << 20);
    cfg
}

/// Whether this kernel has the PAGEMAP_SCAN ioctl (Linux 6.7 and later).
fn pagemap_scan_supported() -> bool {
    let Ok(release) = std::fs::read_to_string("/proc/sys/kernel/osrelease") else {
        return false;
    };
    let mut parts = release
        .trim()
        .split(|c: char| !c.is_ascii_digit())
        .map(|n| n.parse::<u32>().unwrap_or(0));
    let (major, minor) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    (major, minor) >= (6, 7)
}

/// Build the engine. Returns whether pooling is in use.
pub fn build(opts: EngineOptions) -> wasmtime::Result<(Engine, bool)> {
    if opts.pooling {
        let mut pool = PoolingAllocationConfig::new();
        pool.total_component_instances(256)
            .total_core_instances(2048)
            .total_memories(256)
            .total_tables(2048)
            .total_stacks(256)
            .max_memory_size(MAX_MEMORY as usize)
            // Reset what a guest dirtied by memset, found with Linux's
            // PAGEMAP_SCAN (6.7+), instead of madvise: an madvise is a TLB
            // shootdown on every core running one of the process's threads
            // (the journal writer, the epoch ticker). Measured here, it
            // halves a fresh instance. Without PAGEMAP_SCAN the low bytes
            // kept resident are memset whether dirty or not, so fewer are.
            .pagemap_scan(Enabled::Auto)
            .linear_memory_keep_resident(if pagemap_scan_supported() {
                KEEP_RESIDENT
            } else {
                64 << 10
            })
            .table_keep_resident(16 << 10);
        let mut cfg = base_config();
        cfg.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        match Engine::new(&cfg) {
            Ok(e) => return Ok((e, true)),
            Err(e) => {
                tracing::warn!("pooling allocator unavailable ({e:#}); using on-demand allocation")
            }
        }
    }
    Ok((Engine::new(&base_config())?, false))
}

/// A short stable key of everything that makes a `.cwasm` loadable by `engine`.
pub fn key(engine: &Engine) -> String {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut h);
    format!("{:016x}", h.finish())
}

/// Advances the engine's epoch every [`TICK`] until dropped.
pub struct EpochTicker {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl EpochTicker {
    pub fn start(engine: &Engine) -> Self {
        let engine = engine.weak();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("factory-epoch".into())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    // Parked, not slept: dropping the ticker wakes it at
                    // once instead of waiting out a tick (a cold CLI call
                    // would otherwise spend one tick on exit).
                    std::thread::park_timeout(TICK);
                    if flag.load(Ordering::Relaxed) {
                        break;
                    }
                    match engine.upgrade() {
                        Some(e) => e.increment_epoch(),
                        None => break,
                    }
                }
            })
            .expect("spawn epoch thread");
        EpochTicker {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            t.thread().unpark();
            let _ = t.join();
        }
    }
}

/// Epoch ticks for a deadline, rounded up, at least one.
pub fn ticks(deadline: Duration) -> u64 {
    (deadline.as_nanos().div_ceil(TICK.as_nanos()) as u64).max(1)
}
