//! Calling other granted tools (`--tool NAME`).
pub use crate::bindings::factory::plugin::tools::{ToolInfo, available};

/// Call `name` with a serializable input; returns its JSON output.
pub fn call(
    name: &str,
    input: &impl serde::Serialize,
) -> Result<serde_json::Value, crate::ErrorCode> {
    let input =
        serde_json::to_string(input).map_err(|e| crate::ErrorCode::InvalidInput(e.to_string()))?;
    let out = crate::bindings::factory::plugin::tools::call(name, &input)?;
    serde_json::from_str(&out)
        .map_err(|e| crate::ErrorCode::Failed(format!("{name} returned invalid JSON: {e}")))
}
