//! `factory plugin update NAME`: re-resolve the tag a plugin was installed
//! from, show what changed (digest, signer, requested permissions) and
//! install the new digest only after the same checks as an install. A new
//! request needs `--accept` again.

use super::accept;
use super::install::{Candidate, checked_signer, put};
use crate::cli::{EXIT_USAGE, Failure, fail};
use anyhow::{Context, anyhow};
use factory_host::Host;
use factory_host::journal::EventRecord;
use factory_supply::oci::{self, Reference};
use factory_supply::permissions::{self, Request};
use std::path::PathBuf;

pub struct Update {
    pub accept: bool,
    pub allow_unsigned: bool,
    pub dry_run: bool,
    pub workdir: Option<PathBuf>,
    pub registry_auth_file: Option<PathBuf>,
    pub json: bool,
}

pub async fn update(host: &Host, name: &str, a: Update) -> Result<(), Failure> {
    let reg = host.registry();
    let rec = reg.require(name)?;
    let usage = |e: anyhow::Error| fail(EXIT_USAGE, e);
    let Some(pinned) = rec.source.strip_prefix("oci://") else {
        return Err(usage(anyhow!(
            "`{name}` was installed from {}, not from a registry: there is no tag to re-resolve",
            rec.source
        )));
    };
    let r = oci::parse(pinned).map_err(|e| usage(e.into()))?;
    let Some(tag) = r.tag() else {
        return Err(usage(anyhow!(
            "`{name}` was installed by digest ({}): there is no tag to re-resolve; install another digest with --force",
            rec.source
        )));
    };
    let tagged = Reference::with_tag(
        r.registry().to_string(),
        r.repository().to_string(),
        tag.to_string(),
    );
    let auth = oci::credentials(r.registry(), a.registry_auth_file.as_deref())
        .map_err(|e| usage(e.into()))?;
    let client = oci::client_for(&tagged);
    let now = oci::resolve(&client, &tagged, &auth).await?;
    let was = r.digest().unwrap_or_default().to_string();
    if now == was {
        if a.json {
            return crate::cli::print_json(
                &serde_json::json!({"name": name, "updated": false, "digest": now}),
            );
        }
        println!(
            "{name} is up to date ({}:{tag} is still {now})",
            oci::repository_of(&r)
        );
        return Ok(());
    }
    // Everything from here uses the digest resolved above.
    let fetched = oci::fetch_digest(&client, &auth, &tagged, now.clone()).await?;
    let signer = checked_signer(host, &fetched, Some(name), a.allow_unsigned)?;
    let new = permissions::embedded(&fetched.component)
        .with_context(|| format!("the permissions in {}", fetched.source()))?
        .unwrap_or_default();
    let old = accept::stored(&rec.requested, name)?;
    let (added, removed) = old.diff(&new);
    let at = accept::placeholders(a.workdir.as_deref())?;
    let list = |rs: &[Request]| rs.iter().map(|r| r.to_string()).collect::<Vec<_>>();
    if a.json {
        crate::cli::print_json(&serde_json::json!({
            "name": name,
            "from": {"digest": was, "signer": rec.signer, "min_trust": old.min_trust()},
            "to": {"digest": now, "signer": signer, "min_trust": new.min_trust()},
            "added": list(&added),
            "removed": list(&removed),
            "dry_run": a.dry_run,
        }))?;
    } else {
        println!("{name}: {}:{tag} moved", oci::repository_of(&r));
        println!("  digest:      {was} -> {now}");
        if rec.signer == signer {
            println!("  signer:      {signer} (unchanged)");
        } else {
            println!("  signer:      {} -> {signer}", or_none(&rec.signer));
        }
        if old.min_trust() != new.min_trust() {
            println!("  needs trust: {} -> {}", old.min_trust(), new.min_trust());
        }
        if added.is_empty() && removed.is_empty() {
            println!("  permissions: unchanged");
        }
        for r in &added {
            println!("  + {}", accept::show(r, &at));
        }
        for r in &removed {
            println!("  - {}", accept::show(r, &at));
        }
    }
    if a.dry_run {
        return Ok(());
    }
    let grants = if a.accept {
        accept::plan(&new, rec.trust, &at, &|level| {
            format!(
                "raise its trust first with `factory plugin trust {name} {}`, then update with --accept",
                level.name()
            )
        })?
    } else if !added.is_empty() {
        host.journal().event(EventRecord {
            target: fetched.source(),
            ..EventRecord::new(
                name,
                "refused",
                format!(
                    "update to {now} not made: it asks for more ({}) and --accept was not given",
                    list(&added).join(", ")
                ),
            )
        });
        host.journal().flush();
        return Err(usage(anyhow!(
            "not updated: the new version asks for more ({}); update again with --accept to grant it, or keep the installed version",
            list(&added).join(", ")
        )));
    } else {
        Vec::new()
    };
    let candidate = Candidate {
        component: fetched.component.clone(),
        file: None,
        source: Some(fetched.source()),
        signer: signer.clone(),
        manifest: new.clone(),
    };
    put(host, &candidate, Some(name.to_string()), rec.trust, true).await?;
    accept::grant(host, name, &grants)?;
    host.journal().event(EventRecord {
        target: fetched.source(),
        ..EventRecord::new(
            name,
            "update",
            format!(
                "updated {was} -> {now}; signer {} -> {signer}; asks for {} more, {} fewer",
                or_none(&rec.signer),
                added.len(),
                removed.len()
            ),
        )
    });
    host.journal().flush();
    if !a.json {
        println!("updated {name} to {now}");
        let held = reg.grants(name)?;
        for r in &removed {
            let here = r.resolved(&at);
            if held
                .iter()
                .any(|g| g.column() == r.kind && g.target() == here)
            {
                println!(
                    "  no longer asked for, still granted: revoke with `factory plugin revoke {name} --{} {here}`",
                    r.kind
                );
            }
        }
    }
    Ok(())
}

fn or_none(s: &str) -> &str {
    if s.is_empty() { "(none)" } else { s }
}
