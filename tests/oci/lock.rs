//! `factory plugin export-lock` and `install --lock`: the installed set
//! reproduced exactly, by digest, or nothing installed at all.

use super::*;

#[test]
fn a_lock_reproduces_the_installed_set_by_digest_with_trust_grants_and_limits() {
    let reg = Registry::start();
    let publisher = Home::new();
    let a = Home::new();
    let scope = format!("{}/acme/*", reg.addr);
    trust_new_key(&publisher, &a, "acme", &scope);
    let reference = format!("{}/acme/tool:1", reg.addr);
    let digest = publisher.push("factory-test-attacker", &reference, &["--sign", "acme"]);
    let shared = tempfile::tempdir().unwrap();
    let dir = shared.path().to_str().unwrap();
    a.ok(&[
        "plugin",
        "install",
        &format!("oci://{reference}"),
        "--name",
        "tool",
        "--trust",
        "draft",
    ]);
    a.ok(&[
        "plugin",
        "grant",
        "tool",
        "--read",
        dir,
        "--net",
        "https://example.com",
    ]);
    a.ok(&["plugin", "limits", "tool", "--memory", "64"]);
    a.ok(&[
        "plugin",
        "install",
        &wasm("factory-test-noop"),
        "--name",
        "local",
        "--trust",
        "1",
    ]);
    a.ok(&["plugin", "grant", "local", "--env", "HOME"]);
    // A built-in whose grants the operator changed is in the lock too.
    a.ok(&["plugin", "grant", "fetch-url", "--net", "https://docs.rs"]);
    let lock = a.ok(&["plugin", "export-lock"]);
    assert!(lock.contains(&format!("@{digest}")), "{lock}");
    assert!(lock.contains("source = \"built in\""), "{lock}");
    let lock_file = a.file("plugins.lock", &lock);

    // The tag moves afterwards: the lock still means the old digest.
    publisher.push("factory-test-noop", &reference, &["--sign", "acme"]);

    let b = Home::new();
    let public = publisher.ok(&["key", "show", "acme"]);
    b.ok(&["signer", "add", "acme", &public, "--scope", &scope]);
    let out = b.ok(&["plugin", "install", "--lock", &lock_file]);
    assert!(
        out.contains("installed tool (trust draft (2), 2 grants)"),
        "{out}"
    );
    assert_eq!(
        b.ok(&["plugin", "export-lock"]),
        lock,
        "the same set, exactly"
    );
    let tool = b.inspect("tool");
    assert!(
        tool["plugin"]["source"]
            .as_str()
            .unwrap()
            .ends_with(&digest)
    );
    assert_eq!(tool["limits"]["memory"], 64 << 20);
    // Installing the same lock again changes nothing.
    let out = b.ok(&["plugin", "install", "--lock", &lock_file]);
    assert!(out.contains("kept tool"), "{out}");
    assert_eq!(b.ok(&["plugin", "export-lock"]), lock);
}

#[test]
fn a_lock_that_cannot_be_reproduced_installs_nothing() {
    let reg = Registry::start();
    let publisher = Home::new();
    let home = Home::new();
    publisher.ok(&["key", "generate", "acme"]);
    let signed = format!("{}/acme/signed:1", reg.addr);
    let d1 = publisher.push("factory-test-noop", &signed, &["--sign", "acme"]);
    let unsigned = format!("{}/acme/unsigned:1", reg.addr);
    let d2 = publisher.push("factory-test-attacker", &unsigned, &[]);
    let public = publisher.ok(&["key", "show", "acme"]);
    home.ok(&["signer", "add", "acme", &public]);
    let noop = factory_sha(&wasm("factory-test-noop"));
    let attacker = factory_sha(&wasm("factory-test-attacker"));
    let lock = format!(
        "version = 1\n\n[[plugin]]\nname = \"a\"\nsource = \"oci://{signed}@{d1}\"\ndigest = \"{noop}\"\ntrust = \"untrusted\"\n\n[[plugin]]\nname = \"b\"\nsource = \"oci://{unsigned}@{d2}\"\ndigest = \"{attacker}\"\ntrust = \"read-only\"\ngrants = [{{ kind = \"read\", target = \"/no/such/dir\" }}]\n"
    );
    let file = home.file("plugins.lock", &lock);
    let err = home.refused(&["plugin", "install", "--lock", &file]);
    assert!(err.contains("nothing installed"), "{err}");
    assert!(
        err.contains("b: refused") && err.contains("no signature"),
        "{err}"
    );
    assert!(home.installed().is_empty());
    // Allowed unsigned, the grant of a directory missing here still stops it.
    let err = home.refused(&["plugin", "install", "--lock", &file, "--allow-unsigned"]);
    assert!(
        err.contains("b: directory `/no/such/dir` cannot be granted"),
        "{err}"
    );
    assert!(home.installed().is_empty());
    // A digest that is not what the source holds.
    let wrong = lock.replace(&noop, &attacker);
    let file = home.file(
        "wrong.lock",
        &wrong.replace(
            "grants = [{ kind = \"read\", target = \"/no/such/dir\" }]\n",
            "",
        ),
    );
    let err = home.refused(&["plugin", "install", "--lock", &file, "--allow-unsigned"]);
    assert!(
        err.contains(&format!("but the lock pins {attacker}")),
        "{err}"
    );
    assert!(home.installed().is_empty());
    // Not a lock at all.
    let file = home.file("junk.lock", "version = 1\n[[plugin]]\nname = 3\n");
    let err = home.refused(&["plugin", "install", "--lock", &file]);
    assert!(err.contains("is not a plugin lock"), "{err}");
}

/// `sha256:<hex>` of a file.
fn factory_sha(path: &str) -> String {
    use sha2::Digest;
    format!(
        "sha256:{}",
        hex::encode(sha2::Sha256::digest(std::fs::read(path).unwrap()))
    )
}
