//! `factory sdk`: the guest tooling plugin builds call (see `guest`).

use super::{EXIT_USAGE, Failure, fail};
use anyhow::{Context, anyhow};
use clap::{Args, Subcommand};
use factory_host::guest::{self, bindgen::Lang};
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum SdkCommand {
    /// Write the `factory:plugin` WIT package (the contract every plugin is
    /// built against) into a directory.
    Wit {
        /// Where to write the .wit files.
        #[arg(long, default_value = "wit")]
        out: PathBuf,
    },
    /// Generate C or Go bindings for a world, with the wit-bindgen 0.61
    /// generators built into factory (no `wit-bindgen` CLI needed). Go also
    /// gets the runtime package go.bytecodealliance.org/pkg in OUT/witpkg.
    Bindgen(BindgenArgs),
    /// Turn a WASI preview-1 core module (clang --target=wasm32-wasi, Go
    /// GOOS=wasip1 -buildmode=c-shared) into a component of a world: embed
    /// the world and adapt preview-1 with wasmtime 48's reactor adapter.
    Componentize(ComponentizeArgs),
    /// Write wasmtime 48's WASI preview-1 reactor adapter (for
    /// `wasm-tools component new --adapt wasi_snapshot_preview1=FILE`).
    Adapter {
        #[arg(short, long)]
        out: PathBuf,
    },
}

#[derive(Args)]
pub struct BindgenArgs {
    #[arg(long, value_enum)]
    lang: Lang,
    /// tool-plugin, tool-with-host, role-plugin or intake-plugin.
    #[arg(long, default_value = "tool-with-host")]
    world: String,
    /// A WIT directory instead of the built-in factory:plugin package.
    #[arg(long)]
    wit: Option<PathBuf>,
    #[arg(long)]
    out_dir: PathBuf,
}

#[derive(Args)]
pub struct ComponentizeArgs {
    /// The core module.
    module: PathBuf,
    #[arg(long, default_value = "tool-with-host")]
    world: String,
    /// A WIT directory instead of the built-in factory:plugin package.
    #[arg(long)]
    wit: Option<PathBuf>,
    #[arg(short, long)]
    out: PathBuf,
}

pub fn run(cmd: SdkCommand) -> Result<(), Failure> {
    let usage = |e: guest::GuestError| fail(EXIT_USAGE, e.into());
    match cmd {
        SdkCommand::Wit { out } => {
            let files = guest::write_tree(guest::files::WIT, &out).map_err(usage)?;
            println!("wrote {} files to {}", files.len(), out.display());
        }
        SdkCommand::Bindgen(a) => {
            let files = guest::bindgen::generate(a.lang, a.wit.as_deref(), &a.world, &a.out_dir)
                .map_err(usage)?;
            println!("wrote {} files to {}", files.len(), a.out_dir.display());
        }
        SdkCommand::Componentize(a) => {
            let module = std::fs::read(&a.module)
                .with_context(|| format!("cannot read {}", a.module.display()))
                .map_err(|e| fail(EXIT_USAGE, e))?;
            let component = guest::componentize::componentize(&module, a.wit.as_deref(), &a.world)
                .map_err(|e| fail(EXIT_USAGE, anyhow!("{}: {e}", a.module.display())))?;
            guest::write_file(&a.out, &component).map_err(usage)?;
            println!("wrote {} ({} bytes)", a.out.display(), component.len());
        }
        SdkCommand::Adapter { out } => {
            guest::write_file(&out, guest::componentize::reactor_adapter()).map_err(usage)?;
            println!("wrote {}", out.display());
        }
    }
    Ok(())
}
