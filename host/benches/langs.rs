//! What a plugin costs per language, cold: each example is built from
//! source with its toolchain (`.ci/guest-tools` installs them), installed
//! (install precompiles it), and then called as a whole `factory tool call`
//! process, the way a CLI user or an MCP client calls it once. Measured in
//! the same run against `factory --version` (the CLI's floor) and the
//! alternative agents use today: starting an interpreter per tool call.
//!
//! Run: `cargo bench -p factory-host --bench langs` (`-- --quick` for fewer
//! rounds). Figures are medians of whole-process wall time; rounds
//! interleave the cases.

// The language tests' helpers: finding the toolchains, copying the
// examples with the repository's layout, running make with this factory.
#[path = "../../tests/langs/toolchain.rs"]
#[allow(dead_code)]
mod toolchain;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};
use toolchain::{BIN, Factory, copy_from_repo, make};

fn time(cmd: &mut Command) -> Duration {
    let t = Instant::now();
    let o = cmd.output().unwrap();
    let took = t.elapsed();
    assert!(
        o.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    took
}

fn cwasm_files(home: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(home.join("cache"))
        .map(|rd| rd.flatten().map(|e| e.path()).collect())
        .unwrap_or_default()
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

struct Case {
    lang: &'static str,
    name: &'static str,
    example: &'static str,
    make_args: &'static [&'static str],
    input: String,
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let rounds = if quick { 10 } else { 30 };
    let work = tempfile::tempdir().unwrap();
    for rel in ["wit/plugin", "sdk/python", "sdk/js", "sdk/go", "sdk/c"] {
        copy_from_repo(rel, work.path());
    }
    let data = work.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(data.join("a.txt"), "alpha beta\ngamma TODO\n").unwrap();
    let file = data.join("a.txt");
    let cases = vec![
        Case {
            lang: "Python",
            name: "search-files",
            example: "sdk/python/examples/search-files",
            make_args: &[],
            input: format!(r#"{{"dir":"{}","pattern":"TODO"}}"#, data.display()),
        },
        Case {
            lang: "JS (QuickJS)",
            name: "json-validate",
            example: "sdk/js/examples/json-validate",
            make_args: &["COMPONENTIZE_QJS=componentize-qjs"],
            input: r#"{"schema":{"type":"string"},"document":"x"}"#.into(),
        },
        Case {
            lang: "JS (SM)",
            name: "json-validate-sm",
            example: "sdk/js/examples/json-validate",
            make_args: &["starlingmonkey", "COMPONENTIZE_JS=componentize-js"],
            input: r#"{"schema":{"type":"string"},"document":"x"}"#.into(),
        },
        Case {
            lang: "Go",
            name: "dir-stats",
            example: "sdk/go/examples/dir-stats",
            make_args: &[],
            input: format!(r#"{{"dir":"{}"}}"#, data.display()),
        },
        Case {
            lang: "C",
            name: "file-wc",
            example: "sdk/c/examples/file-wc",
            make_args: &[],
            input: format!(r#"{{"path":"{}"}}"#, file.display()),
        },
    ];
    let f = Factory::new();
    let home = &f.home;
    let factory = |args: &[&str]| {
        let mut c = Command::new(BIN);
        c.args(args).env("FACTORY_HOME", home);
        c
    };
    println!("factory plugins by language: build, install (precompile), cold call\n");
    println!(
        "{:<13} {:>9} {:>10} {:>10} {:>11}",
        "language", "build s", "wasm MB", "install s", "cwasm MB"
    );
    for c in &cases {
        let dir = work.path().join(c.example);
        let t = Instant::now();
        make(&dir, c.make_args);
        let built = t.elapsed();
        let wasm = dir.join(format!("build/{}.wasm", c.name));
        let before = cwasm_files(home);
        let t = Instant::now();
        f.install(&wasm, c.name);
        let installed = t.elapsed();
        f.ok(&["plugin", "trust", c.name, "read-only"]);
        f.ok(&["plugin", "grant", c.name, "--read", data.to_str().unwrap()]);
        let cwasm: u64 = cwasm_files(home)
            .into_iter()
            .filter(|f| !before.contains(f))
            .map(|f| std::fs::metadata(f).unwrap().len())
            .sum();
        println!(
            "{:<13} {:>9.1} {:>10.1} {:>10.1} {:>11.1}",
            c.lang,
            built.as_secs_f64(),
            std::fs::metadata(&wasm).unwrap().len() as f64 / 1e6,
            installed.as_secs_f64(),
            cwasm as f64 / 1e6
        );
    }

    // Warm the page cache and the registry once per case.
    for c in &cases {
        time(&mut factory(&["tool", "call", c.name, "--input", &c.input]));
    }
    let mut calls: Vec<Vec<Duration>> = vec![Vec::new(); cases.len()];
    let (mut version, mut python, mut node) = (Vec::new(), Vec::new(), Vec::new());
    let py = "/usr/bin/python3";
    let has_node = Command::new("node").arg("--version").output().is_ok();
    for _ in 0..rounds {
        for (i, c) in cases.iter().enumerate() {
            calls[i].push(time(&mut factory(&[
                "tool", "call", c.name, "--input", &c.input,
            ])));
        }
        version.push(time(&mut factory(&["--version"])));
        python.push(time(Command::new(py).args([
            "-S",
            "-c",
            "import json,sys; print(json.dumps({}))",
        ])));
        if has_node {
            node.push(time(
                Command::new("node").args(["-e", "console.log(JSON.stringify({}))"]),
            ));
        }
    }
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let floor = median(version.clone());
    println!("\ncold `factory tool call`, whole process, median of {rounds}:");
    for (i, c) in cases.iter().enumerate() {
        let m = median(calls[i].clone());
        println!(
            "  {:<13} {:>7.2} ms   ({:.1}x `factory --version`)",
            c.lang,
            ms(m),
            m.as_secs_f64() / floor.as_secs_f64()
        );
    }
    println!("  {:<13} {:>7.2} ms", "--version", ms(floor));
    println!("\nthe alternative, an interpreter per call:");
    println!(
        "  {:<13} {:>7.2} ms   python3 -S -c (no sandbox)",
        "python3",
        ms(median(python))
    );
    if !node.is_empty() {
        println!(
            "  {:<13} {:>7.2} ms   node -e (no sandbox)",
            "node",
            ms(median(node))
        );
    }
    let py_call = median(calls[0].clone());
    println!(
        "\nPython cold call: {:.2} ms (target < 30 ms): {}",
        ms(py_call),
        if py_call < Duration::from_millis(30) {
            "met"
        } else {
            "NOT met"
        }
    );
}
