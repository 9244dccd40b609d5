use factory_sdk::{Tool, ToolError, export_tool};
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
struct Input {
    text: String,
}

#[derive(Serialize)]
struct Output {
    words: usize,
    lines: usize,
}

struct WordCount;

impl Tool for WordCount {
    const NAME: &'static str = "word-count";
    const DESCRIPTION: &'static str = "Counts the words and lines of a text.";
    const INPUT_SCHEMA: &'static str = r#"{"type":"object","properties":{"text":{"type":"string"}},"required":["text"]}"#;
    type Input = Input;
    type Output = Output;

    fn call(input: Input) -> Result<Output, ToolError> {
        Ok(Output { words: input.text.split_whitespace().count(), lines: input.text.lines().count() })
    }
}

export_tool!(WordCount);
