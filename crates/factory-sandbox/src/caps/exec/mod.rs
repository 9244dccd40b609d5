//! `factory:plugin/exec`: running granted programs on the host inside
//! bubblewrap: every namespace unshared (so no network), a read-only system
//! (`/usr`, `/bin`, `/lib*`, a few files of `/etc`), a private `/tmp`, the
//! plugin's granted directories at their own paths with their own access, an
//! empty environment, a time limit and an output cap. If the sandbox cannot
//! start, the command is refused: it is never run unsandboxed.

use crate::bindings::ErrorCode;
use crate::bindings::imports::factory::plugin::exec::{Command, Host, Output};
use crate::call::CallInfo;
use crate::caps::CapError;
use crate::policy::Access;
use crate::state::InstanceState;
use crate::trust::CapabilityKind;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use wasmtime::component::{HasSelf, Linker};

const BWRAP: &str = "bwrap";

/// Find `name` on the host's PATH.
pub use factory_policy::which;

/// Why no command can run here: the sandbox cannot start (commands never
/// run unsandboxed).
#[derive(Clone, Debug, thiserror::Error)]
pub enum SandboxUnavailable {
    #[error("bubblewrap (`bwrap`) is not installed: apt-get install bubblewrap")]
    NotInstalled,
    #[error("bubblewrap cannot create a sandbox here: {0}")]
    Refused(String),
    #[error("bubblewrap failed to start: {0}")]
    Start(String),
}

/// Whether bubblewrap works here: checked once per process by running `true`
/// in the same sandbox shape. Err says why not.
pub fn sandbox_available() -> Result<(), SandboxUnavailable> {
    static PROBE: OnceLock<Result<(), SandboxUnavailable>> = OnceLock::new();
    PROBE
        .get_or_init(|| {
            let bwrap = which(BWRAP).ok_or(SandboxUnavailable::NotInstalled)?;
            let mut cmd = std::process::Command::new(bwrap);
            cmd.args(base_args()).args(["--", "/bin/true"]);
            match cmd.output() {
                Ok(o) if o.status.success() => Ok(()),
                Ok(o) => Err(SandboxUnavailable::Refused(
                    String::from_utf8_lossy(&o.stderr).trim().to_string(),
                )),
                Err(e) => Err(SandboxUnavailable::Start(e.to_string())),
            }
        })
        .clone()
}

fn base_args() -> Vec<String> {
    let mut a: Vec<String> = [
        "--unshare-all",
        "--die-with-parent",
        "--new-session",
        "--clearenv",
        "--proc",
        "/proc",
        "--dev",
        "/dev",
        "--tmpfs",
        "/tmp",
        "--setenv",
        "PATH",
        "/usr/local/bin:/usr/bin:/bin",
        "--setenv",
        "HOME",
        "/tmp",
    ]
    .map(String::from)
    .to_vec();
    for dir in [
        "/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32",
    ] {
        let p = Path::new(dir);
        match std::fs::read_link(p) {
            Ok(target) => a.extend(["--symlink".into(), target.display().to_string(), dir.into()]),
            Err(_) if p.is_dir() => a.extend(["--ro-bind".into(), dir.into(), dir.into()]),
            Err(_) => {}
        }
    }
    for file in [
        "/etc/ld.so.cache",
        "/etc/alternatives",
        "/etc/passwd",
        "/etc/group",
        "/etc/localtime",
    ] {
        a.extend(["--ro-bind-try".into(), file.into(), file.into()]);
    }
    a
}

/// Per-instance state.
pub struct ExecState {
    pub call: Arc<CallInfo>,
}

impl ExecState {
    fn deny(&self, target: &str, why: &str, grant: Option<&str>) -> ErrorCode {
        ErrorCode::Denied(self.call.deny(CapabilityKind::Exec, target, why, grant))
    }

    fn resolve(&self, cmd: &Command) -> Result<(PathBuf, PathBuf), ErrorCode> {
        let policy = &self.call.policy;
        let shown = format!("{} {}", cmd.program, cmd.args.join(" "));
        let program = if cmd.program.contains('/') {
            PathBuf::from(&cmd.program)
        } else {
            which(&cmd.program).ok_or_else(|| {
                ErrorCode::NotFound(format!("`{}` is not on the host's PATH", cmd.program))
            })?
        };
        let cwd = match &cmd.cwd {
            Some(c) => {
                let c = normalize(Path::new(c));
                if policy.dir_access(&c).is_none() {
                    return Err(self.deny(
                        &format!("{shown} (in {})", c.display()),
                        "working directory is outside the granted directories",
                        Some(&format!("--read {}", c.display())),
                    ));
                }
                c
            }
            None => policy
                .dirs
                .first()
                .map(|(d, _)| d.clone())
                .unwrap_or_else(|| PathBuf::from("/tmp")),
        };
        Ok((program, cwd))
    }

    async fn run(&self, cmd: Command) -> Result<Output, ErrorCode> {
        let (program, cwd) = self.resolve(&cmd)?;
        for (k, _) in &cmd.env {
            if k.is_empty() || k.contains(['=', '\0']) {
                return Err(ErrorCode::InvalidInput(format!(
                    "bad environment variable name `{k}`"
                )));
            }
        }
        let policy = &self.call.policy;
        let timeout = cmd
            .timeout_ms
            .map(|ms| Duration::from_millis(ms.into()))
            .unwrap_or(Duration::MAX)
            .min(self.call.remaining());
        let shown = format!("{} {}", cmd.program, cmd.args.join(" "));
        let done = run_sandboxed(Sandboxed {
            program,
            args: cmd.args,
            dirs: policy.dirs.clone(),
            cwd: cwd.clone(),
            env: cmd.env,
            stdin: cmd.stdin,
            timeout,
            cap: policy.limits.max_output as usize,
        })
        .await
        .map_err(|e| {
            ErrorCode::Failed(format!(
                "refused to run `{}`: {e}; commands never run unsandboxed",
                cmd.program
            ))
        })?;
        let timed_out = done.timed_out;
        let output = Output {
            exit_code: done.exit_code,
            stdout: done.stdout,
            stderr: done.stderr,
            truncated: done.truncated,
            timed_out,
        };
        self.call.event(
            "exec",
            "exec",
            format!(
                "ran {shown} in {}: exit {:?}{}{}",
                cwd.display(),
                output.exit_code,
                if timed_out { ", timed out" } else { "" },
                if output.truncated {
                    ", output truncated"
                } else {
                    ""
                }
            ),
        );
        Ok(output)
    }
}

/// A command to run in the sandbox: the program (resolved), its arguments,
/// the directories it sees and how, where it starts, its environment.
pub struct Sandboxed {
    pub program: PathBuf,
    pub args: Vec<String>,
    pub dirs: Vec<(PathBuf, Access)>,
    pub cwd: PathBuf,
    pub env: Vec<(String, String)>,
    pub stdin: Option<Vec<u8>>,
    pub timeout: Duration,
    /// The most bytes kept of stdout and of stderr each.
    pub cap: usize,
}

/// What a sandboxed command did.
pub struct Ran {
    /// None when it was killed (time-out) or died by a signal.
    pub exit_code: Option<i32>,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub truncated: bool,
    pub timed_out: bool,
}

/// Run a command in bubblewrap: every namespace unshared, a read-only
/// system, only `dirs` mounted (read-only or read-write). Used by the exec
/// capability for guests and by the host itself (the tests-pass gate runs
/// the test command on the tree it delivers). Err: the sandbox could not
/// start; commands never run unsandboxed.
pub async fn run_sandboxed(s: Sandboxed) -> Result<Ran, SandboxUnavailable> {
    sandbox_available()?;
    let mut args = base_args();
    let mut dirs = s.dirs;
    dirs.sort_by_key(|(d, _)| d.as_os_str().len());
    for (dir, access) in &dirs {
        let flag = if *access == Access::ReadWrite {
            "--bind"
        } else {
            "--ro-bind"
        };
        args.extend([
            flag.into(),
            dir.display().to_string(),
            dir.display().to_string(),
        ]);
    }
    if !s.program.starts_with("/usr") && !s.program.starts_with("/bin") {
        args.extend([
            "--ro-bind".into(),
            s.program.display().to_string(),
            s.program.display().to_string(),
        ]);
    }
    for (k, v) in &s.env {
        args.extend(["--setenv".into(), k.clone(), v.clone()]);
    }
    args.extend([
        "--chdir".into(),
        s.cwd.display().to_string(),
        "--".into(),
        s.program.display().to_string(),
    ]);
    args.extend(s.args.iter().cloned());
    let mut child = tokio::process::Command::new(BWRAP)
        .args(&args)
        .stdin(if s.stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| SandboxUnavailable::Start(e.to_string()))?;
    if let (Some(input), Some(mut stdin)) = (s.stdin, child.stdin.take()) {
        tokio::spawn(async move {
            let _ = stdin.write_all(&input).await;
        });
    }
    let out = tokio::spawn(read_capped(child.stdout.take(), s.cap));
    let err = tokio::spawn(read_capped(child.stderr.take(), s.cap));
    let (status, timed_out) = match tokio::time::timeout(s.timeout, child.wait()).await {
        Ok(st) => (st.ok(), false),
        Err(_) => {
            let _ = child.kill().await;
            (None, true)
        }
    };
    let (stdout, t1) = tokio::time::timeout(PIPE_GRACE, out)
        .await
        .ok()
        .and_then(Result::ok)
        .unwrap_or_default();
    let (stderr, t2) = tokio::time::timeout(PIPE_GRACE, err)
        .await
        .ok()
        .and_then(Result::ok)
        .unwrap_or_default();
    Ok(Ran {
        exit_code: status.and_then(|st| st.code()),
        stdout,
        stderr,
        truncated: t1 || t2,
        timed_out,
    })
}

/// Read up to `cap` bytes. Past the cap the pipe is closed, so a flooding
/// program gets EPIPE (or SIGPIPE) instead of running on unread. Returns
/// (bytes, truncated).
async fn read_capped<R: AsyncRead + Unpin>(r: Option<R>, cap: usize) -> (Vec<u8>, bool) {
    let Some(mut r) = r else {
        return (Vec::new(), false);
    };
    let mut buf = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    loop {
        match r.read(&mut chunk).await {
            Ok(0) | Err(_) => return (buf, false),
            Ok(n) => {
                let room = cap.saturating_sub(buf.len());
                buf.extend_from_slice(&chunk[..n.min(room)]);
                if n > room {
                    return (buf, true);
                }
            }
        }
    }
}

/// How long to wait for the output pipes once the sandbox has exited or
/// been killed (`--die-with-parent` takes every process in it down).
const PIPE_GRACE: Duration = Duration::from_secs(2);

/// Make `p` absolute and remove `.`/`..` lexically (the sandbox sees only
/// granted directories, so a symlink cannot lead anywhere ungranted).
fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::from("/");
    for c in p.components() {
        match c {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::Normal(n) => out.push(n),
            _ => {}
        }
    }
    out
}

impl Host for ExecState {
    async fn run(&mut self, cmd: Command) -> Result<Output, CapError> {
        if !self.call.policy.exec.contains(&cmd.program) {
            let shown = format!("{} {}", cmd.program, cmd.args.join(" "));
            let grant = format!("--exec {}", cmd.program);
            return Err(self
                .deny(&shown, "program not granted", Some(&grant))
                .into());
        }
        Ok(ExecState::run(self, cmd).await?)
    }
}

pub fn add_to_linker(linker: &mut Linker<InstanceState>) -> wasmtime::Result<()> {
    crate::bindings::imports::factory::plugin::exec::add_to_linker::<_, HasSelf<ExecState>>(
        linker,
        |s| &mut s.exec,
    )
}

#[cfg(test)]
mod tests;
