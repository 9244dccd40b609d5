//! Environment variables and arguments: the guest sees none of the host's,
//! except the variables granted by name (`--env NAME`). Its only argument is
//! its own plugin name.

use crate::call::CallInfo;
use wasmtime_wasi::WasiCtxBuilder;

pub fn configure(builder: &mut WasiCtxBuilder, call: &CallInfo) {
    builder.arg(&call.plugin);
    for name in &call.policy.env {
        if let Some(value) = std::env::var_os(name) {
            builder.env(name, value.to_string_lossy());
        }
    }
}
