//! Filesystem: each granted directory is preopened at its own absolute path,
//! read-only or read-write. wasmtime-wasi (cap-std underneath) resolves every
//! path inside its preopen: `..`, absolute paths and symlinks that leave the
//! directory fail with `not-permitted`. The guard below wraps the
//! path-taking methods of `wasi:filesystem/types` so that each refusal is
//! also journaled with the path that was tried.
//!
//! A path outside every granted directory would fail inside the guest's libc
//! (no preopen matches it) and never reach the host, so nobody would see the
//! attempt. The guest therefore also sees a preopen `/`: an empty directory
//! of the host's on which every path operation is refused and journaled
//! (`open-at /etc`, "outside the granted directories"). Granted directories
//! are longer prefixes, so libc resolves paths inside them as before.
//!
//! Git metadata is the host's: no write grant covers a path with a `.git`
//! component (a worktree's `.git` file, a `.git/` directory planted beside
//! it, a `sub/.git/config`), nor a link that points at one. The host's own
//! git never reads such files either (`orchestrator/git.rs`), so this is a
//! second wall, and each attempt is journaled.

use crate::call::CallInfo;
use crate::state::InstanceState;
use crate::trust::CapabilityKind;
use std::path::Path;
use std::sync::Arc;
use wasmtime::component::{Linker, Resource};
use wasmtime_wasi::filesystem::Dir;
use wasmtime_wasi::p2::FsError;
use wasmtime_wasi::p2::bindings::filesystem::types::{
    Descriptor, DescriptorFlags, ErrorCode, HostDescriptor, NewTimestamp, OpenFlags, PathFlags,
};
use wasmtime_wasi::{FsPerms, OpenMode, WasiCtxBuilder};

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

/// Per-instance filesystem state: the descriptors handed out as the `/`
/// sentinel (see the module docs).
pub struct FsState {
    empty_root: Arc<std::fs::File>,
    sentinels: Vec<u32>,
    /// The path each opened descriptor was opened with, to name the file
    /// in a quota refusal (a reused handle is re-recorded when opened).
    opened: std::collections::HashMap<u32, String>,
}

impl FsState {
    pub fn new(empty_root: Arc<std::fs::File>) -> FsState {
        FsState {
            empty_root,
            sentinels: Vec::new(),
            opened: Default::default(),
        }
    }

    fn is_sentinel(&self, fd: &Resource<Descriptor>) -> bool {
        self.sentinels.contains(&fd.rep())
    }

    /// The path `fd` was opened with, for messages.
    fn name(&self, fd: &Resource<Descriptor>) -> String {
        self.opened
            .get(&fd.rep())
            .cloned()
            .unwrap_or_else(|| "(file)".into())
    }
}

/// The host's empty directory behind the `/` sentinel (`Home::empty_root`,
/// created with the home); it must stay empty.
pub fn open_empty_root(dir: &Path) -> std::io::Result<std::fs::File> {
    std::fs::create_dir_all(dir)?;
    if std::fs::read_dir(dir)?.next().is_some() {
        return Err(std::io::Error::other(format!(
            "{} must be empty (it is what plugins see at `/`)",
            dir.display()
        )));
    }
    std::fs::File::open(dir)
}

/// `get-directories` with the sentinel `/` added (unless `/` itself is granted).
fn get_directories(
    state: &mut InstanceState,
) -> wasmtime::Result<Vec<(Resource<Descriptor>, String)>> {
    let mut dirs = {
        let mut v = wasmtime_wasi::filesystem::WasiFilesystemView::filesystem(state);
        wasmtime_wasi::p2::bindings::filesystem::preopens::Host::get_directories(&mut v)?
    };
    if dirs.iter().all(|(_, name)| name != "/") {
        let file = state.fs.empty_root.try_clone()?;
        let dir = Dir::new(file, FsPerms::ReadOnly, OpenMode::READ, false);
        let fd = state.table.push(Descriptor::Dir(dir))?;
        state.fs.sentinels.push(fd.rep());
        dirs.push((fd, "/".to_string()));
    }
    Ok(dirs)
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

/// Whether `path` has a `.git` component (any case: case-insensitive
/// filesystems and git's own checks treat `.GIT` alike).
pub fn touches_git_metadata(path: &str) -> bool {
    path.split(['/', '\\'])
        .any(|c| c.eq_ignore_ascii_case(".git"))
}

fn refuse_git(call: &CallInfo, op: &str, path: &str) {
    call.deny(
        CapabilityKind::Write,
        &format!("{op} {path}"),
        "git metadata (`.git`) is the host's; no grant lets a plugin write it",
        None,
    );
}

/// The write quota of the run step this call belongs to (none outside a
/// run).
fn step_quota(call: &CallInfo) -> Option<Arc<crate::caps::quota::Quota>> {
    call.account.as_ref().and_then(|a| a.write_quota())
}

/// Journal a quota refusal (once per step: a loop that keeps trying is
/// refused each time, but journaled once).
fn over_quota(
    call: &CallInfo,
    q: &crate::caps::quota::Quota,
    op: &str,
    path: &str,
    why: &crate::caps::quota::OverQuota,
) {
    if q.first_refusal(why) {
        call.event("limit", "write", format!("{op} {path}: write quota: {why}"));
    }
}

type FsResult<T> = Result<T, FsError>;

/// Split an `FsError` into the guest-visible code, or a trap.
fn code(e: FsError) -> wasmtime::Result<ErrorCode> {
    e.downcast()
}

macro_rules! guarded {
    ($linker:ident, $name:literal, ($($arg:ident : $ty:ty),*), $ret:ty, $write:expr, $path:ident $(< $from:ident)?, [$($fd:ident),+], |$v:ident| $call:expr) => {
        guarded!($linker, $name, ($($arg : $ty),*), $ret, $write, false, $path $(< $from)?, [$($fd),+], |$v| $call)
    };
    ($linker:ident, $name:literal, ($($arg:ident : $ty:ty),*), $ret:ty, $write:expr, $creates:expr, $path:ident $(< $from:ident)?, [$($fd:ident),+], |$v:ident| $call:expr) => {{
        $linker.func_wrap_async(
            $name,
            |mut store: wasmtime::StoreContextMut<'_, InstanceState>, ($($arg,)*): ($($ty,)*)| {
                Box::new(async move {
                    let state = store.data_mut();
                    let call = state.call.clone();
                    let shown = $path.clone();
                    let write: bool = $write;
                    let op = $name.trim_start_matches("[method]descriptor.");
                    if [$(&$fd),+].into_iter().any(|fd| state.fs.is_sentinel(fd)) {
                        let shown = format!("/{}", shown.trim_start_matches('/'));
                        record(&call, write, op, &shown);
                        return Ok((Err(ErrorCode::NotPermitted),));
                    }
                    // The source of a link or rename counts too: a link
                    // to git metadata opens it later under another name,
                    // and moving it away lets something replace it.
                    let from: Option<&String> = None $(.or(Some(&$from)))?;
                    if write && (touches_git_metadata(&shown) || from.is_some_and(|f| touches_git_metadata(f))) {
                        let shown = match from {
                            Some(f) => format!("{f} -> {shown}"),
                            None => shown,
                        };
                        refuse_git(&call, op, &shown);
                        return Ok((Err(ErrorCode::NotPermitted),));
                    }
                    let creates: bool = $creates;
                    if creates && let Some(q) = step_quota(&call) {
                        if let Err(why) = q.create() {
                            over_quota(&call, &q, op, &shown, &why);
                            return Ok((Err(ErrorCode::Quota),));
                        }
                    }
                    let mut $v = wasmtime_wasi::filesystem::WasiFilesystemView::filesystem(state);
                    let result: FsResult<$ret> = $call.await;
                    match result {
                        Ok(v) => {
                            v.remember(&mut store.data_mut().fs, shown);
                            Ok((Ok(v),))
                        }
                        Err(e) => {
                            let c = code(e)?;
                            if is_refusal(&c) {
                                record(&call, write || matches!(c, ErrorCode::ReadOnly), op, &shown);
                            }
                            Ok((Err(c),))
                        }
                    }
                })
            },
        )?;
    }};
}

/// What a path operation's result leaves to remember: the path of a
/// descriptor `open-at` returned (to name the file in a quota refusal);
/// nothing for the other results.
trait Remember {
    fn remember(&self, fs: &mut FsState, path: String) {
        let _ = (fs, path);
    }
}

impl Remember for Resource<Descriptor> {
    fn remember(&self, fs: &mut FsState, path: String) {
        fs.opened.insert(self.rep(), path);
    }
}
impl Remember for () {}
impl Remember for String {}
impl Remember for wasmtime_wasi::p2::bindings::filesystem::types::DescriptorStat {}

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
        of.contains(OpenFlags::CREATE),
        path, [fd], |v| HostDescriptor::open_at(&mut v, fd, pf, path, of, flags));
    guarded!(l, "[method]descriptor.create-directory-at", (fd: Resource<Descriptor>, path: String), (), true, true, path, [fd],
        |v| HostDescriptor::create_directory_at(&mut v, fd, path));
    guarded!(l, "[method]descriptor.remove-directory-at", (fd: Resource<Descriptor>, path: String), (), true, path, [fd],
        |v| HostDescriptor::remove_directory_at(&mut v, fd, path));
    guarded!(l, "[method]descriptor.unlink-file-at", (fd: Resource<Descriptor>, path: String), (), true, path, [fd],
        |v| HostDescriptor::unlink_file_at(&mut v, fd, path));
    guarded!(l, "[method]descriptor.symlink-at", (fd: Resource<Descriptor>, old: String, path: String), (), true, path < old, [fd],
        |v| HostDescriptor::symlink_at(&mut v, fd, old, path));
    guarded!(l, "[method]descriptor.readlink-at", (fd: Resource<Descriptor>, path: String), String, false, path, [fd],
        |v| HostDescriptor::readlink_at(&mut v, fd, path));
    guarded!(l, "[method]descriptor.stat-at",
        (fd: Resource<Descriptor>, pf: PathFlags, path: String),
        wasmtime_wasi::p2::bindings::filesystem::types::DescriptorStat, false, path, [fd],
        |v| HostDescriptor::stat_at(&mut v, fd, pf, path));
    guarded!(l, "[method]descriptor.set-times-at",
        (fd: Resource<Descriptor>, pf: PathFlags, path: String, a: NewTimestamp, m: NewTimestamp), (), true, path, [fd],
        |v| HostDescriptor::set_times_at(&mut v, fd, pf, path, a, m));
    guarded!(l, "[method]descriptor.rename-at",
    (fd: Resource<Descriptor>, old: String, nfd: Resource<Descriptor>, path: String), (), true, path < old, [fd, nfd],
        |v| HostDescriptor::rename_at(&mut v, fd, old, nfd, path));
    guarded!(l, "[method]descriptor.link-at",
    (fd: Resource<Descriptor>, pf: PathFlags, old: String, nfd: Resource<Descriptor>, path: String), (), true, path < old, [fd, nfd],
        |v| HostDescriptor::link_at(&mut v, fd, pf, old, nfd, path));
    quota_writes(l)?;
    let mut pre = linker.instance("wasi:filesystem/preopens@0.2.12")?;
    pre.func_wrap(
        "get-directories",
        |mut store: wasmtime::StoreContextMut<'_, InstanceState>, (): ()| {
            Ok((get_directories(store.data_mut())?,))
        },
    )?;
    linker.allow_shadowing(false);
    Ok(())
}

/// The write paths of `wasi:filesystem/types` under the step's quota:
/// positional writes, write and append streams (wrapped to count), and
/// `set-size` (a sparse terabyte is a file size too).
fn quota_writes(
    l: &mut wasmtime::component::LinkerInstance<'_, InstanceState>,
) -> wasmtime::Result<()> {
    use crate::caps::quota::Counted;
    use wasmtime_wasi::p2::DynOutputStream;
    type Stream = Resource<DynOutputStream>;

    fn wrap(
        state: &mut InstanceState,
        stream: Stream,
        at: Option<u64>,
        name: String,
    ) -> wasmtime::Result<Stream> {
        let Some(q) = step_quota(&state.call) else {
            return Ok(stream);
        };
        let inner: DynOutputStream = state.table.delete(stream)?;
        let call = state.call.clone();
        let quota = q.clone();
        let wrapped: DynOutputStream = Box::new(Counted {
            inner,
            quota: q,
            at,
            on_refusal: Box::new(move |why| over_quota(&call, &quota, "write", &name, why)),
        });
        Ok(state.table.push(wrapped)?)
    }

    l.func_wrap(
        "[method]descriptor.write-via-stream",
        |mut store: wasmtime::StoreContextMut<'_, InstanceState>,
         (fd, offset): (Resource<Descriptor>, u64)| {
            let state = store.data_mut();
            let name = state.fs.name(&fd);
            let r = {
                let mut v = wasmtime_wasi::filesystem::WasiFilesystemView::filesystem(state);
                HostDescriptor::write_via_stream(&mut v, fd, offset)
            };
            match r {
                Ok(s) => Ok((Ok(wrap(state, s, Some(offset), name)?),)),
                Err(e) => Ok((Err(code(e)?),)),
            }
        },
    )?;
    l.func_wrap(
        "[method]descriptor.append-via-stream",
        |mut store: wasmtime::StoreContextMut<'_, InstanceState>,
         (fd,): (Resource<Descriptor>,)| {
            let state = store.data_mut();
            let name = state.fs.name(&fd);
            let r = {
                let mut v = wasmtime_wasi::filesystem::WasiFilesystemView::filesystem(state);
                HostDescriptor::append_via_stream(&mut v, fd)
            };
            match r {
                Ok(s) => Ok((Ok(wrap(state, s, None, name)?),)),
                Err(e) => Ok((Err(code(e)?),)),
            }
        },
    )?;
    l.func_wrap_async(
        "[method]descriptor.write",
        |mut store: wasmtime::StoreContextMut<'_, InstanceState>,
         (fd, buf, offset): (Resource<Descriptor>, Vec<u8>, u64)| {
            Box::new(async move {
                let state = store.data_mut();
                let call = state.call.clone();
                if let Some(q) = step_quota(&call) {
                    let n = buf.len() as u64;
                    if let Err(why) = q.write(n, Some(offset.saturating_add(n))) {
                        over_quota(&call, &q, "write", &state.fs.name(&fd), &why);
                        return Ok((Err(ErrorCode::Quota),));
                    }
                }
                let mut v = wasmtime_wasi::filesystem::WasiFilesystemView::filesystem(state);
                match HostDescriptor::write(&mut v, fd, buf, offset).await {
                    Ok(n) => Ok((Ok(n),)),
                    Err(e) => Ok((Err(code(e)?),)),
                }
            })
        },
    )?;
    l.func_wrap_async(
        "[method]descriptor.set-size",
        |mut store: wasmtime::StoreContextMut<'_, InstanceState>,
         (fd, size): (Resource<Descriptor>, u64)| {
            Box::new(async move {
                let state = store.data_mut();
                let call = state.call.clone();
                if let Some(q) = step_quota(&call)
                    && let Err(why) = q.set_size(size)
                {
                    over_quota(&call, &q, "set-size", &state.fs.name(&fd), &why);
                    return Ok((Err(ErrorCode::FileTooLarge),));
                }
                let mut v = wasmtime_wasi::filesystem::WasiFilesystemView::filesystem(state);
                match HostDescriptor::set_size(&mut v, fd, size).await {
                    Ok(()) => Ok((Ok(()),)),
                    Err(e) => Ok((Err(code(e)?),)),
                }
            })
        },
    )?;
    Ok(())
}

#[cfg(test)]
mod tests;
