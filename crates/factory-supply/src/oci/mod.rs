//! OCI distribution of plugins: push a component in the CNCF wasm layout
//! (and its signature under cosign's tag convention), and fetch one by a
//! digest resolved once, checking every byte against it.

mod fetch;
pub mod layout;
mod push;

pub use fetch::{Fetched, fetch, fetch_digest, resolve};
pub use oci_client::Reference;
pub use push::{Publish, push};

use oci_client::Client;
use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::secrets::RegistryAuth;

#[derive(Debug, thiserror::Error)]
pub enum OciError {
    #[error(
        "`{0}` is not a registry reference: {1} (expected HOST[:PORT]/REPOSITORY:TAG or HOST[:PORT]/REPOSITORY@sha256:HEX)"
    )]
    BadReference(String, String),
    #[error("the registry refused or failed to {what} {reference}: {error}")]
    Registry {
        what: &'static str,
        reference: String,
        error: String,
    },
    #[error("{reference} is not a wasm component artifact: {why}")]
    Layout { reference: String, why: String },
    #[error("{what} of {reference} does not match its digest: expected {expected}, got {found}")]
    Tampered {
        what: &'static str,
        reference: String,
        expected: String,
        found: String,
    },
    #[error("registry credentials in {path}: {why}")]
    AuthFile { path: String, why: String },
}

/// A parsed reference that names its registry.
pub fn parse(reference: &str) -> Result<Reference, OciError> {
    let bad = |why: &str| OciError::BadReference(reference.to_string(), why.to_string());
    let first = reference.split('/').next().unwrap_or_default();
    if !reference.contains('/')
        || !(first.contains('.') || first.contains(':') || first == "localhost")
    {
        return Err(bad("it must start with the registry's host"));
    }
    reference
        .parse::<Reference>()
        .map_err(|e| bad(&e.to_string()))
}

/// `host[:port]/repository`: what a signature names and a scope matches.
pub fn repository_of(r: &Reference) -> String {
    format!("{}/{}", r.registry(), r.repository())
}

fn is_loopback(registry: &str) -> bool {
    let host = registry
        .rsplit_once(':')
        .filter(|(h, p)| !h.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
        .map_or(registry, |(h, _)| h);
    matches!(host, "localhost" | "127.0.0.1" | "[::1]" | "::1")
}

/// Credentials for `registry`: from `auth_file` if given (the Docker
/// configuration format; an unreadable or malformed file is an error),
/// else from the standard Docker configuration (`$DOCKER_CONFIG/config.json`,
/// else `~/.docker/config.json`): an `auths` entry's `auth` (base64
/// `user:password`) or its username and password. None: anonymous, with
/// the registry's token flow.
pub fn credentials(
    registry: &str,
    auth_file: Option<&std::path::Path>,
) -> Result<RegistryAuth, OciError> {
    if let Some(path) = auth_file {
        let bad = |why: String| OciError::AuthFile {
            path: path.display().to_string(),
            why,
        };
        let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
        let doc: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
            bad(format!(
                "not a Docker config.json ({e}); expected {{\"auths\": {{\"HOST:PORT\": {{\"auth\": \"base64(user:password)\"}}}}}}"
            ))
        })?;
        if !doc["auths"].is_object() {
            return Err(bad("it has no `auths` object".into()));
        }
        return Ok(auth_entry(&doc, registry));
    }
    let path = std::env::var_os("DOCKER_CONFIG")
        .map(|d| std::path::PathBuf::from(d).join("config.json"))
        .or_else(|| {
            std::env::var_os("HOME")
                .map(|h| std::path::PathBuf::from(h).join(".docker/config.json"))
        });
    let Some(text) = path.and_then(|p| std::fs::read_to_string(p).ok()) else {
        return Ok(RegistryAuth::Anonymous);
    };
    Ok(serde_json::from_str::<serde_json::Value>(&text)
        .map(|doc| auth_entry(&doc, registry))
        .unwrap_or(RegistryAuth::Anonymous))
}

fn auth_entry(doc: &serde_json::Value, registry: &str) -> RegistryAuth {
    use base64::Engine as _;
    let auths = &doc["auths"];
    let entry = [
        registry.to_string(),
        format!("https://{registry}"),
        format!("http://{registry}"),
    ]
    .iter()
    .map(|k| &auths[k])
    .find(|e| e.is_object())
    .cloned()
    .unwrap_or_default();
    if let Some(b64) = entry["auth"].as_str()
        && let Ok(raw) = base64::engine::general_purpose::STANDARD.decode(b64)
        && let Ok(s) = String::from_utf8(raw)
        && let Some((u, p)) = s.split_once(':')
    {
        return RegistryAuth::Basic(u.to_string(), p.to_string());
    }
    match (entry["username"].as_str(), entry["password"].as_str()) {
        (Some(u), Some(p)) => RegistryAuth::Basic(u.to_string(), p.to_string()),
        _ => RegistryAuth::Anonymous,
    }
}

/// A client for `r`'s registry: HTTPS, or plain HTTP for a loopback one.
pub fn client_for(r: &Reference) -> Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let registry = r.registry().to_string();
    let protocol = if is_loopback(&registry) {
        ClientProtocol::HttpsExcept(vec![registry])
    } else {
        ClientProtocol::Https
    };
    Client::new(ClientConfig {
        protocol,
        ..Default::default()
    })
}

fn registry_err(
    what: &'static str,
    r: &Reference,
) -> impl FnOnce(oci_client::errors::OciDistributionError) -> OciError + use<> {
    let reference = r.whole();
    move |e| {
        let mut error = e.to_string().trim_end().to_string();
        if needs_credentials(&e) {
            error.push_str(
                "\n(the registry wants credentials: give --registry-auth-file FILE, in Docker's config.json format, or put them in $DOCKER_CONFIG/config.json or ~/.docker/config.json)",
            );
        }
        OciError::Registry {
            what,
            reference,
            error,
        }
    }
}

fn needs_credentials(e: &oci_client::errors::OciDistributionError) -> bool {
    use oci_client::errors::{OciDistributionError as E, OciErrorCode as C};
    match e {
        E::UnauthorizedError { .. } | E::AuthenticationFailure(_) => true,
        E::RegistryError { envelope, .. } => envelope
            .errors
            .iter()
            .any(|x| matches!(x.code, C::Unauthorized | C::Denied)),
        E::ServerError { code, .. } => *code == 401 || *code == 403,
        _ => false,
    }
}

fn manifest_type() -> http::HeaderValue {
    http::HeaderValue::from_static(layout::MANIFEST)
}

/// A client and the standard credentials for `r` (for tests that step
/// between a tag's resolution and the fetch).
pub fn client_and_auth(r: &Reference) -> (Client, RegistryAuth) {
    (
        client_for(r),
        credentials(r.registry(), None).unwrap_or(RegistryAuth::Anonymous),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_registries_may_use_plain_http() {
        for r in [
            "127.0.0.1:5000",
            "localhost:5000",
            "localhost",
            "[::1]:5000",
        ] {
            assert!(is_loopback(r), "{r}");
        }
        for r in [
            "ghcr.io",
            "127.0.0.1.evil.example:5000",
            "localhost.evil.example",
            "10.0.0.1:5000",
        ] {
            assert!(!is_loopback(r), "{r}");
        }
    }

    #[test]
    fn credentials_come_from_the_named_file_by_registry() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("auth.json");
        // base64("alice:s3cret")
        std::fs::write(
            &file,
            r#"{"auths":{"https://ghcr.io":{"auth":"YWxpY2U6czNjcmV0"},"reg.example:5000":{"username":"bob","password":"pw"}}}"#,
        )
        .unwrap();
        let basic = |r: &str| match credentials(r, Some(&file)).unwrap() {
            RegistryAuth::Basic(u, p) => Some((u, p)),
            _ => None,
        };
        assert_eq!(basic("ghcr.io"), Some(("alice".into(), "s3cret".into())));
        assert_eq!(basic("reg.example:5000"), Some(("bob".into(), "pw".into())));
        assert_eq!(basic("docker.io"), None, "no entry: anonymous");
        std::fs::write(&file, "not json").unwrap();
        let e = credentials("ghcr.io", Some(&file)).unwrap_err().to_string();
        assert!(e.contains("not a Docker config.json"), "{e}");
        let e = credentials("ghcr.io", Some(&dir.path().join("missing")))
            .unwrap_err()
            .to_string();
        assert!(e.contains("missing"), "{e}");
    }
}
