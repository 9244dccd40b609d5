//! `factory:plugin/log`: always available. Lines go to the journal (and to
//! `tracing`); their total size is capped by the plugin's output cap, and
//! what is dropped past it is counted and recorded once at the end.

use crate::bindings::imports::factory::plugin::log::{Host, Level};
use crate::call::CallInfo;
use crate::state::InstanceState;
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
        if let Some(sink) = &self.call.on_log {
            sink(level, &message);
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hooks::MemoryEvents;
    use crate::policy::LimitOverrides;
    use crate::trust::TrustLevel;

    #[tokio::test]
    async fn lines_are_recorded_until_the_output_cap_then_counted_once() {
        let events = Arc::new(MemoryEvents::default());
        let policy = crate::policy::compile(
            "p",
            TrustLevel::Untrusted,
            &[],
            &LimitOverrides {
                max_output: Some(100),
                ..Default::default()
            },
        );
        let mut call = CallInfo::for_test("p", TrustLevel::Untrusted, &[], events.clone());
        Arc::get_mut(&mut call).unwrap().policy = Arc::new(policy);
        let mut log = LogState::new(call);
        log.log(Level::Info, "x".repeat(60)).await.unwrap();
        log.log(Level::Warn, "y".repeat(30)).await.unwrap();
        // Past the cap: dropped, not recorded.
        log.log(Level::Error, "z".repeat(30)).await.unwrap();
        log.log(Level::Error, "z".repeat(30)).await.unwrap();
        log.finish();
        let lines = events.events();
        assert_eq!(lines.len(), 3, "{lines:?}");
        assert_eq!(lines[0].capability, "info");
        assert_eq!(lines[1].capability, "warn");
        assert_eq!(lines[2].message, "2 log lines dropped past the output cap");
        assert!(lines.iter().all(|e| e.kind == "log" && e.plugin == "p"));
    }

    #[tokio::test]
    async fn nothing_dropped_records_nothing_more() {
        let events = Arc::new(MemoryEvents::default());
        let call = CallInfo::for_test("p", TrustLevel::Untrusted, &[], events.clone());
        let mut log = LogState::new(call);
        log.log(Level::Debug, "one".into()).await.unwrap();
        log.finish();
        assert_eq!(events.events().len(), 1);
    }
}
