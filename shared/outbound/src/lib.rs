//! [`HttpsSender`]: webhook deliveries as Standard Webhooks expects them, guarded against
//! server-side request forgery. The host is resolved at every attempt and every address it
//! resolves to is checked ([`is_forbidden_address`]); the connection goes to a checked address
//! (so a name that answers differently a moment later, DNS rebinding, reaches nothing new);
//! redirects are answers like any other (never followed); an attempt gives up after 10 s and
//! reads at most 4 KiB of the answer.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use gatehouse_domain::webhooks::{
    is_forbidden_address, OutgoingDelivery, SendOutcome, WebhookSender, WebhookUrl,
};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;

/// How long an attempt may take, connecting included.
pub const TIMEOUT: Duration = Duration::from_secs(10);
/// How much of an answer is read (the rest is dropped with the connection).
pub const MAX_ANSWER: usize = 4 * 1024;

/// Where a host's addresses come from: the system's resolver, or (in tests) a stand-in for a
/// hostile DNS.
#[async_trait::async_trait]
pub trait Resolve: Send + Sync {
    async fn resolve(&self, host: &str, port: u16) -> std::io::Result<Vec<SocketAddr>>;
}

/// The system's resolver.
pub struct SystemResolver;

#[async_trait::async_trait]
impl Resolve for SystemResolver {
    async fn resolve(&self, host: &str, port: u16) -> std::io::Result<Vec<SocketAddr>> {
        Ok(tokio::net::lookup_host((host, port)).await?.collect())
    }
}

/// Sends deliveries over HTTPS (and plain HTTP to the loopback interface where allowed).
#[derive(Clone)]
pub struct HttpsSender {
    tls: Arc<rustls::ClientConfig>,
    resolver: Arc<dyn Resolve>,
    timeout: Duration,
}

impl Default for HttpsSender {
    fn default() -> Self {
        Self::new()
    }
}

impl HttpsSender {
    /// Trusts the system's certificate authorities.
    pub fn new() -> Self {
        let mut roots = rustls::RootCertStore::empty();
        let found = rustls_native_certs::load_native_certs();
        for cert in found.certs {
            // A certificate the system holds but rustls cannot use is skipped, not fatal.
            let _ = roots.add(cert);
        }
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map(|b| b.with_root_certificates(roots).with_no_client_auth())
            .expect("the default protocol versions are supported");
        Self {
            tls: Arc::new(tls),
            resolver: Arc::new(SystemResolver),
            timeout: TIMEOUT,
        }
    }

    /// The sender, asking `resolver` for addresses.
    pub fn with_resolver(mut self, resolver: Arc<dyn Resolve>) -> Self {
        self.resolver = resolver;
        self
    }

    /// The sender, giving up after `timeout` rather than [`TIMEOUT`].
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
}

/// A URL's parts as a request needs them.
struct Target<'a> {
    https: bool,
    host: &'a str,
    port: u16,
    authority: &'a str,
    path: &'a str,
}

fn target(url: &WebhookUrl) -> Result<Target<'_>, String> {
    let (scheme, rest) = url
        .as_str()
        .split_once("://")
        .ok_or("not an absolute URL")?;
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(end);
    let https = scheme == "https";
    let host = url.host();
    let port = match authority
        .strip_prefix(host)
        .and_then(|p| p.strip_prefix(':'))
    {
        Some(port) => port.parse().map_err(|_| "not a port")?,
        None if https => 443,
        None => 80,
    };
    Ok(Target {
        https,
        host: host.trim_start_matches('[').trim_end_matches(']'),
        port,
        authority,
        path: if path.is_empty() { "/" } else { path },
    })
}

/// Where to connect: an address of the host, every one of which deliveries may reach.
async fn checked_address(
    resolver: &dyn Resolve,
    url: &WebhookUrl,
    loopback_allowed: bool,
) -> Result<SocketAddr, String> {
    let target = target(url)?;
    let addresses: Vec<SocketAddr> = match target.host.parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, target.port)],
        Err(_) => resolver
            .resolve(target.host, target.port)
            .await
            .map_err(|_| "the host does not resolve".to_string())?,
    };
    let allowed = |ip: IpAddr| !is_forbidden_address(ip) || (loopback_allowed && ip.is_loopback());
    if let Some(refused) = addresses.iter().find(|a| !allowed(a.ip())) {
        return Err(format!(
            "the host resolves to {}, an address deliveries may not reach",
            refused.ip()
        ));
    }
    addresses
        .first()
        .copied()
        .ok_or_else(|| "the host does not resolve".to_string())
}

trait Stream: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send> Stream for T {}

impl HttpsSender {
    async fn post(
        &self,
        delivery: &OutgoingDelivery,
        loopback_allowed: bool,
    ) -> Result<u16, String> {
        let address =
            checked_address(self.resolver.as_ref(), &delivery.url, loopback_allowed).await?;
        let target = target(&delivery.url)?;
        let tcp = tokio::net::TcpStream::connect(address)
            .await
            .map_err(|e| format!("could not connect: {}", e.kind()))?;
        let io: Box<dyn Stream> = if target.https {
            let name = rustls::pki_types::ServerName::try_from(target.host.to_string())
                .map_err(|_| "not a TLS server name")?;
            let tls = tokio_rustls::TlsConnector::from(self.tls.clone())
                .connect(name, tcp)
                .await
                .map_err(|e| format!("TLS failed: {e}"))?;
            Box::new(tls)
        } else {
            Box::new(tcp)
        };
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(io))
            .await
            .map_err(|e| format!("HTTP failed: {e}"))?;
        let driving = tokio::spawn(connection);
        let mut request = hyper::Request::post(target.path)
            .header(hyper::header::HOST, target.authority)
            .header(hyper::header::CONTENT_TYPE, "application/json")
            .header(hyper::header::USER_AGENT, "Gatehouse-Webhooks/1");
        for (name, value) in &delivery.headers {
            request = request.header(*name, value);
        }
        let request = request
            .body(Full::new(Bytes::from(delivery.body.clone())))
            .map_err(|e| format!("bad request: {e}"))?;
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| format!("HTTP failed: {e}"))?;
        let status = response.status().as_u16();
        // Read a little of the answer (some servers wait for it to be read), never all of it.
        let mut body = response.into_body();
        let mut read = 0;
        while read < MAX_ANSWER {
            match body.frame().await {
                Some(Ok(frame)) => read += frame.data_ref().map_or(0, Bytes::len),
                _ => break,
            }
        }
        driving.abort();
        Ok(status)
    }
}

#[async_trait::async_trait]
impl WebhookSender for HttpsSender {
    async fn check(&self, url: &WebhookUrl, loopback_allowed: bool) -> Result<(), String> {
        checked_address(self.resolver.as_ref(), url, loopback_allowed)
            .await
            .map(|_| ())
    }

    async fn send(&self, delivery: &OutgoingDelivery, loopback_allowed: bool) -> SendOutcome {
        match tokio::time::timeout(self.timeout, self.post(delivery, loopback_allowed)).await {
            Ok(Ok(status)) => SendOutcome::Answered(status),
            Ok(Err(why)) => SendOutcome::Failed(why),
            Err(_) => SendOutcome::Failed(format!("no answer within {} s", self.timeout.as_secs())),
        }
    }
}
