//! OCI distribution of plugins: push a component in the CNCF wasm layout
//! (and its signature under cosign's tag convention), and fetch one by a
//! digest resolved once, checking every byte against it.

pub mod layout;

use crate::keys::KeyPair;
use crate::signature::Envelope;
use layout::{Descriptor, Manifest, digest_of};
use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};

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

/// Credentials for `registry` from the standard Docker configuration
/// (`$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`): an
/// `auths` entry's `auth` (base64 `user:password`) or its username and
/// password. None: anonymous, with the registry's token flow.
pub fn docker_auth(registry: &str) -> RegistryAuth {
    use base64::Engine as _;
    let path = std::env::var_os("DOCKER_CONFIG")
        .map(|d| std::path::PathBuf::from(d).join("config.json"))
        .or_else(|| {
            std::env::var_os("HOME")
                .map(|h| std::path::PathBuf::from(h).join(".docker/config.json"))
        });
    let Some(text) = path.and_then(|p| std::fs::read_to_string(p).ok()) else {
        return RegistryAuth::Anonymous;
    };
    let Ok(doc) = serde_json::from_str::<serde_json::Value>(&text) else {
        return RegistryAuth::Anonymous;
    };
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
fn client_for(r: &Reference) -> Client {
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
    move |e| OciError::Registry {
        what,
        reference,
        error: e.to_string(),
    }
}

fn manifest_type() -> http::HeaderValue {
    http::HeaderValue::from_static(layout::MANIFEST)
}

/// Push `component` as `reference` (a tag); sign it with `key` if given.
/// Returns the manifest digest.
pub async fn push(
    component: &[u8],
    reference: &Reference,
    exports: &[String],
    imports: &[String],
    key: Option<&KeyPair>,
) -> Result<String, OciError> {
    let client = client_for(reference);
    let auth = docker_auth(reference.registry());
    client
        .auth(reference, &auth, oci_client::RegistryOperation::Push)
        .await
        .map_err(registry_err("log in to", reference))?;
    let layer = Descriptor::of(layout::LAYER, component);
    let config = layout::component_config(&layer.digest, exports, imports);
    let config_desc = Descriptor::of(layout::CONFIG, &config);
    client
        .push_blob(reference, component.to_vec(), &layer.digest)
        .await
        .map_err(registry_err("push to", reference))?;
    client
        .push_blob(reference, config.clone(), &config_desc.digest)
        .await
        .map_err(registry_err("push to", reference))?;
    let manifest = Manifest::new(layout::ARTIFACT, config_desc, vec![layer]).to_bytes();
    let digest = digest_of(&manifest);
    client
        .push_manifest_raw(reference, manifest, manifest_type())
        .await
        .map_err(registry_err("push to", reference))?;
    if let Some(key) = key {
        let env = Envelope::sign(key, &repository_of(reference), &digest).to_json();
        let sig_ref = Reference::with_tag(
            reference.registry().to_string(),
            reference.repository().to_string(),
            layout::signature_tag(&digest),
        );
        let empty = b"{}".to_vec();
        let empty_desc = Descriptor::of(layout::EMPTY, &empty);
        let env_desc = Descriptor::of(layout::SIGNATURE_LAYER, &env);
        for (bytes, d) in [(empty, &empty_desc), (env.clone(), &env_desc)] {
            client
                .push_blob(&sig_ref, bytes, &d.digest)
                .await
                .map_err(registry_err("push the signature to", &sig_ref))?;
        }
        let m = Manifest::new(layout::SIGNATURE_ARTIFACT, empty_desc, vec![env_desc]).to_bytes();
        client
            .push_manifest_raw(&sig_ref, m, manifest_type())
            .await
            .map_err(registry_err("push the signature to", &sig_ref))?;
    }
    Ok(digest)
}

/// A component fetched by digest, every byte checked against it.
pub struct Fetched {
    /// `host/repository`.
    pub repository: String,
    /// The tag asked for, if one was.
    pub tag: Option<String>,
    pub digest: String,
    pub component: Vec<u8>,
    pub config: serde_json::Value,
    /// The signature stored for this digest, if any.
    pub signature: Option<Envelope>,
}

impl Fetched {
    /// `oci://host/repo[:tag]@sha256:...`: where it came from, pinned.
    pub fn source(&self) -> String {
        match &self.tag {
            Some(t) => format!("oci://{}:{t}@{}", self.repository, self.digest),
            None => format!("oci://{}@{}", self.repository, self.digest),
        }
    }
}

/// Resolve `reference` to a digest once (a tag is looked up; a digest is
/// taken as it is), then pull the manifest, the layer and the signature by
/// that digest only: a retag during the fetch changes nothing.
pub async fn fetch(reference: &Reference) -> Result<Fetched, OciError> {
    let client = client_for(reference);
    let auth = docker_auth(reference.registry());
    let digest = match reference.digest() {
        Some(d) => d.to_string(),
        None => client
            .fetch_manifest_digest(reference, &auth)
            .await
            .map_err(registry_err("resolve", reference))?,
    };
    fetch_digest(&client, &auth, reference, digest).await
}

/// The part of [`fetch`] after the tag was resolved (tests step in here
/// to retag between the two).
pub async fn fetch_digest(
    client: &Client,
    auth: &RegistryAuth,
    reference: &Reference,
    digest: String,
) -> Result<Fetched, OciError> {
    let pinned = Reference::with_digest(
        reference.registry().to_string(),
        reference.repository().to_string(),
        digest.clone(),
    );
    let (bytes, _) = client
        .pull_manifest_raw(&pinned, auth, &[layout::MANIFEST])
        .await
        .map_err(registry_err("send the manifest of", &pinned))?;
    let found = digest_of(&bytes);
    if found != digest {
        return Err(OciError::Tampered {
            what: "the manifest",
            reference: pinned.whole(),
            expected: digest,
            found,
        });
    }
    let manifest = Manifest::parse_component(&bytes).map_err(|why| OciError::Layout {
        reference: pinned.whole(),
        why,
    })?;
    let component = pull_checked(client, &pinned, &manifest.layers[0]).await?;
    let config_bytes = pull_checked(client, &pinned, &manifest.config).await?;
    let config = serde_json::from_slice(&config_bytes).unwrap_or_default();
    let signature = fetch_signature(client, auth, reference, &digest).await?;
    Ok(Fetched {
        repository: repository_of(reference),
        tag: reference.tag().map(str::to_string),
        digest,
        component,
        config,
        signature,
    })
}

/// The blob `d` of `pinned`, checked against its digest and size.
async fn pull_checked(
    client: &Client,
    pinned: &Reference,
    d: &Descriptor,
) -> Result<Vec<u8>, OciError> {
    let mut out = Vec::new();
    match client.pull_blob(pinned, d.digest.as_str(), &mut out).await {
        Ok(()) => {}
        // The client checks the digest as it reads.
        Err(oci_client::errors::OciDistributionError::DigestError(e)) => {
            return Err(OciError::Tampered {
                what: "a blob",
                reference: pinned.whole(),
                expected: d.digest.clone(),
                found: e.to_string(),
            });
        }
        Err(e) => return Err(registry_err("send a blob of", pinned)(e)),
    }
    let found = digest_of(&out);
    if found != d.digest || out.len() as u64 != d.size {
        return Err(OciError::Tampered {
            what: "a blob",
            reference: pinned.whole(),
            expected: format!("{} ({} bytes)", d.digest, d.size),
            found: format!("{found} ({} bytes)", out.len()),
        });
    }
    Ok(out)
}

/// The signature kept under `sha256-<hex>.sig`, if there is one.
async fn fetch_signature(
    client: &Client,
    auth: &RegistryAuth,
    reference: &Reference,
    digest: &str,
) -> Result<Option<Envelope>, OciError> {
    let sig_ref = Reference::with_tag(
        reference.registry().to_string(),
        reference.repository().to_string(),
        layout::signature_tag(digest),
    );
    let bytes = match client
        .pull_manifest_raw(&sig_ref, auth, &[layout::MANIFEST])
        .await
    {
        Ok((b, _)) => b,
        Err(e) if is_not_found(&e) => return Ok(None),
        Err(e) => return Err(registry_err("send the signature of", &sig_ref)(e)),
    };
    let Ok(m) = serde_json::from_slice::<Manifest>(&bytes) else {
        return Ok(None);
    };
    let Some(layer) = m
        .layers
        .iter()
        .find(|l| l.media_type == layout::SIGNATURE_LAYER)
    else {
        return Ok(None);
    };
    let mut out = Vec::new();
    client
        .pull_blob(&sig_ref, layer.digest.as_str(), &mut out)
        .await
        .map_err(registry_err("send the signature of", &sig_ref))?;
    if digest_of(&out) != layer.digest {
        return Ok(None);
    }
    Ok(Envelope::from_json(&out).ok())
}

fn is_not_found(e: &oci_client::errors::OciDistributionError) -> bool {
    use oci_client::errors::{OciDistributionError as E, OciErrorCode as C};
    match e {
        E::ImageManifestNotFoundError(_) => true,
        E::RegistryError { envelope, .. } => envelope.errors.iter().any(|x| {
            matches!(
                x.code,
                C::ManifestUnknown | C::NameUnknown | C::NotFound | C::BlobUnknown
            )
        }),
        E::ServerError { code, .. } => *code == 404,
        _ => false,
    }
}

/// A client and the credentials for `r` (for tests that step between a
/// tag's resolution and the fetch).
pub fn client_and_auth(r: &Reference) -> (Client, RegistryAuth) {
    (client_for(r), docker_auth(r.registry()))
}
