//! Grants: what the operator gave a plugin, exactly as written (after
//! validation). `crate::compiled::compile` turns them, with the trust level,
//! into the policy the capability modules enforce.

mod net_target;

pub use net_target::{HostPattern, NetScheme, NetTarget};

use crate::trust::{CapabilityKind, TrustLevel};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::{Path, PathBuf};

/// One grant.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", content = "target", rename_all = "kebab-case")]
pub enum Grant {
    /// A directory, visible read-only at its own absolute path.
    Read(PathBuf),
    /// A directory, visible read-write at its own absolute path.
    Write(PathBuf),
    /// An HTTP(S) origin, a TCP/UDP endpoint, or a DNS name.
    Net(NetTarget),
    /// A program the exec capability may run (bare name or absolute path).
    Exec(String),
    /// A host environment variable the guest may see.
    Env(String),
    /// Another tool this plugin may call.
    Tool(String),
    /// A model this plugin may call (`*` for any configured model).
    Model(String),
}

#[derive(Debug, thiserror::Error)]
pub enum GrantError {
    #[error("directory `{path}` cannot be granted: {reason}")]
    BadDir { path: String, reason: String },
    #[error("bad network target `{target}`: {reason}")]
    BadNet { target: String, reason: String },
    #[error("bad program `{0}`: give a bare program name (looked up on PATH) or an absolute path")]
    BadProgram(String),
    #[error("program `{0}` was not found on PATH; give its absolute path or install it first")]
    ProgramNotFound(String),
    #[error(
        "bad environment variable name `{0}`: use letters, digits and `_`, not starting with a digit"
    )]
    BadEnv(String),
    #[error("bad name `{0}`: use letters, digits, `-`, `_` and `.`")]
    BadName(String),
    #[error(
        "a {kind} grant needs trust {min} or higher, but `{plugin}` is {level}; raise it first with `factory plugin trust {plugin} {}`",
        min.name()
    )]
    AboveCeiling {
        plugin: String,
        kind: CapabilityKind,
        level: TrustLevel,
        min: TrustLevel,
    },
    #[error("unknown grant kind `{0}` in the registry")]
    UnknownKind(String),
}

impl Grant {
    /// The capability kind, which decides the trust level it needs.
    pub fn kind(&self) -> CapabilityKind {
        match self {
            Grant::Read(_) => CapabilityKind::Read,
            Grant::Write(_) => CapabilityKind::Write,
            Grant::Net(t) => t.kind(),
            Grant::Exec(_) => CapabilityKind::Exec,
            Grant::Env(_) => CapabilityKind::Env,
            Grant::Tool(_) => CapabilityKind::Tool,
            Grant::Model(_) => CapabilityKind::Model,
        }
    }

    /// The registry's column name for this grant.
    pub fn column(&self) -> &'static str {
        match self {
            Grant::Read(_) => "read",
            Grant::Write(_) => "write",
            Grant::Net(_) => "net",
            Grant::Exec(_) => "exec",
            Grant::Env(_) => "env",
            Grant::Tool(_) => "tool",
            Grant::Model(_) => "model",
        }
    }

    /// The target as written in the registry and on the CLI.
    pub fn target(&self) -> String {
        match self {
            Grant::Read(p) | Grant::Write(p) => p.display().to_string(),
            Grant::Net(t) => t.to_string(),
            Grant::Exec(s) | Grant::Env(s) | Grant::Tool(s) | Grant::Model(s) => s.clone(),
        }
    }

    /// The CLI flag that gives this grant, e.g. `--read /src`.
    pub fn flag(&self) -> String {
        format!("--{} {}", self.column(), self.target())
    }

    /// Rebuild a grant from the registry, without touching the filesystem.
    pub fn from_stored(column: &str, target: &str) -> Result<Grant, GrantError> {
        Ok(match column {
            "read" => Grant::Read(PathBuf::from(target)),
            "write" => Grant::Write(PathBuf::from(target)),
            "net" => Grant::Net(target.parse()?),
            "exec" => Grant::Exec(target.to_string()),
            "env" => Grant::Env(target.to_string()),
            "tool" => Grant::Tool(target.to_string()),
            "model" => Grant::Model(target.to_string()),
            other => return Err(GrantError::UnknownKind(other.to_string())),
        })
    }

    /// A directory grant: the directory must exist; it is stored canonical
    /// (symlinks resolved), which is also the path the guest sees.
    pub fn dir(path: &str, write: bool) -> Result<Grant, GrantError> {
        let bad = |reason: String| GrantError::BadDir {
            path: path.to_string(),
            reason,
        };
        let canon = std::fs::canonicalize(path).map_err(|e| bad(e.to_string()))?;
        if !canon.is_dir() {
            return Err(bad("not a directory".into()));
        }
        if canon == Path::new("/") {
            return Err(bad(
                "granting the root directory is refused; grant the directories the plugin needs"
                    .into(),
            ));
        }
        let canon_str = canon
            .to_str()
            .ok_or_else(|| bad("path is not valid UTF-8".into()))?;
        if canon_str.contains('\n') {
            return Err(bad("path contains a newline".into()));
        }
        Ok(if write {
            Grant::Write(canon)
        } else {
            Grant::Read(canon)
        })
    }

    /// A program grant: bare names must be on PATH now (they are resolved
    /// again at each run); absolute paths must exist.
    pub fn program(name: &str) -> Result<Grant, GrantError> {
        if name.is_empty() || name.contains('\0') {
            return Err(GrantError::BadProgram(name.to_string()));
        }
        if name.contains('/') {
            if !Path::new(name).is_absolute() {
                return Err(GrantError::BadProgram(name.to_string()));
            }
            if !Path::new(name).is_file() {
                return Err(GrantError::ProgramNotFound(name.to_string()));
            }
        } else if crate::which(name).is_none() {
            return Err(GrantError::ProgramNotFound(name.to_string()));
        }
        Ok(Grant::Exec(name.to_string()))
    }

    pub fn env(name: &str) -> Result<Grant, GrantError> {
        let ok = !name.is_empty()
            && !name.starts_with(|c: char| c.is_ascii_digit())
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if ok {
            Ok(Grant::Env(name.to_string()))
        } else {
            Err(GrantError::BadEnv(name.to_string()))
        }
    }

    pub fn tool(name: &str) -> Result<Grant, GrantError> {
        valid_name(name).map(|n| Grant::Tool(n.to_string()))
    }

    pub fn model(name: &str) -> Result<Grant, GrantError> {
        if name == "*" {
            return Ok(Grant::Model(name.to_string()));
        }
        let ok = !name.is_empty()
            && name.len() <= 200
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.:/@".contains(c));
        if ok {
            Ok(Grant::Model(name.to_string()))
        } else {
            Err(GrantError::BadName(name.to_string()))
        }
    }

    /// Refuse a grant the plugin's level does not allow, naming the level that would.
    pub fn check_ceiling(&self, plugin: &str, level: TrustLevel) -> Result<(), GrantError> {
        let kind = self.kind();
        if level.ceiling().allows(kind) {
            Ok(())
        } else {
            Err(GrantError::AboveCeiling {
                plugin: plugin.to_string(),
                kind,
                level,
                min: kind.min_level(),
            })
        }
    }
}

impl fmt::Display for Grant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.column(), self.target())
    }
}

/// Plugin and tool names: 1-64 of `[a-z0-9-_.]`, starting with a letter or digit.
pub fn valid_name(name: &str) -> Result<&str, GrantError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_.".contains(c));
    if ok {
        Ok(name)
    } else {
        Err(GrantError::BadName(name.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directory_grants_are_canonical_and_must_exist() {
        let tmp = std::env::temp_dir();
        let g = Grant::dir(tmp.to_str().unwrap(), false).unwrap();
        assert_eq!(g, Grant::Read(std::fs::canonicalize(&tmp).unwrap()));
        assert!(Grant::dir("/definitely/not/here", true).is_err());
        assert!(Grant::dir("/", false).is_err());
    }

    #[test]
    fn ceiling_names_the_level_that_allows() {
        let g = Grant::Exec("git".into());
        let err = g
            .check_ceiling("p", TrustLevel::Draft)
            .unwrap_err()
            .to_string();
        assert!(err.contains("auto-merge"), "{err}");
        assert!(g.check_ceiling("p", TrustLevel::AutoMerge).is_ok());
    }

    #[test]
    fn names_and_env_are_validated() {
        assert!(valid_name("read-file").is_ok());
        assert!(valid_name("../x").is_err());
        assert!(valid_name("").is_err());
        assert!(Grant::env("HOME").is_ok());
        assert!(Grant::env("1X").is_err());
        assert!(Grant::env("A=B").is_err());
    }
}
