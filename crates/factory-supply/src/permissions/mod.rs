//! A plugin's permission manifest: what it asks for, which the operator
//! grants or not.
//!
//! Written as `plugin.toml`:
//!
//! ```toml
//! [permissions]
//! trust = "draft"                  # optional: at least what the requests need
//! read = ["{workdir}"]
//! write = ["{workdir}/out"]
//! net = ["https://api.github.com"]
//! exec = ["git"]
//! env = ["GITHUB_TOKEN"]
//! tools = ["fetch"]
//! models = ["*"]
//! ```
//!
//! It travels inside the component as the custom section
//! [`SECTION`] ([`embed`], [`embedded`]), so the component's digest, and
//! the signature over the manifest that names it, cover it. Nothing in it
//! is granted by itself: [`Manifest::resolve`] turns the requests into
//! grants once the operator accepted them, and the registry checks each
//! against the plugin's trust level like any grant.

mod section;

pub use section::{SECTION, embed, embedded};

use factory_policy::TrustLevel;
use factory_policy::grants::{Grant, GrantError, NetTarget};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::{Component, Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum PermissionsError {
    #[error("{where_}: not a permission manifest: {why}")]
    Syntax { where_: String, why: String },
    #[error("{where_}: `{kind} = \"{value}\"`: {why}")]
    Bad {
        where_: String,
        kind: &'static str,
        value: String,
        why: String,
    },
    #[error(
        "{where_}: `trust = \"{declared}\"` is below what its requests need: `{kind} = \"{value}\"` needs {needed}; declare trust = \"{}\" or drop the request",
        needed.name()
    )]
    TrustTooLow {
        where_: String,
        declared: String,
        kind: &'static str,
        value: String,
        needed: TrustLevel,
    },
    #[error("the component's `{SECTION}` section: {0}")]
    Section(String),
    /// Not a component at all (the install's own checks say more).
    #[error("not a WebAssembly component: {0}")]
    NotComponent(String),
    #[error("`{kind} = \"{value}\"` resolves to `{resolved}`: {error}")]
    Grant {
        kind: &'static str,
        value: String,
        resolved: String,
        error: GrantError,
    },
}

/// What a plugin asks for, as written (paths may hold placeholders).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Requests {
    /// The minimum trust level, by name or number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trust: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub read: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub write: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub net: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exec: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub models: Vec<String>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    permissions: Requests,
}

/// One request: the grant kind (as `factory plugin grant` names it) and
/// its target as written.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Request {
    pub kind: &'static str,
    pub value: String,
}

impl Request {
    /// The target on this machine (placeholders replaced).
    pub fn resolved(&self, at: &Placeholders) -> String {
        match self.kind {
            "read" | "write" => substitute(&self.value, at),
            _ => self.value.clone(),
        }
    }
}

impl fmt::Display for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "--{} {}", self.kind, self.value)
    }
}

/// A checked permission manifest.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Manifest {
    requests: Vec<Request>,
    /// The level the manifest declares, if it does.
    declared: Option<TrustLevel>,
}

/// What the placeholders in request paths stand for on this machine.
#[derive(Clone, Debug)]
pub struct Placeholders {
    /// `{workdir}`: the directory the plugin is meant to work on (the
    /// install's `--workdir`, default the current directory).
    pub workdir: PathBuf,
    /// `{home}`: the operator's home directory.
    pub home: Option<PathBuf>,
}

pub const PLACEHOLDERS: [&str; 2] = ["{workdir}", "{home}"];

impl Manifest {
    /// Parse and check `plugin.toml` text; `where_` names it in errors.
    pub fn parse(text: &str, where_: &str) -> Result<Manifest, PermissionsError> {
        let file: File = toml::from_str(text).map_err(|e| PermissionsError::Syntax {
            where_: where_.to_string(),
            why: e.to_string().trim_end().to_string(),
        })?;
        Manifest::check(file.permissions, where_)
    }

    fn check(r: Requests, where_: &str) -> Result<Manifest, PermissionsError> {
        let bad = |kind: &'static str, value: &str, why: String| PermissionsError::Bad {
            where_: where_.to_string(),
            kind,
            value: value.to_string(),
            why,
        };
        let mut requests = Vec::new();
        let lists: [(&'static str, &Vec<String>); 7] = [
            ("read", &r.read),
            ("write", &r.write),
            ("net", &r.net),
            ("exec", &r.exec),
            ("env", &r.env),
            ("tool", &r.tools),
            ("model", &r.models),
        ];
        let total: usize = lists.iter().map(|(_, v)| v.len()).sum();
        if total > MAX_REQUESTS {
            return Err(PermissionsError::Syntax {
                where_: where_.to_string(),
                why: format!("{total} requests; a manifest may make at most {MAX_REQUESTS}"),
            });
        }
        if let Some(t) = &r.trust {
            printable(t).map_err(|why| bad("trust", &t.escape_debug().to_string(), why))?;
        }
        for (kind, values) in lists {
            for v in values {
                printable(v).map_err(|why| bad(kind, &v.escape_debug().to_string(), why))?;
                check_request(kind, v).map_err(|why| bad(kind, v, why))?;
                let req = Request {
                    kind,
                    value: v.clone(),
                };
                if !requests.contains(&req) {
                    requests.push(req);
                }
            }
        }
        let declared = match &r.trust {
            None => None,
            Some(t) => Some(
                t.parse::<TrustLevel>()
                    .map_err(|e| bad("trust", t, format!("{e}")))?,
            ),
        };
        let m = Manifest { requests, declared };
        if let Some(d) = declared
            && let Some((req, needed)) = m.highest_request()
            && needed > d
        {
            return Err(PermissionsError::TrustTooLow {
                where_: where_.to_string(),
                declared: d.name().to_string(),
                kind: req.kind,
                value: req.value.clone(),
                needed,
            });
        }
        Ok(m)
    }

    pub fn is_empty(&self) -> bool {
        self.requests.is_empty() && self.declared.is_none()
    }

    pub fn requests(&self) -> &[Request] {
        &self.requests
    }

    /// The request that needs the highest level, and that level.
    fn highest_request(&self) -> Option<(&Request, TrustLevel)> {
        self.requests
            .iter()
            .map(|r| (r, request_level(r)))
            .max_by_key(|(_, l)| *l)
    }

    /// The lowest trust level that allows every request (and at least the
    /// declared one).
    pub fn min_trust(&self) -> TrustLevel {
        let needed = self
            .highest_request()
            .map_or(TrustLevel::Untrusted, |(_, l)| l);
        needed.max(self.declared.unwrap_or(TrustLevel::Untrusted))
    }

    /// The requests that `level` does not allow, each with the level that
    /// would.
    pub fn above(&self, level: TrustLevel) -> Vec<(Request, TrustLevel)> {
        self.requests
            .iter()
            .map(|r| (r.clone(), request_level(r)))
            .filter(|(_, l)| *l > level)
            .collect()
    }

    /// The requests as grants on this machine: placeholders replaced,
    /// directories and programs checked to exist.
    pub fn resolve(&self, at: &Placeholders) -> Result<Vec<Grant>, PermissionsError> {
        let mut out = Vec::new();
        for r in &self.requests {
            let resolved = r.resolved(at);
            let grant = match r.kind {
                "read" => Grant::dir(&resolved, false),
                "write" => Grant::dir(&resolved, true),
                "net" => resolved.parse::<NetTarget>().map(Grant::Net),
                "exec" => Grant::program(&resolved),
                "env" => Grant::env(&resolved),
                "tool" => Grant::tool(&resolved),
                _ => Grant::model(&resolved),
            }
            .map_err(|error| PermissionsError::Grant {
                kind: r.kind,
                value: r.value.clone(),
                resolved: resolved.clone(),
                error,
            })?;
            if !out.contains(&grant) {
                out.push(grant);
            }
        }
        Ok(out)
    }

    /// The manifest as `plugin.toml` text, requests in a fixed order (what
    /// the registry keeps, and what [`Manifest::parse`] reads back).
    pub fn to_toml(&self) -> String {
        if self.is_empty() {
            return String::new();
        }
        let mut r = Requests {
            trust: self.declared.map(|t| t.name().to_string()),
            ..Requests::default()
        };
        for q in &self.requests {
            let list = match q.kind {
                "read" => &mut r.read,
                "write" => &mut r.write,
                "net" => &mut r.net,
                "exec" => &mut r.exec,
                "env" => &mut r.env,
                "tool" => &mut r.tools,
                _ => &mut r.models,
            };
            list.push(q.value.clone());
        }
        toml::to_string(&File { permissions: r }).unwrap_or_default()
    }

    /// What `new` asks for that `self` did not, and what it no longer asks for.
    pub fn diff(&self, new: &Manifest) -> (Vec<Request>, Vec<Request>) {
        let added = new
            .requests
            .iter()
            .filter(|r| !self.requests.contains(r))
            .cloned()
            .collect();
        let removed = self
            .requests
            .iter()
            .filter(|r| !new.requests.contains(r))
            .cloned()
            .collect();
        (added, removed)
    }
}

/// At most this many requests: a manifest is read by a person.
pub const MAX_REQUESTS: usize = 256;

/// What the operator is shown is what is there: no control characters
/// (an escape sequence could rewrite the terminal's text), nothing huge.
fn printable(v: &str) -> Result<(), String> {
    if v.chars().any(char::is_control) {
        return Err(
            "control characters are refused: they could hide text when it is printed".into(),
        );
    }
    if v.len() > 1024 {
        return Err(format!(
            "{} bytes long; a value may be at most 1024",
            v.len()
        ));
    }
    Ok(())
}

/// The level a request needs: the level its grant kind needs.
/// (The grant's kind as the policy sees it; a request that does not parse
/// was refused when the manifest was checked, and counts as the highest.)
fn request_level(r: &Request) -> TrustLevel {
    Grant::from_stored(r.kind, &r.value).map_or(TrustLevel::Full, |g| g.kind().min_level())
}

/// A request is checked as far as it can be without this machine: the
/// shape of its target, and for paths, that they are absolute (after a
/// leading placeholder) and never climb with `..`.
fn check_request(kind: &str, v: &str) -> Result<(), String> {
    match kind {
        "read" | "write" => check_path(v),
        "net" => v
            .parse::<NetTarget>()
            .map(|_| ())
            .map_err(|e| e.to_string()),
        "exec" => {
            if v.is_empty() || v.contains('\0') || (v.contains('/') && !v.starts_with('/')) {
                Err("give a bare program name (looked up on PATH) or an absolute path".into())
            } else {
                Ok(())
            }
        }
        "env" => Grant::env(v).map(|_| ()).map_err(|e| e.to_string()),
        "tool" => Grant::tool(v).map(|_| ()).map_err(|e| e.to_string()),
        _ => Grant::model(v).map(|_| ()).map_err(|e| e.to_string()),
    }
}

fn check_path(v: &str) -> Result<(), String> {
    let rest = match v.strip_prefix('{') {
        Some(_) => {
            let Some(p) = PLACEHOLDERS.iter().find(|p| v.starts_with(**p)) else {
                let name = v.split('}').next().unwrap_or(v);
                return Err(format!(
                    "unknown placeholder `{name}}}`; use one of {}",
                    PLACEHOLDERS.join(", ")
                ));
            };
            let rest = &v[p.len()..];
            if !rest.is_empty() && !rest.starts_with('/') {
                return Err(format!("a path goes on after `{p}` with `/`"));
            }
            rest
        }
        None if v.starts_with('/') => v,
        None => {
            return Err(format!(
                "a path is absolute or starts with a placeholder ({})",
                PLACEHOLDERS.join(", ")
            ));
        }
    };
    if rest.contains('{') || rest.contains('}') {
        return Err("a placeholder may only start a path".into());
    }
    if Path::new(rest)
        .components()
        .any(|c| matches!(c, Component::ParentDir))
    {
        return Err("a path may not climb with `..`".into());
    }
    if v == "/" {
        return Err("the root directory is never granted".into());
    }
    Ok(())
}

fn substitute(v: &str, at: &Placeholders) -> String {
    let (base, rest) = if let Some(r) = v.strip_prefix("{workdir}") {
        (at.workdir.display().to_string(), r)
    } else if let Some(r) = v.strip_prefix("{home}") {
        match &at.home {
            Some(h) => (h.display().to_string(), r),
            // No home: a path that cannot exist, refused when granted.
            None => ("/nonexistent-home".to_string(), r),
        }
    } else {
        return v.to_string();
    };
    format!("{}{rest}", base.trim_end_matches('/'))
}

#[cfg(test)]
mod tests;
