//! Guest tooling: what plugin authors need besides their language's own
//! compiler. The WIT contract, bindings for C and Go (the `wit-bindgen-c`
//! and `wit-bindgen-go` generator crates, the same ones the wit-bindgen CLI
//! 0.61 is made of), and turning a WASI preview-1 core module into a
//! component with wasmtime's reactor adapter. `factory sdk` and
//! `factory new` use them.

pub mod bindgen;
pub mod componentize;

use std::path::{Path, PathBuf};

/// Files embedded at build time (see `build.rs`).
pub mod files {
    include!(concat!(env!("OUT_DIR"), "/sdk_files.rs"));
}

#[derive(Debug, thiserror::Error)]
pub enum GuestError {
    #[error(
        "unknown world `{0}`; the worlds of factory:plugin are: tool-plugin, tool-with-host, role-plugin, intake-plugin"
    )]
    UnknownWorld(String),
    #[error("cannot read the WIT in {path}: {message}")]
    Wit { path: PathBuf, message: String },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}")]
    Generate(String),
}

/// Write an embedded tree under `dir`; returns the paths written.
pub fn write_tree(tree: &[(&str, &[u8])], dir: &Path) -> Result<Vec<PathBuf>, GuestError> {
    let mut written = Vec::new();
    for (rel, bytes) in tree {
        let path = dir.join(rel);
        write_file(&path, bytes)?;
        written.push(path);
    }
    Ok(written)
}

pub fn write_file(path: &Path, bytes: &[u8]) -> Result<(), GuestError> {
    let err = |source| GuestError::Write {
        path: path.to_path_buf(),
        source,
    };
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(err)?;
    }
    std::fs::write(path, bytes).map_err(err)
}

/// The `factory:plugin` WIT package, from `dir` or the embedded copy, with
/// `world` selected.
pub fn resolve(
    dir: Option<&Path>,
    world: &str,
) -> Result<(wit_parser::Resolve, wit_parser::WorldId), GuestError> {
    let mut resolve = wit_parser::Resolve::default();
    let shown = dir
        .map(Path::to_path_buf)
        .unwrap_or_else(|| "(embedded)".into());
    let wit_err = |e: anyhow::Error| GuestError::Wit {
        path: shown.clone(),
        message: format!("{e:#}"),
    };
    let pkg = match dir {
        Some(dir) => resolve.push_dir(dir).map_err(wit_err)?.0,
        None => {
            let mut map = wit_parser::SourceMap::new();
            for (name, bytes) in files::WIT {
                map.push(Path::new(name), String::from_utf8_lossy(bytes).into_owned());
            }
            let group = map
                .parse()
                .map_err(|(_, e)| wit_err(anyhow::anyhow!("{e}")))?;
            resolve.push_group(group).map_err(|e| wit_err(e.into()))?
        }
    };
    let id = resolve
        .select_world(&[pkg], Some(world))
        .map_err(|_| GuestError::UnknownWorld(world.to_string()))?;
    Ok((resolve, id))
}
