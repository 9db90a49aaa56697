//! The scheduled cleanup over the life of N pending invitations.

use super::*;

/// The cleanup's work over the life of `n` invitations sent one by one and `n` more imported in
/// files of 500: each run's time and requests, per point of their life.
pub(crate) async fn cleanup(backend: Backend, n: usize) -> anyhow::Result<()> {
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
