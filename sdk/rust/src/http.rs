//! Outbound HTTP through `wasi:http` (needs a `--net https://host:port`
//! grant). A refused request fails with `HttpRequestDenied` or
//! `DestinationIpProhibited`, and the host journals it.

use wasip2::http::outgoing_handler;
use wasip2::http::types::{ErrorCode, Fields, Method, OutgoingRequest, Scheme};

pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

#[derive(Debug)]
pub enum HttpError {
    BadUrl(String),
    /// The transport failed; `Denied` is the policy's refusal.
    Transport(ErrorCode),
    Denied(String),
    TooLarge(u64),
    Other(String),
}

impl std::fmt::Display for HttpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HttpError::BadUrl(u) => write!(f, "bad URL: {u}"),
            HttpError::Transport(e) => write!(f, "request failed: {e:?}"),
            HttpError::Denied(m) => write!(f, "request denied: {m}"),
            HttpError::TooLarge(n) => write!(f, "response larger than {n} bytes"),
            HttpError::Other(m) => f.write_str(m),
        }
    }
}

/// GET `url`, reading at most `max_body` bytes of body.
pub fn get(url: &str, max_body: u64) -> Result<Response, HttpError> {
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| HttpError::BadUrl(url.into()))?;
    let scheme = match scheme {
        "http" => Scheme::Http,
        "https" => Scheme::Https,
        _ => return Err(HttpError::BadUrl(format!("{url}: only http and https"))),
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    if authority.is_empty() {
        return Err(HttpError::BadUrl(url.into()));
    }
    let req = OutgoingRequest::new(Fields::new());
    let bad = |_| HttpError::BadUrl(url.into());
    req.set_method(&Method::Get)
        .map_err(|_| HttpError::Other("method".into()))?;
    req.set_scheme(Some(&scheme)).map_err(bad)?;
    req.set_authority(Some(authority)).map_err(bad)?;
    req.set_path_with_query(Some(path)).map_err(bad)?;
    let pending = outgoing_handler::handle(req, None).map_err(map_err)?;
    let pollable = pending.subscribe();
    pollable.block();
    let resp = pending
        .get()
        .ok_or_else(|| HttpError::Other("response not ready".into()))?
        .map_err(|_| HttpError::Other("response already taken".into()))?
        .map_err(map_err)?;
    let status = resp.status();
    let headers = resp
        .headers()
        .entries()
        .into_iter()
        .map(|(k, v)| (k, String::from_utf8_lossy(&v).into_owned()))
        .collect();
    let body = resp
        .consume()
        .map_err(|_| HttpError::Other("body already taken".into()))?;
    let stream = body
        .stream()
        .map_err(|_| HttpError::Other("body stream".into()))?;
    let mut out = Vec::new();
    loop {
        match stream.blocking_read(64 * 1024) {
            Ok(chunk) => {
                out.extend_from_slice(&chunk);
                if out.len() as u64 > max_body {
                    return Err(HttpError::TooLarge(max_body));
                }
            }
            Err(wasip2::io::streams::StreamError::Closed) => break,
            Err(e) => return Err(HttpError::Other(format!("reading body: {e:?}"))),
        }
    }
    Ok(Response {
        status,
        headers,
        body: out,
    })
}

fn map_err(e: ErrorCode) -> HttpError {
    match e {
        ErrorCode::HttpRequestDenied => {
            HttpError::Denied("origin not granted (see `factory log`)".into())
        }
        ErrorCode::DestinationIpProhibited => HttpError::Denied(
            "the host resolves to a private or special address (see `factory log`)".into(),
        ),
        other => HttpError::Transport(other),
    }
}
