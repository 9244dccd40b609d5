//! A tool's input schema: the JSON Schema its `describe()` returns. It is
//! checked when the tool is installed (a bad one is refused there, not at
//! call time) and used by protocol servers to check arguments before a
//! call.

use serde_json::{Map, Value};

/// Where the schema is wrong, or why arguments do not fit it.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{0}")]
pub struct SchemaError(pub String);

/// The schema `text` as a JSON object whose type, if it names one, is
/// `object`. An empty text means any object.
fn shape(text: &str) -> Result<Map<String, Value>, SchemaError> {
    if text.trim().is_empty() {
        let mut any = Map::new();
        any.insert("type".into(), Value::String("object".into()));
        return Ok(any);
    }
    let value: Value = serde_json::from_str(text)
        .map_err(|e| SchemaError(format!("the input schema is not JSON: {e}")))?;
    let Value::Object(map) = value else {
        return Err(SchemaError(
            "the input schema is not a JSON object (a tool takes an object of arguments)".into(),
        ));
    };
    if let Some(t) = map.get("type")
        && t != "object"
    {
        return Err(SchemaError(format!(
            "the input schema's type is {t}, not \"object\" (a tool takes an object of arguments)"
        )));
    }
    Ok(map)
}

/// The schema `text` parsed and checked, as install checks it: a JSON
/// object that is a valid JSON Schema (against its own meta-schema; draft
/// 2020-12 unless `$schema` names another), a refusal naming where.
pub fn parse(text: &str) -> Result<Map<String, Value>, SchemaError> {
    let map = shape(text)?;
    let value = Value::Object(map);
    if let Err(e) = jsonschema::meta::validate(&value) {
        return Err(SchemaError(format!(
            "the input schema is not a valid JSON Schema: at `{}`: {e}",
            pointer_or_root(&e.instance_path().to_string())
        )));
    }
    match value {
        Value::Object(map) => Ok(map),
        _ => unreachable!("built from a map above"),
    }
}

fn pointer_or_root(p: &str) -> String {
    if p.is_empty() { "/".into() } else { p.into() }
}

/// A compiled input schema, to check arguments against.
pub struct InputSchema(jsonschema::Validator);

impl InputSchema {
    /// A stored schema, ready to check arguments: its shape checked and
    /// compiled (compiling checks it against its meta-schema, so it is not
    /// validated twice as [`parse`] then [`InputSchema::compile`] would).
    pub fn load(text: &str) -> Result<(Map<String, Value>, InputSchema), SchemaError> {
        let map = shape(text)?;
        let compiled = InputSchema::compile(&map)?;
        Ok((map, compiled))
    }

    /// Compile `schema`, refusing one that is not a valid JSON Schema.
    pub fn compile(schema: &Map<String, Value>) -> Result<InputSchema, SchemaError> {
        jsonschema::validator_for(&Value::Object(schema.clone()))
            .map(InputSchema)
            .map_err(|e| SchemaError(format!("the input schema cannot be used: {e}")))
    }

    /// Whether `args` fit; if not, every way they do not, each with where.
    pub fn check(&self, args: &Value) -> Result<(), SchemaError> {
        let problems: Vec<String> = self
            .0
            .iter_errors(args)
            .take(8)
            .map(|e| {
                format!(
                    "at `{}`: {e}",
                    pointer_or_root(&e.instance_path().to_string())
                )
            })
            .collect();
        if problems.is_empty() {
            Ok(())
        } else {
            Err(SchemaError(format!(
                "the arguments do not fit the tool's input schema: {}",
                problems.join("; ")
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_empty_schema_is_any_object() {
        let s = InputSchema::compile(&parse("").unwrap()).unwrap();
        assert!(s.check(&json!({"x": 1})).is_ok());
        assert!(s.check(&json!([1])).is_err());
    }

    #[test]
    fn bad_schemas_are_refused_with_the_reason() {
        assert!(parse("{").unwrap_err().0.contains("not JSON"));
        assert!(parse("[1]").unwrap_err().0.contains("not a JSON object"));
        assert!(
            parse(r#"{"type":"string"}"#)
                .unwrap_err()
                .0
                .contains("not \"object\"")
        );
        let e =
            parse(r#"{"type":"object","properties":{"n":{"type":"integer","minimum":"zero"}}}"#)
                .unwrap_err();
        assert!(e.0.contains("not a valid JSON Schema"), "{e}");
        assert!(e.0.contains("at `/properties/n/minimum`"), "{e}");
    }

    #[test]
    fn loading_a_stored_schema_refuses_what_install_refuses() {
        let bad = r#"{"type":"object","properties":{"n":{"type":"integer","minimum":"zero"}}}"#;
        assert!(InputSchema::load(bad).is_err());
        assert!(InputSchema::load(r#"{"type":"string"}"#).is_err());
        let (map, s) = InputSchema::load(r#"{"type":"object","required":["a"]}"#).unwrap();
        assert_eq!(map["required"], json!(["a"]));
        assert!(s.check(&json!({})).is_err());
    }

    #[test]
    fn arguments_are_checked_and_each_problem_named() {
        let schema = parse(
            r#"{"type":"object","required":["path"],"properties":{"path":{"type":"string"},"n":{"type":"integer","minimum":1}}}"#,
        )
        .unwrap();
        let s = InputSchema::compile(&schema).unwrap();
        assert!(s.check(&json!({"path": "a"})).is_ok());
        let e = s.check(&json!({"n": 0})).unwrap_err().0;
        assert!(e.contains("\"path\" is a required property"), "{e}");
        assert!(e.contains("at `/n`"), "{e}");
    }
}
