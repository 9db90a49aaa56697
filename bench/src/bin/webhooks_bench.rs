//! Webhooks in the local run's way (the embedded store's change feed, the same delivery code as
//! `gatehouse-local`), measured in process against a receiver on the loopback interface:
//! the time from a change's commit to its delivery arriving (p50, p99, max, one change at a
//! time), how many deliveries a second a burst of changes gets through, and how many one
//! `deliveries` function instance handles from its queue. Also the event log's cost in
//! DynamoDB write units: the size of each change's event record.
//!
//! `cargo run --release -p gatehouse-bench --bin webhooks_bench [changes] [burst]`

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use gatehouse_domain::access_code::AccessCodeKeys;
use gatehouse_domain::clock::SystemClock;
use gatehouse_domain::password::PasswordHashing;
use gatehouse_domain::secret::OsRandomness;
use gatehouse_domain::types::{EmailAddress, GroupName, OrgDomain, PersonName};
use gatehouse_domain::usecase::bootstrap::{bootstrap_org, BootstrapRequest};
use gatehouse_domain::usecase::groups::create_group;
use gatehouse_domain::usecase::sign_in::{sign_in, SignInRequest};
use gatehouse_domain::usecase::webhooks::{register_webhook, WebhookChange};
use gatehouse_domain::usecase::ClientAddress;
use gatehouse_domain::webhooks::WebhookUrl;
use gatehouse_domain::{Config, Services};
use gatehouse_embedded::EmbeddedItems;
use gatehouse_store::Records;

/// Arrival times by group name (each change makes a group, whose name its event carries).
type Arrivals = Arc<Mutex<HashMap<String, Instant>>>;

async fn receiver(arrivals: Arrivals) -> anyhow::Result<u16> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |body: String| {
            let arrivals = arrivals.clone();
            async move {
                let now = Instant::now();
                let event: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
                if let Some(name) = event["data"]["name"].as_str() {
                    arrivals
                        .lock()
                        .unwrap()
                        .entry(name.to_string())
                        .or_insert(now);
                }
                axum::http::StatusCode::NO_CONTENT
            }
        }),
    );
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(port)
}

/// A queue kept in memory: what `enqueue` is given, taken back in order.
#[derive(Default)]
struct MemoryQueue(Mutex<Vec<gatehouse_domain::webhooks::QueuedDelivery>>);

#[async_trait::async_trait]
impl gatehouse_domain::webhooks::DeliveryQueue for MemoryQueue {
    async fn enqueue(
        &self,
        messages: &[gatehouse_domain::webhooks::QueuedDelivery],
        _now: gatehouse_domain::clock::Timestamp,
    ) -> Result<(), gatehouse_domain::webhooks::SendError> {
        self.0.lock().unwrap().extend_from_slice(messages);
        Ok(())
    }
}

/// Deliveries a second through `handle_queued`, `count` of them, on a store of their own
/// (so that the local run's loop above does not take them).
async fn instance_deliveries(local: &Services, port: u16, count: usize) -> anyhow::Result<f64> {
    use gatehouse_domain::events::{ChangeEvents, EventActor, EventType};
    use gatehouse_domain::usecase::deliveries::{fan_out, handle_queued};
    let dir = tempfile::tempdir()?;
    let mut services = local.clone();
    services.store = Arc::new(Records::new(Arc::new(EmbeddedItems::open(
        &dir.path().join("instance.redb"),
    )?)));
    let org = OrgDomain::parse("instance")?;
    let now = gatehouse_domain::clock::Clock::now(&SystemClock);
    let webhook = gatehouse_domain::webhooks::Webhook {
        id: services.random.webhook_id(now),
        org: org.clone(),
        url: WebhookUrl::parse(&format!("http://127.0.0.1:{port}/hook"), true)?,
        types: vec![],
        description: None,
        secret: services.access_codes.seal_webhook_secret(
            &gatehouse_domain::webhooks::WebhookSecret::generate(&OsRandomness),
            &OsRandomness,
        ),
        previous_secret: None,
        disabled_at: None,
        failing_since: None,
        created_by: services.random.user_id(),
        created_at: now,
        version: 0,
    };
    services
        .store
        .create_webhook(&webhook, &ChangeEvents::none())
        .await?;
    let mut events = Vec::with_capacity(count);
    for n in 0..count {
        let change = ChangeEvents::new(&OsRandomness, now).with(
            &org,
            EventType::GroupCreated,
            EventActor::default(),
            serde_json::json!({ "id": n.to_string(), "name": format!("instance {n}"), "created_at": now.to_rfc3339() }),
        );
        events.extend(change.events().to_vec());
    }
    let queue = MemoryQueue::default();
    let made = fan_out(&services, &events).await?;
    let messages: Vec<_> = made
        .iter()
        .filter_map(gatehouse_domain::webhooks::QueuedDelivery::of)
        .collect();
    let sender = gatehouse_outbound::HttpsSender::new();
    let started = Instant::now();
    for batch in messages.chunks(10) {
        for message in batch {
            handle_queued(&services, &sender, &queue, message)
                .await
                .map_err(|e| anyhow::anyhow!("deliver: {e}"))?;
        }
    }
    Ok(messages.len() as f64 / started.elapsed().as_secs_f64())
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let at = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[at.min(sorted.len() - 1)]
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let changes: usize = args.next().map_or(Ok(200), |a| a.parse())?;
    let burst: usize = args.next().map_or(Ok(2_000), |a| a.parse())?;
    let dir = tempfile::tempdir()?;
    let items = EmbeddedItems::open(&dir.path().join("gatehouse.redb"))?
        .with_feed(gatehouse_store::EVENTS_PK_PREFIX);
    let services = Services {
        store: Arc::new(Records::new(Arc::new(items.clone()))),
        mailer: Arc::new(gatehouse_domain::services::NoMail),
        files: Arc::new(gatehouse_domain::services::NoFiles),
        clock: Arc::new(SystemClock),
        metrics: Arc::new(gatehouse_domain::metrics::NoMetrics),
        random: Arc::new(OsRandomness),
        passwords: PasswordHashing::default(),
        access_codes: AccessCodeKeys::from_text(&AccessCodeKeys::generate_secret(&OsRandomness))?,
        signing_keys: Arc::new(gatehouse_domain::oidc::keys::NoSigningKeys),
        passkeys: Arc::new(gatehouse_domain::passkey::NoPasskeys),
        config: Config {
            webhooks_to_loopback: true,
            ..Config::new("http://127.0.0.1:3000")
        },
    };
    let org = OrgDomain::parse("demo")?;
    let password = "a bench passphrase of some length";
    bootstrap_org(
        &services,
        BootstrapRequest {
            domain: org.clone(),
            admin_email: EmailAddress::parse("admin@example.com")?,
            admin_password: password.into(),
            first_name: PersonName::parse("Ada")?,
            last_name: PersonName::parse("Admin")?,
            display_name: None,
        },
    )
    .await?;
    let admin = sign_in(
        &services,
        &org,
        SignInRequest {
            identifier: "admin@example.com".into(),
            password: password.into(),
        },
        &ClientAddress::new("192.0.2.1"),
    )
    .await
    .map_err(|e| anyhow::anyhow!("sign in: {e}"))?
    .signed_in()
    .ok_or_else(|| anyhow::anyhow!("the admin has no second factor"))?
    .token;
    let arrivals: Arrivals = Arc::default();
    let port = receiver(arrivals.clone()).await?;
    let sender = Arc::new(gatehouse_outbound::HttpsSender::new());
    register_webhook(
        &services,
        sender.as_ref(),
        &org,
        Some(&admin),
        WebhookUrl::parse(&format!("http://127.0.0.1:{port}/hook"), true)?,
        WebhookChange::default(),
    )
    .await
    .map_err(|e| anyhow::anyhow!("register: {e}"))?;
    gatehouse_local::webhooks::spawn_deliveries(services.clone(), items, sender);

    let (s, o, a) = (services.clone(), org.clone(), admin.clone());
    let group = move |name: String| {
        let (services, org, admin) = (s.clone(), o.clone(), a.clone());
        async move {
            create_group(&services, &org, Some(&admin), GroupName::parse(&name)?)
                .await
                .map_err(|e| anyhow::anyhow!("group: {e}"))?;
            Ok::<_, anyhow::Error>(Instant::now())
        }
    };
    let wait_for = |name: String| {
        let arrivals = arrivals.clone();
        async move {
            let started = Instant::now();
            loop {
                if let Some(at) = arrivals.lock().unwrap().get(&name) {
                    return Ok(*at);
                }
                if started.elapsed() > Duration::from_secs(60) {
                    anyhow::bail!("{name} never arrived");
                }
                tokio::time::sleep(Duration::from_micros(200)).await;
            }
        }
    };

    // One change at a time: commit → arrival.
    let mut latencies = Vec::with_capacity(changes);
    for n in 0..changes {
        let name = format!("latency {n}");
        let committed = group(name.clone()).await?;
        let arrived = wait_for(name).await?;
        latencies.push(arrived.saturating_duration_since(committed));
    }
    latencies.sort();
    println!(
        "one change at a time ({changes}): commit to arrival p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        percentile(&latencies, 0.5).as_secs_f64() * 1e3,
        percentile(&latencies, 0.99).as_secs_f64() * 1e3,
        latencies.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
    );

    // A burst: 8 writers at once; until the last delivery arrives.
    let started = Instant::now();
    let mut writers = Vec::new();
    for w in 0..8 {
        let group = group.clone();
        writers.push(tokio::spawn(async move {
            for n in (w..burst).step_by(8) {
                group(format!("burst {n}")).await?;
            }
            Ok::<_, anyhow::Error>(())
        }));
    }
    for w in writers {
        w.await.context("writer")??;
    }
    let written = started.elapsed();
    let mut last = Instant::now();
    for n in 0..burst {
        last = last.max(wait_for(format!("burst {n}")).await?);
    }
    let all = last.saturating_duration_since(started);
    println!(
        "a burst of {burst} changes (8 writers): written in {:.2} s ({:.0}/s), all delivered {:.2} s after the first write: {:.0} deliveries/s",
        written.as_secs_f64(),
        burst as f64 / written.as_secs_f64(),
        all.as_secs_f64(),
        burst as f64 / all.as_secs_f64(),
    );

    // One `deliveries` function instance's share: queue messages handled as Lambda hands them
    // over (batches of 10, one after another, each message in turn), against the same receiver,
    // on the embedded store (the figure is the function's own work; DynamoDB's latency adds to
    // it when deployed).
    let instance = instance_deliveries(&services, port, burst).await?;
    println!(
        "one deliveries instance, {burst} queued deliveries in batches of 10: {:.0} deliveries/s",
        instance
    );

    // The event record's size, as DynamoDB counts it (attribute names and values), in write
    // units: 1 per KB rounded up, twice in a transaction.
    // An invitation's record is the largest common one (the invitation with its history).
    gatehouse_domain::usecase::invite::invite(
        &services,
        &org,
        Some(&admin),
        gatehouse_domain::usecase::invite::InvitationRequest {
            invitee: gatehouse_domain::usecase::invite::InviteeRequest::Email(EmailAddress::parse(
                "someone.with.a.longish.address@example.com",
            )?),
            role: gatehouse_domain::types::InviteeRole::Member,
            first_name: PersonName::parse("Bartholomew")?,
            last_name: PersonName::parse("Featherstonehaugh")?,
            groups: vec![],
            message: Some(gatehouse_domain::types::PersonalMessage::parse(
                "Welcome aboard: we are glad you are joining the team this month.",
            )?),
            language: None,
        },
    )
    .await
    .map_err(|e| anyhow::anyhow!("invite: {e}"))?;
    let end = gatehouse_domain::events::EventId::first_of(
        gatehouse_domain::clock::Clock::now(&SystemClock).plus(Duration::from_secs(60)),
    );
    let log = services.store.read_log(&org, None, &end, 10_000).await?;
    let mut sizes: HashMap<&str, usize> = HashMap::new();
    for event in &log {
        let record = serde_json::json!({ "events": [event], "ttl": 0 }).to_string();
        let size = record.len() + "pk".len() + "sk".len() + 60;
        sizes.entry(event.kind.as_str()).or_insert(size);
    }
    let mut sizes: Vec<_> = sizes.into_iter().collect();
    sizes.sort();
    for (kind, bytes) in sizes {
        println!(
            "event record of one {kind}: about {bytes} bytes: {} write units in a transaction",
            2 * bytes.div_ceil(1024)
        );
    }
    Ok(())
}
