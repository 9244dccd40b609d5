//! Walking a granted directory tree (`std::fs` does the rest).

use crate::{ToolError, io_error};
use std::ops::ControlFlow;
use std::path::Path;

/// Visit every file under `root` in a stable order (entries sorted by name
/// at each level), skipping `.git` directories and not following symlinked
/// directories. `visit` gets the file's path and its path relative to
/// `root`; returning `ControlFlow::Break(b)` stops the walk with `Some(b)`.
///
/// An unreadable `root` is an error (a refusal by the sandbox becomes
/// `denied`); unreadable entries below it are skipped.
pub fn walk<B>(
    root: &Path,
    mut visit: impl FnMut(&Path, &Path) -> ControlFlow<B>,
) -> Result<Option<B>, ToolError> {
    let entries = std::fs::read_dir(root).map_err(|e| io_error(root.display(), e))?;
    Ok(walk_dir(root, entries, &mut visit).break_value())
}

fn walk_dir<B>(
    root: &Path,
    entries: std::fs::ReadDir,
    visit: &mut impl FnMut(&Path, &Path) -> ControlFlow<B>,
) -> ControlFlow<B> {
    let mut entries: Vec<_> = entries.filter_map(Result::ok).collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let path = e.path();
        let Ok(ft) = e.file_type() else { continue };
        if ft.is_dir() {
            if e.file_name() == ".git" {
                continue;
            }
            if let Ok(sub) = std::fs::read_dir(&path) {
                walk_dir(root, sub, visit)?;
            }
        } else {
            let rel = path.strip_prefix(root).unwrap_or(&path);
            visit(&path, rel)?;
        }
    }
    ControlFlow::Continue(())
}

/// The files under `root` (relative, one per line, at most `max`), for a
/// model's prompt. Unreadable `root`: an empty listing.
pub fn listing(root: &str, max: usize) -> String {
    let mut lines = Vec::new();
    let more = walk(Path::new(root), |_, rel| {
        if lines.len() >= max {
            return ControlFlow::Break(());
        }
        lines.push(rel.display().to_string());
        ControlFlow::Continue(())
    });
    if matches!(more, Ok(Some(()))) {
        lines.push(format!("… (more than {max} files)"));
    }
    lines.join("\n")
}
