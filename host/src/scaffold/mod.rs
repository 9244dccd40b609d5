//! `factory new`: a plugin project in one of the guest languages, ready to
//! build, install and call: the WIT it needs (vendored), the language's SDK
//! (vendored), the plugin's source, a Makefile with the exact commands, a
//! README and a test (`make test`: build, install into a throwaway
//! `FACTORY_HOME`, call, compare the answer).

use crate::guest::{self, GuestError, files};
use std::path::{Path, PathBuf};

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Lang {
    Rust,
    Python,
    Js,
    Go,
    C,
}

impl Lang {
    pub fn dir(self) -> &'static str {
        match self {
            Lang::Rust => "rust",
            Lang::Python => "python",
            Lang::Js => "js",
            Lang::Go => "go",
            Lang::C => "c",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Kind {
    Tool,
    Role,
}

impl Kind {
    pub fn world(self) -> &'static str {
        match self {
            Kind::Tool => "tool-with-host",
            Kind::Role => "role-plugin",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ScaffoldError {
    #[error(
        "`{0}` is not a usable plugin name: use 1-64 lowercase letters, digits and dashes, starting with a letter (e.g. `word-count`)"
    )]
    BadName(String),
    #[error("{0} already exists and is not empty; choose another --dir or remove it")]
    Exists(PathBuf),
    #[error(transparent)]
    Guest(#[from] GuestError),
}

/// Whether `name` is a plugin name every toolchain accepts as a package name
/// (after dashes become underscores).
pub fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some('a'..='z'))
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !name.ends_with('-')
        && !name.contains("--")
}

/// Write the project for `kind` `name` in `lang` into `dir`; returns the
/// files written, relative to `dir`.
pub fn create(
    kind: Kind,
    name: &str,
    lang: Lang,
    dir: &Path,
) -> Result<Vec<PathBuf>, ScaffoldError> {
    if !valid_name(name) {
        return Err(ScaffoldError::BadName(name.to_string()));
    }
    if dir.exists()
        && std::fs::read_dir(dir)
            .map(|mut d| d.next().is_some())
            .unwrap_or(true)
    {
        return Err(ScaffoldError::Exists(dir.to_path_buf()));
    }
    let vars = [
        ("{{name}}", name.to_string()),
        ("{{snake}}", name.replace('-', "_")),
        ("{{world}}", kind.world().to_string()),
        ("{{world_c}}", kind.world().replace('-', "_")),
        ("{{kind}}", format!("{kind:?}").to_lowercase()),
    ];
    let render = |bytes: &[u8]| -> Vec<u8> {
        let mut text = String::from_utf8_lossy(bytes).into_owned();
        for (k, v) in &vars {
            text = text.replace(k, v);
        }
        text.into_bytes()
    };
    let mut written = Vec::new();
    let mut put = |rel: &str, bytes: &[u8]| -> Result<(), GuestError> {
        guest::write_file(&dir.join(rel), bytes)?;
        written.push(PathBuf::from(rel));
        Ok(())
    };
    let prefixes = [
        "common/all/".to_string(),
        format!("common/{}/", format!("{kind:?}").to_lowercase()),
        format!("{}/common/", lang.dir()),
        format!("{}/{}/", lang.dir(), format!("{kind:?}").to_lowercase()),
    ];
    for prefix in &prefixes {
        for (path, bytes) in files::TEMPLATES {
            if let Some(rel) = path.strip_prefix(prefix.as_str()) {
                // Dot-files are not embedded; `gitignore` becomes `.gitignore`.
                let rel = if rel == "gitignore" {
                    ".gitignore"
                } else {
                    rel
                };
                put(rel, &render(bytes))?;
            }
        }
    }
    for (rel, bytes) in files::WIT {
        put(&format!("wit/{rel}"), bytes)?;
    }
    let (sdk, at): (&[(&str, &[u8])], &str) = match lang {
        Lang::Rust => (&[], ""),
        Lang::Python => (files::SDK_PYTHON, "factory_sdk"),
        Lang::Js => (files::SDK_JS, ""),
        Lang::Go => (files::SDK_GO, "factory"),
        Lang::C => (files::SDK_C, ""),
    };
    for (rel, bytes) in sdk {
        let rel = if at.is_empty() {
            rel.to_string()
        } else {
            format!("{at}/{rel}")
        };
        put(&rel, bytes)?;
    }
    Ok(written)
}
