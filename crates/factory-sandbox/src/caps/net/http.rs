//! Outbound HTTP(S) for guests (`wasi:http/outgoing-handler`), through the
//! wasi-http `send_request` hook: the origin must match a grant, the host is
//! resolved here and every address vetted, and the connection goes to a
//! vetted address. Timeouts come from the call's remaining deadline.

use super::policy;
use crate::call::CallInfo;
use crate::grants::NetScheme;
use crate::trust::CapabilityKind;
use http_body_util::BodyExt;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::net::TcpStream;
use wasmtime_wasi_http::io::TokioIo;
use wasmtime_wasi_http::{Error, RequestOptions, WasiBody, WasiHttpHooks};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Per-instance state: the call the requests belong to.
pub struct HttpHooks {
    pub call: Arc<CallInfo>,
}

type IoFuture = Box<dyn Future<Output = Result<(), Error>> + Send>;
type SendResult = Result<(http::Response<WasiBody>, IoFuture), Error>;

impl WasiHttpHooks for HttpHooks {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        _fut: IoFuture,
    ) -> Box<dyn Future<Output = SendResult> + Send> {
        let call = self.call.clone();
        Box::new(async move { send(call, request, options).await })
    }
}

async fn send(
    call: Arc<CallInfo>,
    mut req: http::Request<WasiBody>,
    options: Option<RequestOptions>,
) -> SendResult {
    // Grant check first.
    let uri = req.uri().clone();
    let tls = match uri.scheme_str() {
        Some("https") => true,
        Some("http") => false,
        _ => return Err(Error::HttpProtocolError),
    };
    let host = uri.host().ok_or(Error::HttpRequestUriInvalid)?.to_string();
    let port = uri.port_u16().unwrap_or(if tls { 443 } else { 80 });
    let scheme = if tls {
        NetScheme::Https
    } else {
        NetScheme::Http
    };
    let origin = format!("{}://{host}:{port}", if tls { "https" } else { "http" });
    let target = format!("{} {origin}{}", req.method(), uri.path());
    let grants = policy::matching(&call.policy, scheme, &host, port);
    if grants.is_empty() {
        call.deny(
            CapabilityKind::Http,
            &target,
            "origin not granted",
            Some(&format!("--net {origin}")),
        );
        return Err(Error::HttpRequestDenied);
    }
    let remaining = call.remaining();
    let connect_timeout = options
        .and_then(|o| o.connect_timeout)
        .unwrap_or(CONNECT_TIMEOUT)
        .min(CONNECT_TIMEOUT)
        .min(remaining);
    let addrs = match policy::vet(&host, port, &grants, connect_timeout).await {
        Ok(a) => a,
        Err(err @ policy::VetError::Restricted { ip, .. }) => {
            let flag = format!(
                "--net {}://{}:{port}",
                if tls { "https" } else { "http" },
                bracket(ip)
            );
            call.deny(CapabilityKind::Http, &target, &err.to_string(), Some(&flag));
            return Err(Error::DestinationIpProhibited);
        }
        Err(policy::VetError::Resolve(why)) => {
            tracing::debug!("{why}");
            return Err(Error::DnsError {
                rcode: Some(why),
                info_code: None,
            });
        }
    };

    let stream = connect(&addrs, connect_timeout).await?;
    *req.uri_mut() = http::Uri::builder()
        .path_and_query(uri.path_and_query().map(|p| p.as_str()).unwrap_or("/"))
        .build()
        .map_err(|_| Error::HttpRequestUriInvalid)?;

    let first_byte = options
        .and_then(|o| o.first_byte_timeout)
        .unwrap_or(remaining)
        .min(call.remaining());
    if tls {
        let name = rustls::pki_types::ServerName::try_from(host.clone())
            .map_err(|_| Error::HttpRequestUriInvalid)?;
        let tls = tokio_rustls::TlsConnector::from(tls_config())
            .connect(name, stream)
            .await
            .map_err(Error::Tls)?;
        exchange(TokioIo::new(tls), req, first_byte).await
    } else {
        exchange(TokioIo::new(stream), req, first_byte).await
    }
}

fn bracket(ip: std::net::IpAddr) -> String {
    if ip.is_ipv6() {
        format!("[{ip}]")
    } else {
        ip.to_string()
    }
}

async fn connect(addrs: &[SocketAddr], timeout: Duration) -> Result<TcpStream, Error> {
    let mut last = Error::ConnectionRefused;
    for addr in addrs {
        match tokio::time::timeout(timeout, TcpStream::connect(addr)).await {
            Ok(Ok(s)) => return Ok(s),
            Ok(Err(e)) => last = Error::Connect(e),
            Err(_) => last = Error::ConnectionTimeout,
        }
    }
    Err(last)
}

fn tls_config() -> Arc<rustls::ClientConfig> {
    static CONFIG: OnceLock<Arc<rustls::ClientConfig>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let roots = rustls::RootCertStore {
                roots: webpki_roots::TLS_SERVER_ROOTS.into(),
            };
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            Arc::new(
                rustls::ClientConfig::builder_with_provider(provider)
                    .with_safe_default_protocol_versions()
                    .expect("ring supports the default TLS versions")
                    .with_root_certificates(roots)
                    .with_no_client_auth(),
            )
        })
        .clone()
}

async fn exchange<I>(io: I, req: http::Request<WasiBody>, first_byte: Duration) -> SendResult
where
    I: hyper::rt::Read + hyper::rt::Write + Send + Unpin + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake::<_, WasiBody>(io)
        .await
        .map_err(Error::from)?;
    let mut conn = Box::pin(conn);
    let mut send = Box::pin(sender.send_request(req));
    // Drive the connection while waiting for the response; a connection
    // that finishes first (e.g. `connection: close`) still yields it.
    let mut conn_done = false;
    let waited = tokio::time::timeout(first_byte, async {
        loop {
            tokio::select! {
                biased;
                r = &mut send => break r.map_err(Error::from),
                c = &mut conn, if !conn_done => match c {
                    Ok(()) => conn_done = true,
                    Err(e) => break Err(Error::from(e)),
                },
            }
        }
    })
    .await;
    let response = waited.map_err(|_| Error::ConnectionReadTimeout)??;
    let response = response.map(|body| body.map_err(Error::from).boxed_unsync());
    let io: IoFuture = if conn_done {
        Box::new(async { Ok(()) })
    } else {
        Box::new(async move { conn.await.map_err(Error::from) })
    };
    Ok((response, io))
}
