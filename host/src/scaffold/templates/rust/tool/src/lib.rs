//! {{name}}: a factory tool in Rust. Counts the characters, lines and words
//! of a text; replace `invoke` with what your tool does.

wit_bindgen::generate!({ path: "wit", world: "tool-with-host" });

use exports::factory::plugin::tool::{Guest, Info, ToolError};
use factory::plugin::log::{Level, log};
use serde_json::json;

struct Plugin;

impl Guest for Plugin {
    fn describe() -> Info {
        Info {
            name: "{{name}}".into(),
            description: "Count the characters, lines and words of a text.".into(),
            input_schema: json!({
                "type": "object",
                "properties": { "text": { "type": "string" } },
                "required": ["text"],
                "additionalProperties": false
            })
            .to_string(),
        }
    }

    fn invoke(input: String) -> Result<String, ToolError> {
        let args: serde_json::Value = serde_json::from_str(&input)
            .map_err(|e| ToolError::InvalidInput(format!("input is not JSON: {e}")))?;
        let text = args["text"]
            .as_str()
            .ok_or_else(|| ToolError::InvalidInput(r#"expected {"text": "..."}"#.into()))?;
        log(Level::Debug, "counting");
        let words = text
            .split(|c: char| " \t\n\r\x0b\x0c".contains(c))
            .filter(|w| !w.is_empty())
            .count();
        Ok(json!({
            "chars": text.chars().count(),
            "lines": text.matches('\n').count(),
            "words": words,
        })
        .to_string())
    }
}

export!(Plugin);
