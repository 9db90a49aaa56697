//! The local run: every HTTP function on one router over the embedded store and a file outbox,
//! and the bootstrap of a first organisation and admin.

mod files;
mod outbox;
pub mod webhooks;

pub use files::files_routes;
pub use outbox::{outbox_routes, RememberedMail};

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use gatehouse_domain::access_code::AccessCodeKeys;
use gatehouse_domain::clock::SystemClock;
use gatehouse_domain::password::PasswordHashing;
use gatehouse_domain::secret::{OsRandomness, Randomness};
use gatehouse_domain::{Config, Services};
use gatehouse_embedded::{EmbeddedItems, FileOutbox, LocalFiles};
use gatehouse_http::AppState;
use gatehouse_store::Records;

/// Every route of every HTTP function, as API Gateway would route them, `/openapi.json` included.
pub fn routes() -> Router<AppState> {
    Router::new()
        .merge(gatehouse_invite::routes())
        .merge(gatehouse_sign_up::routes())
        .merge(gatehouse_sign_in::routes())
        .merge(gatehouse_groups::routes())
        .merge(gatehouse_settings::routes())
        .merge(gatehouse_password_reset::routes())
        .merge(gatehouse_users::routes())
        .merge(gatehouse_activity::routes())
        .merge(gatehouse_oidc::routes())
        .merge(gatehouse_imports::routes())
        .merge(gatehouse_export::routes())
        .merge(gatehouse_openapi::routes())
        .merge(gatehouse_pages::routes())
}

/// The local configuration, from the environment with safe defaults (see README).
#[derive(Debug, Clone)]
pub struct LocalSettings {
    pub addr: String,
    pub data_dir: PathBuf,
    pub public_url: String,
    pub mail_from: String,
    pub bootstrap_org: String,
    /// How emails and pages name the bootstrapped organisation (`GATEHOUSE_BOOTSTRAP_DISPLAY_NAME`).
    pub bootstrap_display_name: String,
    pub bootstrap_admin_email: String,
    pub bootstrap_admin_password: Option<String>,
    pub bootstrap_admin_first_name: String,
    pub bootstrap_admin_last_name: String,
    /// How long a client may take to send a request's headers (`GATEHOUSE_HEADER_TIMEOUT_SECS`)…
    pub header_timeout: Duration,
    /// …and to send its body and get its answer (`GATEHOUSE_REQUEST_TIMEOUT_SECS`).
    pub request_timeout: Duration,
    /// Connections held at once (`GATEHOUSE_MAX_CONNECTIONS`), at most what the open-files
    /// limit allows…
    pub max_connections: usize,
    /// …and from one client address (an IPv6 /64), `GATEHOUSE_MAX_CONNECTIONS_PER_CLIENT`. A
    /// connection past either is closed at once.
    pub max_connections_per_client: usize,
    /// How often the cleanup runs (`GATEHOUSE_CLEANUP_EVERY_SECS`, default 60; 0: never, only on
    /// demand at `POST /_local/cleanup`).
    pub cleanup_every: Option<Duration>,
    /// `GATEHOUSE_ACCESS_CODE_KEY`; when unset, a key generated on first start and kept in
    /// `data_dir/access-code.key`.
    pub access_code_key: Option<String>,
}

impl LocalSettings {
    /// Once the listener is bound: without `GATEHOUSE_PUBLIC_URL`, links and the OpenID issuer
    /// name the address actually listened on (`GATEHOUSE_ADDR=127.0.0.1:0` picks a free port).
    pub fn bound_to(mut self, addr: std::net::SocketAddr) -> Self {
        if std::env::var("GATEHOUSE_PUBLIC_URL").map_or(true, |v| v.is_empty()) {
            self.public_url = format!("http://{addr}");
        }
        self
    }

    pub fn from_env() -> Self {
        let var = |name: &str, default: &str| {
            std::env::var(name)
                .ok()
                .filter(|v| !v.is_empty())
                .unwrap_or_else(|| default.to_string())
        };
        let addr = var("GATEHOUSE_ADDR", "127.0.0.1:3000");
        Self {
            public_url: var("GATEHOUSE_PUBLIC_URL", &format!("http://{addr}")),
            addr,
            data_dir: PathBuf::from(var("GATEHOUSE_DATA_DIR", "./.gatehouse")),
            mail_from: var(
                "GATEHOUSE_MAIL_FROM",
                "Gatehouse <no-reply@gatehouse.localhost>",
            ),
            bootstrap_org: var("GATEHOUSE_BOOTSTRAP_ORG", "demo"),
            bootstrap_display_name: var("GATEHOUSE_BOOTSTRAP_DISPLAY_NAME", "Demo Organisation"),
            bootstrap_admin_email: var("GATEHOUSE_BOOTSTRAP_ADMIN_EMAIL", "admin@example.com"),
            bootstrap_admin_password: std::env::var("GATEHOUSE_BOOTSTRAP_ADMIN_PASSWORD")
                .ok()
                .filter(|v| !v.is_empty()),
            bootstrap_admin_first_name: var("GATEHOUSE_BOOTSTRAP_ADMIN_FIRST_NAME", "Ada"),
            bootstrap_admin_last_name: var("GATEHOUSE_BOOTSTRAP_ADMIN_LAST_NAME", "Admin"),
            header_timeout: Duration::from_secs(
                var("GATEHOUSE_HEADER_TIMEOUT_SECS", "10")
                    .parse()
                    .unwrap_or(10),
            ),
            request_timeout: Duration::from_secs(
                var("GATEHOUSE_REQUEST_TIMEOUT_SECS", "30")
                    .parse()
                    .unwrap_or(30),
            ),
            max_connections: var("GATEHOUSE_MAX_CONNECTIONS", "4096")
                .parse()
                .unwrap_or(4096),
            max_connections_per_client: var("GATEHOUSE_MAX_CONNECTIONS_PER_CLIENT", "256")
                .parse()
                .unwrap_or(256),
            cleanup_every: match var("GATEHOUSE_CLEANUP_EVERY_SECS", "60").parse::<u64>() {
                Ok(0) => None,
                Ok(secs) => Some(Duration::from_secs(secs)),
                Err(_) => Some(Duration::from_secs(60)),
            },
            access_code_key: std::env::var("GATEHOUSE_ACCESS_CODE_KEY")
                .ok()
                .filter(|v| !v.is_empty()),
        }
    }
}

/// The access-code key: from the environment, else from `data_dir/access-code.key`, made (readable
/// by its owner only) on first start. Losing it makes pending access codes unreadable.
fn access_code_keys(
    settings: &LocalSettings,
    random: &dyn Randomness,
) -> anyhow::Result<AccessCodeKeys> {
    if let Some(text) = &settings.access_code_key {
        return AccessCodeKeys::from_text(text).context("GATEHOUSE_ACCESS_CODE_KEY");
    }
    let path = settings.data_dir.join("access-code.key");
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir_all(&settings.data_dir)?;
            let text = AccessCodeKeys::generate_secret(random);
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            std::io::Write::write_all(&mut options.open(&path)?, text.as_bytes())?;
            text
        }
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    AccessCodeKeys::from_text(&text).with_context(|| format!("the key in {}", path.display()))
}

/// What the local run is made of.
pub struct LocalParts {
    pub services: Services,
    /// The file store, which the file routes need.
    pub files: Arc<LocalFiles>,
    /// The embedded store itself, whose change feed of the event log webhooks are sent from.
    pub items: EmbeddedItems,
    /// The mailer, which remembers what it sent last to each address (`/_local/outbox`).
    pub mail: Arc<RememberedMail>,
}

/// Services over the embedded store in `data_dir/gatehouse.redb`, the outbox `data_dir/outbox`
/// and files in `data_dir/files`, reached at `{server_url}/files/…` (the server's own address).
pub fn local_services(
    settings: &LocalSettings,
    print_links: bool,
    server_url: &str,
) -> anyhow::Result<LocalParts> {
    let store_path = settings.data_dir.join("gatehouse.redb");
    let items = EmbeddedItems::open(&store_path)
        .with_context(|| format!("opening {}", store_path.display()))?
        .with_feed(gatehouse_store::EVENTS_PK_PREFIX);
    let outbox = FileOutbox::new(
        &settings.data_dir.join("outbox"),
        &settings.mail_from,
        print_links,
    )?;
    // File URLs are signed with a key of this run: a restart voids the URLs handed out before.
    let mut secret = [0u8; 32];
    OsRandomness.fill(&mut secret);
    let files = Arc::new(LocalFiles::new(
        &settings.data_dir.join("files"),
        server_url,
        secret,
    )?);
    let mail = Arc::new(RememberedMail::new(Arc::new(outbox)));
    let services = Services {
        store: Arc::new(Records::new(Arc::new(items.clone()))),
        mailer: mail.clone(),
        files: files.clone(),
        clock: Arc::new(SystemClock),
        metrics: Arc::new(gatehouse_domain::metrics::NoMetrics),
        random: Arc::new(OsRandomness),
        passwords: PasswordHashing::default(),
        access_codes: access_code_keys(settings, &OsRandomness)?,
        signing_keys: Arc::new(
            gatehouse_embedded::FileSigningKeys::open_or_create(
                &settings.data_dir.join("signing-keys.json"),
                &OsRandomness,
                gatehouse_domain::clock::Clock::now(&SystemClock),
            )
            .context("the signing keys in the data folder")?,
        ),
        passkeys: gatehouse_passkeys::ceremonies_for(&settings.public_url),
        config: Config {
            webhooks_to_loopback: true,
            ..Config::new(&settings.public_url)
        },
    };
    Ok(LocalParts {
        services,
        files,
        items,
        mail,
    })
}

/// The local run's stand-ins for what starts the background functions when deployed:
/// `POST /_local/cleanup` runs the cleanup now and answers what it did (deployed, the schedule
/// starts the `cleanup` function); `POST /_local/mail-events` takes one SES notification (the
/// JSON SES publishes to SNS: a bounce or complaint), as `mail-events` does, and answers what
/// became of it.
pub fn background_routes(services: Services) -> Router {
    Router::new()
        .route(
            "/_local/mail-events",
            axum::routing::post(
                |axum::extract::State(services): axum::extract::State<Arc<Services>>,
                 body: String| async move {
                    match gatehouse_mail_events::handle_notification(&services, &body).await {
                        Ok(handled) => axum::response::IntoResponse::into_response(axum::Json(
                            serde_json::json!({ "outcome": handled.as_str() }),
                        )),
                        Err(e) => {
                            tracing::error!(cause = %gatehouse_domain::Chain(&e), "mail event failed");
                            axum::response::IntoResponse::into_response(
                                gatehouse_http::ApiError::new(
                                    axum::http::StatusCode::SERVICE_UNAVAILABLE,
                                    "mail_event_failed",
                                    "The mail event could not be recorded; try again.",
                                ),
                            )
                        }
                    }
                },
            ),
        )
        .route(
            "/_local/cleanup",
            axum::routing::post(
                |axum::extract::State(services): axum::extract::State<Arc<Services>>| async move {
                    match gatehouse_cleanup::run(&services, CLEANUP_BUDGET).await {
                        Ok(report) => axum::response::IntoResponse::into_response(axum::Json(
                            gatehouse_cleanup::report_json(&report),
                        )),
                        Err(e) => {
                            tracing::error!(cause = %gatehouse_domain::Chain(&e), "cleanup failed");
                            axum::response::IntoResponse::into_response(
                                gatehouse_http::ApiError::new(
                                    axum::http::StatusCode::SERVICE_UNAVAILABLE,
                                    "cleanup_failed",
                                    "The cleanup could not read the store; try again.",
                                ),
                            )
                        }
                    }
                },
            ),
        )
        .with_state(Arc::new(services))
}

/// How long one local cleanup run may take.
pub const CLEANUP_BUDGET: Duration = Duration::from_secs(50);

/// Runs the cleanup every `every` until the process ends (`GATEHOUSE_CLEANUP_EVERY_SECS`).
pub fn spawn_cleanup_timer(services: Services, every: Duration) {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            if let Err(e) = gatehouse_cleanup::run(&services, CLEANUP_BUDGET).await {
                tracing::warn!(cause = %gatehouse_domain::Chain(&e), "scheduled cleanup failed; trying again on the next tick");
            }
        }
    });
}

/// A random password of 20 characters from a 32-letter alphabet (100 bits).
pub fn generated_password(random: &dyn Randomness) -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789#";
    let mut bytes = [0u8; 20];
    random.fill(&mut bytes);
    bytes
        .iter()
        .map(|b| char::from(ALPHABET[usize::from(b % 32)]))
        .collect()
}

/// Serves `app` on `listener` until Ctrl-C: HTTP/1.1, each connection's peer address available
/// to handlers (`ConnectInfo`), headers due within `header_timeout` and the whole answer within
/// `request_timeout` (a half-sent request is answered 408 or dropped, never held open).
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    settings: &LocalSettings,
) -> anyhow::Result<()> {
    use hyper_util::rt::{TokioIo, TokioTimer};
    use tower::ServiceExt;

    let request_timeout = settings.request_timeout;
    let app = app.layer(axum::middleware::from_fn(
        move |request: axum::extract::Request, next: axum::middleware::Next| async move {
            match tokio::time::timeout(request_timeout, next.run(request)).await {
                Ok(response) => response,
                Err(_) => {
                    axum::response::IntoResponse::into_response(gatehouse_http::ApiError::new(
                        axum::http::StatusCode::REQUEST_TIMEOUT,
                        "request_timeout",
                        "The request took too long to arrive.",
                    ))
                }
            }
        },
    ));
    let header_timeout = settings.header_timeout;
    let slots = ConnectionSlots::new(
        settings.max_connections.min(open_files_for_connections()),
        settings.max_connections_per_client,
    );
    let shutdown = tokio::signal::ctrl_c();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    tracing::warn!(cause = %gatehouse_domain::Chain(&e), "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut shutdown => return Ok(()),
        };
        // Past the limits the connection is closed at once, before anything is read from it.
        let Some(slot) = slots.take(peer.ip()) else {
            drop(stream);
            continue;
        };
        let service = app.clone().map_request(
            move |mut request: axum::extract::Request<hyper::body::Incoming>| {
                request
                    .extensions_mut()
                    .insert(axum::extract::ConnectInfo::<SocketAddr>(peer));
                request
            },
        );
        tokio::spawn(async move {
            let _slot = slot;
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(header_timeout)
                .serve_connection(
                    TokioIo::new(stream),
                    hyper_util::service::TowerToHyperService::new(service),
                );
            if let Err(e) = connection.await {
                tracing::debug!(cause = %gatehouse_domain::Chain(&e), %peer, "connection ended");
            }
        });
    }
}

/// Counts the connections held, in all and per client address, so that slow or idle clients
/// (each held at most the header and request timeouts) cannot use up every file descriptor, nor
/// one client every connection.
struct ConnectionSlots {
    max: usize,
    per_client: usize,
    held: Arc<std::sync::Mutex<(usize, std::collections::HashMap<String, usize>)>>,
}

/// One connection's place; given back when dropped.
struct ConnectionSlot {
    client: String,
    held: Arc<std::sync::Mutex<(usize, std::collections::HashMap<String, usize>)>>,
}

impl ConnectionSlots {
    fn new(max: usize, per_client: usize) -> Self {
        Self {
            max: max.max(1),
            per_client: per_client.max(1),
            held: Arc::default(),
        }
    }

    fn take(&self, ip: std::net::IpAddr) -> Option<ConnectionSlot> {
        let client = gatehouse_domain::usecase::ClientAddress::from_ip(ip)
            .as_str()
            .to_string();
        let mut held = self.held.lock().unwrap_or_else(|e| e.into_inner());
        let (total, by_client) = &mut *held;
        let mine = by_client.get(&client).copied().unwrap_or(0);
        if *total >= self.max || mine >= self.per_client {
            tracing::warn!(
                total = *total,
                from_client = mine,
                "connection refused: too many held"
            );
            return None;
        }
        *total += 1;
        by_client.insert(client.clone(), mine + 1);
        Some(ConnectionSlot {
            client,
            held: self.held.clone(),
        })
    }
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        let mut held = self.held.lock().unwrap_or_else(|e| e.into_inner());
        let (total, by_client) = &mut *held;
        *total = total.saturating_sub(1);
        if let Some(n) = by_client.get_mut(&self.client) {
            *n -= 1;
            if *n == 0 {
                by_client.remove(&self.client);
            }
        }
    }
}

/// How many connections the open-files limit leaves room for, after raising its soft value to
/// the hard one (as servers do): 128 descriptors are kept for the store, the outbox and files.
fn open_files_for_connections() -> usize {
    const KEPT: u64 = 128;
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit only read and write the struct passed.
    let soft = unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return 1024 - KEPT as usize;
        }
        if limit.rlim_cur < limit.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: limit.rlim_max,
                rlim_max: limit.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                limit.rlim_cur = limit.rlim_max;
            }
        }
        limit.rlim_cur
    };
    usize::try_from(soft.saturating_sub(KEPT).max(16)).unwrap_or(usize::MAX)
}
