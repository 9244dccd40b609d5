//! POSTing JSON to a model API with a timeout, and retries with exponential
//! backoff (and jitter, and `retry-after`) on rate limits, server errors and
//! connection failures. Errors never include request headers (the key).

use crate::bindings::ErrorCode;
use rand::Rng;
use std::time::Duration;

#[derive(Clone, Debug)]
pub struct HttpOptions {
    pub timeout: Duration,
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// The first backoff; doubled each retry.
    pub backoff: Duration,
}

impl Default for HttpOptions {
    fn default() -> Self {
        HttpOptions {
            timeout: Duration::from_secs(120),
            max_retries: 3,
            backoff: Duration::from_millis(500),
        }
    }
}

/// The longest `retry-after` honoured.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// The model clients' HTTP client. Redirects are followed within the
/// provider's origin only: a redirect elsewhere would carry the API key
/// (`x-api-key` is no header reqwest knows to strip) to another server.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .user_agent(concat!("factory/", env!("CARGO_PKG_VERSION")))
        .redirect(reqwest::redirect::Policy::custom(|attempt| {
            let same_origin = attempt
                .previous()
                .first()
                .is_some_and(|first| first.origin() == attempt.url().origin());
            if attempt.previous().len() > 5 {
                attempt.error("too many redirects")
            } else if same_origin {
                attempt.follow()
            } else {
                let to = attempt.url().origin().ascii_serialization();
                attempt.error(format!(
                    "refused a redirect to another origin ({to}): the API key goes to its provider only"
                ))
            }
        }))
        .build()
        .unwrap_or_default()
}

/// `text` with every secret in it replaced: a server that echoes the key
/// in an error must not put it into a role's input, the journal or a report.
pub fn redact(text: &str, secrets: &[&str]) -> String {
    let mut out = text.to_string();
    for s in secrets.iter().filter(|s| s.len() >= 4) {
        out = out.replace(s, "[redacted]");
    }
    out
}

/// The secret values among request headers (the API key, however sent).
fn secrets<'a>(headers: &'a [(&str, String)]) -> Vec<&'a str> {
    headers
        .iter()
        .filter(|(k, _)| {
            let k = k.to_ascii_lowercase();
            k == "authorization" || k == "x-api-key" || k == "api-key"
        })
        .flat_map(|(_, v)| [v.as_str(), v.strip_prefix("Bearer ").unwrap_or(v)])
        .collect()
}

fn retryable(status: reqwest::StatusCode) -> bool {
    status == reqwest::StatusCode::TOO_MANY_REQUESTS
        || status == reqwest::StatusCode::REQUEST_TIMEOUT
        || status.as_u16() == 529 // Anthropic: overloaded
        || status.is_server_error()
}

/// The provider's error message from its JSON error body, or the body.
fn error_message(body: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
    let msg = v
        .pointer("/error/message")
        .or_else(|| v.pointer("/message"))
        .or_else(|| v.get("error"))
        .and_then(|m| m.as_str())
        .map(str::to_string)
        .unwrap_or_else(|| body.chars().take(300).collect());
    msg.trim().to_string()
}

/// POST `body` to `url` with `headers`; the parsed JSON response.
pub async fn post_json(
    client: &reqwest::Client,
    provider: &str,
    url: &str,
    headers: &[(&str, String)],
    body: &serde_json::Value,
    opts: &HttpOptions,
) -> Result<serde_json::Value, ErrorCode> {
    let secrets = secrets(headers);
    let scrub = |e: ErrorCode| match e {
        ErrorCode::Failed(m) => ErrorCode::Failed(redact(&m, &secrets)),
        ErrorCode::InvalidInput(m) => ErrorCode::InvalidInput(redact(&m, &secrets)),
        ErrorCode::LimitExceeded(m) => ErrorCode::LimitExceeded(redact(&m, &secrets)),
        other => other,
    };
    let mut attempt = 0;
    loop {
        let mut req = client.post(url).timeout(opts.timeout).json(body);
        for (k, v) in headers {
            req = req.header(*k, v);
        }
        let (retry, why, after) = match req.send().await {
            Ok(resp) => {
                let status = resp.status();
                let after = resp
                    .headers()
                    .get(reqwest::header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .map(Duration::from_secs);
                let text = resp.text().await.unwrap_or_default();
                if status.is_success() {
                    return serde_json::from_str(&text).map_err(|e| {
                        scrub(ErrorCode::Failed(format!(
                            "{provider} returned a response that is not JSON: {e}"
                        )))
                    });
                }
                let msg = format!(
                    "{provider} answered HTTP {}: {}",
                    status.as_u16(),
                    error_message(&text)
                );
                if status == reqwest::StatusCode::UNAUTHORIZED
                    || status == reqwest::StatusCode::FORBIDDEN
                {
                    return Err(scrub(ErrorCode::Failed(format!(
                        "{msg} (the host's API key for {provider} was refused; the operator must fix it)"
                    ))));
                }
                if !retryable(status) {
                    return Err(scrub(ErrorCode::InvalidInput(msg)));
                }
                (true, msg, after)
            }
            Err(e) if e.is_redirect() => {
                return Err(scrub(ErrorCode::Failed(format!(
                    "{provider}: {}",
                    without_url(&e)
                ))));
            }
            Err(e) if e.is_timeout() => (
                true,
                format!("{provider} did not answer within {:?}", opts.timeout),
                None,
            ),
            Err(e) => (
                true,
                format!("cannot reach {provider}: {}", without_url(&e)),
                None,
            ),
        };
        if !retry || attempt >= opts.max_retries {
            return Err(scrub(if why.contains("did not answer") {
                ErrorCode::LimitExceeded(format!("{why} (after {} attempts)", attempt + 1))
            } else {
                ErrorCode::Failed(format!("{why} (after {} attempts)", attempt + 1))
            }));
        }
        let why = redact(&why, &secrets);
        let base = opts.backoff * 2u32.saturating_pow(attempt);
        let jitter = rand::rng().random_range(0..=base.as_millis() as u64 / 2);
        let wait = after
            .map(|a| a.min(MAX_RETRY_AFTER))
            .unwrap_or(base + Duration::from_millis(jitter));
        tracing::warn!("{why}; retrying in {wait:?}");
        tokio::time::sleep(wait).await;
        attempt += 1;
    }
}

/// A reqwest error's text without its URL (which may carry a query key).
fn without_url(e: &reqwest::Error) -> String {
    let mut s = e.to_string();
    if let Some(url) = e.url() {
        s = s.replace(url.as_str(), "(url)");
    }
    let mut source = std::error::Error::source(e);
    while let Some(inner) = source {
        s.push_str(&format!(": {inner}"));
        source = inner.source();
    }
    s
}
