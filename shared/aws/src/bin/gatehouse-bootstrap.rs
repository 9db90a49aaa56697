//! Creates an organisation and its first admin in the deployed table (idempotent: an existing
//! organisation is left alone). Reads the same environment as the Lambdas plus
//! `GATEHOUSE_BOOTSTRAP_ORG`, `GATEHOUSE_BOOTSTRAP_ADMIN_EMAIL` and
//! `GATEHOUSE_BOOTSTRAP_ADMIN_PASSWORD` (all required here).

use anyhow::Context;
use gatehouse_domain::types::{EmailAddress, OrgDomain, PersonName};
use gatehouse_domain::usecase::bootstrap::{bootstrap_org, BootstrapOutcome, BootstrapRequest};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let var = |name: &str| std::env::var(name).with_context(|| format!("{name} must be set"));
    let request = BootstrapRequest {
        domain: OrgDomain::parse(&var("GATEHOUSE_BOOTSTRAP_ORG")?)
            .context("GATEHOUSE_BOOTSTRAP_ORG")?,
        admin_email: EmailAddress::parse(&var("GATEHOUSE_BOOTSTRAP_ADMIN_EMAIL")?)
            .context("GATEHOUSE_BOOTSTRAP_ADMIN_EMAIL")?,
        admin_password: var("GATEHOUSE_BOOTSTRAP_ADMIN_PASSWORD")?,
        first_name: PersonName::parse("Admin").context("name")?,
        last_name: PersonName::parse("Account").context("name")?,
    };
    let services = gatehouse_aws::services_from_env().await?;
    let org = request.domain.clone();
    match bootstrap_org(&services, request)
        .await
        .context("bootstrap")?
    {
        BootstrapOutcome::Created { .. } => println!("created organisation {org} and its admin"),
        BootstrapOutcome::AlreadyExists => println!("organisation {org} exists; nothing changed"),
    }
    Ok(())
}
