use factory_sdk::{Tool, ToolError, export_tool, failed, invalid, io_error};
use serde::{Deserialize, Serialize};
use std::path::{Component, Path, PathBuf};

#[derive(Deserialize)]
struct Input {
    root: String,
    diff: String,
    #[serde(default)]
    check: bool,
}

#[derive(Serialize)]
struct Output {
    files: Vec<String>,
    applied: bool,
}

/// One file's part of a multi-file diff.
struct FilePatch {
    old: Option<String>,
    new: Option<String>,
    text: String,
}

fn strip(p: &str) -> Option<String> {
    let p = p.split('\t').next().unwrap_or(p).trim();
    if p == "/dev/null" {
        return None;
    }
    Some(
        p.strip_prefix("a/")
            .or_else(|| p.strip_prefix("b/"))
            .unwrap_or(p)
            .to_string(),
    )
}

fn split(diff: &str) -> Vec<FilePatch> {
    let mut out: Vec<FilePatch> = Vec::new();
    let lines: Vec<&str> = diff.split_inclusive('\n').collect();
    let mut i = 0;
    while i < lines.len() {
        if lines[i].starts_with("--- ") && i + 1 < lines.len() && lines[i + 1].starts_with("+++ ") {
            out.push(FilePatch {
                old: strip(&lines[i][4..]),
                new: strip(&lines[i + 1][4..]),
                text: format!("{}{}", lines[i], lines[i + 1]),
            });
            i += 2;
            continue;
        }
        if let Some(fp) = out.last_mut() {
            if !lines[i].starts_with("diff --git") && !lines[i].starts_with("index ") {
                fp.text.push_str(lines[i]);
            }
        }
        i += 1;
    }
    out
}

fn safe_join(root: &Path, rel: &str) -> Result<PathBuf, ToolError> {
    let rel = Path::new(rel);
    if rel.is_absolute() || rel.components().any(|c| matches!(c, Component::ParentDir)) {
        return Err(invalid(format!("path {} leaves the root", rel.display())));
    }
    Ok(root.join(rel))
}

struct ApplyPatch;
impl Tool for ApplyPatch {
    const NAME: &'static str = "apply-patch";
    const DESCRIPTION: &'static str = include_str!("../description.txt").trim_ascii();
    const INPUT_SCHEMA: &'static str = include_str!("../schema.json");
    type Input = Input;
    type Output = Output;
    fn call(i: Input) -> Result<Output, ToolError> {
        let root = Path::new(&i.root);
        let patches = split(&i.diff);
        if patches.is_empty() {
            return Err(invalid(
                "no file headers (`--- a/x` / `+++ b/x`) found in the diff",
            ));
        }
        // Compute every result first: all files apply or none is written.
        let mut results: Vec<(PathBuf, Option<String>, Option<PathBuf>)> = Vec::new();
        for fp in &patches {
            let patch =
                diffy::Patch::from_str(&fp.text).map_err(|e| invalid(format!("bad diff: {e}")))?;
            let old_path = fp.old.as_deref().map(|p| safe_join(root, p)).transpose()?;
            let new_path = fp.new.as_deref().map(|p| safe_join(root, p)).transpose()?;
            let base = match &old_path {
                Some(p) => std::fs::read_to_string(p).map_err(|e| io_error(p.display(), e))?,
                None => String::new(),
            };
            let patched = diffy::apply(&base, &patch).map_err(|e| {
                failed(format!(
                    "{} does not apply: {e}",
                    fp.old.as_deref().or(fp.new.as_deref()).unwrap_or("?")
                ))
            })?;
            match new_path {
                Some(np) => {
                    let removed = old_path.filter(|op| *op != np);
                    results.push((np, Some(patched), removed));
                }
                None => results.push((
                    old_path.expect("a diff has an old or a new path"),
                    None,
                    None,
                )),
            }
        }
        let files = results
            .iter()
            .map(|(p, _, _)| p.display().to_string())
            .collect();
        if !i.check {
            for (path, content, removed) in results {
                match content {
                    Some(c) => {
                        if let Some(parent) = path.parent() {
                            std::fs::create_dir_all(parent)
                                .map_err(|e| io_error(parent.display(), e))?;
                        }
                        std::fs::write(&path, c).map_err(|e| io_error(path.display(), e))?;
                    }
                    None => std::fs::remove_file(&path).map_err(|e| io_error(path.display(), e))?,
                }
                if let Some(r) = removed {
                    std::fs::remove_file(&r).map_err(|e| io_error(r.display(), e))?;
                }
            }
        }
        Ok(Output {
            files,
            applied: !i.check,
        })
    }
}
export_tool!(ApplyPatch);
