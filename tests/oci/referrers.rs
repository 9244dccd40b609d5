//! The OCI 1.1 referrers API. Debian's registry 2.8 lacks it, so a front
//! put before it here answers `GET /v2/<name>/referrers/<digest>` (with
//! what the test tells it) and forwards everything else. With the
//! cosign-style `.sig` tags hidden, the referrers API is the only way to
//! find a signature.

use super::*;
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use std::sync::{Arc, Mutex};

#[derive(Default)]
struct Shared {
    /// digest → index manifests (descriptors).
    referrers: std::collections::HashMap<String, Vec<Value>>,
    hide_sig_tags: bool,
}

struct Front {
    addr: String,
    shared: Arc<Mutex<Shared>>,
    rt: tokio::runtime::Runtime,
}

impl Front {
    fn start(upstream: &str) -> Front {
        let shared = Arc::new(Mutex::new(Shared::default()));
        let (s, up) = (shared.clone(), upstream.to_string());
        let (addr, rt) = loopback_server(|me| {
            let me = me.to_string();
            axum::Router::new().fallback(move |m: Method, u: Uri, h: HeaderMap, b: Bytes| {
                let (s, up, me) = (s.clone(), up.clone(), me.clone());
                async move { handle(s, &up, &me, m, u, h, b).await }
            })
        });
        Front { addr, shared, rt }
    }
}

async fn handle(
    shared: Arc<Mutex<Shared>>,
    upstream: &str,
    me: &str,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_string();
    if let Some((_, digest)) = path.split_once("/referrers/") {
        let manifests = shared
            .lock()
            .unwrap()
            .referrers
            .get(digest)
            .cloned()
            .unwrap_or_default();
        let index = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": manifests,
        });
        return (
            [("content-type", "application/vnd.oci.image.index.v1+json")],
            index.to_string(),
        )
            .into_response();
    }
    if shared.lock().unwrap().hide_sig_tags && path.contains("/manifests/sha256-") {
        return (
            StatusCode::NOT_FOUND,
            [("content-type", "application/json")],
            r#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}"#,
        )
            .into_response();
    }
    let url = format!(
        "http://{upstream}{}",
        uri.path_and_query().map_or("/", |p| p.as_str())
    );
    let mut req = reqwest::Client::new().request(method, url).body(body);
    for (k, v) in &headers {
        if k != "host" {
            req = req.header(k, v);
        }
    }
    let resp = req.send().await.unwrap();
    let mut out = Response::builder().status(resp.status());
    for (k, v) in resp.headers() {
        if k == "location" {
            let l = v.to_str().unwrap().replace(upstream, me);
            out = out.header(k, l);
        } else if k != "transfer-encoding" && k != "connection" {
            out = out.header(k, v);
        }
    }
    out.body(Body::from(resp.bytes().await.unwrap())).unwrap()
}

#[test]
fn a_signature_listed_by_the_referrers_api_is_found_without_its_tag() {
    let reg = Registry::start();
    let front = Front::start(&reg.addr);
    let publisher = Home::new();
    let home = Home::new();
    trust_new_key(&publisher, &home, "acme", &format!("{}/acme/*", front.addr));
    let reference = format!("{}/acme/tool:1", front.addr);
    let digest = publisher.push("factory-test-noop", &reference, &["--sign", "acme"]);
    // The signature names what it signs as its subject.
    let sig_tag = format!(
        "http://{}/v2/acme/tool/manifests/{}.sig",
        reg.addr,
        digest.replace(':', "-")
    );
    let sig = front.rt.block_on(async {
        reqwest::Client::new()
            .get(&sig_tag)
            .header("accept", "application/vnd.oci.image.manifest.v1+json")
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap()
    });
    let sig_manifest: Value = serde_json::from_slice(&sig).unwrap();
    assert_eq!(sig_manifest["subject"]["digest"], digest.as_str());
    let sig_digest = {
        use sha2::Digest;
        format!("sha256:{}", hex::encode(sha2::Sha256::digest(&sig)))
    };

    // Only the referrers API can find it now.
    front.shared.lock().unwrap().hide_sig_tags = true;
    let oci = format!("oci://{reference}");
    let err = home.refused(&["plugin", "install", &oci]);
    assert!(err.contains("no signature"), "{err}");
    front.shared.lock().unwrap().referrers.insert(
        digest.clone(),
        vec![serde_json::json!({
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": sig_digest,
            "size": sig.len(),
            "artifactType": sig_manifest["artifactType"],
        })],
    );
    let out = home.ok(&["plugin", "install", &oci]);
    assert!(out.contains("signer: acme"), "{out}");
    assert_eq!(home.events("verified").len(), 1);
}
