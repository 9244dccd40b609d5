//! What a signature covers and how it travels.
//!
//! The signed payload names a manifest digest together with the repository
//! it was published under (cosign's "simple signing" shape, with a type of
//! our own), so a signature cannot be moved to another repository or
//! another digest. The envelope that carries it (stored in the registry as
//! `sha256-<hex>.sig`) holds the payload, the signatures and each key's
//! fingerprint.

use crate::keys::KeyPair;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};

/// The payload's type: what a factory plugin signature is.
pub const PAYLOAD_TYPE: &str = "factory.dev/plugin-signature/v1";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SignatureError {
    #[error("the signature envelope is not JSON of the expected shape: {0}")]
    Envelope(String),
    #[error("the signed payload is not a factory plugin signature: {0}")]
    Payload(String),
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Payload {
    pub critical: Critical,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Critical {
    pub identity: Identity,
    pub image: Image,
    #[serde(rename = "type")]
    pub kind: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Identity {
    /// The repository, `host[:port]/path` (no tag, no digest).
    #[serde(rename = "docker-reference")]
    pub reference: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Image {
    /// `sha256:<hex>` of the manifest.
    #[serde(rename = "docker-manifest-digest")]
    pub digest: String,
}

/// One signature in an envelope.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Sig {
    /// The signing key's fingerprint ([`crate::PublicKey::fingerprint`]).
    pub keyid: String,
    /// Ed25519 over the payload bytes, base64.
    pub sig: String,
}

/// The stored form: `{payloadType, payload (base64), signatures}`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Envelope {
    pub payload_type: String,
    pub payload: String,
    pub signatures: Vec<Sig>,
}

impl Envelope {
    /// Sign `digest` as published under `reference` with `key`.
    pub fn sign(key: &KeyPair, reference: &str, digest: &str) -> Envelope {
        let payload = Payload {
            critical: Critical {
                identity: Identity {
                    reference: reference.to_string(),
                },
                image: Image {
                    digest: digest.to_string(),
                },
                kind: PAYLOAD_TYPE.to_string(),
            },
        };
        let bytes = serde_json::to_vec(&payload).unwrap_or_default();
        Envelope {
            payload_type: "application/vnd.factory.plugin-signature+json".into(),
            payload: B64.encode(&bytes),
            signatures: vec![Sig {
                keyid: key.public().fingerprint(),
                sig: B64.encode(key.sign(&bytes)),
            }],
        }
    }

    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    pub fn from_json(bytes: &[u8]) -> Result<Envelope, SignatureError> {
        serde_json::from_slice(bytes).map_err(|e| SignatureError::Envelope(e.to_string()))
    }

    /// The payload's bytes (what was signed) and what they say.
    pub fn payload(&self) -> Result<(Vec<u8>, Payload), SignatureError> {
        let bytes = B64
            .decode(&self.payload)
            .map_err(|e| SignatureError::Envelope(format!("payload: {e}")))?;
        let p: Payload =
            serde_json::from_slice(&bytes).map_err(|e| SignatureError::Payload(e.to_string()))?;
        if p.critical.kind != PAYLOAD_TYPE {
            return Err(SignatureError::Payload(format!(
                "type `{}`, expected `{PAYLOAD_TYPE}`",
                p.critical.kind
            )));
        }
        Ok((bytes, p))
    }
}
