//! `factory plugin export-lock` and `factory plugin install --lock FILE`:
//! the installed set, by digest, with each plugin's trust level, grants
//! and limits, written down and reproduced exactly.
//!
//! An install from a lock checks everything first (every component
//! fetched and its digest and signature checked, every grant valid here
//! and within its trust level) and installs nothing if anything fails.

use super::install::{Candidate, from_file, from_registry, put};
use crate::cli::{EXIT_USAGE, Failure, fail};
use anyhow::{Context, anyhow};
use factory_host::Host;
use factory_host::TrustLevel;
use factory_host::grants::Grant;
use factory_host::policy::LimitOverrides;
use factory_host::registry::PluginRecord;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

const VERSION: u32 = 1;
const BUILT_IN: &str = "built in";

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct LockFile {
    version: u32,
    #[serde(default)]
    plugin: Vec<Entry>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    name: String,
    /// `oci://host/repo[:tag]@sha256:...`, a file path, or `built in`.
    source: String,
    /// The component's sha256 (what `factory plugin inspect` shows).
    digest: String,
    trust: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    signer: String,
    #[serde(default)]
    grants: Vec<LockedGrant>,
    #[serde(default)]
    limits: LimitOverrides,
    /// A local file's permission manifest, when it came from --manifest.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    requested: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct LockedGrant {
    kind: String,
    target: String,
}

/// The lock of what is installed now, as TOML.
pub fn export(host: &Host) -> anyhow::Result<String> {
    let reg = host.registry();
    let mut plugin = Vec::new();
    for r in reg.list()? {
        let grants = reg.grants(&r.name)?;
        // Built-ins the operator never touched need no line.
        if r.builtin && grants.is_empty() && r.limits == LimitOverrides::default() {
            let shipped = factory_host::builtins::all()
                .iter()
                .find(|b| b.name == r.name)
                .map(|b| b.trust);
            if shipped == Some(r.trust) {
                continue;
            }
        }
        plugin.push(entry_of(&r, &grants));
    }
    let text = toml::to_string(&LockFile {
        version: VERSION,
        plugin,
    })?;
    Ok(format!(
        "# factory plugin lock: `factory plugin install --lock FILE` reproduces this set\n# exactly (by digest, with each plugin's trust, grants and limits).\n{text}"
    ))
}

fn entry_of(r: &PluginRecord, grants: &[Grant]) -> Entry {
    Entry {
        name: r.name.clone(),
        source: if r.builtin {
            BUILT_IN.into()
        } else {
            r.source.clone()
        },
        digest: format!("sha256:{}", r.digest),
        trust: r.trust.name().into(),
        signer: r.signer.clone(),
        grants: grants
            .iter()
            .map(|g| LockedGrant {
                kind: g.column().into(),
                target: g.target(),
            })
            .collect(),
        limits: r.limits,
        requested: if r.source.starts_with("oci://") {
            String::new()
        } else {
            r.requested.clone()
        },
    }
}

/// One entry, checked and ready to install.
struct Prepared {
    name: String,
    /// None: a built-in.
    candidate: Option<Candidate>,
    trust: TrustLevel,
    grants: Vec<Grant>,
    limits: LimitOverrides,
}

pub struct LockInstall<'a> {
    pub allow_unsigned: bool,
    pub registry_auth_file: Option<&'a Path>,
    pub json: bool,
}

pub async fn install(host: &Host, path: &Path, a: LockInstall<'_>) -> Result<(), Failure> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let lock: LockFile = toml::from_str(&text).map_err(|e| {
        fail(
            EXIT_USAGE,
            anyhow!("{} is not a plugin lock: {e}", path.display()),
        )
    })?;
    if lock.version != VERSION {
        return Err(fail(
            EXIT_USAGE,
            anyhow!(
                "{}: lock version {} is not one this factory reads ({VERSION})",
                path.display(),
                lock.version
            ),
        ));
    }
    let mut ready = Vec::new();
    let mut problems = Vec::new();
    for e in lock.plugin {
        let name = e.name.clone();
        match prepare(host, e, &a).await {
            Ok(p) => ready.push(p),
            Err(f) => problems.push(format!("{name}: {:#}", f.error)),
        }
    }
    if !problems.is_empty() {
        return Err(fail(
            EXIT_USAGE,
            anyhow!(
                "nothing installed from {}; {} of its plugins cannot be:\n  {}",
                path.display(),
                problems.len(),
                problems.join("\n  ")
            ),
        ));
    }
    let reg = host.registry();
    let mut done = Vec::new();
    for p in &ready {
        let changed = match &p.candidate {
            Some(c) => {
                put(host, c, Some(p.name.clone()), p.trust, true)
                    .await?
                    .changed
            }
            None => {
                if reg.require(&p.name)?.trust != p.trust {
                    reg.set_trust(&p.name, p.trust)?;
                }
                false
            }
        };
        let before = reg.grants(&p.name)?;
        if before != p.grants {
            reg.revoke_all(&p.name)?;
            reg.grant(&p.name, &p.grants)?;
        }
        reg.set_limits(&p.name, &p.limits)?;
        done.push(serde_json::json!({
            "name": p.name,
            "installed": changed,
            "trust": p.trust,
            "grants": p.grants.iter().map(|g| g.flag()).collect::<Vec<_>>(),
        }));
        if !a.json {
            println!(
                "{} {} (trust {}, {} grants)",
                if changed { "installed" } else { "kept" },
                p.name,
                p.trust,
                p.grants.len()
            );
        }
    }
    let locked: Vec<&str> = ready.iter().map(|p| p.name.as_str()).collect();
    let extra: Vec<String> = reg
        .list()?
        .into_iter()
        .filter(|r| !r.builtin && !locked.contains(&r.name.as_str()))
        .map(|r| r.name)
        .collect();
    host.journal().flush();
    if a.json {
        return crate::cli::print_json(&serde_json::json!({"plugins": done, "not_in_lock": extra}));
    }
    for name in extra {
        eprintln!(
            "note: {name} is installed but not in the lock (left as it is; `factory plugin remove {name}` to match the lock exactly)"
        );
    }
    Ok(())
}

async fn prepare(host: &Host, e: Entry, a: &LockInstall<'_>) -> Result<Prepared, Failure> {
    let trust: TrustLevel = e
        .trust
        .parse()
        .map_err(|err| fail(EXIT_USAGE, anyhow!("{err}")))?;
    let want = e.digest.trim_start_matches("sha256:").to_string();
    let candidate = if e.source == BUILT_IN {
        let r = host.registry().require(&e.name)?;
        if !r.builtin {
            return Err(
                anyhow!("the lock says built in, but here it is an installed plugin").into(),
            );
        }
        if r.digest != want {
            return Err(anyhow!(
                "this factory's built-in is sha256:{}, the lock's is {} (a different factory version)",
                r.digest,
                e.digest
            )
            .into());
        }
        None
    } else if let Some(reference) = e.source.strip_prefix("oci://") {
        if !reference.contains("@sha256:") {
            return Err(anyhow!("its source {} is not pinned to a digest", e.source).into());
        }
        let c = from_registry(
            host,
            reference,
            Some(&e.name),
            a.allow_unsigned,
            a.registry_auth_file,
        )
        .await?;
        Some(c)
    } else {
        let mut c = from_file(&PathBuf::from(&e.source), None)?;
        if !e.requested.is_empty() {
            c.manifest = super::accept::stored(&e.requested, &e.name)?;
        }
        Some(c)
    };
    if let Some(c) = &candidate {
        let got = factory_host::registry::sha256_hex(&c.component);
        if got != want {
            return Err(anyhow!(
                "{} holds sha256:{got}, but the lock pins {}",
                e.source,
                e.digest
            )
            .into());
        }
    }
    let mut grants = Vec::new();
    for g in &e.grants {
        let stored = Grant::from_stored(&g.kind, &g.target)?;
        // Checked here as a grant from the CLI would be: directories and
        // programs must exist on this machine.
        let grant = match &stored {
            Grant::Read(_) => Grant::dir(&g.target, false)?,
            Grant::Write(_) => Grant::dir(&g.target, true)?,
            Grant::Exec(p) => Grant::program(p)?,
            other => other.clone(),
        };
        grant.check_ceiling(&e.name, trust)?;
        grants.push(grant);
    }
    e.limits.check(trust)?;
    Ok(Prepared {
        name: e.name,
        candidate,
        trust,
        grants,
        limits: e.limits,
    })
}
