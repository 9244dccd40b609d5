//! The CNCF wasm artifact layout, as `wkg oci push` and `oras` write it: an
//! OCI image manifest with `artifactType` application/vnd.wasm.component.v1+wasm,
//! a `application/vnd.wasm.config.v0+json` config, and exactly one
//! `application/wasm` layer. Signatures are small artifacts of their own.

use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

pub const MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const ARTIFACT: &str = "application/vnd.wasm.component.v1+wasm";
pub const CONFIG: &str = "application/vnd.wasm.config.v0+json";
pub const LAYER: &str = "application/wasm";
pub const SIGNATURE_ARTIFACT: &str = "application/vnd.factory.plugin-signature.v1";
pub const SIGNATURE_LAYER: &str = "application/vnd.factory.plugin-signature+json";
pub const EMPTY: &str = "application/vnd.oci.empty.v1+json";
pub const TITLE: &str = "org.opencontainers.image.title";
pub const INDEX: &str = "application/vnd.oci.image.index.v1+json";

pub fn digest_of(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    pub media_type: String,
    pub digest: String,
    pub size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

impl Descriptor {
    pub fn of(media_type: &str, bytes: &[u8]) -> Descriptor {
        Descriptor {
            media_type: media_type.into(),
            digest: digest_of(bytes),
            size: bytes.len() as u64,
            artifact_type: None,
            annotations: BTreeMap::new(),
        }
    }

    /// With the file name `oras pull` saves the blob under.
    pub fn titled(mut self, title: &str) -> Descriptor {
        self.annotations
            .insert(TITLE.to_string(), title.to_string());
        self
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    pub schema_version: u32,
    pub media_type: Option<String>,
    pub artifact_type: Option<String>,
    pub config: Descriptor,
    pub layers: Vec<Descriptor>,
    /// What this artifact refers to (a signature: the signed manifest).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<Descriptor>,
}

impl Manifest {
    pub fn new(artifact_type: &str, config: Descriptor, layers: Vec<Descriptor>) -> Manifest {
        Manifest {
            schema_version: 2,
            media_type: Some(MANIFEST.into()),
            artifact_type: Some(artifact_type.into()),
            config,
            layers,
            subject: None,
        }
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// The manifest of a wasm component, checked: which layout rule it
    /// breaks, if any.
    pub fn parse_component(bytes: &[u8]) -> Result<Manifest, String> {
        let m: Manifest = serde_json::from_slice(bytes)
            .map_err(|e| format!("the manifest is not an OCI image manifest: {e}"))?;
        if m.media_type.as_deref().is_some_and(|t| t != MANIFEST) {
            return Err(format!(
                "the manifest's mediaType is {}, not {MANIFEST}",
                m.media_type.as_deref().unwrap_or_default()
            ));
        }
        if m.config.media_type != CONFIG {
            return Err(format!(
                "the config's mediaType is {}, not {CONFIG}: this is not a wasm component artifact",
                m.config.media_type
            ));
        }
        let wasm: Vec<&Descriptor> = m.layers.iter().filter(|l| l.media_type == LAYER).collect();
        if wasm.len() != 1 || m.layers.len() != 1 {
            return Err(format!(
                "a wasm component artifact has exactly one {LAYER} layer; this one has {} layers ({} of them {LAYER})",
                m.layers.len(),
                wasm.len()
            ));
        }
        Ok(m)
    }
}

/// The config of a component artifact.
pub fn component_config(layer_digest: &str, exports: &[String], imports: &[String]) -> Vec<u8> {
    let created = humantime_now();
    serde_json::to_vec(&json!({
        "created": created,
        "architecture": "wasm",
        "os": "wasip2",
        "layerDigests": [layer_digest],
        "component": {"exports": exports, "imports": imports, "target": null},
    }))
    .unwrap_or_default()
}

fn humantime_now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    // RFC 3339, UTC, seconds.
    let days = secs / 86_400;
    let rem = secs % 86_400;
    let (y, mo, d) = civil(days as i64);
    format!(
        "{y:04}-{mo:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Days since 1970-01-01 to (year, month, day) (Howard Hinnant's algorithm).
fn civil(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// The tag a signature of `digest` is kept under (cosign's convention).
pub fn signature_tag(digest: &str) -> String {
    format!("{}.sig", digest.replace(':', "-"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_component_manifest_is_checked_rule_by_rule() {
        let wasm = b"\0asm";
        let layer = Descriptor::of(LAYER, wasm);
        let cfg = component_config(&layer.digest, &[], &[]);
        let m = Manifest::new(ARTIFACT, Descriptor::of(CONFIG, &cfg), vec![layer.clone()]);
        assert!(Manifest::parse_component(&m.to_bytes()).is_ok());
        let wrong = Manifest::new(
            ARTIFACT,
            Descriptor::of("application/vnd.oci.image.config.v1+json", &cfg),
            vec![layer.clone()],
        );
        assert!(
            Manifest::parse_component(&wrong.to_bytes())
                .unwrap_err()
                .contains("config's mediaType")
        );
        let two = Manifest::new(
            ARTIFACT,
            Descriptor::of(CONFIG, &cfg),
            vec![layer.clone(), layer],
        );
        assert!(
            Manifest::parse_component(&two.to_bytes())
                .unwrap_err()
                .contains("exactly one")
        );
        assert!(Manifest::parse_component(b"{\"truncated").is_err());
        assert_eq!(signature_tag("sha256:ab"), "sha256-ab.sig");
        assert_eq!(civil(0), (1970, 1, 1));
        assert_eq!(civil(20_454), (2026, 1, 1));
    }
}
