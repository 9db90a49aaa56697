//! The harness of the end-to-end tests: the whole bundle on either storage backend, driven as
//! API Gateway drives the functions, with the mail that was really sent read back.
//!
//! - [`Backend::Embedded`]: the embedded store in a temporary folder and the file outbox.
//! - [`Backend::Aws`]: DynamoDB (a fresh table per test) and SES v2 on moto's server, whose
//!   address the test script exports as `GATEHOUSE_TEST_AWS_ENDPOINT`.
//!
//! Requests go through `lambda_http`'s own API Gateway (HTTP API, payload 2.0) event parsing
//! into the router of the function API Gateway would invoke, and responses through its
//! conversion back, as in Lambda.

pub mod authenticator;
mod faults;
mod files;
mod gateway;
mod mail;
pub mod pages;
pub mod passkey;

pub use faults::{Fault, FaultyAws, Tally};
pub mod standard_webhooks;
pub use files::{s3_put_event, FileHost, FileReply, LOCAL_FILES_URL};
use gatehouse_domain::oidc::keys::{FixedSigningKeys, KeySet};
pub use gateway::{Gateway, Reply, DEFAULT_CLIENT};
pub use mail::{unescape_html, DownMailer, Mailbox, ReceivedMail};

use std::sync::Arc;
use std::time::Duration;

use gatehouse_aws::{create_table, DynamoItems, RequestCounter, S3Files, SesMailer};
use gatehouse_domain::access_code::AccessCodeKeys;
use gatehouse_domain::clock::{Clock, FixedClock, SystemClock};
use gatehouse_domain::metrics::{CountedMailer, RecordedMetrics};
use gatehouse_domain::model::Org;
use gatehouse_domain::password::PasswordHashing;
use gatehouse_domain::ports::{FileStore, Mailer};
use gatehouse_domain::secret::{OsRandomness, Randomness};
use gatehouse_domain::types::{EmailAddress, OrgDomain, PersonName};
use gatehouse_domain::usecase::bootstrap::{bootstrap_org, BootstrapOutcome, BootstrapRequest};
use gatehouse_domain::{Config, Services};
use gatehouse_embedded::{EmbeddedItems, FileOutbox, LocalFiles};
use gatehouse_store::{ItemStore, Records};
use serde_json::{json, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Embedded,
    Aws,
}

pub const PUBLIC_URL: &str = "https://app.gatehouse.test";
pub const ADMIN_PASSWORD: &str = "correct horse battery staple";
pub const SENDER: &str = "Gatehouse <no-reply@gatehouse.test>";

/// Where moto listens. Tests needing it fail loudly, never skip, when it is not there.
pub fn aws_endpoint() -> String {
    std::env::var("GATEHOUSE_TEST_AWS_ENDPOINT")
        .expect("GATEHOUSE_TEST_AWS_ENDPOINT is not set: run the tests with ./scripts/test, which starts moto's server")
}

pub async fn aws_config() -> aws_config::SdkConfig {
    aws_config_in("us-east-1").await
}

/// The moto configuration in `region`: moto copies a region's every table on each DynamoDB
/// transaction, so a test writing many items keeps to a region of its own.
pub async fn aws_config_in(region: &'static str) -> aws_config::SdkConfig {
    aws_config_at(&aws_endpoint(), region).await
}

/// [`aws_config_in`] for clients that call `endpoint` (a fault-injecting proxy, say).
pub async fn aws_config_at(endpoint: &str, region: &'static str) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .retry_config(test_retries(3))
        .region(aws_config::Region::new(region))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "testing", "testing", None, None, "tests",
        ))
        .load()
        .await
}

/// The SDK's standard retries, as deployed (`attempts` tries in all), with short waits: the
/// suites that inject faults would otherwise spend minutes in back-off.
fn test_retries(attempts: u32) -> aws_config::retry::RetryConfig {
    aws_config::retry::RetryConfig::standard()
        .with_max_attempts(attempts)
        .with_initial_backoff(Duration::from_millis(5))
        .with_max_backoff(Duration::from_millis(100))
}

/// A random hex suffix; moto's state is shared by every test, so names and addresses carry one.
pub fn unique(prefix: &str) -> String {
    let id = (&OsRandomness as &dyn Randomness).user_id();
    format!("{prefix}{}", &id.as_str()[..12])
}

/// An address no other test uses.
pub fn unique_email(name: &str, domain: &str) -> String {
    format!("{}@{domain}", unique(&format!("{name}.")))
}

/// A DynamoDB client on moto counting its requests, and a fresh table.
pub async fn dynamo_table() -> (Arc<DynamoItems>, RequestCounter) {
    dynamo_table_in("us-east-1").await
}

/// [`dynamo_table`] in `region`.
pub async fn dynamo_table_in(region: &'static str) -> (Arc<DynamoItems>, RequestCounter) {
    dynamo_table_at(&aws_endpoint(), region).await
}

/// [`dynamo_table_in`] through `endpoint`.
pub async fn dynamo_table_at(
    endpoint: &str,
    region: &'static str,
) -> (Arc<DynamoItems>, RequestCounter) {
    let config = aws_config_at(endpoint, region).await;
    let counter = RequestCounter::default();
    let conf = aws_sdk_dynamodb::config::Builder::from(&config)
        .retry_config(test_retries(gatehouse_aws::DYNAMO_ATTEMPTS))
        .interceptor(counter.clone())
        .build();
    let client = aws_sdk_dynamodb::Client::from_conf(conf);
    let table = unique("gatehouse-test-");
    create_table(&client, &table)
        .await
        .expect("create the test table on moto");
    counter.take();
    (Arc::new(DynamoItems::new(client, table)), counter)
}

/// An SES v2 client on moto with the sender's domain verified.
pub async fn ses_mailer(from: &str) -> SesMailer {
    ses_mailer_at(&aws_endpoint(), from).await
}

/// [`ses_mailer`] through `endpoint`, with the deployed client's attempts and timeouts
/// ([`gatehouse_aws::ses::ses_client`]) and the tests' short back-off.
pub async fn ses_mailer_at(endpoint: &str, from: &str) -> SesMailer {
    let config = aws_config_at(endpoint, "us-east-1").await;
    let client = gatehouse_aws::ses::ses_client(&config);
    // Creating an identity that exists fails; that is fine, it is verified either way.
    let _ = client
        .create_email_identity()
        .email_identity("gatehouse.test")
        .send()
        .await;
    SesMailer::new(client, from, None)
}

/// One organisation on a fresh backend, its admin signed in.
/// One key set for every bundle of a test binary: RSA key generation takes a while.
pub fn test_signing_keys() -> Arc<KeySet> {
    static KEYS: std::sync::OnceLock<Arc<KeySet>> = std::sync::OnceLock::new();
    KEYS.get_or_init(|| {
        Arc::new(
            KeySet::first(
                &OsRandomness,
                gatehouse_domain::clock::Timestamp::from_unix_seconds(0),
            )
            .expect("a key set"),
        )
    })
    .clone()
}

/// An account [`Bundle::account`] made: its first session's token, its id and its email.
pub struct Account {
    pub token: String,
    pub id: String,
    pub email: String,
}

/// The password of the accounts [`Bundle::account`] makes.
pub const PASSWORD: &str = "the cat sat on the mat";

pub struct Bundle {
    pub backend: Backend,
    pub gateway: Gateway,
    pub services: Services,
    pub clock: Arc<FixedClock>,
    /// What the use cases counted (CloudWatch metrics when deployed).
    pub metrics: Arc<RecordedMetrics>,
    pub mailbox: Mailbox,
    pub org: OrgDomain,
    pub admin_email: String,
    pub admin_token: String,
    /// DynamoDB requests by operation (AWS backend only).
    pub dynamo_requests: Option<RequestCounter>,
    /// Where uploads, reports and exports are kept and fetched from.
    pub files: FileHost,
    _dir: tempfile::TempDir,
}

impl Bundle {
    pub async fn start(backend: Backend) -> Self {
        Self::start_with(backend, |mailer| mailer).await
    }

    /// `wrap` gets the backend's real mailer and answers the one to use (one that fails, say).
    pub async fn start_with(
        backend: Backend,
        wrap: impl FnOnce(Arc<dyn Mailer>) -> Arc<dyn Mailer>,
    ) -> Self {
        Self::start_wrapped(backend, wrap, |items| items).await
    }

    /// [`Bundle::start_with`], and `wrap_items` gets the backend's item store and answers the one
    /// to use (one that fails after a while, say).
    pub async fn start_wrapped(
        backend: Backend,
        wrap: impl FnOnce(Arc<dyn Mailer>) -> Arc<dyn Mailer>,
        wrap_items: impl FnOnce(Arc<dyn ItemStore>) -> Arc<dyn ItemStore>,
    ) -> Self {
        Self::start_in("us-east-1", backend, wrap, wrap_items).await
    }

    /// [`Bundle::start_wrapped`] with the DynamoDB table in `region` (AWS backend).
    pub async fn start_in(
        region: &'static str,
        backend: Backend,
        wrap: impl FnOnce(Arc<dyn Mailer>) -> Arc<dyn Mailer>,
        wrap_items: impl FnOnce(Arc<dyn ItemStore>) -> Arc<dyn ItemStore>,
    ) -> Self {
        Self::start_at(&aws_endpoint(), region, backend, wrap, wrap_items).await
    }

    /// On the AWS backend, with every AWS client calling `endpoint` (a [`FaultyAws`] proxy);
    /// the mailbox still reads moto directly.
    pub async fn start_through(
        endpoint: &str,
        region: &'static str,
        wrap_items: impl FnOnce(Arc<dyn ItemStore>) -> Arc<dyn ItemStore>,
    ) -> Self {
        Self::start_at(endpoint, region, Backend::Aws, |m| m, wrap_items).await
    }

    async fn start_at(
        endpoint: &str,
        region: &'static str,
        backend: Backend,
        wrap: impl FnOnce(Arc<dyn Mailer>) -> Arc<dyn Mailer>,
        wrap_items: impl FnOnce(Arc<dyn ItemStore>) -> Arc<dyn ItemStore>,
    ) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let (items, real_mailer, mailbox, counter): (
            Arc<dyn ItemStore>,
            Arc<dyn Mailer>,
            Mailbox,
            _,
        ) = match backend {
            Backend::Embedded => {
                let outbox_dir = dir.path().join("outbox");
                let outbox = FileOutbox::new(&outbox_dir, SENDER, false).expect("outbox");
                let items = EmbeddedItems::open(&dir.path().join("gatehouse.redb")).expect("store");
                (
                    Arc::new(items),
                    Arc::new(outbox),
                    Mailbox::Outbox(outbox_dir),
                    None,
                )
            }
            Backend::Aws => {
                let (items, counter) = dynamo_table_at(endpoint, region).await;
                let mailer = ses_mailer_at(endpoint, SENDER).await;
                (
                    items,
                    Arc::new(mailer),
                    Mailbox::Moto(aws_endpoint()),
                    Some(counter),
                )
            }
        };
        let clock = Arc::new(FixedClock::at(SystemClock.now()));
        let (file_store, local_files, bucket): (Arc<dyn FileStore>, _, _) = match backend {
            Backend::Embedded => {
                let files = Arc::new(
                    LocalFiles::new(&dir.path().join("files"), LOCAL_FILES_URL, [9; 32])
                        .expect("files"),
                );
                (files.clone(), Some(files), None)
            }
            Backend::Aws => {
                let client = S3Files::client(&aws_config_at(endpoint, "us-east-1").await);
                let bucket = unique("gatehouse-test-");
                client
                    .create_bucket()
                    .bucket(&bucket)
                    .send()
                    .await
                    .expect("create the test bucket on moto");
                (Arc::new(S3Files::new(client, &bucket)), None, Some(bucket))
            }
        };
        let metrics = Arc::new(RecordedMetrics::default());
        let services = Services {
            store: Arc::new(Records::new(wrap_items(items))),
            // Counted as deployed: what the mailer sends or fails becomes EmailsSent/EmailsFailed.
            mailer: Arc::new(CountedMailer::new(wrap(real_mailer), metrics.clone())),
            files: file_store,
            clock: clock.clone(),
            metrics: metrics.clone(),
            random: Arc::new(OsRandomness),
            passwords: PasswordHashing::default(),
            access_codes: AccessCodeKeys::from_text(&AccessCodeKeys::generate_secret(
                &OsRandomness,
            ))
            .expect("key"),
            signing_keys: Arc::new(FixedSigningKeys(test_signing_keys())),
            passkeys: gatehouse_passkeys::ceremonies_for(PUBLIC_URL),
            config: Config::new(PUBLIC_URL),
        };
        let org = OrgDomain::parse("demo").expect("slug");
        let admin_email = unique_email("admin", "example.com");
        let outcome = bootstrap_org(
            &services,
            BootstrapRequest {
                domain: org.clone(),
                admin_email: EmailAddress::parse(&admin_email).expect("email"),
                admin_password: ADMIN_PASSWORD.into(),
                first_name: PersonName::parse("Ada").expect("name"),
                last_name: PersonName::parse("Admin").expect("name"),
                display_name: None,
            },
        )
        .await
        .expect("bootstrap");
        assert!(matches!(outcome, BootstrapOutcome::Created { .. }));
        let gateway = Gateway::new(services.clone());
        let signed_in = gateway
            .post(
                "/v1/orgs/demo/sign-in",
                None,
                json!({"identifier": admin_email, "password": ADMIN_PASSWORD}),
            )
            .await;
        assert_eq!(signed_in.status, 200, "{signed_in:?}");
        let admin_token = signed_in.json["token"].as_str().expect("token").to_string();
        if let Some(c) = &counter {
            c.take();
        }
        let files = match (local_files, bucket) {
            (Some(local), _) => {
                FileHost::Local(gatehouse_local::files_routes(local, services.clone()))
            }
            (None, Some(bucket)) => FileHost::S3 { bucket },
            (None, None) => unreachable!("each backend keeps its files somewhere"),
        };
        Self {
            files,
            backend,
            gateway,
            services,
            clock,
            metrics,
            mailbox,
            org,
            admin_email,
            admin_token,
            dynamo_requests: counter,
            _dir: dir,
        }
    }

    /// Starts an import as the admin; answers its id and upload URL.
    pub async fn start_import(&self, dry_run: bool) -> (String, String) {
        let reply = self
            .gateway
            .post(
                "/v1/orgs/demo/imports",
                Some(&self.admin_token),
                json!({ "dry_run": dry_run }),
            )
            .await;
        assert_eq!(reply.status, 201, "{reply:?}");
        (
            reply.json["import_id"].as_str().expect("id").to_string(),
            reply.json["upload_url"].as_str().expect("url").to_string(),
        )
    }

    /// PUTs `bytes` to an upload URL, as a browser would. On S3, S3's notification follows: the
    /// `bulk-import` function gets the event (its outcome is answered; locally the server starts
    /// the import itself, in the background, and `None` is answered).
    pub async fn upload(
        &self,
        url: &str,
        bytes: Vec<u8>,
    ) -> (
        FileReply,
        Option<Result<Vec<gatehouse_bulk_import::Outcome>, String>>,
    ) {
        let size = bytes.len();
        let reply = self.files.send("PUT", url, bytes).await;
        let delivered = match &self.files {
            FileHost::S3 { bucket } if reply.status == 200 => {
                let key = s3_key(url, bucket);
                Some(self.deliver_upload_event(&key, size).await)
            }
            _ => None,
        };
        (reply, delivered)
    }

    /// PUTs `bytes` to an S3 upload URL and answers the object's key; no event is delivered
    /// (see [`Bundle::deliver_upload_event`]).
    pub async fn upload_to_s3(&self, url: &str, bytes: Vec<u8>) -> String {
        let FileHost::S3 { bucket } = &self.files else {
            panic!("uploads to S3 are the AWS backend's")
        };
        let put = self.files.send("PUT", url, bytes).await;
        assert_eq!(put.status, 200, "{put:?}");
        s3_key(url, bucket)
    }

    /// What S3 would send the `bulk-import` function for an upload of `key`, delivered.
    pub async fn deliver_upload_event(
        &self,
        key: &str,
        size: usize,
    ) -> Result<Vec<gatehouse_bulk_import::Outcome>, String> {
        let FileHost::S3 { bucket } = &self.files else {
            panic!("S3 events are the AWS backend's")
        };
        let event: aws_lambda_events::event::s3::S3Event =
            serde_json::from_value(s3_put_event(bucket, key, size)).expect("an S3 event");
        gatehouse_bulk_import::handle(&self.services, &event)
            .await
            .map_err(|e| e.to_string())
    }

    /// GETs a file URL (a report, an export) as a browser would.
    pub async fn download(&self, url: &str) -> FileReply {
        self.files.send("GET", url, Vec::new()).await
    }

    /// Polls the import until it is neither waiting for its file nor processing (at most a minute).
    pub async fn finished_import(&self, id: &str) -> Reply {
        let path = format!("/v1/orgs/demo/imports/{id}");
        for _ in 0..600 {
            let reply = self.gateway.get(&path, Some(&self.admin_token)).await;
            assert_eq!(reply.status, 200, "{reply:?}");
            match reply.json["status"].as_str() {
                Some("waiting_upload" | "processing") => {
                    tokio::time::sleep(Duration::from_millis(100)).await
                }
                _ => return reply,
            }
        }
        panic!("the import {id} did not finish within a minute")
    }

    /// Every file the bundle's bucket holds now, by key (the local run's directory, or the
    /// test's S3 bucket on moto).
    pub async fn stored_files(&self) -> Vec<(String, Vec<u8>)> {
        let mut found = Vec::new();
        match &self.files {
            FileHost::Local(_) => {
                let root = self._dir.path().join("files");
                let mut dirs = vec![root.clone()];
                while let Some(dir) = dirs.pop() {
                    let Ok(entries) = std::fs::read_dir(&dir) else {
                        continue;
                    };
                    for entry in entries.flatten() {
                        let path = entry.path();
                        if path.is_dir() {
                            dirs.push(path);
                        } else {
                            let key = path.strip_prefix(&root).unwrap().to_string_lossy();
                            found.push((key.into_owned(), std::fs::read(&path).unwrap()));
                        }
                    }
                }
            }
            FileHost::S3 { bucket } => {
                let client = S3Files::client(&aws_config().await);
                let listed = client
                    .list_objects_v2()
                    .bucket(bucket)
                    .send()
                    .await
                    .expect("list the test bucket");
                for object in listed.contents() {
                    let key = object.key().unwrap_or_default().to_string();
                    let body = client
                        .get_object()
                        .bucket(bucket)
                        .key(&key)
                        .send()
                        .await
                        .expect("a listed object");
                    let bytes = body.body.collect().await.expect("its body").into_bytes();
                    found.push((key, bytes.to_vec()));
                }
            }
        }
        found.sort();
        found
    }

    pub fn advance(&self, by: Duration) {
        self.clock.advance(by);
    }

    pub async fn org_record(&self) -> Org {
        self.services
            .store
            .org(&self.org)
            .await
            .expect("store")
            .expect("org")
    }

    pub async fn update_org(&self, change: impl FnOnce(&mut Org)) {
        let mut org = self.org_record().await;
        change(&mut org);
        self.services
            .store
            .update_org(&org, &gatehouse_domain::events::ChangeEvents::none())
            .await
            .expect("update org");
    }

    /// A fresh address for this test's invitees.
    pub fn email(&self, name: &str) -> String {
        unique_email(name, "example.com")
    }

    /// Creates a group as the admin and answers its id.
    pub async fn group(&self, name: &str) -> String {
        let reply = self
            .gateway
            .post(
                "/v1/orgs/demo/groups",
                Some(&self.admin_token),
                json!({ "name": name }),
            )
            .await;
        assert_eq!(reply.status, 201, "{reply:?}");
        reply.json["id"].as_str().expect("id").to_string()
    }

    /// The org's default groups.
    pub async fn default_groups(&self) -> Vec<String> {
        self.org_record()
            .await
            .settings
            .default_groups
            .iter()
            .map(|g| g.to_string())
            .collect()
    }

    /// Invites by email as the admin.
    pub async fn invite(&self, email: &str, role: &str, groups: &[String]) -> Reply {
        self.gateway
            .post(
                "/v1/orgs/demo/invitations",
                Some(&self.admin_token),
                json!({"email": email, "role": role, "first_name": "Alice", "last_name": "Liddell", "groups": groups}),
            )
            .await
    }

    /// An account of the organisation, invited by the admin by email as `role` and signed up with
    /// [`PASSWORD`].
    pub async fn account(&self, name: &str, role: &str) -> Account {
        let email = self.email(name);
        let invited = self.invite(&email, role, &[]).await;
        assert_eq!(invited.status, 201, "{invited:?}");
        let token = self.sign_up_token(&email).await;
        let signed_up = self.sign_up(&token, PASSWORD).await;
        assert_eq!(signed_up.status, 201, "{signed_up:?}");
        Account {
            token: signed_up.json["token"].as_str().unwrap().to_string(),
            id: signed_up.json["user"]["id"].as_str().unwrap().to_string(),
            email,
        }
    }

    /// Signs in with an identifier (email or `uid:domain`) and a password.
    pub async fn sign_in(&self, identifier: &str, password: &str) -> Reply {
        self.gateway
            .post(
                "/v1/orgs/demo/sign-in",
                None,
                json!({ "identifier": identifier, "password": password }),
            )
            .await
    }

    /// Revokes invitation `id` as the admin; answers the reply.
    pub async fn revoke(&self, id: &str) -> Reply {
        self.gateway
            .send(
                "DELETE",
                &format!("/v1/orgs/demo/invitations/{id}"),
                Some(&self.admin_token),
                None,
            )
            .await
    }

    /// Signs in from the client address `client` (API Gateway's `sourceIp`).
    pub async fn sign_in_from(&self, client: &str, identifier: &str, password: &str) -> Reply {
        self.gateway
            .post_from(
                client,
                "/v1/orgs/demo/sign-in",
                None,
                json!({ "identifier": identifier, "password": password }),
            )
            .await
    }

    /// Signs up with an email invitation's link token.
    pub async fn sign_up(&self, token: &str, password: &str) -> Reply {
        self.gateway
            .post(
                "/v1/orgs/demo/sign-up/email",
                None,
                json!({ "token": token, "password": password }),
            )
            .await
    }

    /// Changes the organisation's settings as the admin; they must be taken.
    pub async fn change_settings(&self, settings: Value) -> Reply {
        let reply = self
            .gateway
            .send(
                "PATCH",
                "/v1/orgs/demo/settings",
                Some(&self.admin_token),
                Some(settings.to_string()),
            )
            .await;
        assert_eq!(reply.status, 200, "{reply:?}");
        reply
    }

    /// Turns on `sign_up_without_email` as the admin.
    pub async fn set_without_email(&self, on: bool) {
        let reply = self
            .change_settings(json!({ "sign_up_without_email": on }))
            .await;
        assert_eq!(reply.json["sign_up_without_email"], json!(on));
    }

    /// Invites by identifier as the admin.
    pub async fn invite_uid(&self, uid: &str, role: &str, groups: &[String]) -> Reply {
        self.gateway
            .post(
                "/v1/orgs/demo/invitations",
                Some(&self.admin_token),
                json!({"uid": uid, "role": role, "first_name": "Erin", "last_name": "Employee", "groups": groups}),
            )
            .await
    }

    /// The token of the newest link mailed to `email` (sign-up or password reset).
    pub async fn sign_up_token(&self, email: &str) -> String {
        let mails = self.mailbox.messages_to(email).await;
        let mail = mails.last().unwrap_or_else(|| panic!("no mail to {email}"));
        mail.link_token()
            .unwrap_or_else(|| panic!("no sign-up link in {mail:?}"))
    }

    /// A second organisation, `other`, bootstrapped on the same store, and its admin's session
    /// token: for tenant isolation (its session is none in `demo`, `demo`'s records none there).
    pub async fn other_org_admin(&self) -> String {
        let root = self.email("root");
        let password = "a wholly different passphrase";
        let outcome = bootstrap_org(
            &self.services,
            BootstrapRequest {
                domain: OrgDomain::parse("other").expect("slug"),
                admin_email: EmailAddress::parse(&root).expect("email"),
                admin_password: password.into(),
                first_name: PersonName::parse("Other").expect("name"),
                last_name: PersonName::parse("Admin").expect("name"),
                display_name: None,
            },
        )
        .await
        .expect("bootstrap");
        assert!(matches!(outcome, BootstrapOutcome::Created { .. }));
        let signed_in = self
            .gateway
            .post(
                "/v1/orgs/other/sign-in",
                None,
                json!({"identifier": root, "password": password}),
            )
            .await;
        assert_eq!(signed_in.status, 200, "{signed_in:?}");
        signed_in.json["token"].as_str().expect("token").to_string()
    }

    pub async fn invitation_count(&self) -> usize {
        self.invitation_count_as(&self.admin_token).await
    }

    pub async fn invitation_count_as(&self, admin_token: &str) -> usize {
        let reply = self
            .gateway
            .get("/v1/orgs/demo/invitations?limit=100", Some(admin_token))
            .await;
        assert_eq!(reply.status, 200, "{reply:?}");
        reply.json["items"].as_array().map(Vec::len).unwrap_or(0)
    }
}

/// Declares each named `async fn(Backend)` as two tests, one per backend.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod embedded {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    super::$name($crate::Backend::Embedded).await
                }
            )*
        }
        mod aws {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    super::$name($crate::Backend::Aws).await
                }
            )*
        }
    };
}

/// An xlsx with the template's Email, First name and Last name columns, a row for each of
/// `emails` ("Bulk Invitee").
pub fn import_sheet(emails: &[String]) -> Vec<u8> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (col, header) in ["Email", "First name", "Last name"].iter().enumerate() {
        sheet
            .write_string(0, col as u16, *header)
            .expect("a header");
    }
    for (row, email) in emails.iter().enumerate() {
        let row = row as u32 + 1;
        sheet.write_string(row, 0, email).expect("a cell");
        sheet.write_string(row, 1, "Bulk").expect("a cell");
        sheet.write_string(row, 2, "Invitee").expect("a cell");
    }
    book.save_to_buffer().expect("an xlsx")
}

/// Whether an HTML body links to a URL containing `fragment` (entities undone).
pub fn mail_html_contains_link(html: &str, fragment: &str) -> bool {
    mail::unescape_html(html).contains(fragment)
}

/// The object key of a path-style presigned S3 URL (`{endpoint}/{bucket}/{key}?…`).
pub fn s3_key(url: &str, bucket: &str) -> String {
    let path = url.split('?').next().unwrap_or(url);
    let marker = format!("/{bucket}/");
    let at = path.find(&marker).expect("a path-style URL") + marker.len();
    path[at..].to_string()
}

/// An item store that stops writing, as a process that died would, once armed: after `writes`
/// more successful writes every write fails (nothing written). Reads go on.
pub struct DyingItems {
    inner: Arc<dyn ItemStore>,
    /// Writes still allowed; negative: not armed.
    left: std::sync::atomic::AtomicI64,
    failed: std::sync::atomic::AtomicUsize,
}

impl DyingItems {
    pub fn new(inner: Arc<dyn ItemStore>) -> Self {
        Self {
            inner,
            left: std::sync::atomic::AtomicI64::new(-1),
            failed: std::sync::atomic::AtomicUsize::new(0),
        }
    }

    /// How many writes failed because the store was dead.
    pub fn failed_writes(&self) -> usize {
        self.failed.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// From now on, `writes` more writes succeed, then every write fails.
    pub fn die_after(&self, writes: i64) {
        self.left.store(writes, std::sync::atomic::Ordering::SeqCst);
    }

    /// Back to life: writes succeed again.
    pub fn revive(&self) {
        self.left.store(-1, std::sync::atomic::Ordering::SeqCst);
    }
}

#[async_trait::async_trait]
impl ItemStore for DyingItems {
    async fn get(
        &self,
        key: &gatehouse_store::Key,
    ) -> Result<Option<gatehouse_store::Item>, gatehouse_store::ItemError> {
        self.inner.get(key).await
    }
    async fn get_many(
        &self,
        keys: &[gatehouse_store::Key],
    ) -> Result<Vec<Option<gatehouse_store::Item>>, gatehouse_store::ItemError> {
        self.inner.get_many(keys).await
    }
    async fn query(
        &self,
        query: &gatehouse_store::Query,
    ) -> Result<gatehouse_store::QueryPage, gatehouse_store::ItemError> {
        self.inner.query(query).await
    }
    async fn write(
        &self,
        writes: Vec<gatehouse_store::Write>,
    ) -> Result<(), gatehouse_store::ItemError> {
        use std::sync::atomic::Ordering;
        let left = self.left.load(Ordering::SeqCst);
        if left == 0 {
            self.failed.fetch_add(1, Ordering::SeqCst);
            return Err(gatehouse_store::ItemError::Backend(
                "the process died".into(),
            ));
        }
        if left > 0 {
            self.left.fetch_sub(1, Ordering::SeqCst);
        }
        self.inner.write(writes).await
    }
}
