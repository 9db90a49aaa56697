//! `gatehouse-local`: Gatehouse on a laptop. See README, "Run it locally".

use anyhow::Context;
use gatehouse_domain::types::{EmailAddress, OrgDomain, OrgName, PersonName};
use gatehouse_domain::usecase::bootstrap::{bootstrap_org, BootstrapOutcome, BootstrapRequest};
use gatehouse_local::{
    background_routes, files_routes, generated_password, local_services, outbox_routes, routes,
    serve, spawn_cleanup_timer, LocalParts, LocalSettings,
};
use std::sync::Arc;

#[cfg(feature = "alloc-mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[cfg(feature = "alloc-jemalloc")]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_target(false)
        .init();
    let settings = LocalSettings::from_env();
    // The port first: if it is taken, stop before a password is generated and lost.
    let listener = tokio::net::TcpListener::bind(&settings.addr)
        .await
        .with_context(|| {
            format!(
                "cannot listen on {} (is Gatehouse already running? set GATEHOUSE_ADDR to another address)",
                settings.addr
            )
        })?;
    let addr = listener.local_addr()?;
    let settings = settings.bound_to(addr);
    let LocalParts {
        services,
        files,
        items,
        mail,
    } = local_services(&settings, true, &format!("http://{addr}"))?;
    gatehouse_local::webhooks::spawn_deliveries(
        services.clone(),
        items,
        Arc::new(gatehouse_outbound::HttpsSender::new()),
    );
    #[cfg(feature = "return-memory")]
    spawn_memory_return(services.passwords.clone());

    let org = OrgDomain::parse(&settings.bootstrap_org).context("GATEHOUSE_BOOTSTRAP_ORG")?;
    let email = EmailAddress::parse(&settings.bootstrap_admin_email)
        .context("GATEHOUSE_BOOTSTRAP_ADMIN_EMAIL")?;
    let (password, generated) = match &settings.bootstrap_admin_password {
        Some(p) => (p.clone(), false),
        None => (generated_password(services.random.as_ref()), true),
    };
    let request = BootstrapRequest {
        domain: org.clone(),
        admin_email: email.clone(),
        admin_password: password.clone(),
        first_name: PersonName::parse(&settings.bootstrap_admin_first_name)
            .context("GATEHOUSE_BOOTSTRAP_ADMIN_FIRST_NAME")?,
        last_name: PersonName::parse(&settings.bootstrap_admin_last_name)
            .context("GATEHOUSE_BOOTSTRAP_ADMIN_LAST_NAME")?,
        display_name: Some(
            OrgName::parse(&settings.bootstrap_display_name)
                .context("GATEHOUSE_BOOTSTRAP_DISPLAY_NAME")?,
        ),
    };
    let api = format!("{}/v1/orgs/{org}", settings.public_url);
    match bootstrap_org(&services, request)
        .await
        .context("bootstrap")?
    {
        BootstrapOutcome::Created { org, .. } => {
            println!(
                "Bootstrapped organisation {} with admin {email}",
                org.domain
            );
            if generated {
                let kept = settings.data_dir.join("initial-admin-password");
                keep_password(&kept, &password)
                    .with_context(|| format!("writing {}", kept.display()))?;
                println!(
                    "  admin password (generated): {password}  (also in {}, readable by you alone)",
                    kept.display()
                );
            } else {
                println!("  admin password: from GATEHOUSE_BOOTSTRAP_ADMIN_PASSWORD");
            }
            if let Some(group) = org.settings.default_groups.first() {
                println!("  default group everyone joins: {group}");
            }
        }
        BootstrapOutcome::AlreadyExists => {
            println!(
                "Organisation {org} exists in {}; its admin is {email} (if that was changed, the first admin's address).",
                settings.data_dir.display()
            );
            println!(
                "  Lost the admin password? Ask for a reset: curl -s {api}/password-reset -H 'content-type: application/json' -d '{{\"email\":\"{email}\"}}'"
            );
            println!("  (or use http://{addr}/{org}/forgot-password) and follow the link printed here (also in the outbox).");
        }
    }
    println!("  In a browser: http://{addr}/{org}/sign-in (the administration: http://{addr}/{org}/admin)");
    println!("  API: {api}");
    println!("  OpenAPI document: http://{addr}/openapi.json");
    println!(
        "Gatehouse listening on http://{addr} (data: {}, outbox: {})",
        settings.data_dir.display(),
        settings.data_dir.join("outbox").display()
    );
    match settings.cleanup_every {
        Some(every) => {
            println!(
                "  cleanup (reminders, retries, expiry): every {} s; now: curl -s -X POST http://{addr}/_local/cleanup",
                every.as_secs()
            );
            spawn_cleanup_timer(services.clone(), every);
        }
        None => println!("  cleanup: on demand only: curl -s -X POST http://{addr}/_local/cleanup"),
    }
    let app = gatehouse_http::app(routes(), services.clone())
        .merge(files_routes(files, services.clone()))
        .merge(background_routes(services))
        .merge(outbox_routes(mail));
    serve(listener, app, &settings).await
}

/// The generated first password, kept (as Jenkins keeps its initial admin password) where the
/// README's walkthrough reads it; readable by its owner only. A later change of the password does
/// not touch it.
fn keep_password(path: &std::path::Path, password: &str) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    std::io::Write::write_all(&mut options.open(path)?, format!("{password}\n").as_bytes())
}

/// Gives memory back to the system after bursts, every 5 s: the password hash buffers (19 MiB
/// each, one per core) once none has been used for 30 s, and what glibc's allocator keeps but
/// no longer uses (`malloc_trim`). BENCHMARKS.md, "Memory after load", has the figures this was
/// chosen by.
#[cfg(feature = "return-memory")]
fn spawn_memory_return(passwords: gatehouse_domain::password::PasswordHashing) {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(std::time::Duration::from_secs(5));
        loop {
            every.tick().await;
            passwords.release_idle_buffers(std::time::Duration::from_secs(30));
            #[cfg(all(target_os = "linux", target_env = "gnu"))]
            // SAFETY: malloc_trim only walks glibc's own arenas and takes their locks.
            unsafe {
                libc::malloc_trim(0);
            }
        }
    });
}
