//! A valid component that exports something other than factory's `tool` or
//! `role`: installing it must fail with a clear error.

wit_bindgen::generate!({ path: "wit", world: "other" });

struct Other;

impl exports::test::other::greeter::Guest for Other {
    fn greet(name: String) -> String {
        format!("hello {name}")
    }
}

export!(Other);
