use factory_sdk::{Tool, ToolError, export_tool, invalid, io_error};
use serde::{Deserialize, Serialize};
use std::path::Path;

#[derive(Deserialize)]
struct Input {
    root: String,
    pattern: Option<String>,
    max_results: Option<usize>,
}

#[derive(Serialize)]
struct Output {
    files: Vec<String>,
    truncated: bool,
}

fn walk(
    dir: &Path,
    root: &Path,
    out: &mut Vec<String>,
    keep: &dyn Fn(&str) -> bool,
    max: usize,
) -> Result<bool, ToolError> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| io_error(dir.display(), e))?
        .filter_map(|e| e.ok())
        .collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let path = e.path();
        let Ok(ft) = e.file_type() else { continue };
        if ft.is_dir() {
            if e.file_name() == ".git" {
                continue;
            }
            if walk(&path, root, out, keep, max)? {
                return Ok(true);
            }
        } else {
            let rel = path
                .strip_prefix(root)
                .unwrap_or(&path)
                .to_string_lossy()
                .into_owned();
            if keep(&rel) {
                if out.len() >= max {
                    return Ok(true);
                }
                out.push(path.to_string_lossy().into_owned());
            }
        }
    }
    Ok(false)
}

struct ListFiles;
impl Tool for ListFiles {
    const NAME: &'static str = "list-files";
    const DESCRIPTION: &'static str =
        "List files under a granted directory, optionally filtered by a glob pattern.";
    const INPUT_SCHEMA: &'static str = include_str!("../schema.json");
    type Input = Input;
    type Output = Output;
    fn call(i: Input) -> Result<Output, ToolError> {
        let matcher = match &i.pattern {
            Some(p) => Some(
                globset::Glob::new(p)
                    .map_err(|e| invalid(format!("bad pattern: {e}")))?
                    .compile_matcher(),
            ),
            None => None,
        };
        let keep = |rel: &str| matcher.as_ref().is_none_or(|m| m.is_match(rel));
        let mut files = Vec::new();
        let root = Path::new(&i.root);
        let truncated = walk(root, root, &mut files, &keep, i.max_results.unwrap_or(1000))?;
        Ok(Output { files, truncated })
    }
}
export_tool!(ListFiles);
