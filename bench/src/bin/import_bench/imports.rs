//! Whole imports, timed, with the AWS requests they make.

use super::*;

/// One whole import of `rows` new people: its time from the upload event to the end, and what it
/// sent to AWS.
pub(crate) async fn one_import(
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

pub(crate) fn show_requests(requests: &BTreeMap<String, usize>) -> String {
    if requests.is_empty() {
        return "—".into();
    }
    let total: usize = requests.values().sum();
    let each: Vec<String> = requests.iter().map(|(op, n)| format!("{op} {n}")).collect();
    format!("{total}: {}", each.join(", "))
}

pub(crate) async fn imports(backend: Backend, paced: Option<f64>) -> anyhow::Result<()> {
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
