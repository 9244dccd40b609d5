//! What every HTTP request must pass before the MCP server sees it: its
//! `Host` and `Origin` name this server (the DNS-rebinding guard: 403), and
//! it carries the bearer token (401).

use anyhow::anyhow;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::net::SocketAddr;
use std::sync::Arc;
use subtle::ConstantTimeEq;

/// An accepted authority: a host name or address, and a port if it must
/// be that one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Allowed {
    host: String,
    port: Option<u16>,
}

/// Parse `--allowed-host` values (HOST or HOST:PORT).
pub fn parse_allowed(values: &[String]) -> anyhow::Result<Vec<Allowed>> {
    values
        .iter()
        .map(|v| {
            split_authority(v).ok_or_else(|| {
                anyhow!("--allowed-host `{v}` is not HOST or HOST:PORT (e.g. mcp.example.com or mcp.example.com:8443)")
            })
        })
        .collect()
}

/// `host`, `host:port`, `[v6]`, `[v6]:port`, lower-cased.
fn split_authority(s: &str) -> Option<Allowed> {
    let s = s.trim().to_ascii_lowercase();
    if s.is_empty() || s.contains(['/', '@', ' ']) {
        return None;
    }
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        let (h, after) = rest.split_once(']')?;
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':')?.parse().ok()?),
        };
        (h.to_string(), port)
    } else {
        match s.rsplit_once(':') {
            Some((h, p)) if !h.contains(':') => (h.to_string(), Some(p.parse().ok()?)),
            Some(_) => (s.clone(), None), // a bare IPv6 address
            None => (s.clone(), None),
        }
    };
    (!host.is_empty()).then_some(Allowed { host, port })
}

pub struct Guard {
    token: String,
    allowed: Vec<Allowed>,
}

impl Guard {
    /// Accept the bound address, `localhost` when it is loopback, and
    /// `extra`.
    pub fn new(token: String, bound: SocketAddr, extra: Vec<Allowed>) -> Guard {
        let port = Some(bound.port());
        let mut allowed = vec![Allowed {
            host: bound.ip().to_string(),
            port,
        }];
        if bound.ip().is_loopback() {
            allowed.push(Allowed {
                host: "localhost".into(),
                port,
            });
        }
        allowed.extend(extra);
        Guard { token, allowed }
    }

    fn host_ok(&self, authority: &str) -> bool {
        let Some(a) = split_authority(authority) else {
            return false;
        };
        self.allowed
            .iter()
            .any(|ok| ok.host == a.host && (ok.port.is_none() || ok.port == a.port))
    }

    /// Why the request is refused, if it is.
    fn check(&self, headers: &HeaderMap) -> Result<(), (StatusCode, String)> {
        let forbidden = |what: &str| {
            Err((
                StatusCode::FORBIDDEN,
                format!(
                    "{what} does not name this server; start it with --allowed-host to accept another name"
                ),
            ))
        };
        match headers.get(header::HOST).map(|h| h.to_str()) {
            Some(Ok(h)) if self.host_ok(h) => {}
            Some(_) => return forbidden("the Host header"),
            None => return forbidden("a request without a Host header"),
        }
        if let Some(origin) = headers.get(header::ORIGIN) {
            let ok = origin
                .to_str()
                .ok()
                .and_then(|o| o.split_once("://"))
                .is_some_and(|(scheme, rest)| {
                    matches!(scheme, "http" | "https") && self.host_ok(rest.trim_end_matches('/'))
                });
            if !ok {
                return forbidden("the Origin header");
            }
        }
        let presented = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                let (scheme, token) = v.split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
            });
        match presented {
            Some(t) if bool::from(t.as_bytes().ct_eq(self.token.as_bytes())) => Ok(()),
            Some(_) => Err((StatusCode::UNAUTHORIZED, "the bearer token is wrong".into())),
            None => Err((
                StatusCode::UNAUTHORIZED,
                "send `Authorization: Bearer <token>` (the token file's path is printed when the server starts)".into(),
            )),
        }
    }
}

/// The middleware: refuse, or pass the request on.
pub async fn check(State(guard): State<Arc<Guard>>, req: Request, next: Next) -> Response {
    match guard.check(req.headers()) {
        Ok(()) => next.run(req).await,
        Err((status, message)) => {
            tracing::info!(%status, "mcp http: refused: {message}");
            let mut r = (status, Body::from(format!("{message}\n"))).into_response();
            if status == StatusCode::UNAUTHORIZED {
                r.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    header::HeaderValue::from_static("Bearer"),
                );
            }
            r
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(
                header::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        h
    }

    fn guard() -> Guard {
        Guard::new(
            "s3cret-token-0123456789".into(),
            "127.0.0.1:7777".parse().unwrap(),
            parse_allowed(&["mcp.example.com".into()]).unwrap(),
        )
    }

    const AUTH: (&str, &str) = ("authorization", "Bearer s3cret-token-0123456789");

    #[test]
    fn the_bound_address_localhost_and_allowed_names_pass() {
        let g = guard();
        for host in [
            "127.0.0.1:7777",
            "localhost:7777",
            "mcp.example.com",
            "MCP.example.com:443",
        ] {
            assert!(g.check(&headers(&[("host", host), AUTH])).is_ok(), "{host}");
        }
        let ok = headers(&[
            ("host", "localhost:7777"),
            ("origin", "http://localhost:7777"),
            AUTH,
        ]);
        assert!(g.check(&ok).is_ok());
    }

    #[test]
    fn foreign_hosts_and_origins_get_403() {
        let g = guard();
        for h in [
            vec![("host", "evil.example:7777"), AUTH],
            vec![("host", "localhost:8888"), AUTH],
            vec![
                ("host", "127.0.0.1:7777"),
                ("origin", "http://evil.example"),
                AUTH,
            ],
            vec![("host", "127.0.0.1:7777"), ("origin", "null"), AUTH],
            vec![AUTH],
        ] {
            let e = g.check(&headers(&h)).unwrap_err();
            assert_eq!(e.0, StatusCode::FORBIDDEN, "{h:?}");
        }
    }

    #[test]
    fn a_missing_or_wrong_token_gets_401() {
        let g = guard();
        for h in [
            vec![("host", "127.0.0.1:7777")],
            vec![("host", "127.0.0.1:7777"), ("authorization", "Bearer nope")],
            vec![
                ("host", "127.0.0.1:7777"),
                ("authorization", "Basic czNjcmV0"),
            ],
        ] {
            let e = g.check(&headers(&h)).unwrap_err();
            assert_eq!(e.0, StatusCode::UNAUTHORIZED, "{h:?}");
        }
    }

    #[test]
    fn bad_allowed_hosts_are_refused() {
        assert!(parse_allowed(&["http://x".into()]).is_err());
        assert!(parse_allowed(&["x:notaport".into()]).is_err());
        assert_eq!(
            parse_allowed(&["[::1]:80".into()]).unwrap()[0],
            Allowed {
                host: "::1".into(),
                port: Some(80)
            }
        );
    }
}
