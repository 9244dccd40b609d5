//! `factory plugin update`: the tag re-resolved, the change shown, the
//! same checks again, and a new request only with --accept.

use super::*;

fn push(reg: &Registry, publisher: &Home, key: &str, manifest: &str, n: u32) -> String {
    let toml = publisher.file(&format!("p{n}.toml"), manifest);
    let reference = format!("{}/acme/tool:stable", reg.addr);
    publisher.push(
        "factory-test-attacker",
        &reference,
        &["--sign", key, "--manifest", &toml],
    )
}

#[test]
fn update_shows_the_digest_signer_and_permission_diff_and_needs_accept_for_more() {
    let reg = Registry::start();
    let publisher = Home::new();
    let home = Home::new();
    let scope = format!("{}/acme/*", reg.addr);
    trust_new_key(&publisher, &home, "acme", &scope);
    trust_new_key(&publisher, &home, "acme-ci", &scope);
    let v1 = push(
        &reg,
        &publisher,
        "acme",
        "[permissions]\nmodels = [\"*\"]\n",
        1,
    );
    let oci = format!("oci://{}/acme/tool:stable", reg.addr);
    home.ok(&[
        "plugin",
        "install",
        &oci,
        "--name",
        "tool",
        "--trust",
        "read-only",
        "--accept",
    ]);
    assert_eq!(home.grants("tool"), ["--model *"]);
    let out = home.ok(&["plugin", "update", "tool"]);
    assert!(out.contains("is up to date"), "{out}");

    // v2 asks for more, signed by another trusted key.
    let v2 = push(
        &reg,
        &publisher,
        "acme-ci",
        "[permissions]\nenv = [\"HOME\"]\ntools = [\"fetch\"]\n",
        2,
    );
    let o = home.run(&["plugin", "update", "tool"]);
    let (out, err) = (
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr),
    );
    assert_eq!(o.status.code(), Some(2), "{out}{err}");
    assert!(out.contains(&format!("digest:      {v1} -> {v2}")), "{out}");
    assert!(out.contains("signer:      acme (sha256:"), "{out}");
    assert!(out.contains("-> acme-ci (sha256:"), "{out}");
    assert!(
        out.contains("+ --env HOME") && out.contains("+ --tool fetch"),
        "{out}"
    );
    assert!(out.contains("- --model *"), "{out}");
    assert!(err.contains("update again with --accept"), "{err}");
    // Nothing changed.
    let info = home.inspect("tool");
    assert!(info["plugin"]["source"].as_str().unwrap().ends_with(&v1));
    assert_eq!(home.grants("tool"), ["--model *"]);
    assert_eq!(home.events("refused").len(), 1);

    // --dry-run shows the same and changes nothing, even with --accept.
    let out = home.ok(&["plugin", "update", "tool", "--dry-run", "--accept"]);
    assert!(out.contains("+ --env HOME"), "{out}");
    assert!(
        home.inspect("tool")["plugin"]["source"]
            .as_str()
            .unwrap()
            .ends_with(&v1)
    );

    // Accepted: the new digest, the new requests granted; the dropped one
    // stays granted until revoked, and the output says how.
    let out = home.ok(&["plugin", "update", "tool", "--accept"]);
    assert!(out.contains(&format!("updated tool to {v2}")), "{out}");
    assert!(
        out.contains("factory plugin revoke tool --model *"),
        "{out}"
    );
    let info = home.inspect("tool");
    assert!(info["plugin"]["source"].as_str().unwrap().ends_with(&v2));
    assert!(
        info["plugin"]["signer"]
            .as_str()
            .unwrap()
            .starts_with("acme-ci")
    );
    let mut grants = home.grants("tool");
    grants.sort();
    assert_eq!(grants, ["--env HOME", "--model *", "--tool fetch"]);

    // v3 needs a higher level than the plugin has: refused, naming it,
    // even with --accept.
    push(
        &reg,
        &publisher,
        "acme",
        "[permissions]\nexec = [\"sh\"]\n",
        3,
    );
    let err = home.refused(&["plugin", "update", "tool", "--accept"]);
    assert!(
        err.contains("--exec sh needs trust auto-merge (3)"),
        "{err}"
    );
    assert!(
        err.contains("factory plugin trust tool auto-merge"),
        "{err}"
    );
    assert!(
        home.inspect("tool")["plugin"]["source"]
            .as_str()
            .unwrap()
            .ends_with(&v2)
    );
}

#[test]
fn update_checks_the_signature_again() {
    let reg = Registry::start();
    let publisher = Home::new();
    let home = Home::new();
    trust_new_key(&publisher, &home, "acme", &format!("{}/acme/*", reg.addr));
    let v1 = push(&reg, &publisher, "acme", "", 1);
    let oci = format!("oci://{}/acme/tool:stable", reg.addr);
    home.ok(&["plugin", "install", &oci, "--name", "tool"]);
    // The tag moves to a component signed by nobody trusted.
    let stranger = Home::new();
    stranger.ok(&["key", "generate", "mallory"]);
    push(&reg, &stranger, "mallory", "", 2);
    let err = home.refused(&["plugin", "update", "tool"]);
    assert!(err.contains("unknown key"), "{err}");
    assert!(
        home.inspect("tool")["plugin"]["source"]
            .as_str()
            .unwrap()
            .ends_with(&v1)
    );
    // A plugin installed from a file has no tag to follow.
    home.ok(&["plugin", "install", &wasm("factory-test-noop")]);
    let err = home.refused(&["plugin", "update", "noop"]);
    assert!(err.contains("not from a registry"), "{err}");
}
