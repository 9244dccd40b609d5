//! `factory plugin push` and `factory plugin install oci://REF`: plugins
//! through OCI registries, signed, and installed only when a trusted signer
//! whose scope covers the reference signed that exact digest.

use super::{EXIT_USAGE, Failure, fail};
use anyhow::{Context, anyhow};
use factory_host::Host;
use factory_host::TrustLevel;
use factory_host::journal::EventRecord;
use factory_host::registry::InstallRequest;
use factory_supply::Signers;
use factory_supply::keys::KeyPair;
use factory_supply::oci;
use std::path::Path;

/// Push `file` as `reference` (a tag), signed with key `sign` if given;
/// print the manifest digest.
pub async fn push(
    host: &Host,
    file: &Path,
    reference: &str,
    sign: Option<&str>,
) -> Result<(), Failure> {
    let r = oci::parse(reference).map_err(|e| fail(EXIT_USAGE, e.into()))?;
    if r.digest().is_some() {
        return Err(fail(
            EXIT_USAGE,
            anyhow!("push to a tag (HOST/REPOSITORY:TAG), not a digest"),
        ));
    }
    let key = match sign {
        Some(name) => Some(KeyPair::load(host.home(), name)?),
        None => None,
    };
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    // Only what this factory could install is pushed.
    let shown = file.display().to_string();
    let inspected = host.sandbox().inspect(&bytes, &shown).await?;
    let digest = oci::push(
        &bytes,
        &r,
        &inspected.exports,
        &inspected.imports,
        key.as_ref(),
    )
    .await?;
    eprintln!(
        "pushed {} ({}, {} bytes){}",
        r.whole(),
        inspected.world.as_str(),
        bytes.len(),
        match &key {
            Some(k) => format!(", signed with `{}` ({})", k.name, k.public().fingerprint()),
            None => ", unsigned".into(),
        }
    );
    println!("{digest}");
    Ok(())
}

pub struct OciInstall<'a> {
    pub reference: &'a str,
    pub name: Option<String>,
    pub trust: TrustLevel,
    pub force: bool,
    pub allow_unsigned: bool,
    pub json: bool,
}

/// Install from a registry: resolve once, fetch by digest, check the
/// signature against the trusted signers, then install those bytes.
pub async fn install(host: &Host, a: OciInstall<'_>) -> Result<(), Failure> {
    let r = oci::parse(a.reference).map_err(|e| fail(EXIT_USAGE, e.into()))?;
    let fetched = oci::fetch(&r).await?;
    let signers = Signers::load(host.home())?;
    let journal = |kind: &str, message: String| {
        host.journal().event(EventRecord {
            target: fetched.source(),
            ..EventRecord::new(
                a.name.as_deref().unwrap_or(&fetched.repository),
                kind,
                message,
            )
        });
    };
    match signers.verify(
        &fetched.repository,
        &fetched.digest,
        fetched.signature.as_ref(),
    ) {
        Ok(signer) => {
            eprintln!("{}: signed by `{}`", fetched.source(), signer.name);
            journal(
                "verified",
                format!(
                    "{} signed by trusted signer {}",
                    fetched.source(),
                    signer.name
                ),
            );
        }
        Err(e) if a.allow_unsigned => {
            eprintln!(
                "warning: installing {} without a valid signature (--allow-unsigned): {e}",
                fetched.source()
            );
            journal(
                "unsigned",
                format!("installed without a valid signature (--allow-unsigned): {e}"),
            );
        }
        Err(e) => {
            journal("refused", format!("{}: {e}", fetched.source()));
            host.journal().flush();
            return Err(fail(
                EXIT_USAGE,
                anyhow!("refused {}: {e}", fetched.source()),
            ));
        }
    }
    // The bytes that were checked are the bytes installed.
    let dir = host.home().root().join("cache");
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let hex = fetched.digest.trim_start_matches("sha256:");
    let tmp = dir.join(format!(
        "oci-{}-{}.wasm",
        &hex[..hex.len().min(16)],
        std::process::id()
    ));
    std::fs::write(&tmp, &fetched.component)
        .with_context(|| format!("cannot write {}", tmp.display()))?;
    let result = host
        .install(InstallRequest {
            file: tmp.clone(),
            name: a.name.clone(),
            trust: a.trust,
            force: a.force,
            source: Some(fetched.source()),
        })
        .await;
    let _ = std::fs::remove_file(&tmp);
    let installed = result?;
    host.journal().flush();
    let rec = &installed.record;
    if a.json {
        super::print_json(&installed)?;
    } else {
        println!(
            "installed {} ({}, {}, trust {})",
            rec.name,
            rec.world.as_str(),
            fetched.source(),
            rec.trust
        );
    }
    Ok(())
}
