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

mod backends;
mod cleanup;
mod exports;
mod imports;

use backends::*;
use cleanup::*;
use exports::*;
use imports::*;
