//! `factory plugin install FILE | oci://REF`: obtain the component (from
//! a registry: resolved once, fetched by digest, signature checked), show
//! what it asks for, install it, and grant its requests only with
//! `--accept`.

use super::accept;
use crate::cli::{EXIT_USAGE, Failure, fail};
use anyhow::{Context, anyhow};
use factory_host::Host;
use factory_host::TrustLevel;
use factory_host::journal::EventRecord;
use factory_host::registry::{InstallRequest, Installed};
use factory_supply::Signers;
use factory_supply::oci;
use factory_supply::permissions::{self, Manifest, PermissionsError};
use std::path::{Path, PathBuf};

/// The install's flags.
pub struct Install {
    pub name: Option<String>,
    pub trust: TrustLevel,
    pub force: bool,
    pub accept: bool,
    pub allow_unsigned: bool,
    /// A local install's permission manifest (else the component's own).
    pub manifest: Option<PathBuf>,
    pub workdir: Option<PathBuf>,
    pub registry_auth_file: Option<PathBuf>,
    pub json: bool,
}

/// A component about to be installed, and what is known of it.
pub struct Candidate {
    pub component: Vec<u8>,
    /// Local installs: the file (recorded as the source).
    pub file: Option<PathBuf>,
    /// Registry installs: `oci://host/repo[:tag]@sha256:...`.
    pub source: Option<String>,
    pub signer: String,
    pub manifest: Manifest,
}

pub async fn install(host: &Host, target: &Path, a: Install) -> Result<(), Failure> {
    let candidate = match target.to_str().and_then(|t| t.strip_prefix("oci://")) {
        Some(reference) => {
            if a.manifest.is_some() {
                return Err(fail(
                    EXIT_USAGE,
                    anyhow!(
                        "--manifest is for local files: a registry install reads the manifest inside the signed component"
                    ),
                ));
            }
            from_registry(
                host,
                reference,
                a.name.as_deref(),
                a.allow_unsigned,
                a.registry_auth_file.as_deref(),
            )
            .await?
        }
        None => {
            if a.allow_unsigned {
                return Err(fail(
                    EXIT_USAGE,
                    anyhow!("--allow-unsigned is for installs from OCI (oci://REF)"),
                ));
            }
            from_file(target, a.manifest.as_deref())?
        }
    };
    let at = accept::placeholders(a.workdir.as_deref())?;
    // Everything that can refuse is checked before anything is installed.
    let grants = if a.accept {
        accept::plan(&candidate.manifest, a.trust, &at, &|level| {
            format!(
                "install with --trust {} --accept to grant them, or without --accept and grant what you choose with `factory plugin grant`",
                level.name()
            )
        })?
    } else {
        Vec::new()
    };
    let installed = put(host, &candidate, a.name.clone(), a.trust, a.force).await?;
    let name = installed.record.name.clone();
    accept::grant(host, &name, &grants)?;
    host.journal().flush();
    if a.json {
        return crate::cli::print_json(&serde_json::json!({
            "installed": installed,
            "requested": candidate.manifest.requests(),
            "min_trust": candidate.manifest.min_trust(),
            "granted": grants.iter().map(|g| g.flag()).collect::<Vec<_>>(),
        }));
    }
    report(&installed, &candidate);
    for line in accept::describe(&candidate.manifest, &at) {
        println!("{line}");
    }
    if !grants.is_empty() {
        println!("granted (--accept):");
        for g in &grants {
            println!("  {}", g.flag());
        }
    } else if !candidate.manifest.requests().is_empty() {
        println!(
            "nothing granted: install again with --accept{} to grant these, or grant what you choose with `factory plugin grant {name} ...`",
            if a.trust < candidate.manifest.min_trust() {
                format!(" --trust {}", candidate.manifest.min_trust().name())
            } else {
                String::new()
            }
        );
    }
    Ok(())
}

/// Store the candidate's bytes as a plugin (nothing granted here).
pub async fn put(
    host: &Host,
    c: &Candidate,
    name: Option<String>,
    trust: TrustLevel,
    force: bool,
) -> anyhow::Result<Installed> {
    // The bytes that were checked (digest, signature, manifest) are the
    // bytes installed: a copy, which nobody else can change meanwhile.
    let dir = host.home().root().join("cache");
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let tmp = tempfile::Builder::new()
        .prefix("install-")
        .suffix(".wasm")
        .tempfile_in(&dir)
        .with_context(|| format!("cannot write in {}", dir.display()))?;
    std::fs::write(tmp.path(), &c.component)
        .with_context(|| format!("cannot write {}", tmp.path().display()))?;
    let source = c.source.clone().or_else(|| {
        c.file.as_ref().map(|f| {
            std::fs::canonicalize(f)
                .unwrap_or(f.clone())
                .display()
                .to_string()
        })
    });
    Ok(host
        .install(InstallRequest {
            file: tmp.path().to_path_buf(),
            name,
            trust,
            force,
            source,
            requested: c.manifest.to_toml(),
            signer: c.signer.clone(),
        })
        .await?)
}

fn report(installed: &Installed, c: &Candidate) {
    let r = &installed.record;
    if !installed.changed {
        println!(
            "{} is already installed with digest {} (trust {})",
            r.name, r.digest, r.trust
        );
    } else {
        println!(
            "{} {} ({}, sha256 {}, trust {})",
            if installed.replaced_digest.is_some() {
                "replaced"
            } else {
                "installed"
            },
            r.name,
            r.world.as_str(),
            r.digest,
            r.trust
        );
    }
    if let Some(source) = &c.source {
        println!("from {source}, signer: {}", c.signer);
    }
}

/// A local component, with its manifest from `--manifest` or its own.
pub fn from_file(file: &Path, manifest: Option<&Path>) -> anyhow::Result<Candidate> {
    let component =
        std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let manifest = match manifest {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            Manifest::parse(&text, &path.display().to_string())?
        }
        None => match permissions::embedded(&component) {
            Ok(m) => m.unwrap_or_default(),
            // Install refuses it with the validator's message, which says
            // more than this one.
            Err(PermissionsError::NotComponent(_)) => Manifest::default(),
            Err(e) => {
                return Err(
                    anyhow::Error::new(e).context(format!("the permissions in {}", file.display()))
                );
            }
        },
    };
    Ok(Candidate {
        component,
        file: Some(file.to_path_buf()),
        source: None,
        signer: String::new(),
        manifest,
    })
}

/// Resolve `reference` once, fetch by digest, and accept the component
/// only if a trusted signer in scope signed that digest (or
/// `--allow-unsigned`, printed and journaled).
pub async fn from_registry(
    host: &Host,
    reference: &str,
    name: Option<&str>,
    allow_unsigned: bool,
    auth_file: Option<&Path>,
) -> Result<Candidate, Failure> {
    let r = oci::parse(reference).map_err(|e| fail(EXIT_USAGE, e.into()))?;
    let auth = oci::credentials(r.registry(), auth_file).map_err(|e| fail(EXIT_USAGE, e.into()))?;
    let fetched = oci::fetch(&r, &auth).await?;
    let signer = checked_signer(host, &fetched, name, allow_unsigned)?;
    let manifest = permissions::embedded(&fetched.component)
        .with_context(|| format!("the permissions in {}", fetched.source()))?
        .unwrap_or_default();
    let source = fetched.source();
    Ok(Candidate {
        component: fetched.component,
        source: Some(source),
        file: None,
        signer,
        manifest,
    })
}

/// Who signed `fetched`, as recorded: `NAME (sha256:...)`, or `unsigned`
/// when `--allow-unsigned` let it through. Refusals are journaled.
pub fn checked_signer(
    host: &Host,
    fetched: &oci::Fetched,
    name: Option<&str>,
    allow_unsigned: bool,
) -> Result<String, Failure> {
    let signers = Signers::load(host.home())?;
    let journal = |kind: &str, message: String| {
        host.journal().event(EventRecord {
            target: fetched.source(),
            ..EventRecord::new(name.unwrap_or(&fetched.repository), kind, message)
        });
    };
    match signers.verify_any(&fetched.repository, &fetched.digest, &fetched.signatures) {
        Ok(signer) => {
            let who = match signer.public() {
                Ok(k) => format!("{} ({})", signer.name, k.fingerprint()),
                Err(_) => signer.name.clone(),
            };
            eprintln!("{}: signed by `{}`", fetched.source(), signer.name);
            journal(
                "verified",
                format!("{} signed by trusted signer {who}", fetched.source()),
            );
            Ok(who)
        }
        Err(e) if allow_unsigned => {
            eprintln!(
                "warning: installing {} without a valid signature (--allow-unsigned): {e}",
                fetched.source()
            );
            journal(
                "unsigned",
                format!("installed without a valid signature (--allow-unsigned): {e}"),
            );
            Ok("unsigned".into())
        }
        Err(e) => {
            journal("refused", format!("{}: {e}", fetched.source()));
            host.journal().flush();
            Err(fail(
                EXIT_USAGE,
                anyhow!("refused {}: {e}", fetched.source()),
            ))
        }
    }
}
