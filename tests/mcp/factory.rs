//! `factory mcp --factory`: an assistant hands a whole task to the factory.
//! The example project of `factory demo` (its model replies replayed) is
//! run through `factory_run`, and the run's trust is capped at
//! `--factory-max-trust` although the repository asks for more and the
//! operator allows more.

use super::*;

#[test]
fn factory_run_starts_a_run_capped_at_the_max_trust_and_returns_its_id() {
    let home = Home::new();
    let (repo, issue) = common::example_repo(&home.dir());
    let before = common::main_head(&repo);
    // The repository asks for `scoped`, and the operator allows it.
    home.factory(&[
        "policy",
        "set",
        "--repo",
        repo.to_str().unwrap(),
        "--max-trust",
        "scoped",
    ]);
    let mut steps = vec![
        json!({"op": "call", "tool": "factory_run", "args": {"spec": issue}}),
        json!({"op": "call", "tool": "factory_run", "args": {"spec": issue, "repo": "/tmp"}}),
        json!({"op": "call", "tool": "factory_run", "args": {"spec": "  "}}),
    ];
    steps.push(json!({"op": "call", "tool": "factory_runs", "args": {}}));
    // The run goes on in the server; the same session follows it
    // ("follow" in client.py) until it is no longer running.
    let out = home.stdio(
        json!({ "steps": steps, "follow": true }),
        &["--factory", "--factory-repo", repo.to_str().unwrap()],
    );
    for name in ["factory_run", "factory_runs", "factory_run_show"] {
        tool(&out, name);
    }
    assert_eq!(
        tool(&out, "factory_runs")["annotations"]["readOnlyHint"],
        true
    );
    assert_eq!(
        tool(&out, "factory_run_show")["annotations"]["readOnlyHint"],
        true
    );
    assert_no_admin_tools(&out);
    let s = out["steps"].as_array().unwrap();
    let started = &s[0]["result"];
    assert_eq!(started["isError"], false, "{started}");
    let run_id = started["structuredContent"]["run_id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(started["structuredContent"]["trust"], "draft", "{started}");
    // Only the listed repository; a spec with something in it.
    assert_eq!(s[1]["result"]["isError"], true, "{}", s[1]);
    assert!(
        text(&s[1]["result"]).contains("operator listed"),
        "{}",
        s[1]
    );
    assert_eq!(s[2]["result"]["isError"], true, "{}", s[2]);
    assert!(
        s[3]["result"]["structuredContent"]
            .to_string()
            .contains(&run_id)
    );
    let shown = &out["followed"]["structuredContent"];
    assert_eq!(shown["status"], "done", "{shown}");
    assert_eq!(shown["run"]["trust"], "draft");
    assert_eq!(
        shown["run"]["result"]["delivery"], "draft",
        "{}",
        shown["run"]["result"]
    );
    assert!(
        shown["steps"].to_string().contains("capped at draft"),
        "the cap is in the timeline"
    );
    let missing = home.stdio(
        json!({"steps": [{"op": "call", "tool": "factory_run_show", "args": {"run_id": "no-such-run"}}]}),
        &["--factory", "--factory-repo", repo.to_str().unwrap()],
    );
    assert_eq!(missing["steps"][0]["result"]["isError"], true);
    // A draft: main is untouched.
    assert_eq!(common::main_head(&repo), before);
}

#[test]
fn factory_needs_a_repository_list_and_no_plugin_may_take_its_names() {
    let home = Home::new();
    let o = home.run(&["mcp", "--factory"]);
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("--factory-repo"), "{err}");

    // A plugin installed as `factory_run` would be shadowed: refused.
    let wasm = common::guest("factory-test-noop");
    home.factory(&[
        "plugin",
        "install",
        wasm.to_str().unwrap(),
        "--name",
        "factory_run",
    ]);
    let repo = home.dir().to_str().unwrap().to_string();
    let o = home.run(&["mcp", "--factory", "--factory-repo", &repo]);
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("the plugin `factory_run` has the name"),
        "{err}"
    );
}
