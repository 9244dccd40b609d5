use factory_sdk::{Tool, ToolError, export_tool, invalid};
use serde::{Deserialize, Serialize};
use std::ops::ControlFlow;
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

struct ListFiles;
impl Tool for ListFiles {
    const NAME: &'static str = "list-files";
    const DESCRIPTION: &'static str = include_str!("../description.txt").trim_ascii();
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
        let max = i.max_results.unwrap_or(1000);
        let mut files = Vec::new();
        let stopped = factory_sdk::fs::walk(Path::new(&i.root), |path, rel| {
            if matcher.as_ref().is_some_and(|m| !m.is_match(rel)) {
                return ControlFlow::Continue(());
            }
            if files.len() >= max {
                return ControlFlow::Break(());
            }
            files.push(path.to_string_lossy().into_owned());
            ControlFlow::Continue(())
        })?;
        Ok(Output {
            files,
            truncated: stopped.is_some(),
        })
    }
}
export_tool!(ListFiles);
