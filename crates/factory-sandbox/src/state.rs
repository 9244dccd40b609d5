//! The data of one store (one fresh instance): WASI contexts, the resource
//! table, the limiter, and one per-instance state per factory capability.

use crate::call::CallInfo;
use crate::caps;
use std::sync::Arc;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

/// Most resources (open files, streams, sockets…) one instance may hold.
pub const MAX_RESOURCES: usize = 1024;

pub struct InstanceState {
    pub call: Arc<CallInfo>,
    pub table: ResourceTable,
    pub wasi: WasiCtx,
    pub http: WasiHttpCtx,
    pub http_hooks: caps::net::http::HttpHooks,
    pub limiter: Limiter,
    pub stdout: MemoryOutputPipe,
    pub stderr: MemoryOutputPipe,
    pub log: caps::log::LogState,
    pub kv: caps::kv::KvState,
    pub tools: caps::tools::ToolsState,
    pub exec: caps::exec::ExecState,
    pub model: caps::model::ModelState,
    pub fs: caps::fs::FsState,
}

impl WasiView for InstanceState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for InstanceState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            hooks: &mut self.http_hooks,
            table: &mut self.table,
            ctx: &mut self.http,
        }
    }
}

/// Caps linear memory and tables; remembers the peak and whether a growth
/// was refused (which turns a later trap into a "memory limit" outcome).
pub struct Limiter {
    pub max_memory: usize,
    pub peak_memory: usize,
    pub memory_refused: bool,
}

const MAX_TABLE_ELEMENTS: usize = 1 << 20;

impl wasmtime::ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _max: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let _ = current;
        if desired > self.max_memory {
            self.memory_refused = true;
            return Ok(false);
        }
        self.peak_memory = self.peak_memory.max(desired);
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _max: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= MAX_TABLE_ELEMENTS)
    }

    fn instances(&self) -> usize {
        64
    }
    fn tables(&self) -> usize {
        64
    }
    fn memories(&self) -> usize {
        16
    }
}
