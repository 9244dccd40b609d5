//! A registry behind a token service, the flow ghcr.io and Docker Hub use:
//! the registry answers 401 with a Bearer challenge, the client asks the
//! token service (anonymously, or with credentials) and retries with the
//! token. The token service here signs with a throwaway certificate that
//! the registry trusts, and hands out pull to anyone and push only to
//! alice.

use super::*;
use axum::extract::RawQuery;
use axum::http::HeaderMap;
use base64::Engine as _;

struct TokenService {
    addr: String,
    _rt: tokio::runtime::Runtime,
}

impl TokenService {
    fn start(key_der: Vec<u8>, cert_der: Vec<u8>) -> TokenService {
        let x5c = base64::engine::general_purpose::STANDARD.encode(&cert_der);
        let app = |_: &str| {
            axum::Router::new().route(
                "/token",
                axum::routing::get(move |q: RawQuery, h: HeaderMap| {
                    let (key, x5c) = (key_der.clone(), x5c.clone());
                    let query: Vec<(String, String)> =
                        url::form_urlencoded::parse(q.0.unwrap_or_default().as_bytes())
                            .into_owned()
                            .collect();
                    async move { axum::Json(token(&key, &x5c, &query, &h)) }
                }),
            )
        };
        let (addr, rt) = loopback_server(app);
        TokenService { addr, _rt: rt }
    }
}

/// A token for the scopes asked: pull for anyone, push for alice:s3cret.
fn token(key_der: &[u8], x5c: &str, query: &[(String, String)], h: &HeaderMap) -> Value {
    let alice = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("alice:s3cret")
    );
    let is_alice = h.get("authorization").and_then(|v| v.to_str().ok()) == Some(alice.as_str());
    let mut access = Vec::new();
    let mut service = String::new();
    for (k, v) in query {
        match k.as_str() {
            "service" => service = v.clone(),
            "scope" => {
                let parts: Vec<&str> = v.splitn(3, ':').collect();
                if let [kind, name, actions] = parts[..] {
                    let granted: Vec<&str> = actions
                        .split(',')
                        .filter(|a| *a == "pull" || is_alice)
                        .collect();
                    access
                        .push(serde_json::json!({"type": kind, "name": name, "actions": granted}));
                }
            }
            _ => {}
        }
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let claims = serde_json::json!({
        "iss": "factory-test",
        "sub": if is_alice { "alice" } else { "" },
        "aud": service,
        "exp": now + 300,
        "nbf": now - 10,
        "iat": now,
        "jti": format!("{now}-{}", access.len()),
        "access": access,
    });
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
    header.x5c = Some(vec![x5c.to_string()]);
    let jwt = jsonwebtoken::encode(
        &header,
        &claims,
        &jsonwebtoken::EncodingKey::from_ec_der(key_der),
    )
    .unwrap();
    serde_json::json!({"token": jwt, "access_token": jwt, "expires_in": 300})
}

#[test]
fn anonymous_pulls_and_credentialed_pushes_use_the_registry_token_flow() {
    let dir = tempfile::tempdir().unwrap();
    let cert = rcgen::generate_simple_self_signed(vec!["factory-test".into()]).unwrap();
    let bundle = dir.path().join("root.pem");
    std::fs::write(&bundle, cert.cert.pem()).unwrap();
    let tokens = TokenService::start(cert.key_pair.serialize_der(), cert.cert.der().to_vec());
    let reg = Registry::start_with(&format!(
        "auth:\n  token:\n    realm: http://{}/token\n    service: factory-registry\n    issuer: factory-test\n    rootcertbundle: {}\n",
        tokens.addr,
        bundle.display()
    ));
    let publisher = Home::new();
    let home = Home::new();
    trust_new_key(&publisher, &home, "acme", &format!("{}/acme/*", reg.addr));
    let reference = format!("{}/acme/tool:1", reg.addr);

    // Anonymous: the token service grants pull only, so the push fails.
    let o = publisher.run(&["plugin", "push", &wasm("factory-test-noop"), &reference]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("the registry wants credentials"), "{err}");

    // alice's credentials go to the token service, which grants push.
    let auth = base64::engine::general_purpose::STANDARD.encode("alice:s3cret");
    let auth_file = publisher.file(
        "auth.json",
        &serde_json::json!({"auths": {reg.addr.clone(): {"auth": auth}}}).to_string(),
    );
    let digest = publisher.push(
        "factory-test-noop",
        &reference,
        &["--sign", "acme", "--registry-auth-file", &auth_file],
    );

    // Anyone pulls, with an anonymous token; the signature is checked as
    // always.
    let out = home.ok(&["plugin", "install", &format!("oci://{reference}")]);
    assert!(out.contains(&digest), "{out}");
    assert_eq!(home.events("verified").len(), 1);
}
