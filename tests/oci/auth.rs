//! A registry that wants credentials: from `--registry-auth-file` or the
//! standard Docker configuration; without them, a clear error.

use super::*;
use base64::Engine as _;

/// A registry that accepts only alice:s3cret (htpasswd, bcrypt).
fn private_registry(dir: &std::path::Path) -> Registry {
    let hash = bcrypt::hash("s3cret", 4).unwrap();
    let htpasswd = dir.join("htpasswd");
    std::fs::write(&htpasswd, format!("alice:{hash}\n")).unwrap();
    Registry::start_with(&format!(
        "auth:\n  htpasswd:\n    realm: factory-test\n    path: {}\n",
        htpasswd.display()
    ))
}

fn docker_config(dir: &std::path::Path, registry: &str, password: &str) -> PathBuf {
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("alice:{password}"));
    let path = dir.join(format!("config-{password}.json"));
    std::fs::write(
        &path,
        serde_json::json!({"auths": {registry: {"auth": auth}}}).to_string(),
    )
    .unwrap();
    path
}

#[test]
fn credentials_come_from_the_auth_file_or_the_docker_config() {
    let dir = tempfile::tempdir().unwrap();
    let reg = private_registry(dir.path());
    let home = Home::new();
    let reference = format!("{}/private/noop:1", reg.addr);
    let noop = wasm("factory-test-noop");

    // No credentials: refused by the registry, and the error says where.
    let o = home.run(&["plugin", "push", &noop, &reference]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(err.contains(&reference), "{err}");
    assert!(err.contains("the registry wants credentials"), "{err}");

    let good = docker_config(dir.path(), &reg.addr, "s3cret");
    let good = good.to_str().unwrap();
    home.ok(&[
        "plugin",
        "push",
        &noop,
        &reference,
        "--registry-auth-file",
        good,
    ]);
    let oci = format!("oci://{reference}");
    let o = home.run(&["plugin", "install", &oci, "--allow-unsigned"]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("--registry-auth-file"));
    assert!(home.installed().is_empty());
    home.ok(&[
        "plugin",
        "install",
        &oci,
        "--allow-unsigned",
        "--registry-auth-file",
        good,
    ]);

    // The standard Docker configuration, through $DOCKER_CONFIG.
    let other = Home::new();
    let docker_dir = tempfile::tempdir().unwrap();
    std::fs::copy(good, docker_dir.path().join("config.json")).unwrap();
    let o = Command::new(FACTORY)
        .args(["plugin", "install", &oci, "--allow-unsigned"])
        .env("FACTORY_HOME", other.path())
        .env("DOCKER_CONFIG", docker_dir.path())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(other.installed().len(), 1);

    // A wrong password, and a file that is not a Docker config.
    let wrong = docker_config(dir.path(), &reg.addr, "guess");
    let o = other.run(&[
        "plugin",
        "install",
        &oci,
        "--allow-unsigned",
        "--force",
        "--registry-auth-file",
        wrong.to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    let junk = other.file("junk.json", "auths: no");
    let err = other.refused(&["plugin", "install", &oci, "--registry-auth-file", &junk]);
    assert!(
        err.contains("junk.json") && err.contains("not a Docker config.json"),
        "{err}"
    );
}
