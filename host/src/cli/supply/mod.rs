//! The plugin supply chain at the CLI: `plugin push`, `plugin install`
//! (a file, `oci://REF`, or `--lock`), `plugin update`, `plugin export-lock`.
//!
//! A registry install resolves a tag to a digest once and uses that digest
//! only; it installs only what a trusted signer in scope signed (or what
//! `--allow-unsigned` lets through, printed and journaled). What a plugin
//! asks for (its permission manifest) is shown and granted only with
//! `--accept`, within its trust level.

mod accept;
mod install;
mod lock;
mod push;
mod update;

pub use install::{Install, install};
pub use lock::{LockInstall, export as export_lock, install as install_lock};
pub use push::{Push, push};
pub use update::{Update, update};
