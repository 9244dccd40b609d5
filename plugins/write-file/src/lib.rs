use factory_sdk::{Tool, ToolError, export_tool, io_error};
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
struct Input {
    path: String,
    content: String,
    #[serde(default)]
    create_dirs: bool,
}

#[derive(Serialize)]
struct Output {
    path: String,
    bytes: usize,
}

struct WriteFile;
impl Tool for WriteFile {
    const NAME: &'static str = "write-file";
    const DESCRIPTION: &'static str = include_str!("../description.txt").trim_ascii();
    const INPUT_SCHEMA: &'static str = include_str!("../schema.json");
    type Input = Input;
    type Output = Output;
    fn call(i: Input) -> Result<Output, ToolError> {
        if i.create_dirs {
            if let Some(parent) = std::path::Path::new(&i.path).parent() {
                std::fs::create_dir_all(parent).map_err(|e| io_error(parent.display(), e))?;
            }
        }
        std::fs::write(&i.path, i.content.as_bytes()).map_err(|e| io_error(&i.path, e))?;
        Ok(Output {
            path: i.path,
            bytes: i.content.len(),
        })
    }
}
export_tool!(WriteFile);
