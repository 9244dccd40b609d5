//! Track records for `factory trust report`: how each role plugin did
//! across runs (steps, merges, reverts found in the repositories, failed
//! gates), and which could be promoted. Promotion is only ever suggested:
//! the operator runs `factory plugin trust NAME LEVEL` themselves.

use super::git;
use super::outcome::Delivery;
use super::store::Store;
use crate::runtime::Host;
use crate::trust::TrustLevel;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

#[derive(Debug, Default, Serialize)]
pub struct TrackRecord {
    pub plugin: String,
    pub kinds: BTreeSet<String>,
    pub trust: Option<TrustLevel>,
    pub runs: u64,
    pub steps_ok: u64,
    pub steps_failed: u64,
    /// Runs it took part in that were merged.
    pub merges: u64,
    /// Of those, merges later reverted in the repository.
    pub reverts: u64,
    /// Failed gates in runs it took part in.
    pub failed_gates: u64,
    /// A promotion the operator could make, with the command.
    pub promote: Option<String>,
}

/// Runs needed before a promotion is suggested.
pub const MIN_RUNS: u64 = 3;

fn reverted(repo: &Path, commit: &str) -> bool {
    !commit.is_empty()
        && git::open_repo(repo).is_ok()
        && git::git(
            repo,
            &[
                "log",
                "--all",
                "--format=%H",
                &format!("--grep=This reverts commit {commit}"),
            ],
        )
        .map(|s| !s.trim().is_empty())
        .unwrap_or(false)
}

pub fn report(host: &Host) -> rusqlite::Result<Vec<TrackRecord>> {
    let store = Store::open(&host.home().db_path())?;
    let mut recs: BTreeMap<String, TrackRecord> = BTreeMap::new();
    for run in store.runs(100_000)? {
        let roles = &run.config["roles"];
        let result = run.result.as_ref();
        let merged = result.is_some_and(|r| r.delivery == Delivery::Merged);
        let merge_commit = result
            .and_then(|r| r.merge_commit.clone())
            .unwrap_or_default();
        let was_reverted = merged
            && (reverted(Path::new(&run.repo), &merge_commit)
                || reverted(Path::new(&run.repo), result.map_or("", |r| r.tip.as_str())));
        let failed_gates =
            result.map_or(0, |r| r.gates.iter().filter(|g| !g.passed).count() as u64);
        let mut seen = BTreeSet::new();
        for s in store
            .steps(&run.id)?
            .into_iter()
            .filter(|s| s.kind == "role")
        {
            let plugin = roles[&s.role].as_str().unwrap_or(&s.role).to_string();
            let r = recs.entry(plugin.clone()).or_insert_with(|| TrackRecord {
                plugin: plugin.clone(),
                ..Default::default()
            });
            r.kinds.insert(s.role.clone());
            if s.status == "ok" {
                r.steps_ok += 1;
            } else {
                r.steps_failed += 1;
            }
            if seen.insert(plugin) {
                r.runs += 1;
                r.merges += merged as u64;
                r.reverts += was_reverted as u64;
                r.failed_gates += failed_gates;
            }
        }
    }
    let mut out: Vec<TrackRecord> = recs.into_values().collect();
    for r in &mut out {
        r.trust = host
            .registry()
            .get(&r.plugin)
            .ok()
            .flatten()
            .map(|p| p.trust);
        let steps = r.steps_ok + r.steps_failed;
        let reliable = r.runs >= MIN_RUNS
            && r.reverts == 0
            && r.failed_gates == 0
            && r.steps_failed * 5 <= steps;
        if let (true, Some(t)) = (reliable, r.trust)
            && let Some(next) = TrustLevel::ALL.iter().find(|l| **l > t)
        {
            r.promote = Some(format!("factory plugin trust {} {}", r.plugin, next.name()));
        }
    }
    Ok(out)
}
