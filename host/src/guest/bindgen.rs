//! Bindings for C and Go, generated in-process by the wit-bindgen generator
//! crates (0.61.1), so plugin authors need no separate `wit-bindgen` CLI.

use super::{GuestError, files, resolve, write_file, write_tree};
use std::path::{Path, PathBuf};
use wit_bindgen_core::Files;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Lang {
    C,
    Go,
}

/// Generate `lang` bindings for `world` into `out`. For Go, also writes the
/// runtime package `go.bytecodealliance.org/pkg` (from the `wit-bindgen-go`
/// crate) to `out/witpkg`, for a `replace` directive in go.mod.
pub fn generate(
    lang: Lang,
    wit: Option<&Path>,
    world: &str,
    out: &Path,
) -> Result<Vec<PathBuf>, GuestError> {
    let (mut resolve, id) = resolve(wit, world)?;
    let mut generator = match lang {
        Lang::C => wit_bindgen_c::Opts::default().build(),
        Lang::Go => wit_bindgen_go::Opts {
            format: wit_bindgen_go::Format::False,
            ..Default::default()
        }
        .build(),
    };
    let mut generated = Files::default();
    generator
        .generate(&mut resolve, id, &mut generated)
        .map_err(|e| GuestError::Generate(format!("{e:#}")))?;
    let mut written = Vec::new();
    for (name, bytes) in generated.iter() {
        // The Go generator writes a go.mod for a standalone module; the
        // project has its own.
        if lang == Lang::Go && name == "go.mod" {
            continue;
        }
        let path = out.join(name);
        write_file(&path, bytes)?;
        written.push(path);
    }
    if lang == Lang::Go {
        written.extend(write_tree(files::GO_RUNTIME, &out.join("witpkg"))?);
    }
    Ok(written)
}
