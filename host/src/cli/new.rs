//! `factory new tool|role NAME --lang LANG`.

use super::{EXIT_USAGE, Failure, fail};
use clap::Args;
use factory_host::scaffold::{self, Kind, Lang};
use std::path::PathBuf;

#[derive(Args)]
pub struct NewArgs {
    /// `tool` (world tool-with-host) or `role` (world role-plugin).
    #[arg(value_enum)]
    kind: Kind,
    /// The plugin's name: lowercase letters, digits and dashes.
    name: String,
    /// The plugin's language (rust: cargo; python: componentize-py; js:
    /// componentize-qjs; go: Go 1.25+; c: clang with wasi-libc).
    #[arg(long, value_enum)]
    lang: Lang,
    /// Where to create the project (default: ./NAME). Must not exist or be empty.
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Print the files written as JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(a: NewArgs) -> Result<(), Failure> {
    let dir = a.dir.unwrap_or_else(|| PathBuf::from(&a.name));
    let files =
        scaffold::create(a.kind, &a.name, a.lang, &dir).map_err(|e| fail(EXIT_USAGE, e.into()))?;
    if a.json {
        println!(
            "{}",
            serde_json::json!({
                "dir": dir,
                "name": a.name,
                "lang": a.lang.dir(),
                "world": a.kind.world(),
                "files": files,
            })
        );
    } else {
        println!(
            "created {} {} `{}` in {} ({} files)\n\n  cd {}\n  make          # build\n  make test     # build, install into a throwaway FACTORY_HOME, call, check\n  make install  # install into your FACTORY_HOME\n\nSee README.md in the project.",
            a.lang.dir(),
            a.kind.name(),
            a.name,
            dir.display(),
            files.len(),
            dir.display()
        );
    }
    Ok(())
}
