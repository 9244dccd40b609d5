//! Plugins built into the binary that embeds this store: registered like
//! installed plugins (with no grants) and run under the same sandbox
//! rules. The table itself is the embedder's (the `factory` CLI builds and
//! embeds `plugins/`); the store only keeps their registry entries current.

use crate::journal::EventRecord;
use crate::registry::{PluginRecord, Registry, RegistryError, World};
use crate::trust::TrustLevel;

pub struct Builtin {
    pub name: &'static str,
    pub digest: &'static str,
    pub bytes: &'static [u8],
    pub description: &'static str,
    pub input_schema: &'static str,
    /// The trust level its job needs; the operator still grants each target.
    pub trust: TrustLevel,
    pub world: World,
    /// A role's kind or an intake adapter's format.
    pub kind: &'static str,
}

/// The component of built-in `name`, if `builtins` has it.
pub fn bytes(builtins: &[Builtin], name: &str) -> Option<&'static [u8]> {
    builtins.iter().find(|b| b.name == name).map(|b| b.bytes)
}

/// Make sure every built-in has a registry entry for this binary's version.
/// Trust, grants and limits the operator set are kept across upgrades.
pub fn register(registry: &Registry, builtins: &[Builtin]) -> Result<(), RegistryError> {
    // This binary's built-ins were registered already: one read.
    let print = fingerprint(builtins);
    if registry.meta("builtins")? == Some(print) {
        return Ok(());
    }
    register_all(registry, builtins)?;
    registry.set_meta("builtins", print)
}

/// The built-ins of this binary, as one number: their names, digests,
/// kinds and descriptions.
fn fingerprint(builtins: &[Builtin]) -> i64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    for b in builtins {
        (b.name, b.digest, b.kind, b.description, b.trust.number()).hash(&mut h);
    }
    h.finish() as i64
}

fn register_all(registry: &Registry, builtins: &[Builtin]) -> Result<(), RegistryError> {
    let mut registered: std::collections::HashMap<String, PluginRecord> = registry
        .list()?
        .into_iter()
        .filter(|p| builtins.iter().any(|b| b.name == p.name))
        .map(|p| (p.name.clone(), p))
        .collect();
    for b in builtins {
        let existing = registered.remove(b.name);
        if existing.as_ref().is_some_and(|e| {
            e.digest == b.digest && e.builtin && e.kind == b.kind && e.description == b.description
        }) {
            continue;
        }
        let record = PluginRecord {
            name: b.name.to_string(),
            digest: b.digest.to_string(),
            world: b.world,
            kind: b.kind.to_string(),
            trust: existing.as_ref().map_or(b.trust, |e| e.trust),
            builtin: true,
            size: b.bytes.len() as u64,
            source: "built in".to_string(),
            installed_at: crate::db::now_ms(),
            description: b.description.to_string(),
            input_schema: b.input_schema.to_string(),
            imports: Vec::new(),
            limits: existing.as_ref().map(|e| e.limits).unwrap_or_default(),
            file_stamp: String::new(),
            requested: String::new(),
            signer: String::new(),
        };
        registry.upsert(&record)?;
        registry.journal().event(EventRecord::new(
            b.name,
            "install",
            format!("built-in {} registered", b.digest),
        ));
    }
    Ok(())
}
