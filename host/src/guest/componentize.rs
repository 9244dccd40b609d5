//! A WASI preview-1 core module (what clang, Go and AssemblyScript produce)
//! into a component of a `factory:plugin` world: embed the world's type
//! information and adapt the preview-1 imports with wasmtime 48's reactor
//! adapter.

use super::{GuestError, resolve};
use std::path::Path;
use wasi_preview1_component_adapter_provider::{
    WASI_SNAPSHOT_PREVIEW1_ADAPTER_NAME, WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER,
};

/// The reactor adapter's bytes (for `wasm-tools component new --adapt`).
pub fn reactor_adapter() -> &'static [u8] {
    WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER
}

/// Componentize `module` for `world` (from `wit`, or the embedded package).
pub fn componentize(module: &[u8], wit: Option<&Path>, world: &str) -> Result<Vec<u8>, GuestError> {
    if !module.starts_with(b"\0asm") {
        return Err(GuestError::Generate(
            "not a WebAssembly module (it does not start with \\0asm)".into(),
        ));
    }
    if module.get(4..8) != Some(&[1, 0, 0, 0]) {
        return Err(GuestError::Generate(
            "the input is already a component, not a core module".into(),
        ));
    }
    let (resolve, id) = resolve(wit, world)?;
    let mut bytes = module.to_vec();
    wit_component::embed_component_metadata(
        &mut bytes,
        &resolve,
        id,
        wit_component::StringEncoding::UTF8,
    )
    .map_err(|e| GuestError::Generate(format!("embedding the world: {e:#}")))?;
    wit_component::ComponentEncoder::default()
        .module(&bytes)
        .and_then(|enc| {
            enc.validate(true).adapter(
                WASI_SNAPSHOT_PREVIEW1_ADAPTER_NAME,
                WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER,
            )
        })
        .and_then(|enc| enc.encode())
        .map_err(|e| GuestError::Generate(format!("{e:#}")))
}
