//! Applications registered for OpenID Connect: created once, found only in their organisation,
//! changed and deleted only from the version read.

use crate::fixtures::*;
#[allow(unused_imports)]
use crate::*;

use gatehouse_domain::oidc::{Client, ClientKind, ClientStore, RedirectUri};
use gatehouse_domain::types::ClientName;

pub(crate) fn client(org: &OrgDomain, name: &str, created: i64) -> Client {
    Client {
        id: random().client_id(),
        org: org.clone(),
        name: ClientName::parse(name).unwrap(),
        kind: ClientKind::Confidential,
        redirect_uris: vec![RedirectUri::parse("https://app.example.com/cb").unwrap()],
        post_logout_redirect_uris: vec![],
        initiate_login_uri: None,
        secret_hash: Some(SecretToken::generate(random()).hash()),
        created_at: Timestamp::from_unix_seconds(created),
        version: 0,
    }
}

pub async fn clients_are_created_once_and_found_only_in_their_org(store: Arc<dyn ItemStore>) {
    let records = Records::new(store);
    let (domain, _) = new_org(&records).await;
    let (other, _) = new_org(&records).await;
    let web = client(&domain, "Web", 20);
    let mobile = client(&domain, "Mobile", 10);
    records.create_client(&web).await.unwrap();
    records.create_client(&mobile).await.unwrap();
    assert!(matches!(
        records.create_client(&web).await,
        Err(WriteError::AlreadyExists)
    ));
    assert_eq!(
        records.client(&domain, &web.id).await.unwrap(),
        Some(web.clone())
    );
    assert_eq!(
        records.clients(&domain).await.unwrap(),
        vec![mobile.clone(), web.clone()],
        "oldest first"
    );
    assert_eq!(records.client(&other, &web.id).await.unwrap(), None);
    assert!(records.clients(&other).await.unwrap().is_empty());
}

pub async fn a_client_changes_and_goes_only_from_the_version_read(store: Arc<dyn ItemStore>) {
    let records = Records::new(store);
    let (domain, _) = new_org(&records).await;
    let read = client(&domain, "Web", 1);
    records.create_client(&read).await.unwrap();

    let mut renamed = read.clone();
    renamed.name = ClientName::parse("Web app").unwrap();
    records.update_client(&renamed).await.unwrap();
    // A second change from the same read is stale, and changes nothing.
    let mut other = read.clone();
    other.redirect_uris = vec![RedirectUri::parse("https://evil.example/cb").unwrap()];
    assert!(matches!(
        records.update_client(&other).await,
        Err(WriteError::Stale)
    ));
    assert!(matches!(
        records.delete_client(&read).await,
        Err(WriteError::Stale)
    ));
    let now = records.client(&domain, &read.id).await.unwrap().unwrap();
    assert_eq!(now.name.as_str(), "Web app");
    assert_eq!(now.redirect_uris, read.redirect_uris);
    assert_eq!(now.version, read.version + 1);

    records.delete_client(&now).await.unwrap();
    assert_eq!(records.client(&domain, &read.id).await.unwrap(), None);
    // Gone: neither changed nor deleted again, nor brought back by a late update.
    assert!(matches!(
        records.update_client(&now).await,
        Err(WriteError::Stale)
    ));
    assert!(matches!(
        records.delete_client(&now).await,
        Err(WriteError::Stale)
    ));
    assert_eq!(records.client(&domain, &read.id).await.unwrap(), None);
}
