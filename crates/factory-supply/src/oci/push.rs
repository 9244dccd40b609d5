//! Push a component in the CNCF wasm layout, and its signature.

use super::layout::{self, Descriptor, Manifest, digest_of};
use super::{OciError, client_for, manifest_type, registry_err, repository_of};
use crate::keys::KeyPair;
use crate::signature::Envelope;
use oci_client::Reference;
use oci_client::secrets::RegistryAuth;

/// What to publish.
pub struct Publish<'a> {
    pub component: &'a [u8],
    /// The layer's file name (`org.opencontainers.image.title`), which
    /// `oras pull` saves it under.
    pub title: &'a str,
    pub exports: &'a [String],
    pub imports: &'a [String],
    pub key: Option<&'a KeyPair>,
}

/// Push `p.component` as `reference` (a tag); sign it with `p.key` if
/// given. Returns the manifest digest.
///
/// The signature is a small artifact of its own, tagged `sha256-<hex>.sig`
/// in the same repository (cosign's convention, which any registry can
/// hold) and naming the component's manifest as its `subject`, so that a
/// registry with the OCI 1.1 referrers API lists it there as well.
pub async fn push(
    p: Publish<'_>,
    reference: &Reference,
    auth: &RegistryAuth,
) -> Result<String, OciError> {
    let client = client_for(reference);
    client
        .auth(reference, auth, oci_client::RegistryOperation::Push)
        .await
        .map_err(registry_err("log in to", reference))?;
    let layer = Descriptor::of(layout::LAYER, p.component).titled(p.title);
    let config = layout::component_config(&layer.digest, p.exports, p.imports);
    let config_desc = Descriptor::of(layout::CONFIG, &config);
    client
        .push_blob(reference, p.component.to_vec(), &layer.digest)
        .await
        .map_err(registry_err("push to", reference))?;
    client
        .push_blob(reference, config.clone(), &config_desc.digest)
        .await
        .map_err(registry_err("push to", reference))?;
    let manifest = Manifest::new(layout::ARTIFACT, config_desc, vec![layer]).to_bytes();
    let subject = Descriptor::of(layout::MANIFEST, &manifest);
    let digest = digest_of(&manifest);
    client
        .push_manifest_raw(reference, manifest, manifest_type())
        .await
        .map_err(registry_err("push to", reference))?;
    if let Some(key) = p.key {
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
        let mut m = Manifest::new(layout::SIGNATURE_ARTIFACT, empty_desc, vec![env_desc]);
        m.subject = Some(subject);
        client
            .push_manifest_raw(&sig_ref, m.to_bytes(), manifest_type())
            .await
            .map_err(registry_err("push the signature to", &sig_ref))?;
    }
    Ok(digest)
}
