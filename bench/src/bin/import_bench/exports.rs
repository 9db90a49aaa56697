//! Exports of N invitations, each run in a child process for its time and peak memory.

use super::*;

/// Loads records fast: every put of a write goes in unconditionally, in batches (the bench's
/// invitations are new and distinct, so the conditions would hold).
pub(crate) struct Loader(Arc<dyn ItemStore>);

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
pub(crate) async fn load_invitations(
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
        created_by_email: None,
        created_at: now,
        upload_expires_at: now,
        dry_run: false,
        state: ImportState::WaitingUpload,
        counts: ImportCounts::default(),
        problems: Vec::new(),
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
                &gatehouse_domain::events::ChangeEvents::none(),
            )
            .await?;
        made += chunk.len();
    }
    Ok(())
}

pub(crate) fn invitation(
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

pub(crate) async fn export(backend: Backend, counts: &[usize]) -> anyhow::Result<()> {
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

pub(crate) fn run_child(env: &[(String, String)], token: &str) -> anyhow::Result<String> {
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
pub(crate) async fn export_child(args: &[String]) -> anyhow::Result<()> {
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
                signing_keys: Arc::new(gatehouse_domain::oidc::keys::NoSigningKeys),
                passkeys: Arc::new(gatehouse_domain::passkey::NoPasskeys),
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
            // moto answers a Query of a large partition in seconds (it sorts the whole partition
            // for each page), past the 4 s a DynamoDB call may take in production: the bench
            // measures moto without that bound (BENCHMARKS.md says so).
            let aws = gatehouse_aws::aws_sdk_config().await;
            let unbounded = aws_sdk_dynamodb::Client::from_conf(
                aws_sdk_dynamodb::config::Builder::from(&aws)
                    .timeout_config(aws_config::timeout::TimeoutConfig::disabled())
                    .build(),
            );
            services.store = Arc::new(Records::new(Arc::new(DynamoItems::new(
                unbounded,
                std::env::var("GATEHOUSE_TABLE")?,
            ))));
            services
        }
    };
    let (before, _) = memory_kib(std::process::id());
    let org = OrgDomain::parse("demo")?;
    let start = Instant::now();
    let sheet = gatehouse_sheets::InvitationsSheet::new().map_err(|e| anyhow::anyhow!(e))?;
    let exported = export_invitations(&services, &org, Some(&token), Box::new(sheet))
        .await
        .map_err(|e| anyhow::anyhow!("export: {}", gatehouse_domain::Chain(&e)))?;
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
pub(crate) fn sheet_alone(rows: usize) -> anyhow::Result<()> {
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
