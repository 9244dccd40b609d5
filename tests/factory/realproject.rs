//! The whole loop on a real open-source project, driven through the real
//! model protocols by a scripted model that reacts to what the tools
//! return (`scripted.rs`).
//!
//! The project is more-itertools 10.5.0, downloaded from PyPI at test time
//! and checked against its sha256 (its source is never committed here). The
//! test injects a bug into `chunked()`, so that list comparisons and a
//! doctest of the project's own suite fail, and asks the factory to fix it.
//! The coder first adds a regression test only; the tester runs the
//! project's whole suite in the sandbox, and its report (list comparisons,
//! doctests with what they expected and got) goes back to the coder, whose
//! fix is computed from the file contents read-file returns. The run must
//! end merged with the whole suite passing on the target branch.

use crate::fx::*;
use crate::scripted::{self, Brain, Conversation, Reply};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

const NAME: &str = "more-itertools";
const VERSION: &str = "10.5.0";
const SHA256: &str = "5482bfef7849c25dc3c6dd53a6173ae4795da2a41a80faea6700d9f5846c5da6";

const MODULE: &str = "more_itertools/more.py";
const TESTS: &str = "tests/test_more.py";
/// The end of `chunked()` as released, and the bug the test puts there:
/// a short last chunk is dropped.
const GOOD: &str = "                yield chunk\n\n        return iter(ret())\n    else:\n        return iterator\n";
const BAD: &str = "                yield chunk\n\n        return iter(ret())\n    else:\n        return (chunk for chunk in iterator if len(chunk) == n)\n";
const REGRESSION: &str = "

class ChunkedShortLastTests(TestCase):
    \"\"\"chunked() keeps a short last chunk (the factory's regression test).\"\"\"

    def test_short_last_chunk_is_kept(self):
        self.assertEqual(list(mi.chunked([1, 2, 3, 4, 5], 2)), [[1, 2], [3, 4], [5]])
";

/// The sdist, downloaded once per target dir and checked every time.
async fn sdist() -> Vec<u8> {
    let cache = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../target/test-downloads")
        .join(format!("{NAME}-{VERSION}.tar.gz"));
    let check = |bytes: &[u8]| hex::encode(Sha256::digest(bytes)) == SHA256;
    if let Ok(b) = std::fs::read(&cache)
        && check(&b)
    {
        return b;
    }
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(120))
        .build()
        .unwrap();
    // The simple repository API (PEP 691), as pip reads it.
    let index: Value = client
        .get(format!("https://pypi.org/simple/{NAME}/"))
        .header("Accept", "application/vnd.pypi.simple.v1+json")
        .send()
        .await
        .and_then(|r| r.error_for_status())
        .expect("PyPI's simple index answers (the test downloads its project from PyPI)")
        .json()
        .await
        .unwrap();
    let file = format!("{NAME}-{VERSION}.tar.gz");
    let url = index["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["filename"] == file.as_str() && f["hashes"]["sha256"] == SHA256)
        .unwrap_or_else(|| panic!("PyPI lists no {file} with sha256 {SHA256}"))["url"]
        .as_str()
        .unwrap()
        .to_string();
    let bytes = client
        .get(&url)
        .send()
        .await
        .and_then(|r| r.error_for_status())
        .unwrap()
        .bytes()
        .await
        .unwrap()
        .to_vec();
    assert!(check(&bytes), "{url} does not have sha256 {SHA256}");
    std::fs::create_dir_all(cache.parent().unwrap()).unwrap();
    let tmp = cache.with_extension("part");
    std::fs::write(&tmp, &bytes).unwrap();
    std::fs::rename(&tmp, &cache).unwrap();
    bytes
}

/// The project in `dir/repo`, a git repository on main with the bug in
/// its second commit and a factory.toml for `model`.
async fn project(dir: &Path, model: &str) -> PathBuf {
    let tarball = dir.join("sdist.tar.gz");
    std::fs::write(&tarball, sdist().await).unwrap();
    let o = Command::new("tar")
        .arg("xzf")
        .arg(&tarball)
        .arg("-C")
        .arg(dir)
        .output()
        .unwrap();
    assert!(o.status.success(), "tar: {}", text(&o.stderr));
    let repo = dir.join("repo");
    std::fs::rename(dir.join(format!("{NAME}-{VERSION}")), &repo).unwrap();
    git(&repo, &["init", "-q", "-b", "main"]);
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-q", "-m", &format!("{NAME} {VERSION}")]);
    let module = repo.join(MODULE);
    let src = std::fs::read_to_string(&module).unwrap();
    assert_eq!(
        src.matches(GOOD).count(),
        1,
        "the release's chunked() changed"
    );
    std::fs::write(&module, src.replace(GOOD, BAD)).unwrap();
    std::fs::write(
        repo.join("factory.toml"),
        format!(
            "trust = \"scoped\"\n\n[model]\n{model}\n\n[test]\ncommand = \"/usr/bin/python3 -m unittest\"\nformat = \"unittest\"\ntimeout = \"300s\"\n\n[budget]\nmax_attempts = 2\n"
        ),
    )
    .unwrap();
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-q", "-m", "chunked: a refactoring"]);
    repo
}

/// The project's whole suite, as a user runs it.
fn suite(repo: &Path) -> (bool, String) {
    let o = Command::new("/usr/bin/python3")
        .args(["-B", "-m", "unittest"])
        .current_dir(repo)
        .output()
        .unwrap();
    (o.status.success(), text(&o.stderr))
}

fn read_content(c: &Conversation, path: &str) -> Result<String, String> {
    let r = c
        .result_of("read-file", path)
        .ok_or(format!("no read-file result for {path}"))?;
    let v: Value = serde_json::from_str(r)
        .map_err(|e| format!("read-file of {path} is not JSON ({e}): {r}"))?;
    v["content"]
        .as_str()
        .map(str::to_string)
        .ok_or(format!("read-file of {path} has no content: {r}"))
}

fn plan() -> String {
    let plan = json!({
        "summary": "Keep the short last chunk in chunked() and cover it with a regression test.",
        "subtasks": [{
            "id": "fix-chunked",
            "title": "chunked() keeps a short last chunk",
            "instructions": "In more_itertools/more.py, chunked() must yield the last chunk even when it is shorter than n (unless strict). Add a regression test to tests/test_more.py.",
            "scope": [MODULE, TESTS],
            "depends_on": [],
        }],
    });
    format!(
        "```json\n{}\n```",
        serde_json::to_string_pretty(&plan).unwrap()
    )
}

/// Each role's turns, decided from what the tools returned.
fn brain() -> Brain {
    Arc::new(|c: &Conversation| {
        let system = c.system();
        let turn = c.turn();
        if system.starts_with("You are the architect") {
            return Ok(match turn {
                0 => Reply::Calls(vec![
                    (
                        "search-text",
                        json!({"pattern": "def chunked", "root": "."}),
                    ),
                    (
                        "read-file",
                        json!({"path": MODULE, "start_line": 160, "end_line": 200}),
                    ),
                ]),
                _ => {
                    let hits = c
                        .result_of("search-text", "def chunked")
                        .ok_or("no search-text result")?;
                    if !hits.contains(MODULE) {
                        return Err(format!(
                            "search-text did not find chunked in {MODULE}: {hits}"
                        ));
                    }
                    let part = read_content(c, MODULE)?;
                    if !part.contains("def chunked") {
                        return Err(format!(
                            "lines 160-200 of {MODULE} do not hold chunked(): {part}"
                        ));
                    }
                    Reply::Answer(plan())
                }
            });
        }
        if system.starts_with("You are a coder") {
            // Attempt 1 adds the regression test only; the real suite then
            // fails in the tester, and attempt 2 fixes the code from that
            // feedback and from the file contents read-file returns.
            let second = c.user().contains("This is attempt 2");
            return Ok(match (second, turn) {
                (false, 0) => Reply::Calls(vec![("read-file", json!({"path": TESTS}))]),
                (false, 1) => {
                    let tests = read_content(c, TESTS)?;
                    Reply::Calls(vec![(
                        "write-file",
                        json!({"path": TESTS, "content": format!("{}{REGRESSION}", tests.trim_end())}),
                    )])
                }
                (true, 0) => {
                    // The tester's report on the real suite reached the
                    // coder: the list comparison's assertion, the doctest's
                    // example with what it expected and what it got.
                    let user = c.user();
                    for want in [
                        "AssertionError: Lists differ",
                        "more_itertools.more.chunked",
                        "Failed example:",
                        "Expected:\n    [[1, 2, 3], [4, 5, 6], [7, 8]]",
                        "Got:\n    [[1, 2, 3], [4, 5, 6]]",
                        "test_short_last_chunk_is_kept",
                    ] {
                        if !user.contains(want) {
                            return Err(format!("the feedback lacks {want:?}:\n{user}"));
                        }
                    }
                    Reply::Calls(vec![("read-file", json!({"path": MODULE}))])
                }
                (true, 1) => {
                    let module = read_content(c, MODULE)?;
                    if module.matches(BAD).count() != 1 {
                        return Err(format!("the bug is not in the {MODULE} read-file returned"));
                    }
                    Reply::Calls(vec![(
                        "write-file",
                        json!({"path": MODULE, "content": module.replace(BAD, GOOD)}),
                    )])
                }
                (false, _) => {
                    Reply::Answer("Added a regression test for the short last chunk.".into())
                }
                (true, _) => Reply::Answer(
                    "chunked() yields the short last chunk again; the regression test passes."
                        .into(),
                ),
            });
        }
        if system.starts_with("You are the code reviewer") {
            let user = c.user();
            if !user.contains("+        return iterator") || !user.contains("ChunkedShortLastTests")
            {
                return Err(format!(
                    "the reviewer's diff lacks the fix or the test:\n{user}"
                ));
            }
            return Ok(Reply::Answer(
                json!({"verdict": "approve", "summary": "Restores the short last chunk; tested.", "comments": []})
                    .to_string(),
            ));
        }
        if system.starts_with("You are the documenter") {
            return Ok(match turn {
                0 => Reply::Calls(vec![("list-files", json!({"root": "."}))]),
                1 => {
                    let files = c
                        .result_of("list-files", "")
                        .ok_or("no list-files result")?;
                    if files.contains("CHANGELOG") {
                        return Err(format!("unexpected CHANGELOG in {files}"));
                    }
                    Reply::Calls(vec![(
                        "write-file",
                        json!({"path": "CHANGELOG.md", "content": "# Changelog\n\n## Unreleased\n\n- `chunked()` yields a short last chunk again.\n"}),
                    )])
                }
                _ => Reply::Answer("Added a CHANGELOG entry.".into()),
            });
        }
        Err(format!("a role the script does not know: {system}"))
    })
}

/// `factory run` with `model` on the real project, asserting it merged.
async fn run_real_project(protocol: &str) {
    let key = "sk-scripted-test";
    let server = scripted::start(brain(), Some(key)).await;
    let model = match protocol {
        "openai" => format!(
            "provider = \"openai\"\nname = \"scripted\"\nbase_url = \"{}/v1\"\napi_key_env = \"FACTORY_TEST_SCRIPTED_KEY\"",
            server.url
        ),
        _ => format!(
            "provider = \"anthropic\"\nname = \"scripted\"\nbase_url = \"{}\"\napi_key_env = \"FACTORY_TEST_SCRIPTED_KEY\"",
            server.url
        ),
    };
    let d = tempfile::tempdir().unwrap();
    let repo = project(d.path(), &model).await;

    // The project's own suite fails on the bug, and the parser reads its
    // real output: list comparisons and a doctest.
    let (ok, out) = suite(&repo);
    assert!(!ok, "the injected bug must fail the suite");
    let report = factory_types::report::parse(&out, Some("unittest")).unwrap();
    assert!(report.failed >= 2 && report.total > 800, "{report:#?}");
    let lists = report
        .failures
        .iter()
        .find(|f| f.message.starts_with("AssertionError: Lists differ"))
        .unwrap_or_else(|| panic!("no list comparison among {:#?}", report.failures));
    assert!(
        lists.file.as_deref().unwrap().ends_with(TESTS),
        "{lists:#?}"
    );
    let doctest = report
        .failures
        .iter()
        .find(|f| f.name == "more_itertools.more.chunked")
        .unwrap_or_else(|| panic!("no doctest failure among {:#?}", report.failures));
    assert!(
        doctest.message.contains("Expected:") && doctest.message.contains("Got:"),
        "{doctest:#?}"
    );
    assert!(
        doctest.file.as_deref().unwrap().ends_with(MODULE),
        "{doctest:#?}"
    );

    let brief = d.path().join("brief.md");
    std::fs::write(
        &brief,
        format!(
            "---\npriority: high\n---\n# chunked() drops the last chunk\n\n`list(chunked([1, 2, 3, 4, 5], 2))` gives `[[1, 2], [3, 4]]` since the last refactoring; it must give `[[1, 2], [3, 4], [5]]`.\n\n## Acceptance criteria\n- the short last chunk is yielded again\n- a regression test covers it\n- the whole test suite passes\n\n## Scope\n- {MODULE}\n- {TESTS}\n"
        ),
    )
    .unwrap();
    let home = shared_home();
    // The operator lets this repository merge and use the test's key.
    let o = factory(
        &home,
        &[
            "policy",
            "set",
            "--repo",
            repo.to_str().unwrap(),
            "--max-trust",
            "scoped",
            "--allow-key-env",
            "FACTORY_TEST_SCRIPTED_KEY",
        ],
    );
    assert_eq!(code(&o), 0, "{}", text(&o.stderr));
    let started = std::time::Instant::now();
    let o = Command::new(BIN)
        .args([
            "run",
            brief.to_str().unwrap(),
            "--repo",
            repo.to_str().unwrap(),
            "--json",
        ])
        .env("FACTORY_HOME", &home)
        .env("FACTORY_TEST_SCRIPTED_KEY", key)
        .env_remove("FACTORY_LOG")
        .output()
        .unwrap();
    let wall = started.elapsed();
    let problems = server.problems.lock().unwrap().clone();
    assert!(
        problems.is_empty(),
        "the scripted model saw problems: {problems:#?}\nstderr: {}",
        text(&o.stderr)
    );
    assert_eq!(code(&o), 0, "{}{}", text(&o.stdout), text(&o.stderr));
    let out: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(out["status"], "done", "{out:#}");
    assert_eq!(out["result"]["delivery"], "merged", "{out:#}");
    eprintln!(
        "{protocol}: the run on {NAME} {VERSION} took {:.1} s",
        wall.as_secs_f64()
    );
    let requests = server.requests.lock().unwrap().clone();
    assert!(
        requests.len() >= 8 && requests.iter().all(|r| r == protocol),
        "{requests:?}"
    );

    // Nothing a role did on its own work was denied, and every tool call
    // it made returned a result.
    let v = show(&home, out["id"].as_str().unwrap());
    assert_no_denials(&v);
    // The loop went round once: the real suite failed on attempt 1 (the
    // regression test without the fix), passed on attempt 2.
    assert_one_feedback_round(&v, "fix-chunked");
    let gates = v["run"]["result"]["gates"].as_array().unwrap();
    assert!(gates.iter().all(|g| g["passed"] == true), "{gates:#?}");

    // main holds the fix, the regression test and the changelog, and the
    // project's whole suite passes there.
    assert_eq!(
        git(&repo, &["status", "--porcelain"]).trim(),
        "",
        "main is clean"
    );
    let module = std::fs::read_to_string(repo.join(MODULE)).unwrap();
    assert!(module.contains(GOOD) && !module.contains(BAD));
    assert!(
        std::fs::read_to_string(repo.join(TESTS))
            .unwrap()
            .contains("ChunkedShortLastTests")
    );
    assert!(repo.join("CHANGELOG.md").is_file());
    let (ok, out) = suite(&repo);
    assert!(ok, "the suite fails after the run:\n{out}");
    let after = factory_types::report::parse(&out, Some("unittest")).unwrap();
    assert_eq!(after.failed, 0, "{out}");
    assert_eq!(
        after.total,
        report.total + 1,
        "the regression test runs too: {out}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_real_project_is_fixed_through_the_openai_protocol() {
    run_real_project("openai").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_real_project_is_fixed_through_the_anthropic_protocol() {
    run_real_project("anthropic").await;
}
