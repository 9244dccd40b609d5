//! Interop with `oras` (PyPI `oras`, installed by `.ci/guest-tools`): an
//! artifact it pushes in the CNCF wasm layout installs here, and one of
//! ours pulls back with it byte-identical.

use super::*;

fn python() -> PathBuf {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/guest-tools/venv/bin/python");
    assert!(
        p.exists(),
        "{} is missing: run `bash .ci/guest-tools` (it installs oras)",
        p.display()
    );
    p
}

/// Run a Python snippet with oras importable; its stdout.
fn oras(script: &str, cwd: &std::path::Path) -> String {
    let o = Command::new(python())
        .arg("-c")
        .arg(script)
        .current_dir(cwd)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "oras failed: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn an_artifact_pushed_by_oras_installs_with_allow_unsigned() {
    let reg = Registry::start();
    let home = Home::new();
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        common::guest("factory-test-noop"),
        dir.path().join("noop.wasm"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("config.json"),
        r#"{"architecture":"wasm","os":"wasip2","layerDigests":[],"component":{"exports":[],"imports":[]}}"#,
    )
    .unwrap();
    let target = format!("{}/third/noop:0.1", reg.addr);
    oras(
        &format!(
            "import oras.client\n\
             c = oras.client.OrasClient(hostname='{}', insecure=True)\n\
             c.push(target='{target}', files=['noop.wasm:application/wasm'],\n\
                    manifest_config='config.json:application/vnd.wasm.config.v0+json',\n\
                    disable_path_validation=True)\n",
            reg.addr
        ),
        dir.path(),
    );
    let oci = format!("oci://{target}");
    let err = home.refused(&["plugin", "install", &oci]);
    assert!(err.contains("no signature"), "{err}");
    assert!(home.installed().is_empty());
    home.ok(&[
        "plugin",
        "install",
        &oci,
        "--allow-unsigned",
        "--name",
        "third",
    ]);
    let out = home.ok(&["tool", "call", "third", "--input", "{}"]);
    assert!(!out.is_empty());
    let info = home.inspect("third");
    assert_eq!(info["plugin"]["signer"], "unsigned");
    assert_eq!(home.events("unsigned").len(), 1);
}

#[test]
fn ours_pulls_back_with_oras_byte_identical() {
    let reg = Registry::start();
    let publisher = Home::new();
    publisher.ok(&["key", "generate", "acme"]);
    let target = format!("{}/acme/attacker:2", reg.addr);
    let source = common::guest("factory-test-attacker");
    let digest = publisher.ok(&[
        "plugin",
        "push",
        source.to_str().unwrap(),
        &target,
        "--sign",
        "acme",
    ]);
    let dir = tempfile::tempdir().unwrap();
    let out = oras(
        &format!(
            "import json, oras.client\n\
             c = oras.client.OrasClient(hostname='{addr}', insecure=True)\n\
             m = c.get_manifest('{target}')\n\
             print(json.dumps(m))\n\
             print(json.dumps(c.pull(target='{target}', outdir='out')))\n",
            addr = reg.addr
        ),
        dir.path(),
    );
    let mut lines = out.lines();
    let manifest: Value = serde_json::from_str(lines.next().unwrap()).unwrap();
    assert_eq!(
        manifest["mediaType"],
        "application/vnd.oci.image.manifest.v1+json"
    );
    assert_eq!(
        manifest["artifactType"],
        "application/vnd.wasm.component.v1+wasm"
    );
    assert_eq!(
        manifest["config"]["mediaType"],
        "application/vnd.wasm.config.v0+json"
    );
    assert_eq!(manifest["layers"].as_array().unwrap().len(), 1);
    assert_eq!(manifest["layers"][0]["mediaType"], "application/wasm");
    let files: Vec<String> = serde_json::from_str(lines.next().unwrap()).unwrap();
    assert_eq!(files.len(), 1, "{files:?}");
    let pulled = std::fs::read(dir.path().join("out").join(source.file_name().unwrap())).unwrap();
    assert_eq!(pulled, std::fs::read(&source).unwrap(), "byte-identical");
    assert!(digest.starts_with("sha256:"));
}
