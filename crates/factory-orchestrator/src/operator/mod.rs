//! The operator's policy: what a repository's own `factory.toml` may ask
//! for. It lives in `$FACTORY_HOME/policy.toml`, outside every repository,
//! and is set with `factory policy set`; a repository can only narrow
//! within it.
//!
//! ```toml
//! [default]                      # every repository not named below
//! max_trust = "draft"
//! key_envs = ["OPENAI_API_KEY", "ANTHROPIC_API_KEY"]
//! base_urls = []                 # besides each provider's own and loopback
//!
//! [repo."/home/ann/src/calc"]    # one repository (its top directory)
//! max_trust = "scoped"
//! key_envs = ["OPENAI_API_KEY"]
//! ```
//!
//! Whatever it says, the gates `tests_pass`, `review_approved` and
//! `tests_not_weakened` stay on, the default forbidden paths stay
//! forbidden, and a path is low-risk only if both the repository and the
//! defaults say so. `factory run --trust LEVEL` is the operator deciding
//! for that run, and it stands.

pub mod caps;

use super::config::{Config, Gates, Reach};
use crate::models::ProviderKind;
pub use caps::{Caps, Ceilings};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

pub const FILE: &str = "policy.toml";

/// The limits for one repository (or the default).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_trust: Option<Reach>,
    /// Environment variables a repository may name as its model key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_envs: Option<Vec<String>>,
    /// Model base URLs a repository may name, besides each provider's own
    /// and loopback addresses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_urls: Option<Vec<String>>,
    /// Ceilings on the repository's budgets and size caps.
    #[serde(default, skip_serializing_if = "Caps::is_empty")]
    pub caps: Caps,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    #[serde(default)]
    pub default: Limits,
    #[serde(default)]
    pub repo: BTreeMap<String, Limits>,
}

#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("{0}: {1} (fix or remove it; `factory policy show` prints what is in force)")]
    Invalid(String, String),
    #[error("cannot write {0}: {1}")]
    Write(String, std::io::Error),
}

/// The limits in force for one repository.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Effective {
    pub max_trust: Reach,
    pub key_envs: Vec<String>,
    pub base_urls: Vec<String>,
    /// The most each budget and size cap may be.
    pub caps: Ceilings,
    /// Where it came from: `repo PATH`, `default`, or `built-in`.
    pub source: String,
}

impl Policy {
    pub fn load(home: &Path) -> Result<Policy, PolicyError> {
        let path = home.join(FILE);
        match std::fs::read_to_string(&path) {
            Ok(t) => {
                let invalid = |e: String| PolicyError::Invalid(path.display().to_string(), e);
                let p: Policy = toml::from_str(&t).map_err(|e| invalid(e.to_string()))?;
                for (name, l) in std::iter::once(("default", &p.default))
                    .chain(p.repo.iter().map(|(k, l)| (k.as_str(), l)))
                {
                    l.caps
                        .check()
                        .map_err(|e| invalid(format!("{name}'s caps: {e}")))?;
                }
                Ok(p)
            }
            Err(_) => Ok(Policy::default()),
        }
    }

    pub fn save(&self, home: &Path) -> Result<(), PolicyError> {
        let path = home.join(FILE);
        let text = toml::to_string_pretty(self)
            .map_err(|e| PolicyError::Invalid(path.display().to_string(), e.to_string()))?;
        crate::home::write_atomic(&path, text.as_bytes())
            .map_err(|e| PolicyError::Write(path.display().to_string(), e))
    }

    /// Load, change and save the policy under an exclusive lock, so that
    /// two operators' (or tests') changes at once both land.
    pub fn update(home: &Path, change: impl FnOnce(&mut Policy)) -> Result<Policy, PolicyError> {
        let lock_path = home.join("policy.lock");
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| PolicyError::Write(lock_path.display().to_string(), e))?;
        lock.lock()
            .map_err(|e| PolicyError::Write(lock_path.display().to_string(), e))?;
        let mut p = Policy::load(home)?;
        change(&mut p);
        p.save(home)?;
        Ok(p)
    }

    /// The key under which a repository is named: its absolute path.
    pub fn key(repo: &Path) -> String {
        std::fs::canonicalize(repo)
            .unwrap_or_else(|_| repo.to_path_buf())
            .display()
            .to_string()
    }

    /// What applies to `repo`: its own entry, field by field over the
    /// default, over the built-in (`draft`, the providers' own keys).
    pub fn effective(&self, repo: &Path) -> Effective {
        let own = self.repo.get(&Policy::key(repo));
        let pick = |f: fn(&Limits) -> Option<&Vec<String>>, builtin: Vec<String>| {
            own.and_then(f)
                .or_else(|| f(&self.default))
                .cloned()
                .unwrap_or(builtin)
        };
        Effective {
            max_trust: own
                .and_then(|l| l.max_trust)
                .or(self.default.max_trust)
                .unwrap_or(Reach::Draft),
            key_envs: pick(
                |l| l.key_envs.as_ref(),
                vec!["OPENAI_API_KEY".into(), "ANTHROPIC_API_KEY".into()],
            ),
            base_urls: pick(|l| l.base_urls.as_ref(), Vec::new()),
            caps: Caps::resolve(own.map(|l| &l.caps), &self.default.caps),
            source: if own.is_some() {
                format!("repo {}", Policy::key(repo))
            } else if self.default != Limits::default() {
                "default".into()
            } else {
                "built-in".into()
            },
        }
    }
}

fn loopback(url: &str) -> bool {
    url::Url::parse(url).is_ok_and(|u| {
        matches!(
            u.host_str(),
            Some("127.0.0.1") | Some("localhost") | Some("[::1]")
        )
    })
}

/// Bring a repository's configuration within the operator's policy. The
/// notes say what was changed; Err names what may not be used and how the
/// operator would allow it.
pub fn apply(
    cfg: &mut Config,
    eff: &Effective,
    repo: &Path,
    explicit_trust: bool,
) -> Result<Vec<String>, String> {
    let mut notes = Vec::new();
    if !explicit_trust && cfg.trust > eff.max_trust {
        notes.push(format!(
            "factory.toml asks for trust {}; the operator's policy ({}) allows at most {}",
            cfg.trust.name(),
            eff.source,
            eff.max_trust.name()
        ));
        cfg.trust = eff.max_trust;
    }
    caps::clamp(cfg, &eff.caps, &eff.source, &mut notes);
    let defaults = Gates::default();
    let g = &mut cfg.gates;
    for (name, on) in [
        ("tests_pass", &mut g.tests_pass),
        ("review_approved", &mut g.review_approved),
        ("tests_not_weakened", &mut g.tests_not_weakened),
    ] {
        if !*on {
            notes.push(format!(
                "factory.toml turns the gate {name} off; it stays on"
            ));
            *on = true;
        }
    }
    for f in &defaults.forbidden_paths {
        if !g.forbidden_paths.contains(f) {
            g.forbidden_paths.push(f.clone());
        }
    }
    // Low-risk only where both the repository and the defaults say so.
    let widened: Vec<String> = g
        .low_risk_paths
        .iter()
        .filter(|p| !defaults.low_risk_paths.contains(p))
        .cloned()
        .collect();
    if !widened.is_empty() {
        notes.push(format!(
            "factory.toml's low_risk_paths {widened:?} are not low-risk by the operator's defaults; ignored"
        ));
        g.low_risk_paths
            .retain(|p| defaults.low_risk_paths.contains(p));
    }
    if let Some(m) = &cfg.model
        && m.provider != ProviderKind::Replay
    {
        let default_var = match m.provider {
            ProviderKind::Anthropic => "ANTHROPIC_API_KEY",
            _ => "OPENAI_API_KEY",
        };
        let var = m.api_key_env.as_deref().unwrap_or(default_var);
        let key = repo.display();
        if !eff.key_envs.iter().any(|k| k == var) {
            return Err(format!(
                "factory.toml's [model] uses ${var} as its key, which the operator's policy ({}) does not allow; \
                 to allow it: `factory policy set --repo {key} --allow-key-env {var}`",
                eff.source
            ));
        }
        if let Some(url) = &m.base_url
            && !loopback(url)
            && !eff
                .base_urls
                .iter()
                .any(|u| u.trim_end_matches('/') == url.trim_end_matches('/'))
        {
            return Err(format!(
                "factory.toml's [model] sends requests (and the key) to {url}, which the operator's policy ({}) does not allow; \
                 to allow it: `factory policy set --repo {key} --allow-base-url {url}`",
                eff.source
            ));
        }
    }
    Ok(notes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(text: &str) -> Config {
        Config::parse(text, "factory.toml").unwrap()
    }

    #[test]
    fn a_repository_narrows_within_the_policy() {
        let p = Policy::default();
        let eff = p.effective(Path::new("/nowhere/repo"));
        assert_eq!(
            (eff.max_trust, eff.source.as_str()),
            (Reach::Draft, "built-in")
        );
        let mut c = cfg(
            "trust = \"full\"\n[deploy]\ncommand = \"/bin/true\"\nhealth = \"/bin/true\"\n[gates]\ntests_pass = false\nreview_approved = false\nforbidden_paths = []\nlow_risk_paths = [\"**\"]\n",
        );
        let notes = apply(&mut c, &eff, Path::new("/r"), false).unwrap();
        assert_eq!(c.trust, Reach::Draft);
        assert!(c.gates.tests_pass && c.gates.review_approved);
        assert!(c.gates.forbidden_paths.contains(&".github/**".to_string()));
        assert!(c.gates.low_risk_paths.is_empty());
        assert_eq!(notes.len(), 4, "{notes:#?}");
        // The operator at the keyboard decides for the run.
        let mut c =
            cfg("trust = \"full\"\n[deploy]\ncommand = \"/bin/true\"\nhealth = \"/bin/true\"\n");
        apply(&mut c, &eff, Path::new("/r"), true).unwrap();
        assert_eq!(c.trust, Reach::Full);
    }

    #[test]
    fn a_repository_cannot_redirect_the_key() {
        let mut p = Policy::default();
        let eff = p.effective(Path::new("/r"));
        let steal = "[model]\nprovider = \"openai\"\nname = \"m\"\napi_key_env = \"AWS_SECRET_ACCESS_KEY\"\n";
        let e = apply(&mut cfg(steal), &eff, Path::new("/r"), false).unwrap_err();
        assert!(
            e.contains("$AWS_SECRET_ACCESS_KEY") && e.contains("--allow-key-env"),
            "{e}"
        );
        let away = "[model]\nprovider = \"anthropic\"\nname = \"m\"\nbase_url = \"https://evil.example\"\n";
        let e = apply(&mut cfg(away), &eff, Path::new("/r"), false).unwrap_err();
        assert!(
            e.contains("https://evil.example") && e.contains("--allow-base-url"),
            "{e}"
        );
        let local = "[model]\nprovider = \"openai\"\nname = \"m\"\nbase_url = \"http://127.0.0.1:11434/v1\"\n";
        apply(&mut cfg(local), &eff, Path::new("/r"), false).unwrap();
        p.repo.insert(
            Policy::key(Path::new("/r")),
            Limits {
                key_envs: Some(vec!["MY_KEY".into()]),
                base_urls: Some(vec!["https://llm.internal/v1".into()]),
                ..Default::default()
            },
        );
        let eff = p.effective(Path::new("/r"));
        let ok = "[model]\nprovider = \"openai\"\nname = \"m\"\napi_key_env = \"MY_KEY\"\nbase_url = \"https://llm.internal/v1/\"\n";
        apply(&mut cfg(ok), &eff, Path::new("/r"), false).unwrap();
        assert_eq!(eff.max_trust, Reach::Draft, "unset fields fall back");
    }
}
