//! `factory:plugin/log`: always available. Lines go to the journal (and to
//! `tracing`); their total size is capped by the plugin's output cap, and
//! what is dropped past it is counted and recorded once at the end.

use crate::bindings::imports::factory::plugin::log::{Host, Level};
use crate::runtime::call::CallInfo;
use crate::runtime::state::InstanceState;
use std::sync::Arc;
use wasmtime::component::{HasSelf, Linker};

pub struct LogState {
    pub call: Arc<CallInfo>,
    pub bytes: u64,
    pub dropped: u64,
}

impl LogState {
    pub fn new(call: Arc<CallInfo>) -> Self {
        LogState {
            call,
            bytes: 0,
            dropped: 0,
        }
    }

    /// Record how many lines were dropped, if any.
    pub fn finish(&self) {
        if self.dropped > 0 {
            self.call.event(
                "log",
                "log",
                format!("{} log lines dropped past the output cap", self.dropped),
            );
        }
    }
}

impl Host for LogState {
    async fn log(&mut self, level: Level, message: String) -> wasmtime::Result<()> {
        let cap = self.call.policy.limits.max_output;
        if self.bytes + message.len() as u64 > cap {
            self.dropped += 1;
            return Ok(());
        }
        self.bytes += message.len() as u64;
        let level = match level {
            Level::Trace => "trace",
            Level::Debug => "debug",
            Level::Info => "info",
            Level::Warn => "warn",
            Level::Error => "error",
        };
        tracing::debug!(plugin = %self.call.plugin, level, "{message}");
        self.call.event("log", level, message);
        Ok(())
    }
}

pub fn add_to_linker(linker: &mut Linker<InstanceState>) -> wasmtime::Result<()> {
    crate::bindings::imports::factory::plugin::log::add_to_linker::<_, HasSelf<LogState>>(
        linker,
        |s| &mut s.log,
    )
}
