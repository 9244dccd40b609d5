//! Filesystem: each granted directory is preopened at its own absolute path,
//! read-only or read-write. wasmtime-wasi (cap-std underneath) resolves every
//! path inside its preopen: `..`, absolute paths and symlinks that leave the
//! directory fail with `not-permitted`. The guard below wraps the
//! path-taking methods of `wasi:filesystem/types` so that each refusal is
//! also journaled with the path that was tried.

use crate::runtime::call::CallInfo;
use crate::runtime::state::InstanceState;
use crate::trust::CapabilityKind;
use wasmtime::component::{Linker, Resource};
use wasmtime_wasi::p2::FsError;
use wasmtime_wasi::p2::bindings::filesystem::types::{
    Descriptor, DescriptorFlags, ErrorCode, HostDescriptor, NewTimestamp, OpenFlags, PathFlags,
};
use wasmtime_wasi::{FsPerms, WasiCtxBuilder};

/// Preopen the granted directories of this call.
pub fn configure(builder: &mut WasiCtxBuilder, call: &CallInfo) {
    for (dir, access) in &call.policy.dirs {
        let perms = match access {
            crate::policy::Access::ReadOnly => FsPerms::ReadOnly,
            crate::policy::Access::ReadWrite => FsPerms::ReadWrite,
        };
        let Some(guest) = dir.to_str() else { continue };
        if let Err(e) = builder.preopened_dir(dir, guest, perms) {
            call.event(
                "warning",
                "read",
                format!(
                    "granted directory {} could not be opened: {e}",
                    dir.display()
                ),
            );
        }
    }
}

/// Whether an error from a path operation is a refusal worth journaling.
fn is_refusal(e: &ErrorCode) -> bool {
    matches!(
        e,
        ErrorCode::NotPermitted | ErrorCode::Access | ErrorCode::ReadOnly
    )
}

fn record(call: &CallInfo, write: bool, op: &str, path: &str) {
    let kind = if write {
        CapabilityKind::Write
    } else {
        CapabilityKind::Read
    };
    call.deny(
        kind,
        &format!("{op} {path}"),
        if write {
            "the path is outside the read-write grants (or escapes its directory)"
        } else {
            "the path is outside the granted directories (or escapes them)"
        },
        Some(&format!("--{} DIR", if write { "write" } else { "read" })),
    );
}

type FsResult<T> = Result<T, FsError>;

/// Split an `FsError` into the guest-visible code, or a trap.
fn code(e: FsError) -> wasmtime::Result<ErrorCode> {
    e.downcast()
}

macro_rules! guarded {
    ($linker:ident, $name:literal, ($($arg:ident : $ty:ty),*), $ret:ty, $write:expr, $path:ident, |$v:ident| $call:expr) => {{
        $linker.func_wrap_async(
            $name,
            |mut store: wasmtime::StoreContextMut<'_, InstanceState>, ($($arg,)*): ($($ty,)*)| {
                Box::new(async move {
                    let state = store.data_mut();
                    let call = state.call.clone();
                    let shown = $path.clone();
                    let write: bool = $write;
                    let mut $v = wasmtime_wasi::filesystem::WasiFilesystemView::filesystem(state);
                    let result: FsResult<$ret> = $call.await;
                    match result {
                        Ok(v) => Ok((Ok(v),)),
                        Err(e) => {
                            let c = code(e)?;
                            if is_refusal(&c) {
                                record(&call, write || matches!(c, ErrorCode::ReadOnly), $name.trim_start_matches("[method]descriptor."), &shown);
                            }
                            Ok((Err(c),))
                        }
                    }
                })
            },
        )?;
    }};
}

/// Shadow the path-taking methods of `wasi:filesystem/types` with journaled
/// versions. Call after the WASI interfaces are in the linker.
pub fn add_to_linker(linker: &mut Linker<InstanceState>) -> wasmtime::Result<()> {
    linker.allow_shadowing(true);
    let mut inst = linker.instance("wasi:filesystem/types@0.2.12")?;
    let l = &mut inst;
    guarded!(l, "[method]descriptor.open-at",
        (fd: Resource<Descriptor>, pf: PathFlags, path: String, of: OpenFlags, flags: DescriptorFlags),
        Resource<Descriptor>,
        flags.contains(DescriptorFlags::WRITE) || flags.contains(DescriptorFlags::MUTATE_DIRECTORY) || of.contains(OpenFlags::CREATE) || of.contains(OpenFlags::TRUNCATE),
        path, |v| HostDescriptor::open_at(&mut v, fd, pf, path, of, flags));
    guarded!(l, "[method]descriptor.create-directory-at", (fd: Resource<Descriptor>, path: String), (), true, path,
        |v| HostDescriptor::create_directory_at(&mut v, fd, path));
    guarded!(l, "[method]descriptor.remove-directory-at", (fd: Resource<Descriptor>, path: String), (), true, path,
        |v| HostDescriptor::remove_directory_at(&mut v, fd, path));
    guarded!(l, "[method]descriptor.unlink-file-at", (fd: Resource<Descriptor>, path: String), (), true, path,
        |v| HostDescriptor::unlink_file_at(&mut v, fd, path));
    guarded!(l, "[method]descriptor.symlink-at", (fd: Resource<Descriptor>, old: String, path: String), (), true, path,
        |v| HostDescriptor::symlink_at(&mut v, fd, old, path));
    guarded!(l, "[method]descriptor.readlink-at", (fd: Resource<Descriptor>, path: String), String, false, path,
        |v| HostDescriptor::readlink_at(&mut v, fd, path));
    guarded!(l, "[method]descriptor.stat-at",
        (fd: Resource<Descriptor>, pf: PathFlags, path: String),
        wasmtime_wasi::p2::bindings::filesystem::types::DescriptorStat, false, path,
        |v| HostDescriptor::stat_at(&mut v, fd, pf, path));
    guarded!(l, "[method]descriptor.set-times-at",
        (fd: Resource<Descriptor>, pf: PathFlags, path: String, a: NewTimestamp, m: NewTimestamp), (), true, path,
        |v| HostDescriptor::set_times_at(&mut v, fd, pf, path, a, m));
    guarded!(l, "[method]descriptor.rename-at",
        (fd: Resource<Descriptor>, old: String, nfd: Resource<Descriptor>, path: String), (), true, path,
        |v| HostDescriptor::rename_at(&mut v, fd, old, nfd, path));
    guarded!(l, "[method]descriptor.link-at",
        (fd: Resource<Descriptor>, pf: PathFlags, old: String, nfd: Resource<Descriptor>, path: String), (), true, path,
        |v| HostDescriptor::link_at(&mut v, fd, pf, old, nfd, path));
    linker.allow_shadowing(false);
    Ok(())
}
