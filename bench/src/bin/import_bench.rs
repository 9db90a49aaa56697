//! Bulk import and export, measured in process on the very use cases the functions run:
//!
//! - `parse`: reading a 500-row upload (`gatehouse_sheets::Sheets`, calamine underneath) next to
//!   calamine's own read of the same file, interleaved, medians;
//! - `import embedded|moto`: whole imports (file read, one batched lookup, classification,
//!   invitations written, mails, deliveries recorded, report written) at 50 and 500 rows and
//!   5,000 as ten files of 500, with every AWS request counted by service and operation on moto
//!   (DynamoDB, SES v2 and S3 through the SDK with an interceptor); `moto-paced` one 500-row
//!   import with SES paced at 14 sends a second (SES's default quota);
//! - `export embedded|moto N`: N invitations loaded, then the export run in a child process (the
//!   export function's work alone: its store reads, the streamed sheet, the file written), whose
//!   time and peak RSS (`VmHWM`) are reported.
//!
//! - `cleanup embedded|moto N`: N pending invitations (sent one by one, and N more by bulk
//!   imports of 500), then the scheduled cleanup run at each point of their life — the four
//!   reminders (days 1, 2, 7, 14), the expiry noted (day 30) and the removal (day 60) — with its
//!   time and every AWS request counted.
//!
//! `scripts/bench-imports` builds this in release mode, starts moto and runs every mode.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use async_trait::async_trait;
use gatehouse_aws::{create_table, DynamoItems, RequestCounter, S3Files, SesMailer};
use gatehouse_bench::{memory_kib, mib, ms, percentiles};
use gatehouse_domain::access_code::{AccessCode, AccessCodeKeys};
use gatehouse_domain::clock::SystemClock;
use gatehouse_domain::model::{
    Delivery, Import, ImportCounts, ImportState, Invitation, InvitationState, Invitee,
};
use gatehouse_domain::password::PasswordHashing;
use gatehouse_domain::ports::{FileStore, ImportProgress, Mailer, INVITATIONS_PER_WRITE};
use gatehouse_domain::secret::{OsRandomness, Randomness, SecretToken, SessionToken};
use gatehouse_domain::services::Config;
use gatehouse_domain::types::{
    EmailAddress, GroupName, InviteeRole, OrgDomain, PersonName, Uid, UserId,
};
use gatehouse_domain::usecase::bootstrap::{bootstrap_org, BootstrapRequest};
use gatehouse_domain::usecase::bulk_import::{run_import, Ran, Spreadsheets};
use gatehouse_domain::usecase::export::export_invitations;
use gatehouse_domain::usecase::imports::{request_import, upload_key};
use gatehouse_domain::usecase::sign_in::{sign_in, SignInRequest};
use gatehouse_domain::usecase::ClientAddress;
use gatehouse_domain::Services;
use gatehouse_embedded::{EmbeddedItems, FileOutbox, LocalFiles};
use gatehouse_store::Records;
use gatehouse_store::{Item, ItemError, ItemStore, Key, Query, QueryPage, Write};

const ADMIN: &str = "admin@example.com";
const ADMIN_PASSWORD: &str = "a very long bootstrap phrase";
const FROM: &str = "Gatehouse <no-reply@gatehouse.test>";
const PUBLIC_URL: &str = "https://app.gatehouse.test";
/// moto copies every table of a region on each transaction: the bench keeps to a region of its own.
const REGION: &str = "ap-southeast-2";
const GROUPS: [&str; 3] = ["Engineering", "Sales", "Support"];

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |n: usize| args.get(n).map(String::as_str).unwrap_or("");
    match (arg(0), arg(1)) {
        ("parse", _) => parse(),
        ("import", "embedded") => imports(Backend::Embedded, None).await,
        ("import", "moto") => imports(Backend::Moto, None).await,
        ("import", "moto-paced") => imports(Backend::Moto, Some(14.0)).await,
        ("export", backend) => {
            let backend = match backend {
                "embedded" => Backend::Embedded,
                "moto" => Backend::Moto,
                other => bail!("unknown backend {other:?}: embedded or moto"),
            };
            let counts: Vec<usize> = args[2..]
                .iter()
                .map(|n| n.parse().context("a number of invitations"))
                .collect::<Result<_, _>>()?;
            export(backend, &counts).await
        }
        ("export-child", _) => export_child(&args[1..]).await,
        ("cleanup", backend) => {
            let backend = match backend {
                "embedded" => Backend::Embedded,
                "moto" => Backend::Moto,
                other => bail!("unknown backend {other:?}: embedded or moto"),
            };
            let n = args
                .get(2)
                .map(|n| n.parse().context("a number of invitations"))
                .transpose()?
                .unwrap_or(1_000);
            cleanup(backend, n).await
        }
        ("sheet", rows) => sheet_alone(rows.parse().context("a number of rows")?),
        _ => bail!(
            "usage: import_bench parse | import embedded|moto|moto-paced | export embedded|moto N… | cleanup embedded|moto [N]"
        ),
    }
}

// ---------------------------------------------------------------------------------------------
// Files

/// An upload as an admin fills it in: email, names and one or two groups by name.
fn upload(prefix: &str, rows: usize) -> anyhow::Result<Vec<u8>> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (col, header) in ["Email", "First name", "Last name", "Groups"]
        .iter()
        .enumerate()
    {
        sheet.write_string(0, col as u16, *header)?;
    }
    for n in 0..rows {
        let row = n as u32 + 1;
        sheet.write_string(row, 0, format!("{prefix}.{n}@example.com"))?;
        sheet.write_string(row, 1, format!("Firstname{n}"))?;
        sheet.write_string(row, 2, "Lastname-Ünïcode")?;
        let groups = match n % 3 {
            0 => GROUPS[0].to_string(),
            1 => format!("{}, {}", GROUPS[1], GROUPS[2]),
            _ => String::new(),
        };
        if !groups.is_empty() {
            sheet.write_string(row, 3, groups)?;
        }
    }
    Ok(book.save_to_buffer()?)
}

fn parse() -> anyhow::Result<()> {
    let file = upload("parse", 500)?;
    let rounds = 51;
    let mut ours = Vec::with_capacity(rounds);
    let mut raw = Vec::with_capacity(rounds);
    for round in 0..rounds {
        // Alternate which goes first, so neither always finds the caches warm.
        for which in [round % 2, 1 - round % 2] {
            let start = Instant::now();
            if which == 0 {
                let rows = gatehouse_sheets::Sheets
                    .read(&file)
                    .map_err(|r| anyhow::anyhow!("{}: {}", r.code, r.message))?;
                assert_eq!(rows.len(), 500);
                ours.push(start.elapsed());
            } else {
                use calamine::Reader;
                let mut book =
                    calamine::open_workbook_auto_from_rs(std::io::Cursor::new(file.as_slice()))?;
                let first = book.sheet_names()[0].clone();
                let range = book.worksheet_range(&first)?;
                assert_eq!(range.height(), 501);
                raw.push(start.elapsed());
            }
        }
    }
    let (ours50, ours95) = percentiles(ours);
    let (raw50, raw95) = percentiles(raw);
    println!(
        "parse a 500-row xlsx ({} bytes), median [p95] of {rounds} rounds, interleaved",
        file.len()
    );
    println!(
        "  Sheets::read (calamine + header matching + cells to rows): {:.3} ms [{:.3}]",
        ms(ours50),
        ms(ours95)
    );
    println!(
        "  calamine open + worksheet_range alone:                     {:.3} ms [{:.3}]",
        ms(raw50),
        ms(raw95)
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Backends

#[derive(Clone, Copy, PartialEq)]
enum Backend {
    Embedded,
    Moto,
}

/// Every AWS request the services send, by service and operation.
#[derive(Default, Clone)]
struct AwsCounters {
    dynamo: RequestCounter,
    ses: RequestCounter,
    s3: RequestCounter,
}

impl AwsCounters {
    fn take(&self) -> BTreeMap<String, usize> {
        let mut all = BTreeMap::new();
        for (service, counter) in [
            ("DynamoDB", &self.dynamo),
            ("SES", &self.ses),
            ("S3", &self.s3),
        ] {
            for (op, n) in counter.take() {
                let op = if op == "unknown" {
                    "request".into()
                } else {
                    op
                };
                all.insert(format!("{service} {op}"), n);
            }
        }
        all
    }
}

/// One organisation with its admin signed in and three groups, on a fresh store.
struct Setup {
    services: Services,
    org: OrgDomain,
    token: SessionToken,
    admin: UserId,
    counters: Option<AwsCounters>,
    /// The item store under `services.store`.
    items: Arc<dyn ItemStore>,
    /// The environment a child process needs to open the same store and files.
    child_env: Vec<(String, String)>,
    dir: tempfile::TempDir,
}

fn endpoint() -> anyhow::Result<String> {
    std::env::var("AWS_ENDPOINT_URL")
        .context("AWS_ENDPOINT_URL: the moto server (scripts/bench-imports starts one)")
}

async fn aws_config() -> anyhow::Result<aws_config::SdkConfig> {
    Ok(aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint()?)
        .region(aws_config::Region::new(REGION))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "testing", "testing", None, None, "bench",
        ))
        .load()
        .await)
}

fn suffix() -> String {
    (&OsRandomness as &dyn Randomness).user_id().as_str()[..10].to_lowercase()
}

type Backends = (
    Arc<dyn ItemStore>,
    Arc<dyn Mailer>,
    Arc<dyn FileStore>,
    Option<AwsCounters>,
);

async fn setup(backend: Backend, paced: Option<f64>) -> anyhow::Result<Setup> {
    let dir = tempfile::tempdir()?;
    let key = AccessCodeKeys::generate_secret(&OsRandomness);
    let mut child_env = vec![
        ("BENCH_ACCESS_CODE_KEY".to_string(), key.clone()),
        ("GATEHOUSE_MAIL_FROM".into(), FROM.into()),
        ("GATEHOUSE_PUBLIC_URL".into(), PUBLIC_URL.into()),
    ];
    let (items, mailer, files, counters): Backends = match backend {
        Backend::Embedded => {
            let store = dir.path().join("gatehouse.redb");
            let files = dir.path().join("files");
            child_env.push(("BENCH_STORE".into(), store.display().to_string()));
            child_env.push(("BENCH_FILES".into(), files.display().to_string()));
            (
                Arc::new(EmbeddedItems::open(&store)?),
                Arc::new(FileOutbox::new(&dir.path().join("outbox"), FROM, false)?),
                Arc::new(LocalFiles::new(&files, "http://127.0.0.1:8080", [7; 32])?),
                None,
            )
        }
        Backend::Moto => {
            let aws = aws_config().await?;
            let counters = AwsCounters::default();
            let dynamo = aws_sdk_dynamodb::Client::from_conf(
                aws_sdk_dynamodb::config::Builder::from(&aws)
                    .interceptor(counters.dynamo.clone())
                    .build(),
            );
            let table = format!("gatehouse-bench-{}", suffix());
            create_table(&dynamo, &table).await?;
            let ses = aws_sdk_sesv2::Client::from_conf(
                aws_sdk_sesv2::config::Builder::from(&aws)
                    .interceptor(counters.ses.clone())
                    .build(),
            );
            // moto sends only from a verified identity; it exists after the first run.
            let _ = ses
                .create_email_identity()
                .email_identity("gatehouse.test")
                .send()
                .await;
            let mut mailer = SesMailer::new(ses, FROM, None);
            if let Some(rate) = paced {
                mailer = mailer.with_max_send_rate(rate);
            }
            let s3 = aws_sdk_s3::Client::from_conf(
                aws_sdk_s3::config::Builder::from(&aws)
                    .force_path_style(true)
                    .interceptor(counters.s3.clone())
                    .build(),
            );
            let bucket = format!("gatehouse-bench-{}", suffix());
            s3.create_bucket()
                .bucket(&bucket)
                .create_bucket_configuration(
                    aws_sdk_s3::types::CreateBucketConfiguration::builder()
                        .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::from(
                            REGION,
                        ))
                        .build(),
                )
                .send()
                .await
                .context("create the bench bucket on moto")?;
            for (k, v) in [
                ("GATEHOUSE_TABLE", table.clone()),
                ("GATEHOUSE_BUCKET", bucket.clone()),
                ("AWS_ENDPOINT_URL", endpoint()?),
                ("AWS_REGION", REGION.into()),
                ("AWS_ACCESS_KEY_ID", "testing".into()),
                ("AWS_SECRET_ACCESS_KEY", "testing".into()),
            ] {
                child_env.push((k.into(), v));
            }
            counters.take();
            (
                Arc::new(DynamoItems::new(dynamo, table)),
                Arc::new(mailer),
                Arc::new(S3Files::new(s3, bucket)),
                Some(counters),
            )
        }
    };
    let services = Services {
        store: Arc::new(Records::new(items.clone())),
        mailer,
        files,
        clock: Arc::new(SystemClock),
        metrics: Arc::new(gatehouse_domain::metrics::NoMetrics),
        random: Arc::new(OsRandomness),
        passwords: PasswordHashing::default(),
        access_codes: AccessCodeKeys::from_text(&key)?,
        config: Config::new(PUBLIC_URL),
    };
    let org = OrgDomain::parse("demo")?;
    bootstrap_org(
        &services,
        BootstrapRequest {
            domain: org.clone(),
            admin_email: EmailAddress::parse(ADMIN)?,
            admin_password: ADMIN_PASSWORD.into(),
            first_name: PersonName::parse("Ada")?,
            last_name: PersonName::parse("Admin")?,
        },
    )
    .await?;
    let signed_in = sign_in(
        &services,
        &org,
        SignInRequest {
            identifier: ADMIN.into(),
            password: ADMIN_PASSWORD.into(),
        },
        &ClientAddress::new("192.0.2.1"),
    )
    .await
    .map_err(|e| anyhow::anyhow!("sign in: {e}"))?;
    for name in GROUPS {
        gatehouse_domain::usecase::groups::create_group(
            &services,
            &org,
            Some(&signed_in.token),
            GroupName::parse(name)?,
        )
        .await
        .map_err(|e| anyhow::anyhow!("create group: {e}"))?;
    }
    if let Some(c) = &counters {
        c.take();
    }
    Ok(Setup {
        services,
        org,
        admin: signed_in.user.id.clone(),
        token: signed_in.token,
        counters,
        items,
        child_env,
        dir,
    })
}

// ---------------------------------------------------------------------------------------------
// Imports

/// One whole import of `rows` new people: its time from the upload event to the end, and what it
/// sent to AWS.
async fn one_import(
    setup: &Setup,
    prefix: &str,
    rows: usize,
) -> anyhow::Result<(Duration, BTreeMap<String, usize>)> {
    let file = upload(prefix, rows)?;
    let ticket = request_import(&setup.services, &setup.org, Some(&setup.token), false)
        .await
        .map_err(|e| anyhow::anyhow!("request an import: {e}"))?;
    let key = upload_key(&setup.org, &ticket.import.id);
    setup
        .services
        .files
        .write(&key, file, "application/octet-stream")
        .await?;
    if let Some(c) = &setup.counters {
        c.take();
    }
    let start = Instant::now();
    let ran = run_import(
        &setup.services,
        &gatehouse_sheets::Sheets,
        &setup.org,
        &ticket.import.id,
    )
    .await
    .map_err(|e| anyhow::anyhow!("import: {e}"))?;
    let took = start.elapsed();
    let requests = setup
        .counters
        .as_ref()
        .map(|c| c.take())
        .unwrap_or_default();
    match ran {
        Ran::Finished(import) if import.counts.created as usize == rows => Ok((took, requests)),
        other => bail!("the import did not create {rows} invitations: {other:?}"),
    }
}

fn show_requests(requests: &BTreeMap<String, usize>) -> String {
    if requests.is_empty() {
        return "—".into();
    }
    let total: usize = requests.values().sum();
    let each: Vec<String> = requests.iter().map(|(op, n)| format!("{op} {n}")).collect();
    format!("{total}: {}", each.join(", "))
}

async fn imports(backend: Backend, paced: Option<f64>) -> anyhow::Result<()> {
    let name = match (backend, paced) {
        (Backend::Embedded, _) => "embedded store, file outbox, local files".to_string(),
        (Backend::Moto, None) => "DynamoDB, SES v2 and S3 on moto".into(),
        (Backend::Moto, Some(rate)) => {
            format!("DynamoDB, SES v2 and S3 on moto, SES paced at {rate}/s")
        }
    };
    println!("whole imports of new members by email ({name})");
    if paced.is_some() {
        let setup = setup(backend, paced).await?;
        let (took, requests) = one_import(&setup, "paced", 500).await?;
        println!(
            "  500 rows: {:.0} ms; requests {}",
            ms(took),
            show_requests(&requests)
        );
        return Ok(());
    }
    // A fresh store for each size, so that each starts alike.
    for rows in [50usize, 500] {
        let setup = setup(backend, None).await?;
        let (took, requests) = one_import(&setup, &format!("r{rows}"), rows).await?;
        println!(
            "  {rows:>5} rows, one file:  {:8.0} ms  {:6.2} ms/row; requests {}",
            ms(took),
            ms(took) / rows as f64,
            show_requests(&requests)
        );
    }
    let setup = setup(backend, None).await?;
    let mut total = Duration::ZERO;
    let mut each = Vec::new();
    let mut requests = BTreeMap::new();
    for file in 0..10 {
        let (took, used) = one_import(&setup, &format!("f{file}"), 500).await?;
        total += took;
        each.push(format!("{:.0}", ms(took)));
        for (op, n) in used {
            *requests.entry(op).or_insert(0) += n;
        }
    }
    println!(
        "  5,000 rows, ten files: {:8.0} ms  {:6.2} ms/row; each file {} ms; requests {}",
        ms(total),
        ms(total) / 5000.0,
        each.join(" / "),
        show_requests(&requests)
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Exports

/// Loads records fast: every put of a write goes in unconditionally, in batches (the bench's
/// invitations are new and distinct, so the conditions would hold).
struct Loader(Arc<dyn ItemStore>);

#[async_trait]
impl ItemStore for Loader {
    async fn get(&self, key: &Key) -> Result<Option<Item>, ItemError> {
        self.0.get(key).await
    }
    async fn query(&self, query: &Query) -> Result<QueryPage, ItemError> {
        self.0.query(query).await
    }
    async fn write(&self, writes: Vec<Write>) -> Result<(), ItemError> {
        let items = writes
            .into_iter()
            .filter_map(|w| match w {
                Write::Put { item, .. } => Some(item),
                _ => None,
            })
            .collect();
        self.0.put_many(items).await
    }
}

/// `count` invitations of the organisation as imports make them: nine in ten by email (a third
/// of them sent, some accepted or revoked), one in ten by identifier with its access code.
async fn load_invitations(
    setup: &Setup,
    items: Arc<dyn ItemStore>,
    count: usize,
) -> anyhow::Result<()> {
    let loader = Records::new(Arc::new(Loader(items)));
    let services = &setup.services;
    let now = services.clock.now();
    let groups: Vec<_> = services
        .store
        .groups(&setup.org)
        .await?
        .into_iter()
        .map(|g| g.id)
        .collect();
    let import = Import {
        id: services.random.import_id(now),
        org: setup.org.clone(),
        created_by: setup.admin.clone(),
        created_by_name: Some("Ada Admin".into()),
        created_at: now,
        upload_expires_at: now,
        dry_run: false,
        state: ImportState::WaitingUpload,
        counts: ImportCounts::default(),
        version: 0,
    };
    let tag = suffix();
    let mut made = 0;
    while made < count {
        let chunk: Vec<Invitation> = (made..count.min(made + INVITATIONS_PER_WRITE))
            .map(|n| invitation(setup, &tag, n, &groups, now))
            .collect::<anyhow::Result<_>>()?;
        use gatehouse_domain::ports::ImportStore;
        loader
            .create_invitations(
                &chunk,
                ImportProgress {
                    import: &import,
                    read_version: 0,
                },
            )
            .await?;
        made += chunk.len();
    }
    Ok(())
}

fn invitation(
    setup: &Setup,
    tag: &str,
    n: usize,
    groups: &[gatehouse_domain::types::GroupId],
    now: gatehouse_domain::clock::Timestamp,
) -> anyhow::Result<Invitation> {
    let services = &setup.services;
    let random = services.random.as_ref();
    let invitee = if n % 10 == 9 {
        let code = AccessCode::generate(random);
        Invitee::Uid {
            uid: Uid::parse(&format!("e{tag}{n:06}"))?,
            access_code: services.access_codes.seal(&code, random),
            code_hash: services.access_codes.lookup_hash(&code),
        }
    } else {
        Invitee::Email {
            email: EmailAddress::parse(&format!("x{tag}.{n}@example.com"))?,
            token_hash: SecretToken::generate(random).hash(),
        }
    };
    let state = match n % 50 {
        7 => InvitationState::Accepted {
            at: now,
            user_id: services.random.user_id(),
        },
        8 => InvitationState::Revoked { at: now },
        _ => InvitationState::Pending,
    };
    Ok(Invitation {
        id: services.random.invitation_id(now),
        org: setup.org.clone(),
        delivery: match &invitee {
            Invitee::Uid { .. } => Delivery::Manual,
            Invitee::Email { .. } if n.is_multiple_of(3) => Delivery::Queued,
            Invitee::Email { .. } => Delivery::Sent,
        },
        invitee,
        role: if n.is_multiple_of(20) {
            InviteeRole::Guest
        } else {
            InviteeRole::Member
        },
        first_name: PersonName::parse(&format!("Firstname{n}"))?,
        last_name: PersonName::parse("Lastname-Ünïcode")?,
        groups: groups.iter().take(n % 3).cloned().collect(),
        message: None,
        invited_by: Some(setup.admin.clone()),
        created_at: now,
        expires_at: now.plus(Duration::from_secs(7 * 86_400)),
        state,
        lifecycle: gatehouse_domain::lifecycle::Lifecycle::for_new(
            now,
            Some(setup.admin.clone()),
            None,
            Vec::new(),
        ),
        version: 0,
    })
}

async fn export(backend: Backend, counts: &[usize]) -> anyhow::Result<()> {
    let name = match backend {
        Backend::Embedded => "embedded store, local files",
        Backend::Moto => "DynamoDB and S3 on moto",
    };
    println!("exports ({name}); each run in a child process that opens the store afresh");
    for &count in counts {
        let setup = setup(backend, None).await?;
        let items = setup.items.clone();
        let loading = Instant::now();
        load_invitations(&setup, items, count).await?;
        let loaded = loading.elapsed();
        let env = setup.child_env.clone();
        let token = setup.token.expose();
        // The parent lets go of the embedded store (one process at a time opens it) but keeps
        // its folder until the child is done.
        let Setup {
            dir,
            services,
            items,
            ..
        } = setup;
        drop((services, items));
        let out = run_child(&env, &token)?;
        drop(dir);
        println!(
            "  {count:>7} invitations (loaded in {:.1} s): {out}",
            loaded.as_secs_f64()
        );
    }
    Ok(())
}

fn run_child(env: &[(String, String)], token: &str) -> anyhow::Result<String> {
    let out = std::process::Command::new(std::env::current_exe()?)
        .arg("export-child")
        .arg(token)
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .output()?;
    if !out.status.success() {
        bail!(
            "the export child failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// In the child: the services as the export function (or the local run) builds them, then one
/// export, timed, with the process's peak RSS before and after.
async fn export_child(args: &[String]) -> anyhow::Result<()> {
    let token = SessionToken::parse(args.first().context("a token")?)?;
    let services = match std::env::var("BENCH_STORE") {
        Ok(store) => {
            let files = std::env::var("BENCH_FILES")?;
            Services {
                store: Arc::new(Records::new(Arc::new(EmbeddedItems::open(Path::new(
                    &store,
                ))?))),
                // Exports send nothing.
                mailer: Arc::new(gatehouse_domain::services::NoMail),
                files: Arc::new(LocalFiles::new(
                    Path::new(&files),
                    "http://127.0.0.1:8080",
                    [7; 32],
                )?),
                clock: Arc::new(SystemClock),
                metrics: Arc::new(gatehouse_domain::metrics::NoMetrics),
                random: Arc::new(OsRandomness),
                passwords: PasswordHashing::default(),
                access_codes: AccessCodeKeys::from_text(&std::env::var("BENCH_ACCESS_CODE_KEY")?)?,
                config: Config::new(PUBLIC_URL),
            }
        }
        Err(_) => {
            // As the export function builds them, with the run's key in place of the secret.
            let mut services = gatehouse_aws::ServicesFromEnv::load()
                .await
                .with_files_from_env()?
                .build()?;
            services.access_codes =
                AccessCodeKeys::from_text(&std::env::var("BENCH_ACCESS_CODE_KEY")?)?;
            services
        }
    };
    let (before, _) = memory_kib(std::process::id());
    let org = OrgDomain::parse("demo")?;
    let start = Instant::now();
    let sheet = gatehouse_sheets::InvitationsSheet::new().map_err(|e| anyhow::anyhow!(e))?;
    let exported = export_invitations(&services, &org, Some(&token), Box::new(sheet))
        .await
        .map_err(|e| anyhow::anyhow!("export: {e}"))?;
    let took = start.elapsed();
    let (peak, rss) = memory_kib(std::process::id());
    println!(
        "{} invitations exported in {:.2} s ({:.0} rows/s); peak RSS {:.1} MiB (before the export {:.1} MiB, after {:.1} MiB)",
        exported.invitations,
        took.as_secs_f64(),
        exported.invitations as f64 / took.as_secs_f64(),
        mib(peak),
        mib(before),
        mib(rss)
    );
    Ok(())
}

/// The export's sheet alone (no store): `rows` rows like an export's, streamed, then finished.
fn sheet_alone(rows: usize) -> anyhow::Result<()> {
    let (before, _) = memory_kib(std::process::id());
    let start = Instant::now();
    let mut sheet = gatehouse_sheets::InvitationsSheet::new().map_err(|e| anyhow::anyhow!(e))?;
    use gatehouse_domain::usecase::export::ExportSheet;
    for n in 0..rows {
        let cells = gatehouse_bench::export_row_cells(n);
        sheet.row(&cells).map_err(|e| anyhow::anyhow!(e))?;
    }
    let (mid, _) = memory_kib(std::process::id());
    let bytes = Box::new(sheet).finish().map_err(|e| anyhow::anyhow!(e))?;
    let took = start.elapsed();
    let (peak, _) = memory_kib(std::process::id());
    println!(
        "{rows} rows streamed in {:.2} s, {:.1} MiB of xlsx; peak RSS {:.1} MiB (before {:.1}, after the rows {:.1})",
        took.as_secs_f64(),
        bytes.len() as f64 / 1048576.0,
        mib(peak),
        mib(before),
        mib(mid)
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Cleanup

/// The cleanup's work over the life of `n` invitations sent one by one and `n` more imported in
/// files of 500: each run's time and requests, per point of their life.
async fn cleanup(backend: Backend, n: usize) -> anyhow::Result<()> {
    use gatehouse_domain::clock::{Clock, FixedClock};
    use gatehouse_domain::usecase::cleanup::run_cleanup;
    use gatehouse_domain::usecase::invite::{invite, InvitationRequest, InviteeRequest};

    println!(
        "scheduled cleanup over {n} invitations sent one by one, then {n} imported ({})",
        match backend {
            Backend::Embedded => "embedded store, file outbox",
            Backend::Moto => "DynamoDB and SES v2 on moto",
        }
    );
    const DAY: u64 = 86_400;
    for imported in [false, true] {
        let mut setup = setup(backend, None).await?;
        let clock = Arc::new(FixedClock::at(SystemClock.now()));
        setup.services.clock = clock.clone();
        // Store calls counted on both backends (on moto, AWS requests too).
        let calls = Arc::new(gatehouse_store::CountingItems::new(setup.items.clone()));
        setup.services.store = Arc::new(Records::new(calls.clone()));
        let made = Instant::now();
        if imported {
            for file in 0..n.div_ceil(500) {
                let rows = (n - file * 500).min(500);
                one_import(&setup, &format!("c{file}"), rows).await?;
            }
        } else {
            for i in 0..n {
                invite(
                    &setup.services,
                    &setup.org,
                    Some(&setup.token),
                    InvitationRequest {
                        invitee: InviteeRequest::Email(EmailAddress::parse(&format!(
                            "person{i}@example.com"
                        ))?),
                        role: InviteeRole::Member,
                        first_name: PersonName::parse("Pat")?,
                        last_name: PersonName::parse("Doe")?,
                        groups: Vec::new(),
                        message: None,
                        language: None,
                    },
                )
                .await
                .map_err(|e| anyhow::anyhow!("invite: {e}"))?;
            }
        }
        println!(
            "  {} {n} made in {:.1} s",
            if imported { "imported:" } else { "one by one:" },
            made.elapsed().as_secs_f64()
        );
        if let Some(c) = &setup.counters {
            c.take();
        }
        calls.take();
        let mut day = 0;
        for (at, what) in [
            (1, "reminder 1"),
            (2, "reminder 2"),
            (7, "reminder 3"),
            (14, "reminder 4"),
            (31, "expiry noted"),
            (61, "removal"),
        ] {
            clock.advance(Duration::from_secs((at - day) * DAY + 60));
            day = at;
            let start = Instant::now();
            let report = run_cleanup(&setup.services, &|| true)
                .await
                .map_err(|e| anyhow::anyhow!("cleanup: {e}"))?;
            let took = start.elapsed();
            let requests = setup
                .counters
                .as_ref()
                .map(|c| c.take())
                .unwrap_or_default();
            let store = calls.take();
            let per_1000 = |count: usize| count as f64 * 1000.0 / n as f64;
            println!(
                "    day {at:>2} {what:<13} {:7.0} ms  {:5.2} ms/invitation; reminded {} expired {} removed {}; store calls per 1,000: queries {:.0}, batched reads {:.0}, reads {:.0}, writes {:.0}; AWS requests {}",
                ms(took),
                ms(took) / n as f64,
                report.reminded,
                report.expired,
                report.removed,
                per_1000(store.queries),
                per_1000(store.batch_gets),
                per_1000(store.gets),
                per_1000(store.writes),
                show_requests(&requests)
            );
        }
    }
    Ok(())
}
