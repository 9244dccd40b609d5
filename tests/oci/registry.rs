//! Push, install by tag and digest, and every way an install is refused.

use super::*;

#[test]
fn a_signed_push_installs_by_tag_and_by_digest_and_runs() {
    let reg = Registry::start();
    let publisher = Home::new();
    let home = Home::new();
    trust_new_key(&publisher, &home, "acme", &format!("{}/acme/*", reg.addr));
    let reference = format!("{}/acme/attacker:1.0", reg.addr);
    let digest = publisher.push("factory-test-attacker", &reference, &["--sign", "acme"]);
    assert!(digest.starts_with("sha256:"), "{digest}");

    home.ok(&[
        "plugin",
        "install",
        &format!("oci://{reference}"),
        "--name",
        "by-tag",
    ]);
    let by_digest = format!("oci://{}/acme/attacker@{digest}", reg.addr);
    home.ok(&["plugin", "install", &by_digest, "--name", "by-digest"]);
    let list = home.installed();
    for p in &list {
        assert!(p["source"].as_str().unwrap().ends_with(&digest), "{p}");
    }
    assert!(
        list.iter()
            .any(|p| p["source"] == format!("oci://{reference}@{digest}"))
    );
    let out = home.ok(&["tool", "call", "by-tag", "--input", r#"{"attack":"args"}"#]);
    assert!(out.contains("\"ok\":true"), "{out}");
    assert_eq!(home.events("verified").len(), 2);
}

#[test]
fn unknown_signers_signers_out_of_scope_and_unsigned_plugins_are_refused() {
    let reg = Registry::start();
    let publisher = Home::new();
    let home = Home::new();
    // Trusted, but only for acme/*.
    trust_new_key(&publisher, &home, "acme", &format!("{}/acme/*", reg.addr));
    let stranger = Home::new();
    stranger.ok(&["key", "generate", "mallory"]);
    let attacker = wasm("factory-test-attacker");

    let signed_by_stranger = format!("{}/acme/x:1", reg.addr);
    stranger.ok(&[
        "plugin",
        "push",
        &attacker,
        &signed_by_stranger,
        "--sign",
        "mallory",
    ]);
    let err = home.refused(&["plugin", "install", &format!("oci://{signed_by_stranger}")]);
    assert!(err.contains("signed by an unknown key sha256:"), "{err}");

    let outside = format!("{}/other/x:1", reg.addr);
    publisher.ok(&["plugin", "push", &attacker, &outside, "--sign", "acme"]);
    let err = home.refused(&["plugin", "install", &format!("oci://{outside}")]);
    assert!(
        err.contains("is not allowed for") && err.contains("acme/*"),
        "{err}"
    );

    let unsigned = format!("{}/acme/unsigned:1", reg.addr);
    publisher.ok(&["plugin", "push", &attacker, &unsigned]);
    let err = home.refused(&["plugin", "install", &format!("oci://{unsigned}")]);
    assert!(err.contains("no signature"), "{err}");
    assert!(home.installed().is_empty(), "nothing was installed");
    assert_eq!(home.events("refused").len(), 3);

    // The one override: explicit, printed, journaled.
    let o = home.run(&[
        "plugin",
        "install",
        &format!("oci://{unsigned}"),
        "--allow-unsigned",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stderr).contains("without a valid signature"));
    assert_eq!(home.events("unsigned").len(), 1);
    assert_eq!(home.installed().len(), 1);
}

#[test]
fn a_blob_tampered_in_the_registry_is_refused_with_nothing_installed() {
    let reg = Registry::start();
    let publisher = Home::new();
    let home = Home::new();
    trust_new_key(&publisher, &home, "acme", &format!("{}/acme/*", reg.addr));
    let reference = format!("{}/acme/tool:1", reg.addr);
    let bytes = std::fs::read(common::guest("factory-test-attacker")).unwrap();
    publisher.push("factory-test-attacker", &reference, &["--sign", "acme"]);
    // Flip one byte of the stored component, in the registry's storage.
    let layer = format!(
        "sha256:{}",
        hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bytes))
    );
    let blob = reg.blob(&layer);
    let mut stored = std::fs::read(&blob).unwrap();
    let at = stored.len() / 2;
    stored[at] ^= 0xff;
    std::fs::write(&blob, stored).unwrap();
    let o = home.run(&["plugin", "install", &format!("oci://{reference}")]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(err.contains("does not match its digest"), "{err}");
    assert!(home.installed().is_empty());
}

#[test]
fn a_retag_after_the_tag_was_resolved_changes_nothing() {
    let reg = Registry::start();
    let publisher = Home::new();
    let reference = format!("{}/acme/tool:stable", reg.addr);
    let first = publisher.push("factory-test-attacker", &reference, &[]);
    let r = factory_supply::oci::parse(&reference).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (client, auth) = factory_supply::oci::client_and_auth(&r);
    // Resolved once...
    let resolved = rt
        .block_on(client.fetch_manifest_digest(&r, &auth))
        .unwrap();
    assert_eq!(resolved, first);
    // ...then the tag moves to another component...
    let second = publisher.push("factory-test-noop", &reference, &[]);
    assert_ne!(first, second);
    // ...and the fetch still gets what was resolved.
    let fetched = rt
        .block_on(factory_supply::oci::fetch_digest(
            &client, &auth, &r, resolved,
        ))
        .unwrap();
    assert_eq!(fetched.digest, first);
    assert_eq!(
        fetched.component,
        std::fs::read(common::guest("factory-test-attacker")).unwrap()
    );
    assert_eq!(fetched.config["architecture"], "wasm");
    assert_eq!(fetched.config["os"], "wasip2");
}

#[test]
fn bad_references_and_unreachable_registries_are_clear_errors() {
    let home = Home::new();
    let err = home.refused(&["plugin", "install", "oci://just-a-name:1"]);
    assert!(err.contains("must start with the registry's host"), "{err}");
    let o = home.run(&["plugin", "install", "oci://127.0.0.1:9/acme/x:1"]);
    assert!(!o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("127.0.0.1:9/acme/x:1"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(home.installed().is_empty());
}

#[test]
fn a_manifest_with_the_wrong_media_types_is_a_clear_error() {
    use factory_supply::oci::layout::{self, Descriptor, Manifest};
    let reg = Registry::start();
    let home = Home::new();
    let reference = format!("{}/acme/image:1", reg.addr);
    let r = factory_supply::oci::parse(&reference).unwrap();
    let (client, _auth) = factory_supply::oci::client_and_auth(&r);
    let wasm = std::fs::read(common::guest("factory-test-noop")).unwrap();
    let config = br#"{"architecture":"amd64","os":"linux"}"#.to_vec();
    // A container image's config, a tar layer: not a component.
    let config_desc = Descriptor::of("application/vnd.oci.image.config.v1+json", &config);
    let layer = Descriptor::of("application/vnd.oci.image.layer.v1.tar", &wasm);
    let manifest = Manifest::new(layout::ARTIFACT, config_desc.clone(), vec![layer.clone()]);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        client
            .push_blob(&r, wasm.clone(), &layer.digest)
            .await
            .unwrap();
        client
            .push_blob(&r, config.clone(), &config_desc.digest)
            .await
            .unwrap();
        client
            .push_manifest_raw(
                &r,
                manifest.to_bytes(),
                http::HeaderValue::from_static(layout::MANIFEST),
            )
            .await
            .unwrap();
    });
    let o = home.run(&[
        "plugin",
        "install",
        &format!("oci://{reference}"),
        "--allow-unsigned",
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(err.contains("is not a wasm component artifact"), "{err}");
    assert!(err.contains("config's mediaType"), "{err}");
    assert!(home.installed().is_empty());
}

/// A registry that answers every request with `status` and `body`.
fn broken_registry(status: &'static str, content_type: &'static str, body: &'static str) -> String {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            let mut conn = conn;
            let mut buf = [0u8; 8192];
            let _ = conn.read(&mut buf);
            let _ = write!(
                conn,
                "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nDocker-Content-Digest: sha256:0000000000000000000000000000000000000000000000000000000000000000\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    addr
}

#[test]
fn malformed_registry_answers_are_clear_errors_with_nothing_installed() {
    let home = Home::new();
    for (status, ctype, body) in [
        ("500 Internal Server Error", "text/plain", "boom"),
        ("200 OK", "text/html", "<html>not a manifest</html>"),
        (
            "200 OK",
            "application/vnd.oci.image.manifest.v1+json",
            "{\"schemaVersion\":2,\"config\"",
        ),
    ] {
        let addr = broken_registry(status, ctype, body);
        let reference = format!("oci://{addr}/acme/x:1");
        let o = home.run(&["plugin", "install", &reference, "--allow-unsigned"]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success(), "{status} {body}: installed?");
        assert!(err.contains(&addr), "{status}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
    assert!(home.installed().is_empty());
}
