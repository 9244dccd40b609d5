//! What a plugin asks for, shown to the operator, and granted only with
//! `--accept`, within the trust level's ceiling.

use anyhow::anyhow;
use factory_host::Host;
use factory_host::TrustLevel;
use factory_host::grants::Grant;
use factory_supply::permissions::{Manifest, Placeholders, Request};
use std::path::{Path, PathBuf};

/// Where the placeholders point on this machine: `{workdir}` is
/// `--workdir` (default: the current directory).
pub fn placeholders(workdir: Option<&Path>) -> anyhow::Result<Placeholders> {
    let workdir = match workdir {
        Some(d) => {
            std::fs::canonicalize(d).map_err(|e| anyhow!("--workdir {}: {e}", d.display()))?
        }
        None => std::env::current_dir()?,
    };
    Ok(Placeholders {
        workdir,
        home: std::env::var_os("HOME").map(PathBuf::from),
    })
}

/// One request as the operator reads it: the flag that grants it, and
/// where a placeholder points here.
pub fn show(r: &Request, at: &Placeholders) -> String {
    let here = r.resolved(at);
    if here == r.value {
        r.to_string()
    } else {
        format!("{r}  (here: {here})")
    }
}

/// The requests and the level they need, as lines.
pub fn describe(m: &Manifest, at: &Placeholders) -> Vec<String> {
    if m.is_empty() {
        return vec!["asks for: nothing (pure compute)".into()];
    }
    let mut out = vec![format!("asks for (needs trust {}):", m.min_trust())];
    out.extend(m.requests().iter().map(|r| format!("  {}", show(r, at))));
    out
}

/// With `--accept`, the grants to give: every request, resolved here and
/// within `trust`'s ceiling. A request above it refuses the whole install
/// (nothing is installed), naming the level that would allow it.
pub fn plan(
    m: &Manifest,
    trust: TrustLevel,
    at: &Placeholders,
    raise: &dyn Fn(TrustLevel) -> String,
) -> anyhow::Result<Vec<Grant>> {
    let above = m.above(trust);
    if !above.is_empty() {
        let lines: Vec<String> = above
            .iter()
            .map(|(r, l)| format!("  {r} needs trust {l}"))
            .collect();
        return Err(anyhow!(
            "refused: at trust {trust}, {} of its requests are above the level's ceiling:\n{}\n{}",
            above.len(),
            lines.join("\n"),
            raise(m.min_trust())
        ));
    }
    Ok(m.resolve(at)?)
}

/// Grant what was accepted (the registry checks each against the
/// plugin's trust once more) and journal the acceptance.
pub fn grant(host: &Host, name: &str, grants: &[Grant]) -> anyhow::Result<()> {
    if grants.is_empty() {
        return Ok(());
    }
    host.registry().grant(name, grants)?;
    host.journal()
        .event(factory_host::journal::EventRecord::new(
            name,
            "accept",
            format!(
                "the operator accepted its requests (--accept): {}",
                grants
                    .iter()
                    .map(|g| g.flag())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    Ok(())
}

/// The manifest a registry entry records (empty: none).
pub fn stored(requested: &str, name: &str) -> anyhow::Result<Manifest> {
    if requested.trim().is_empty() {
        return Ok(Manifest::default());
    }
    Ok(Manifest::parse(
        requested,
        &format!("the recorded requests of `{name}`"),
    )?)
}
