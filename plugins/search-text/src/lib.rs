use factory_sdk::{Tool, ToolError, export_tool, invalid, io_error};
use serde::{Deserialize, Serialize};
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

struct Search<'a> {
    re: regex::Regex,
    glob: Option<globset::GlobMatcher>,
    root: &'a Path,
    max: usize,
    out: Output,
}

impl Search<'_> {
    fn dir(&mut self, dir: &Path) -> Result<(), ToolError> {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .map_err(|e| io_error(dir.display(), e))?
            .filter_map(|e| e.ok())
            .collect();
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            if self.out.truncated {
                return Ok(());
            }
            let path = e.path();
            let Ok(ft) = e.file_type() else { continue };
            if ft.is_dir() {
                if e.file_name() != ".git" {
                    self.dir(&path)?;
                }
                continue;
            }
            let rel = path.strip_prefix(self.root).unwrap_or(&path);
            if self.glob.as_ref().is_some_and(|g| !g.is_match(rel)) {
                continue;
            }
            let Ok(text) = std::fs::read_to_string(&path) else {
                continue;
            }; // binary or unreadable
            self.out.files_searched += 1;
            for (n, line) in text.lines().enumerate() {
                if self.re.is_match(line) {
                    if self.out.matches.len() >= self.max {
                        self.out.truncated = true;
                        return Ok(());
                    }
                    self.out.matches.push(Match {
                        path: path.to_string_lossy().into_owned(),
                        line: n + 1,
                        text: line.chars().take(500).collect(),
                    });
                }
            }
        }
        Ok(())
    }
}

struct SearchText;
impl Tool for SearchText {
    const NAME: &'static str = "search-text";
    const DESCRIPTION: &'static str =
        "Search files under a granted directory for a regular expression, like grep -rn.";
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
        let mut s = Search {
            re,
            glob,
            root,
            max: i.max_matches.unwrap_or(200),
            out: Output {
                matches: vec![],
                files_searched: 0,
                truncated: false,
            },
        };
        if root.is_file() {
            return Err(invalid("root must be a directory"));
        }
        s.dir(root)?;
        Ok(s.out)
    }
}
export_tool!(SearchText);
