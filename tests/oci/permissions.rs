//! What a plugin asks for: shown at install, granted only with --accept,
//! within the trust level's ceiling, and covered by the signature.

use super::*;

const READS_WORKDIR: &str = "[permissions]\nread = [\"{workdir}\"]\n";

/// A signed push of the attacker tool asking for `manifest`; returns the
/// reference and the digest.
fn publish(reg: &Registry, publisher: &Home, tag: &str, manifest: &str) -> (String, String) {
    let reference = format!("{}/acme/reader:{tag}", reg.addr);
    let toml = publisher.file(&format!("plugin-{tag}.toml"), manifest);
    let digest = publisher.push(
        "factory-test-attacker",
        &reference,
        &["--sign", "acme", "--manifest", &toml],
    );
    (reference, digest)
}

fn read_call(home: &Home, name: &str, target: &str) -> Value {
    let input = serde_json::json!({"attack": "read", "target": target}).to_string();
    let o = home.run(&["tool", "call", name, "--input", &input]);
    serde_json::from_slice(&o.stdout).unwrap_or(Value::Null)
}

#[test]
fn nothing_is_granted_without_accept_and_accept_grants_what_was_shown() {
    let reg = Registry::start();
    let publisher = Home::new();
    let home = Home::new();
    trust_new_key(&publisher, &home, "acme", &format!("{}/acme/*", reg.addr));
    let (reference, _) = publish(&reg, &publisher, "1", READS_WORKDIR);
    let work = tempfile::tempdir().unwrap();
    let work_dir = std::fs::canonicalize(work.path()).unwrap();
    let secret = work_dir.join("notes.txt");
    std::fs::write(&secret, "in the workdir").unwrap();
    let oci = format!("oci://{reference}");
    let workdir = work_dir.to_str().unwrap();

    let install = |extra: &[&str]| {
        let mut args = vec![
            "plugin",
            "install",
            &oci,
            "--name",
            "reader",
            "--trust",
            "read-only",
            "--workdir",
            workdir,
        ];
        args.extend_from_slice(extra);
        home.ok(&args)
    };

    // Shown, not granted.
    let out = install(&[]);
    assert!(
        out.contains("asks for (needs trust read-only (1)):"),
        "{out}"
    );
    assert!(
        out.contains(&format!("--read {{workdir}}  (here: {workdir})")),
        "{out}"
    );
    assert!(out.contains("nothing granted"), "{out}");
    assert!(home.grants("reader").is_empty());
    let r = read_call(&home, "reader", secret.to_str().unwrap());
    assert_ne!(r["ok"], true, "{r}");

    // Accepted: exactly what was shown.
    let out = install(&["--accept"]);
    assert!(out.contains("granted (--accept)"), "{out}");
    assert_eq!(home.grants("reader"), [format!("--read {workdir}")]);
    let r = read_call(&home, "reader", secret.to_str().unwrap());
    assert_eq!(r["content"], "in the workdir", "{r}");
    assert_eq!(home.events("accept").len(), 1);
    let info = home.inspect("reader");
    assert!(
        info["plugin"]["requested"]
            .as_str()
            .unwrap()
            .contains("{workdir}")
    );
    assert!(
        info["plugin"]["signer"]
            .as_str()
            .unwrap()
            .starts_with("acme (sha256:")
    );
}

#[test]
fn a_request_above_the_trust_ceiling_is_refused_naming_the_level() {
    let reg = Registry::start();
    let publisher = Home::new();
    let home = Home::new();
    trust_new_key(&publisher, &home, "acme", &format!("{}/acme/*", reg.addr));
    let manifest =
        "[permissions]\nread = [\"/tmp\"]\nexec = [\"sh\"]\nnet = [\"tcp://127.0.0.1:5432\"]\n";
    let (reference, _) = publish(&reg, &publisher, "2", manifest);
    let oci = format!("oci://{reference}");
    let err = home.refused(&["plugin", "install", &oci, "--trust", "draft", "--accept"]);
    assert!(
        err.contains("--exec sh needs trust auto-merge (3)"),
        "{err}"
    );
    assert!(
        err.contains("--net tcp://127.0.0.1:5432 needs trust scoped (4)"),
        "{err}"
    );
    assert!(
        err.contains("install with --trust scoped --accept"),
        "{err}"
    );
    assert!(home.installed().is_empty(), "nothing is installed");
    // Without --accept it installs, and says what --accept would need.
    let out = home.ok(&["plugin", "install", &oci, "--trust", "draft"]);
    assert!(out.contains("needs trust scoped (4)"), "{out}");
    assert!(out.contains("--accept --trust scoped"), "{out}");
    // At the level it needs, everything is granted.
    home.ok(&["plugin", "install", &oci, "--trust", "scoped", "--accept"]);
    let grants = home.grants("attacker");
    assert_eq!(grants.len(), 3, "{grants:?}");
}

#[test]
fn a_manifest_swapped_in_the_registry_is_not_covered_by_the_signature() {
    let reg = Registry::start();
    let publisher = Home::new();
    let home = Home::new();
    trust_new_key(&publisher, &home, "acme", &format!("{}/acme/*", reg.addr));
    let (reference, signed) = publish(&reg, &publisher, "3", READS_WORKDIR);
    // Someone with push access re-pushes the same code asking for more,
    // unsigned, under the same tag.
    let mallory = Home::new();
    let greedy = mallory.file(
        "greedy.toml",
        "[permissions]\nread = [\"{home}\"]\nenv = [\"AWS_SECRET_ACCESS_KEY\"]\n",
    );
    let swapped = mallory.push(
        "factory-test-attacker",
        &reference,
        &["--manifest", &greedy],
    );
    assert_ne!(signed, swapped);
    let err = home.refused(&[
        "plugin",
        "install",
        &format!("oci://{reference}"),
        "--accept",
    ]);
    assert!(err.contains("no signature"), "{err}");
    assert!(home.installed().is_empty());
}

#[test]
fn a_local_install_reads_the_manifest_given_with_manifest() {
    let home = Home::new();
    let work = tempfile::tempdir().unwrap();
    let workdir = std::fs::canonicalize(work.path()).unwrap();
    let toml = home.file("plugin.toml", READS_WORKDIR);
    let out = home.ok(&[
        "plugin",
        "install",
        &wasm("factory-test-attacker"),
        "--manifest",
        &toml,
        "--trust",
        "1",
        "--accept",
        "--workdir",
        workdir.to_str().unwrap(),
    ]);
    assert!(out.contains("--read {workdir}"), "{out}");
    assert_eq!(
        home.grants("attacker"),
        [format!("--read {}", workdir.display())]
    );
    // A bad manifest is an error naming the file and what is wrong, and
    // installs nothing.
    let other = Home::new();
    let bad = other.file("bad.toml", "[permissions]\nread = [\"{workdir}/../..\"]\n");
    let err = other.refused(&[
        "plugin",
        "install",
        &wasm("factory-test-noop"),
        "--manifest",
        &bad,
    ]);
    assert!(err.contains("bad.toml") && err.contains("climb"), "{err}");
    let typo = other.file("typo.toml", "[permissions]\nreed = [\"/x\"]\n");
    let err = other.refused(&[
        "plugin",
        "install",
        &wasm("factory-test-noop"),
        "--manifest",
        &typo,
    ]);
    assert!(
        err.contains("typo.toml") && err.contains("unknown field `reed`"),
        "{err}"
    );
    assert!(other.installed().is_empty());
}
