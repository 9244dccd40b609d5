//! The compiled policy of one plugin: its grants cut to its trust level's
//! ceiling, and its limits clamped to that ceiling. Computed once per plugin
//! (and again when the registry changes); every capability check reads it.

use crate::grants::{Grant, NetTarget};
use crate::trust::{CapabilityKind, Limits, TrustLevel};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Operator-set limits of a plugin (None: the default).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LimitOverrides {
    pub memory: Option<u64>,
    pub deadline_ms: Option<u64>,
    pub max_result: Option<u64>,
    pub max_output: Option<u64>,
}

impl LimitOverrides {
    /// The limits these overrides ask for, before the ceiling clamps them.
    pub fn requested(&self) -> Limits {
        let d = Limits::DEFAULT;
        Limits {
            memory: self.memory.unwrap_or(d.memory),
            deadline: self
                .deadline_ms
                .map(Duration::from_millis)
                .unwrap_or(d.deadline),
            max_result: self.max_result.unwrap_or(d.max_result),
            max_output: self.max_output.unwrap_or(d.max_output),
        }
    }

    /// Whether an operator may set these limits on a plugin at `trust`:
    /// each positive where it must be, none above the level's ceiling.
    pub fn check(&self, trust: TrustLevel) -> Result<(), LimitsError> {
        let want = self.requested();
        if want.memory == 0 || want.deadline.is_zero() {
            return Err(LimitsError::NotPositive);
        }
        let ceiling = trust.ceiling().limits;
        if want.min(ceiling) != want {
            return Err(LimitsError::AboveCeiling { trust, ceiling });
        }
        Ok(())
    }
}

/// Limits an operator may not set.
#[derive(Debug, thiserror::Error)]
pub enum LimitsError {
    #[error("memory and deadline must be positive")]
    NotPositive,
    #[error(
        "limits above the ceiling of trust {trust}: at most {} MiB memory, {} s deadline, {} B result, {} B output",
        ceiling.memory >> 20,
        ceiling.deadline.as_secs(),
        ceiling.max_result,
        ceiling.max_output
    )]
    AboveCeiling { trust: TrustLevel, ceiling: Limits },
}

/// A grant the plugin holds but may not use in full, and why. A grant
/// the ceiling allows part of is narrowed to that part (`narrowed_to`, a
/// write grant kept as a read grant); one it allows nothing of is cut.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Cut {
    pub grant: String,
    pub reason: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub narrowed_to: Option<String>,
}

impl Cut {
    /// One line for people: what was cut or narrowed, and why.
    pub fn describe(&self) -> String {
        match &self.narrowed_to {
            Some(to) => format!("{} narrowed to {} ({})", self.grant, to, self.reason),
            None => format!("{} ({})", self.grant, self.reason),
        }
    }
}

/// Directory access.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Access {
    ReadOnly,
    ReadWrite,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Policy {
    pub plugin: String,
    pub trust: TrustLevel,
    pub limits: Limits,
    /// Granted directories with their access, no duplicates; a directory
    /// granted both ways is read-write.
    pub dirs: Vec<(PathBuf, Access)>,
    pub net: Vec<NetTarget>,
    pub exec: Vec<String>,
    pub env: Vec<String>,
    pub tools: Vec<String>,
    pub models: Vec<String>,
    pub kv: bool,
    pub cut: Vec<Cut>,
}

/// Compile the stored grants of `plugin` at `trust` into its policy.
pub fn compile(
    plugin: &str,
    trust: TrustLevel,
    grants: &[Grant],
    overrides: &LimitOverrides,
) -> Policy {
    let ceiling = trust.ceiling();
    let mut p = Policy {
        plugin: plugin.to_string(),
        trust,
        limits: Limits::DEFAULT,
        dirs: Vec::new(),
        net: Vec::new(),
        exec: Vec::new(),
        env: Vec::new(),
        tools: Vec::new(),
        models: Vec::new(),
        kv: ceiling.allows(CapabilityKind::Kv),
        cut: Vec::new(),
    };
    for grant in grants {
        let kind = grant.kind();
        if !ceiling.allows(kind) {
            let reason = format!(
                "{kind} needs trust {} or higher; plugin is {}",
                kind.min_level(),
                trust
            );
            // Write access the ceiling does not allow is still read access
            // where the ceiling allows reading: narrow it, do not drop it.
            if let Grant::Write(d) = grant
                && ceiling.allows(CapabilityKind::Read)
            {
                p.add_dir(d, Access::ReadOnly);
                p.cut.push(Cut {
                    grant: grant.flag(),
                    reason,
                    narrowed_to: Some(Grant::Read(d.clone()).flag()),
                });
                continue;
            }
            p.cut.push(Cut {
                grant: grant.flag(),
                reason,
                narrowed_to: None,
            });
            continue;
        }
        match grant {
            Grant::Read(d) => p.add_dir(d, Access::ReadOnly),
            Grant::Write(d) => p.add_dir(d, Access::ReadWrite),
            Grant::Net(t) => push_unique(&mut p.net, t.clone()),
            Grant::Exec(s) => push_unique(&mut p.exec, s.clone()),
            Grant::Env(s) => push_unique(&mut p.env, s.clone()),
            Grant::Tool(s) => push_unique(&mut p.tools, s.clone()),
            Grant::Model(s) => push_unique(&mut p.models, s.clone()),
        }
    }
    let requested = overrides.requested();
    p.limits = requested.min(ceiling.limits);
    if p.limits != requested {
        p.cut.push(Cut {
            grant: "limits".into(),
            reason: format!("requested limits exceed the ceiling of {trust}; clamped to it"),
            narrowed_to: None,
        });
    }
    p
}

fn push_unique<T: PartialEq>(v: &mut Vec<T>, item: T) {
    if !v.contains(&item) {
        v.push(item);
    }
}

impl Policy {
    fn add_dir(&mut self, dir: &Path, access: Access) {
        match self.dirs.iter_mut().find(|(d, _)| d == dir) {
            Some((_, a)) => *a = (*a).max(access),
            None => self.dirs.push((dir.to_path_buf(), access)),
        }
    }

    /// The access granted to `path` (absolute, normalized): the access of
    /// the longest granted directory containing it.
    pub fn dir_access(&self, path: &Path) -> Option<Access> {
        self.dirs
            .iter()
            .filter(|(d, _)| path.starts_with(d))
            .max_by_key(|(d, _)| d.as_os_str().len())
            .map(|(_, a)| *a)
    }

    /// The grants this policy holds, as grants (to hand them on).
    pub fn grants(&self) -> Vec<Grant> {
        let mut g: Vec<Grant> = self
            .dirs
            .iter()
            .map(|(d, a)| match a {
                Access::ReadOnly => Grant::Read(d.clone()),
                Access::ReadWrite => Grant::Write(d.clone()),
            })
            .collect();
        g.extend(self.net.iter().cloned().map(Grant::Net));
        g.extend(self.exec.iter().cloned().map(Grant::Exec));
        g.extend(self.env.iter().cloned().map(Grant::Env));
        g.extend(self.models.iter().cloned().map(Grant::Model));
        g
    }

    /// The policy of tool `callee` acting for a role step (this policy):
    /// the step's grants, cut to the callee's own trust level and to this
    /// step's, with the callee's limits clamped to this step's. Tools may
    /// not call further tools on a role's behalf.
    pub fn delegated_to(&self, callee: &str, trust: TrustLevel, limits: &LimitOverrides) -> Policy {
        let mut p = compile(callee, trust.min(self.trust), &self.grants(), limits);
        p.limits = p.limits.min(self.limits);
        p
    }

    /// This policy as seen through a caller: a tool called by another tool
    /// keeps only what the caller holds too, at the lower of the two trust
    /// levels, with the lower limits. Compiled like any policy, so what is
    /// cut (by the lower trust, or because the caller lacks it) is listed
    /// with the reason. Nothing widens.
    pub fn narrowed_by(&self, caller: &Policy) -> Policy {
        let mut kept = Vec::new();
        let mut lacking = Vec::new();
        let mut held = self.grants();
        held.extend(self.tools.iter().cloned().map(Grant::Tool));
        for g in held {
            match caller.admits(&g) {
                Some(n) => kept.push(n),
                None => lacking.push(g),
            }
        }
        let mut p = compile(
            &self.plugin,
            self.trust.min(caller.trust),
            &kept,
            &LimitOverrides::default(),
        );
        p.limits = self.limits.min(caller.limits);
        p.cut.retain(|c| c.grant != "limits");
        for g in lacking {
            p.cut.push(Cut {
                grant: g.flag(),
                reason: format!("the calling plugin `{}` does not hold it", caller.plugin),
                narrowed_to: None,
            });
        }
        p
    }

    /// `g` as far as this policy holds it: itself, a write narrowed to a
    /// read where only reading is held, or None.
    fn admits(&self, g: &Grant) -> Option<Grant> {
        let has = |v: &[String], x: &String| v.contains(x);
        match g {
            Grant::Read(d) => self.dir_access(d).map(|_| g.clone()),
            Grant::Write(d) => match self.dir_access(d)? {
                Access::ReadWrite => Some(g.clone()),
                Access::ReadOnly => Some(Grant::Read(d.clone())),
            },
            Grant::Net(t) => self.net.contains(t).then(|| g.clone()),
            Grant::Exec(e) => has(&self.exec, e).then(|| g.clone()),
            Grant::Env(e) => has(&self.env, e).then(|| g.clone()),
            Grant::Tool(t) => has(&self.tools, t).then(|| g.clone()),
            Grant::Model(m) => self
                .models
                .iter()
                .any(|c| c == m || c == "*")
                .then(|| g.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grants() -> Vec<Grant> {
        vec![
            Grant::Read("/src".into()),
            Grant::Write("/src/out".into()),
            Grant::Net("https://api.example.com".parse().unwrap()),
            Grant::Exec("git".into()),
        ]
    }

    #[test]
    fn grants_above_the_level_are_cut_with_a_reason() {
        let p = compile(
            "p",
            TrustLevel::ReadOnly,
            &grants(),
            &LimitOverrides::default(),
        );
        assert_eq!(
            p.dirs,
            vec![
                (PathBuf::from("/src"), Access::ReadOnly),
                (PathBuf::from("/src/out"), Access::ReadOnly)
            ]
        );
        assert!(p.net.is_empty() && p.exec.is_empty());
        assert_eq!(p.cut.len(), 3);
        let narrowed: Vec<_> = p.cut.iter().filter(|c| c.narrowed_to.is_some()).collect();
        assert_eq!(narrowed.len(), 1, "{:?}", p.cut);
        assert_eq!(narrowed[0].grant, "--write /src/out");
        assert_eq!(narrowed[0].narrowed_to.as_deref(), Some("--read /src/out"));
        assert!(
            narrowed[0]
                .describe()
                .contains("narrowed to --read /src/out")
        );
        assert!(
            p.cut
                .iter()
                .any(|c| c.grant == "--exec git" && c.reason.contains("auto-merge"))
        );
        let full = compile(
            "p",
            TrustLevel::AutoMerge,
            &grants(),
            &LimitOverrides::default(),
        );
        assert!(full.cut.is_empty());
        assert_eq!(
            full.dir_access(Path::new("/src/out/x")),
            Some(Access::ReadWrite)
        );
        assert_eq!(full.dir_access(Path::new("/src/x")), Some(Access::ReadOnly));
        assert_eq!(full.dir_access(Path::new("/srcx")), None);
    }

    #[test]
    fn write_narrows_to_read_and_vanishes_only_when_nothing_is_allowed() {
        let role = compile(
            "coder",
            TrustLevel::Scoped,
            &[Grant::Write("/wt".into())],
            &LimitOverrides::default(),
        );
        assert_eq!(
            role.dir_access(Path::new("/wt/a.py")),
            Some(Access::ReadWrite)
        );
        // A read-only tool acting for the role reads the role's worktree.
        let tool = role.delegated_to(
            "read-file",
            TrustLevel::ReadOnly,
            &LimitOverrides::default(),
        );
        assert_eq!(
            tool.dir_access(Path::new("/wt/a.py")),
            Some(Access::ReadOnly)
        );
        assert_eq!(tool.cut.len(), 1);
        assert_eq!(tool.cut[0].narrowed_to.as_deref(), Some("--read /wt"));
        // Untrusted allows no file access at all: the grant is cut.
        let none = role.delegated_to("x", TrustLevel::Untrusted, &LimitOverrides::default());
        assert!(none.dirs.is_empty());
        assert_eq!(none.cut.len(), 1);
        assert!(none.cut[0].narrowed_to.is_none());
        // A write grant inside a read grant stays read-only once narrowed.
        let both = compile(
            "p",
            TrustLevel::ReadOnly,
            &[Grant::Read("/a".into()), Grant::Write("/a".into())],
            &LimitOverrides::default(),
        );
        assert_eq!(both.dirs, vec![(PathBuf::from("/a"), Access::ReadOnly)]);
    }

    #[test]
    fn limits_are_clamped_to_the_ceiling() {
        let o = LimitOverrides {
            memory: Some(8 << 30),
            deadline_ms: Some(5_000),
            ..Default::default()
        };
        let p = compile("p", TrustLevel::Untrusted, &[], &o);
        assert_eq!(p.limits.memory, Limits::DEFAULT.memory);
        assert_eq!(p.limits.deadline, Duration::from_secs(5));
        assert!(p.cut.iter().any(|c| c.grant == "limits"));
        assert!(!p.kv);
    }

    #[test]
    fn narrowing_never_widens() {
        let callee = compile(
            "callee",
            TrustLevel::AutoMerge,
            &grants(),
            &LimitOverrides::default(),
        );
        let caller = compile(
            "caller",
            TrustLevel::ReadOnly,
            &[Grant::Read("/src/out".into())],
            &LimitOverrides::default(),
        );
        let n = callee.narrowed_by(&caller);
        assert_eq!(n.dirs, vec![(PathBuf::from("/src/out"), Access::ReadOnly)]);
        assert!(n.net.is_empty() && n.exec.is_empty());
        assert_eq!(n.trust, TrustLevel::ReadOnly);
        assert!(!n.kv || caller.kv, "kv follows the lower trust");
        // What was cut says why: the caller lacks the exec and net grants.
        for g in ["--exec git", "--read /src"] {
            assert!(
                n.cut
                    .iter()
                    .any(|c| c.grant == g && c.reason.contains("`caller` does not hold it")),
                "{g}: {:#?}",
                n.cut
            );
        }
    }
}
