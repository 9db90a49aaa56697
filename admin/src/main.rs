//! `gatehouse-admin`: what an operator does outside the API. See README, "Operations".

mod check;

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use gatehouse_domain::ports::PageRequest;
use gatehouse_domain::services::Services;
use gatehouse_domain::types::{EmailAddress, OrgDomain, OrgName, PersonName};
use gatehouse_domain::usecase::bootstrap::{
    create_org_with_link, list_orgs, set_password_link, CreatedOrg, FirstAdmin, SetPasswordLink,
    SetPasswordLinkError,
};
use gatehouse_domain::usecase::users::reindex_users;

const USAGE: &str = "\
gatehouse-admin: create organisations and hand out set-password links.

usage: gatehouse-admin [--embedded] <command>

commands:
  create-org <domain> <admin-email> [--display-name NAME] [--first-name NAME] [--last-name NAME]
             [--valid-hours H]
      a new organisation (named NAME in emails and pages; else its domain) with its first
      admin, whose password nobody knows yet: prints a one-time link with which the admin sets
      it (valid H hours, default 24, 1 to 168).
      An organisation that exists is left alone.
  set-password-link <domain> <email> [--valid-hours H]
      a one-time set-password link for an existing account (a lost admin password, a lapsed
      first link).
  list-orgs
      every organisation, in domain order.
  reindex-users
      once after upgrading to a version that lists people by role, status, group and name:
      writes every account again with what its record derives (index entries, group member
      items, search entries); accounts made since are written so already. Safe to repeat.
  rotate-signing-key
      the OpenID Connect signing keys: the first key (which signs at once) when there is
      none, else a new key published now that signs an hour later (every function and every
      relying party's cached JWKS has it by then); keys whose tokens can no longer be alive
      are dropped. The secret GATEHOUSE_SIGNING_KEYS_SECRET (the stack's SigningKeysArn), or
      with --embedded the local run's GATEHOUSE_DATA_DIR/signing-keys.json.
  check
      after a deploy: the table, the files bucket, the access-code secret, the SES identity
      and sending quota, the cleanup's schedule and the public URL, each said ok or what is
      wrong (exit status 1 if anything is). Names from GATEHOUSE_TABLE, GATEHOUSE_BUCKET,
      GATEHOUSE_ACCESS_CODE_SECRET, GATEHOUSE_MAIL_DOMAIN, GATEHOUSE_SCHEDULE,
      GATEHOUSE_PUBLIC_URL and, if set, GATEHOUSE_SES_MAX_SEND_RATE (the stack's outputs).

store:
  DynamoDB by default: GATEHOUSE_TABLE (the deployed table), GATEHOUSE_PUBLIC_URL (where the
  pages are served; links start with it), AWS credentials and region as the AWS CLI finds them.
  --embedded: the local run's store in GATEHOUSE_DATA_DIR (default ./.gatehouse), links from
  GATEHOUSE_PUBLIC_URL (default http://127.0.0.1:3000); stop gatehouse-local first.
";

/// What the command line asks for.
#[derive(Debug, PartialEq)]
enum Command {
    CreateOrg {
        domain: OrgDomain,
        email: EmailAddress,
        first_name: PersonName,
        last_name: PersonName,
        display_name: Option<OrgName>,
        valid_for: Duration,
    },
    SetPasswordLink {
        domain: OrgDomain,
        email: EmailAddress,
        valid_for: Duration,
    },
    ListOrgs,
    ReindexUsers,
    Check,
    RotateSigningKey,
    Help,
}

/// The command line, checked whole before anything is opened.
fn parse(args: &[String]) -> Result<(bool, Command), String> {
    let mut embedded = false;
    let mut positional = Vec::new();
    let mut first_name = "Admin".to_string();
    let mut last_name = "Account".to_string();
    let mut hours = "24".to_string();
    let mut display_name = None;
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        let mut value = |name: &str| {
            rest.next()
                .cloned()
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match arg.as_str() {
            "--embedded" => embedded = true,
            "--first-name" => first_name = value(arg)?,
            "--last-name" => last_name = value(arg)?,
            "--display-name" => display_name = Some(value(arg)?),
            "--valid-hours" => hours = value(arg)?,
            "-h" | "--help" | "help" => return Ok((embedded, Command::Help)),
            flag if flag.starts_with("--") => return Err(format!("unknown option {flag}")),
            word => positional.push(word.to_string()),
        }
    }
    let valid_for = hours
        .parse::<u64>()
        .ok()
        .filter(|h| (1..=168).contains(h))
        .map(|h| Duration::from_secs(h * 3600))
        .ok_or("--valid-hours must be a whole number of hours from 1 to 168")?;
    let domain = |raw: &str| OrgDomain::parse(raw).map_err(|e| format!("domain {raw:?}: {e}"));
    let email = |raw: &str| EmailAddress::parse(raw).map_err(|e| format!("email {raw:?}: {e}"));
    let command = match positional
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["create-org", d, e] => Command::CreateOrg {
            domain: domain(d)?,
            email: email(e)?,
            first_name: PersonName::parse(&first_name).map_err(|e| format!("first name: {e}"))?,
            last_name: PersonName::parse(&last_name).map_err(|e| format!("last name: {e}"))?,
            display_name: display_name
                .as_deref()
                .map(OrgName::parse)
                .transpose()
                .map_err(|e| format!("display name: {e}"))?,
            valid_for,
        },
        ["set-password-link", d, e] => Command::SetPasswordLink {
            domain: domain(d)?,
            email: email(e)?,
            valid_for,
        },
        ["list-orgs"] => Command::ListOrgs,
        ["reindex-users"] => Command::ReindexUsers,
        ["check"] => Command::Check,
        ["rotate-signing-key"] => Command::RotateSigningKey,
        [] => Command::Help,
        other => return Err(format!("unknown command {:?}", other.join(" "))),
    };
    Ok((embedded, command))
}

async fn services(embedded: bool) -> anyhow::Result<Services> {
    if embedded {
        let settings = gatehouse_local::LocalSettings::from_env();
        let services = gatehouse_local::local_services(&settings, false, &settings.public_url)
            .with_context(|| {
                format!(
                    "opening the embedded store in {} (is gatehouse-local running? stop it first)",
                    settings.data_dir.display()
                )
            })?;
        Ok(services.services)
    } else {
        gatehouse_aws::operator_services_from_env().await
    }
}

fn print_link(email: &EmailAddress, link: &SetPasswordLink) {
    println!(
        "Set-password link for {email} (one use, valid until {}):",
        link.expires_at
    );
    println!("  {}", link.link);
    println!("Hand it to them privately: whoever opens it first sets the password.");
}

async fn run(embedded: bool, command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Help => print!("{USAGE}"),
        Command::Check => return Ok(run_check().await),
        Command::RotateSigningKey => rotate_signing_key(embedded).await?,
        Command::CreateOrg {
            domain,
            email,
            first_name,
            last_name,
            display_name,
            valid_for,
        } => {
            let services = services(embedded).await?;
            let request = FirstAdmin {
                domain: domain.clone(),
                admin_email: email.clone(),
                first_name,
                last_name,
                display_name,
            };
            match create_org_with_link(&services, request, valid_for).await? {
                CreatedOrg::Created { link, .. } => {
                    println!("Created organisation {domain}; its admin is {email}.");
                    print_link(&email, &link);
                }
                CreatedOrg::AlreadyExists => {
                    println!("Organisation {domain} exists; nothing changed.");
                    println!("  A new link for one of its accounts: gatehouse-admin set-password-link {domain} <email>");
                }
            }
        }
        Command::SetPasswordLink {
            domain,
            email,
            valid_for,
        } => {
            let services = services(embedded).await?;
            let link = set_password_link(&services, &domain, &email, valid_for).await?;
            print_link(&email, &link);
        }
        Command::ListOrgs => {
            let services = services(embedded).await?;
            let mut cursor = None;
            let mut count = 0;
            loop {
                let page = list_orgs(&services, &PageRequest { cursor, limit: 100 }).await?;
                for org in &page.items {
                    println!("{}\tcreated {}", org.domain, org.created_at);
                }
                count += page.items.len();
                match page.next_cursor {
                    Some(next) => cursor = Some(next),
                    None => break,
                }
            }
            println!("{count} organisation(s)");
        }
        Command::ReindexUsers => {
            let services = services(embedded).await?;
            let mut cursor = None;
            loop {
                let page = list_orgs(&services, &PageRequest { cursor, limit: 100 }).await?;
                for org in &page.items {
                    let written = reindex_users(&services, &org.domain).await?;
                    println!("{}	{written} account(s) written", org.domain);
                }
                match page.next_cursor {
                    Some(next) => cursor = Some(next),
                    None => break,
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Adds the next signing key (or the first), in the secret or the local file.
async fn rotate_signing_key(embedded: bool) -> anyhow::Result<()> {
    use gatehouse_domain::clock::{Clock, SystemClock};
    use gatehouse_domain::oidc::keys::KeySet;
    use gatehouse_domain::secret::OsRandomness;
    let now = SystemClock.now();
    let change = |keys: Option<KeySet>| -> anyhow::Result<(KeySet, String)> {
        Ok(match keys {
            None => {
                let keys = KeySet::first(&OsRandomness, now)?;
                let kid = keys.kids()[0].to_string();
                println!("First signing key {kid}: it signs from now on.");
                (keys, kid)
            }
            Some(mut keys) => {
                let kid = keys.rotate(&OsRandomness, now)?;
                let from = keys.key(&kid).expect("just added").signs_from;
                println!("New signing key {kid}: published now, it signs from {from}.");
                (keys, kid)
            }
        })
    };
    let (keys, _) = if embedded {
        let settings = gatehouse_local::LocalSettings::from_env();
        let path = settings.data_dir.join("signing-keys.json");
        let (keys, kid) = change(gatehouse_embedded::signing_keys::read_key_file(&path)?)?;
        gatehouse_embedded::signing_keys::write_key_file(&path, &keys)?;
        (keys, kid)
    } else {
        let secret = std::env::var("GATEHOUSE_SIGNING_KEYS_SECRET")
            .context("GATEHOUSE_SIGNING_KEYS_SECRET must be set (the stack's SigningKeysArn)")?;
        let aws = gatehouse_aws::aws_sdk_config().await;
        let client = aws_sdk_secretsmanager::Client::new(&aws);
        let (keys, kid) =
            change(gatehouse_aws::signing_keys::read_key_set(&client, &secret).await?)?;
        gatehouse_aws::signing_keys::write_key_set(&client, &secret, &keys).await?;
        (keys, kid)
    };
    println!("Published keys: {}", keys.kids().join(", "));
    Ok(())
}

/// Prints each finding; exit status 1 when anything is wrong, 3 when the check could not finish.
async fn run_check() -> ExitCode {
    let deployment = check::Deployment::from_env();
    let Ok(findings) = tokio::time::timeout(check::CHECK_TIMEOUT, check::check(&deployment)).await
    else {
        eprintln!(
            "gatehouse-admin: the check took over a minute; is the network or the region right?"
        );
        return ExitCode::from(3);
    };
    let mut wrong = 0;
    for finding in &findings {
        match &finding.verdict {
            Ok(seen) => println!("ok       {}: {seen}", finding.subject),
            Err(problem) => {
                wrong += 1;
                println!("PROBLEM  {}: {problem}", finding.subject);
            }
        }
    }
    if wrong == 0 {
        println!("Everything checked is as it should be.");
        ExitCode::SUCCESS
    } else {
        println!("{wrong} problem(s).");
        ExitCode::from(1)
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (embedded, command) = match parse(&args) {
        Ok(parsed) => parsed,
        Err(problem) => {
            eprintln!("gatehouse-admin: {problem}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(embedded, command).await {
        Ok(code) => code,
        Err(e) => {
            let known = e.downcast_ref::<SetPasswordLinkError>().is_some();
            eprintln!("gatehouse-admin: {e:#}");
            ExitCode::from(if known { 1 } else { 3 })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> Vec<String> {
        line.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn a_command_line_is_read_whole_before_anything_opens() {
        let (embedded, command) = parse(&args(
            "--embedded create-org acme root@acme.test --first-name Ada --display-name Acme --valid-hours 48",
        ))
        .unwrap();
        assert!(embedded);
        assert_eq!(
            command,
            Command::CreateOrg {
                domain: OrgDomain::parse("acme").unwrap(),
                email: EmailAddress::parse("root@acme.test").unwrap(),
                first_name: PersonName::parse("Ada").unwrap(),
                last_name: PersonName::parse("Account").unwrap(),
                display_name: Some(OrgName::parse("Acme").unwrap()),
                valid_for: Duration::from_secs(48 * 3600),
            }
        );
        assert_eq!(
            parse(&args("list-orgs")).unwrap(),
            (false, Command::ListOrgs)
        );
        assert_eq!(
            parse(&args("--embedded reindex-users")).unwrap(),
            (true, Command::ReindexUsers)
        );
        assert_eq!(parse(&args("")).unwrap(), (false, Command::Help));
    }

    #[test]
    fn bad_command_lines_say_what_is_wrong() {
        for (line, says) in [
            ("create-org acme not-an-email", "email"),
            ("create-org Not_A_Domain! root@acme.test", "domain"),
            (
                "create-org acme root@acme.test --valid-hours 0",
                "--valid-hours",
            ),
            (
                "create-org acme root@acme.test --valid-hours 169",
                "--valid-hours",
            ),
            (
                "create-org acme root@acme.test --valid-hours",
                "needs a value",
            ),
            (
                "create-org acme root@acme.test --password x",
                "unknown option",
            ),
            ("create-org acme", "unknown command"),
            ("drop-table", "unknown command"),
        ] {
            let problem = parse(&args(line)).unwrap_err();
            assert!(problem.contains(says), "{line}: {problem}");
        }
    }
}
