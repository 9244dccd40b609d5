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
    pub fn name(self) -> &'static str {
        match self {
            Kind::Tool => "tool",
            Kind::Role => "role",
        }
    }

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
        ("{{kind}}", kind.name().to_string()),
    ];
    let render = |bytes: &[u8]| -> Vec<u8> {
        let mut text = String::from_utf8_lossy(bytes).into_owned();
        for (k, v) in &vars {
            text = text.replace(k, v);
        }
        text.into_bytes()
    };
    // Everything is written into a staging directory beside `dir` and moved
    // into place at the end: a failure leaves nothing half-made.
    let staging = staging_dir(dir);
    let result = write_project(&staging, &prefixes_for(kind, lang), &render, lang);
    let written = match result {
        Ok(w) => w,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&staging);
            return Err(e.into());
        }
    };
    let moved = (|| {
        if dir.exists() {
            std::fs::remove_dir(dir)?; // empty, checked above
        }
        std::fs::rename(&staging, dir)
    })();
    if let Err(source) = moved {
        let _ = std::fs::remove_dir_all(&staging);
        return Err(GuestError::Write {
            path: dir.to_path_buf(),
            source,
        }
        .into());
    }
    Ok(written)
}

fn staging_dir(dir: &Path) -> PathBuf {
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "project".into());
    let parent = dir.parent().filter(|p| !p.as_os_str().is_empty());
    parent
        .unwrap_or(Path::new("."))
        .join(format!(".{name}.factory-new-{}", std::process::id()))
}

/// The template folders a project is made of, in order (later ones win).
fn prefixes_for(kind: Kind, lang: Lang) -> [String; 4] {
    [
        "common/all/".to_string(),
        format!("common/{}/", kind.name()),
        format!("{}/common/", lang.dir()),
        format!("{}/{}/", lang.dir(), kind.name()),
    ]
}

fn write_project(
    dir: &Path,
    prefixes: &[String],
    render: &dyn Fn(&[u8]) -> Vec<u8>,
    lang: Lang,
) -> Result<Vec<PathBuf>, GuestError> {
    let mut written = Vec::new();
    let mut put = |rel: &str, bytes: &[u8]| -> Result<(), GuestError> {
        let path = dir.join(rel);
        guest::write_file(&path, bytes)?;
        if rel.ends_with(".sh") {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
                .map_err(|source| GuestError::Write { path, source })?;
        }
        written.push(PathBuf::from(rel));
        Ok(())
    };
    for prefix in prefixes {
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
        put(&Path::new(at).join(rel).to_string_lossy(), bytes)?;
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for ok in ["a", "word-count", "x2", "my-tool-3"] {
            assert!(valid_name(ok), "{ok}");
        }
        for bad in ["", "A", "2x", "a_b", "a--b", "a-", "é", &"a".repeat(65)] {
            assert!(!valid_name(bad), "{bad}");
        }
    }

    #[test]
    fn every_template_renders_completely() {
        let d = tempfile::tempdir().unwrap();
        for lang in [Lang::Rust, Lang::Python, Lang::Js, Lang::Go, Lang::C] {
            for kind in [Kind::Tool, Kind::Role] {
                let dir = d.path().join(format!("{}-{}", lang.dir(), kind.name()));
                let files = create(kind, "my-plugin", lang, &dir).unwrap();
                for f in &files {
                    let text = std::fs::read_to_string(dir.join(f)).unwrap();
                    let placeholder = text.match_indices("{{").any(|(i, _)| {
                        let rest = &text[i + 2..];
                        let word = rest.len()
                            - rest
                                .trim_start_matches(|c: char| c.is_ascii_lowercase() || c == '_')
                                .len();
                        word > 0 && rest[word..].starts_with("}}")
                    });
                    assert!(!placeholder, "{}: {f:?} keeps a placeholder", dir.display());
                }
                assert!(files.iter().any(|f| f.ends_with("Makefile")));
                assert!(files.iter().any(|f| f.starts_with("wit")));
                // Nothing of the staging directory is left beside it.
                let siblings: Vec<_> = std::fs::read_dir(d.path())
                    .unwrap()
                    .flatten()
                    .filter(|e| e.file_name().to_string_lossy().starts_with('.'))
                    .collect();
                assert!(siblings.is_empty(), "{siblings:?}");
            }
        }
    }

    #[test]
    fn a_failed_write_leaves_nothing() {
        let d = tempfile::tempdir().unwrap();
        let file = d.path().join("not-a-dir");
        std::fs::write(&file, "x").unwrap();
        let err = create(Kind::Tool, "t", Lang::C, &file.join("t")).unwrap_err();
        assert!(
            matches!(err, ScaffoldError::Guest(GuestError::Write { .. })),
            "{err}"
        );
        let left: Vec<_> = std::fs::read_dir(d.path())
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(left, [std::ffi::OsString::from("not-a-dir")]);
    }
}
