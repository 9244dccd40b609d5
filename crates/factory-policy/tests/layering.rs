//! The workspace's layering, checked from each crate's Cargo.toml: the
//! bottom crates (policy, then the sandbox) stand alone, so that an MCP
//! server or a worker can embed them without the rest of factory.

use std::collections::BTreeMap;
use std::path::Path;

/// What each crate under `crates/` may not depend on (normal
/// dependencies; dev-dependencies are the tests' business).
fn rules() -> BTreeMap<&'static str, Vec<&'static str>> {
    let above_policy = vec![
        "factory-sandbox",
        "factory-store",
        "factory-models",
        "factory-orchestrator",
        "factory-serve",
        "factory-supply",
        "factory-host",
        "factory-types",
        "wasmtime",
        "wasmtime-wasi",
        "wasmtime-wasi-http",
        "tokio",
        "rusqlite",
        "reqwest",
    ];
    // No database, no HTTP client for models, no git, no run.
    let above_sandbox = vec![
        "factory-store",
        "factory-models",
        "factory-orchestrator",
        "factory-serve",
        "factory-supply",
        "factory-host",
        "rusqlite",
        "reqwest",
        "git2",
        "gix",
    ];
    BTreeMap::from([
        ("factory-policy", above_policy),
        ("factory-sandbox", above_sandbox),
        // The store and the model providers are siblings: neither needs
        // the other.
        (
            "factory-store",
            vec![
                "factory-models",
                "factory-orchestrator",
                "factory-serve",
                "factory-supply",
                "factory-host",
            ],
        ),
        (
            "factory-models",
            vec![
                "factory-store",
                "factory-orchestrator",
                "factory-serve",
                "factory-supply",
                "factory-host",
                "rusqlite",
            ],
        ),
        (
            "factory-orchestrator",
            vec!["factory-serve", "factory-supply", "factory-host"],
        ),
        // The service drives runs; the CLI embeds it.
        ("factory-serve", vec!["factory-supply", "factory-host"]),
        // The supply chain stands on the store; no run, no models.
        (
            "factory-supply",
            vec![
                "factory-models",
                "factory-orchestrator",
                "factory-serve",
                "factory-host",
            ],
        ),
    ])
}

#[test]
fn no_crate_depends_on_a_crate_above_it() {
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let rules = rules();
    let mut seen = 0;
    for entry in std::fs::read_dir(&crates).unwrap().flatten() {
        let manifest = entry.path().join("Cargo.toml");
        let Ok(text) = std::fs::read_to_string(&manifest) else {
            continue;
        };
        let doc: toml::Table = text.parse().unwrap();
        let name = doc["package"]["name"].as_str().unwrap().to_string();
        let forbidden = rules.get(name.as_str()).unwrap_or_else(|| {
            panic!(
                "{name} ({}) has no layering rule: add it here",
                manifest.display()
            )
        });
        let deps: Vec<String> = ["dependencies", "build-dependencies"]
            .iter()
            .filter_map(|t| doc.get(*t).and_then(|d| d.as_table()))
            .flat_map(|t| t.keys().cloned())
            .collect();
        for d in &deps {
            assert!(
                !forbidden.contains(&d.as_str()),
                "{name} depends on {d}, which is above it (see {})",
                manifest.display()
            );
        }
        seen += 1;
    }
    assert!(
        seen >= rules.len(),
        "found {seen} crates under {}, expected the {} with rules",
        crates.display(),
        rules.len()
    );
}
