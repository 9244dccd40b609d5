//! Exports `factory:plugin/tool@0.1.0` with the wrong function types: the
//! install-time type check must refuse it instead of failing at call time.

wit_bindgen::generate!({ path: "wit", world: "tool-plugin" });

use exports::factory::plugin::tool::{Guest, Info};

struct Bad;

impl Guest for Bad {
    fn describe() -> Info {
        Info {
            name: "bad".into(),
            description: "wrong signature".into(),
            input_schema: "{}".into(),
        }
    }
    fn invoke(input: u32) -> String {
        input.to_string()
    }
}

export!(Bad);
