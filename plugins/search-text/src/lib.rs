use factory_sdk::{Tool, ToolError, export_tool, invalid};
use serde::{Deserialize, Serialize};
use std::ops::ControlFlow;
use std::path::Path;

#[derive(Deserialize)]
struct Input {
    root: String,
    pattern: String,
    glob: Option<String>,
    #[serde(default)]
    case_insensitive: bool,
    max_matches: Option<usize>,
}

#[derive(Serialize)]
struct Match {
    path: String,
    line: usize,
    text: String,
}

#[derive(Serialize)]
struct Output {
    matches: Vec<Match>,
    files_searched: usize,
    truncated: bool,
}

/// Search one file; `Break` once `max` matches are found.
fn search_file(re: &regex::Regex, path: &Path, max: usize, out: &mut Output) -> ControlFlow<()> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return ControlFlow::Continue(()); // binary or unreadable
    };
    out.files_searched += 1;
    for (n, line) in text.lines().enumerate() {
        if re.is_match(line) {
            if out.matches.len() >= max {
                return ControlFlow::Break(());
            }
            out.matches.push(Match {
                path: path.to_string_lossy().into_owned(),
                line: n + 1,
                text: line.chars().take(500).collect(),
            });
        }
    }
    ControlFlow::Continue(())
}

struct SearchText;
impl Tool for SearchText {
    const NAME: &'static str = "search-text";
    const DESCRIPTION: &'static str = include_str!("../description.txt").trim_ascii();
    const INPUT_SCHEMA: &'static str = include_str!("../schema.json");
    type Input = Input;
    type Output = Output;
    fn call(i: Input) -> Result<Output, ToolError> {
        let re = regex::RegexBuilder::new(&i.pattern)
            .case_insensitive(i.case_insensitive)
            .size_limit(1 << 20)
            .build()
            .map_err(|e| invalid(format!("bad pattern: {e}")))?;
        let glob = match &i.glob {
            Some(g) => Some(
                globset::Glob::new(g)
                    .map_err(|e| invalid(format!("bad glob: {e}")))?
                    .compile_matcher(),
            ),
            None => None,
        };
        let root = Path::new(&i.root);
        if root.is_file() {
            return Err(invalid("root must be a directory"));
        }
        let max = i.max_matches.unwrap_or(200);
        let mut out = Output {
            matches: vec![],
            files_searched: 0,
            truncated: false,
        };
        let stopped = factory_sdk::fs::walk(root, |path, rel| {
            if glob.as_ref().is_some_and(|g| !g.is_match(rel)) {
                return ControlFlow::Continue(());
            }
            search_file(&re, path, max, &mut out)
        })?;
        out.truncated = stopped.is_some();
        Ok(out)
    }
}
export_tool!(SearchText);
