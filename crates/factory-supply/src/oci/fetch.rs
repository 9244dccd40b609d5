//! Fetch a component by a digest resolved once, every byte checked.

use super::layout::{self, Descriptor, Manifest, digest_of};
use super::{OciError, client_for, registry_err, repository_of};
use crate::signature::Envelope;
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};

/// A component fetched by digest, every byte checked against it.
pub struct Fetched {
    /// `host/repository`.
    pub repository: String,
    /// The tag asked for, if one was.
    pub tag: Option<String>,
    pub digest: String,
    pub component: Vec<u8>,
    pub config: serde_json::Value,
    /// The signatures stored for this digest: those the registry's
    /// referrers API lists, then the one under the `sha256-<hex>.sig` tag.
    pub signatures: Vec<Envelope>,
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
pub async fn fetch(reference: &Reference, auth: &RegistryAuth) -> Result<Fetched, OciError> {
    let client = client_for(reference);
    let digest = resolve(&client, reference, auth).await?;
    fetch_digest(&client, auth, reference, digest).await
}

/// The digest `reference` names: its own, or its tag's now.
pub async fn resolve(
    client: &Client,
    reference: &Reference,
    auth: &RegistryAuth,
) -> Result<String, OciError> {
    match reference.digest() {
        Some(d) => Ok(d.to_string()),
        None => client
            .fetch_manifest_digest(reference, auth)
            .await
            .map_err(registry_err("resolve", reference)),
    }
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
    let mut signatures = referred_signatures(client, auth, &pinned).await;
    if let Some(env) = fetch_signature(client, auth, reference, &digest).await?
        && !signatures.contains(&env)
    {
        signatures.push(env);
    }
    Ok(Fetched {
        repository: repository_of(reference),
        tag: reference.tag().map(str::to_string),
        digest,
        component,
        config,
        signatures,
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
    Ok(envelope_in(client, &sig_ref, &bytes).await)
}

/// The signatures the registry's OCI 1.1 referrers API lists for `pinned`.
/// A registry without the API (Docker's 2.8 answers 404) lists none; the
/// tag is looked at either way.
async fn referred_signatures(
    client: &Client,
    auth: &RegistryAuth,
    pinned: &Reference,
) -> Vec<Envelope> {
    let Ok(index) = client
        .pull_referrers(pinned, Some(layout::SIGNATURE_ARTIFACT))
        .await
    else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for m in index.manifests.iter().take(16) {
        if m.artifact_type.as_deref() != Some(layout::SIGNATURE_ARTIFACT) {
            continue;
        }
        let r = Reference::with_digest(
            pinned.registry().to_string(),
            pinned.repository().to_string(),
            m.digest.clone(),
        );
        let Ok((bytes, _)) = client
            .pull_manifest_raw(&r, auth, &[layout::MANIFEST])
            .await
        else {
            continue;
        };
        if digest_of(&bytes) != m.digest {
            continue;
        }
        if let Some(env) = envelope_in(client, &r, &bytes).await
            && !out.contains(&env)
        {
            out.push(env);
        }
    }
    out
}

/// The envelope carried by the signature manifest `bytes` of `r`; none if
/// it is not one, or its blob does not match its digest.
async fn envelope_in(client: &Client, r: &Reference, bytes: &[u8]) -> Option<Envelope> {
    let m = serde_json::from_slice::<Manifest>(bytes).ok()?;
    let layer = m
        .layers
        .iter()
        .find(|l| l.media_type == layout::SIGNATURE_LAYER)?;
    let mut out = Vec::new();
    client
        .pull_blob(r, layer.digest.as_str(), &mut out)
        .await
        .ok()?;
    if digest_of(&out) != layer.digest {
        return None;
    }
    Envelope::from_json(&out).ok()
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
