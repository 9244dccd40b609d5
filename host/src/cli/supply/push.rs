//! `factory plugin push FILE.wasm REF [--sign KEY] [--manifest plugin.toml]`.

use crate::cli::{EXIT_USAGE, Failure, fail};
use anyhow::{Context, anyhow};
use factory_host::Host;
use factory_supply::keys::KeyPair;
use factory_supply::oci;
use factory_supply::permissions::{self, Manifest};
use std::path::Path;

pub struct Push<'a> {
    pub file: &'a Path,
    pub reference: &'a str,
    pub sign: Option<&'a str>,
    /// Embedded in the component before it is pushed, so the digest (and
    /// the signature) covers it.
    pub manifest: Option<&'a Path>,
    pub registry_auth_file: Option<&'a Path>,
}

/// Push `p.file` as `p.reference` (a tag); print the manifest digest.
pub async fn push(host: &Host, p: Push<'_>) -> Result<(), Failure> {
    let r = oci::parse(p.reference).map_err(|e| fail(EXIT_USAGE, e.into()))?;
    if r.digest().is_some() {
        return Err(fail(
            EXIT_USAGE,
            anyhow!("push to a tag (HOST/REPOSITORY:TAG), not a digest"),
        ));
    }
    let auth = oci::credentials(r.registry(), p.registry_auth_file)
        .map_err(|e| fail(EXIT_USAGE, e.into()))?;
    let key = match p.sign {
        Some(name) => Some(KeyPair::load(host.home(), name)?),
        None => None,
    };
    let mut bytes =
        std::fs::read(p.file).with_context(|| format!("cannot read {}", p.file.display()))?;
    if let Some(path) = p.manifest {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let m = Manifest::parse(&text, &path.display().to_string())
            .map_err(|e| fail(EXIT_USAGE, e.into()))?;
        bytes = permissions::embed(&bytes, &m)
            .with_context(|| format!("cannot embed {} in {}", path.display(), p.file.display()))?;
    }
    // Only what this factory could install is pushed.
    let shown = p.file.display().to_string();
    let inspected = host.sandbox().inspect(&bytes, &shown).await?;
    let manifest = permissions::embedded(&bytes)
        .with_context(|| format!("the permissions in {shown}"))?
        .unwrap_or_default();
    let title = p
        .file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "component.wasm".into());
    let digest = oci::push(
        oci::Publish {
            component: &bytes,
            title: &title,
            exports: &inspected.exports,
            imports: &inspected.imports,
            key: key.as_ref(),
        },
        &r,
        &auth,
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
    if manifest.is_empty() {
        eprintln!("it asks for no permissions (no plugin.toml embedded)");
    } else {
        eprintln!(
            "it asks for (trust {}): {}",
            manifest.min_trust(),
            manifest
                .requests()
                .iter()
                .map(|r| r.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    println!("{digest}");
    Ok(())
}
