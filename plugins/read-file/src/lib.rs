use factory_sdk::{Tool, ToolError, export_tool, invalid, io_error};
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
struct Input {
    path: String,
    start_line: Option<usize>,
    end_line: Option<usize>,
}

#[derive(Serialize)]
struct Output {
    path: String,
    content: String,
    lines: usize,
}

struct ReadFile;
impl Tool for ReadFile {
    const NAME: &'static str = "read-file";
    const DESCRIPTION: &'static str = include_str!("../description.txt").trim_ascii();
    const INPUT_SCHEMA: &'static str = include_str!("../schema.json");
    type Input = Input;
    type Output = Output;
    fn call(i: Input) -> Result<Output, ToolError> {
        let text = std::fs::read_to_string(&i.path).map_err(|e| io_error(&i.path, e))?;
        let lines = text.lines().count();
        let content = match (i.start_line, i.end_line) {
            (None, None) => text,
            (s, e) => {
                let s = s.unwrap_or(1);
                let e = e.unwrap_or(lines);
                if s == 0 || s > e {
                    return Err(invalid(format!("bad line range {s}..{e}")));
                }
                text.lines()
                    .skip(s - 1)
                    .take(e + 1 - s)
                    .collect::<Vec<_>>()
                    .join("\n")
            }
        };
        Ok(Output {
            path: i.path,
            content,
            lines,
        })
    }
}
export_tool!(ReadFile);
