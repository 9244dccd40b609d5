//! The operator's ceilings on a repository's budgets and size caps: its
//! `factory.toml` may set each lower, never higher, and never turn one off
//! (`0`, or leaving an optional limit out, means "no limit" there and is
//! read as the ceiling). Set in `policy.toml` as `[default.caps]` or
//! `[repo."PATH".caps]`, or with `factory policy set --cap NAME=VALUE`.

use crate::config::{BudgetConfig, Config, Gates};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Ceilings, each optional (unset: the next level's, then the built-in
/// default, which is the value a repository gets without a factory.toml).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Caps {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_attempts: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_cost_usd: Option<f64>,
    /// A duration: "90m", "2h".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_wall: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_step_write_bytes: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_step_files: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_file_bytes: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_diff_lines: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_diff_bytes: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_changed_files: Option<u32>,
}

/// The names `--cap` takes.
pub const NAMES: &[&str] = &[
    "max_attempts",
    "max_tokens",
    "max_cost_usd",
    "max_wall",
    "max_step_write_bytes",
    "max_step_files",
    "max_file_bytes",
    "max_diff_lines",
    "max_diff_bytes",
    "max_changed_files",
];

/// The ceilings in force, every one set.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Ceilings {
    pub max_attempts: u32,
    pub max_tokens: u64,
    pub max_cost_usd: f64,
    #[serde(serialize_with = "human")]
    pub max_wall: Duration,
    pub max_step_write_bytes: u64,
    pub max_step_files: u64,
    pub max_file_bytes: u64,
    pub max_diff_lines: u32,
    pub max_diff_bytes: u64,
    pub max_changed_files: u32,
}

fn human<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&humantime::format_duration(*d).to_string())
}

/// A cap that cannot be set: what was wrong and an example of right.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BadCap(String);

impl Caps {
    pub fn is_empty(&self) -> bool {
        self == &Caps::default()
    }

    /// One `NAME=VALUE` (`--cap`), as a `Caps` with that field set.
    pub fn parse_one(s: &str) -> Result<Caps, BadCap> {
        let (name, value) = s
            .split_once('=')
            .ok_or_else(|| BadCap(format!("`{s}`: expected NAME=VALUE, e.g. max_cost_usd=5")))?;
        let (name, value) = (name.trim(), value.trim());
        if !NAMES.contains(&name) {
            return Err(BadCap(format!(
                "`{name}` is not a cap; known: {}",
                NAMES.join(", ")
            )));
        }
        let doc = if name == "max_wall" {
            format!("{name} = {value:?}")
        } else {
            format!("{name} = {value}")
        };
        let caps: Caps =
            toml::from_str(&doc).map_err(|e| BadCap(format!("`{s}`: {}", e.message())))?;
        caps.check().map(|()| caps)
    }

    /// A duration that does not parse is refused when set, not at a run.
    pub fn check(&self) -> Result<(), BadCap> {
        if let Some(w) = &self.max_wall {
            humantime::parse_duration(w)
                .map_err(|e| BadCap(format!("max_wall = {w:?}: {e} (e.g. \"90m\", \"2h\")")))?;
        }
        if let Some(c) = self.max_cost_usd
            && !(c.is_finite() && c >= 0.0)
        {
            return Err(BadCap(format!("max_cost_usd = {c}: a non-negative number")));
        }
        Ok(())
    }

    /// Every field `other` sets replaces this one's.
    pub fn merge(&mut self, other: Caps) {
        macro_rules! take {
            ($($f:ident),*) => { $( if other.$f.is_some() { self.$f = other.$f; } )* };
        }
        take!(
            max_attempts,
            max_tokens,
            max_cost_usd,
            max_wall,
            max_step_write_bytes,
            max_step_files,
            max_file_bytes,
            max_diff_lines,
            max_diff_bytes,
            max_changed_files
        );
    }

    /// The ceilings for a repository: its own caps, field by field over
    /// the default's, over the built-in defaults.
    pub fn resolve(own: Option<&Caps>, default: &Caps) -> Ceilings {
        let b = BudgetConfig::default();
        let g = Gates::default();
        macro_rules! pick {
            ($f:ident, $builtin:expr) => {
                own.and_then(|c| c.$f.clone())
                    .or_else(|| default.$f.clone())
                    .unwrap_or($builtin)
            };
        }
        let wall = own
            .and_then(|c| c.max_wall.as_deref())
            .or(default.max_wall.as_deref())
            .and_then(|w| humantime::parse_duration(w).ok())
            .unwrap_or(b.max_wall);
        Ceilings {
            max_attempts: pick!(max_attempts, b.max_attempts),
            max_tokens: pick!(max_tokens, b.max_tokens.unwrap_or(u64::MAX)),
            max_cost_usd: pick!(max_cost_usd, b.max_cost_usd.unwrap_or(f64::MAX)),
            max_wall: wall,
            max_step_write_bytes: pick!(max_step_write_bytes, b.max_step_write_bytes),
            max_step_files: pick!(max_step_files, b.max_step_files),
            max_file_bytes: pick!(max_file_bytes, b.max_file_bytes),
            max_diff_lines: pick!(max_diff_lines, g.max_diff_lines),
            max_diff_bytes: pick!(max_diff_bytes, g.max_diff_bytes),
            max_changed_files: pick!(max_changed_files, g.max_changed_files),
        }
    }
}

/// Hold `cfg`'s budgets and caps to `c`; a note for each one lowered.
pub fn clamp(cfg: &mut Config, c: &Ceilings, source: &str, notes: &mut Vec<String>) {
    let mut note = |name: &str, asked: String, cap: String| {
        notes.push(format!(
            "factory.toml asks for {name} = {asked}; the operator's policy ({source}) allows at most {cap}"
        ));
    };
    // `0` means "no limit" for these.
    macro_rules! unlimited_zero {
        ($v:expr, $name:literal, $cap:expr) => {
            if $v == 0 || $v > $cap {
                note(
                    $name,
                    if $v == 0 {
                        "0 (no limit)".into()
                    } else {
                        $v.to_string()
                    },
                    $cap.to_string(),
                );
                $v = $cap;
            }
        };
    }
    macro_rules! at_most {
        ($v:expr, $name:literal, $cap:expr) => {
            if $v > $cap {
                note($name, $v.to_string(), $cap.to_string());
                $v = $cap;
            }
        };
    }
    let b = &mut cfg.budget;
    at_most!(b.max_attempts, "max_attempts", c.max_attempts);
    at_most!(
        b.max_step_write_bytes,
        "max_step_write_bytes",
        c.max_step_write_bytes
    );
    at_most!(b.max_step_files, "max_step_files", c.max_step_files);
    at_most!(b.max_file_bytes, "max_file_bytes", c.max_file_bytes);
    // These are optional: leaving one out means "no limit", read as the cap.
    macro_rules! at_most_some {
        ($v:expr, $name:literal, $cap:expr) => {
            match $v {
                Some(t) if t <= $cap => {}
                asked => {
                    note(
                        $name,
                        asked.map_or("none (no limit)".into(), |t| t.to_string()),
                        $cap.to_string(),
                    );
                    $v = Some($cap);
                }
            }
        };
    }
    at_most_some!(b.max_tokens, "max_tokens", c.max_tokens);
    at_most_some!(b.max_cost_usd, "max_cost_usd", c.max_cost_usd);
    if b.max_wall > c.max_wall {
        note(
            "max_wall",
            humantime::format_duration(b.max_wall).to_string(),
            humantime::format_duration(c.max_wall).to_string(),
        );
        b.max_wall = c.max_wall;
    }
    let g = &mut cfg.gates;
    unlimited_zero!(g.max_diff_lines, "max_diff_lines", c.max_diff_lines);
    unlimited_zero!(g.max_diff_bytes, "max_diff_bytes", c.max_diff_bytes);
    unlimited_zero!(
        g.max_changed_files,
        "max_changed_files",
        c.max_changed_files
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repository_can_lower_a_cap_but_not_raise_or_remove_it() {
        let mut cfg = Config::parse(
            "[budget]\nmax_attempts = 2\nmax_step_write_bytes = 1000000000000\nmax_cost_usd = 1000\nmax_wall = \"30d\"\n\
             [gates]\nmax_diff_lines = 0\nmax_changed_files = 5\n",
            "factory.toml",
        )
        .unwrap();
        let c = Caps::resolve(None, &Caps::default());
        let mut notes = Vec::new();
        clamp(&mut cfg, &c, "built-in", &mut notes);
        let d = Config::parse("", "factory.toml").unwrap();
        assert_eq!(cfg.budget.max_attempts, 2, "lowered stays");
        assert_eq!(cfg.gates.max_changed_files, 5, "lowered stays");
        assert_eq!(
            cfg.budget.max_step_write_bytes,
            d.budget.max_step_write_bytes
        );
        assert_eq!(cfg.budget.max_cost_usd, d.budget.max_cost_usd);
        assert_eq!(cfg.budget.max_wall, d.budget.max_wall);
        assert_eq!(
            cfg.gates.max_diff_lines, d.gates.max_diff_lines,
            "0 is not 'no limit'"
        );
        assert_eq!(notes.len(), 4, "{notes:#?}");
        assert!(
            notes
                .iter()
                .any(|n| n.contains("max_diff_lines = 0 (no limit)"))
        );
    }

    #[test]
    fn the_operator_raises_a_ceiling_per_repository_over_the_default() {
        let default = Caps::parse_one("max_cost_usd=20").unwrap();
        let mut own = Caps::parse_one("max_wall=4h").unwrap();
        own.merge(Caps::parse_one("max_diff_lines = 5000").unwrap());
        let c = Caps::resolve(Some(&own), &default);
        assert_eq!(c.max_cost_usd, 20.0);
        assert_eq!(c.max_wall, Duration::from_secs(4 * 3600));
        assert_eq!(c.max_diff_lines, 5000);
        assert_eq!(c.max_attempts, BudgetConfig::default().max_attempts);
        for bad in [
            "max_wall=soon",
            "max_cost=5",
            "max_attempts",
            "max_attempts=-1",
            "max_cost_usd=nan",
        ] {
            assert!(Caps::parse_one(bad).is_err(), "{bad}");
        }
        let e = Caps::parse_one("max_cost=5").unwrap_err().to_string();
        assert!(e.contains("max_cost_usd"), "names the known caps: {e}");
    }
}
