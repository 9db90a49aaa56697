//! The code flow's records: a code spent once (a second use ends the grant it made), refresh
//! tokens that rotate (a spent one coming back ends its grant, also when two race), grants
//! ended with their user's sessions.

use crate::fixtures::*;
#[allow(unused_imports)]
use crate::*;

use gatehouse_domain::oidc::grant::{AuthorizationCode, Grant, Redemption, RefreshToken, Rotation};
use gatehouse_domain::oidc::{ClientStore, GrantStore};

fn code_for(user: &User) -> AuthorizationCode {
    AuthorizationCode {
        code_hash: SecretToken::generate(random()).hash(),
        org: user.org.clone(),
        client_id: random().client_id(),
        redirect_uri: "https://app.example.com/cb".into(),
        user_id: user.id.clone(),
        scopes: vec!["openid".into(), "offline_access".into()],
        nonce: Some("n-1".into()),
        code_challenge: None,
        auth_time: Timestamp::from_unix_seconds(100),
        amr: vec!["pwd".into(), "otp".into(), "mfa".into()],
        expires_at: Timestamp::from_unix_seconds(160),
        spent_for: None,
    }
}

fn refresh_for(grant: &Grant) -> RefreshToken {
    RefreshToken {
        token_hash: SecretToken::generate(random()).hash(),
        org: grant.org.clone(),
        user_id: grant.user_id.clone(),
        grant_id: grant.id.clone(),
        expires_at: Timestamp::from_unix_seconds(10_000),
    }
}

fn grant_for(code: &AuthorizationCode) -> (Grant, RefreshToken) {
    let mut grant = Grant {
        id: unique("grant").replace('#', "-"),
        org: code.org.clone(),
        user_id: code.user_id.clone(),
        client_id: code.client_id.clone(),
        scopes: code.scopes.clone(),
        auth_time: code.auth_time,
        amr: code.amr.clone(),
        created_at: Timestamp::from_unix_seconds(120),
        expires_at: Timestamp::from_unix_seconds(100_000),
        current_refresh: None,
        version: 0,
    };
    let refresh = refresh_for(&grant);
    grant.current_refresh = Some(refresh.token_hash.clone());
    (grant, refresh)
}

async fn signed_up(records: &Records) -> User {
    let (_, admin) = new_org(records).await;
    admin
}

pub async fn a_code_is_spent_once_and_a_second_use_ends_its_grant(store: Arc<dyn ItemStore>) {
    let records = Records::new(store);
    let user = signed_up(&records).await;
    let code = code_for(&user);
    records.save_code(&code).await.unwrap();
    assert!(matches!(
        records.save_code(&code).await,
        Err(WriteError::AlreadyExists)
    ));
    assert_eq!(
        records.code(&code.code_hash).await.unwrap(),
        Some(code.clone())
    );

    let (grant, refresh) = grant_for(&code);
    assert_eq!(
        records
            .redeem_code(&code, &grant, Some(&refresh))
            .await
            .unwrap(),
        Redemption::Redeemed
    );
    assert_eq!(
        records.grant(&user.org, &user.id, &grant.id).await.unwrap(),
        Some(grant.clone())
    );
    assert_eq!(
        records.refresh_token(&refresh.token_hash).await.unwrap(),
        Some(refresh.clone())
    );
    // Again, with another grant: refused, and the first grant is ended.
    let (second, second_refresh) = grant_for(&code);
    assert_eq!(
        records
            .redeem_code(&code, &second, Some(&second_refresh))
            .await
            .unwrap(),
        Redemption::Replayed
    );
    assert_eq!(
        records.grant(&user.org, &user.id, &grant.id).await.unwrap(),
        None
    );
    assert_eq!(
        records
            .grant(&user.org, &user.id, &second.id)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        records
            .refresh_token(&second_refresh.token_hash)
            .await
            .unwrap(),
        None
    );
    // A code never issued.
    let never = code_for(&user);
    let (g, r) = grant_for(&never);
    assert_eq!(
        records.redeem_code(&never, &g, Some(&r)).await.unwrap(),
        Redemption::Unknown
    );
    assert_eq!(
        records.grant(&user.org, &user.id, &g.id).await.unwrap(),
        None
    );
}

pub async fn concurrent_redemptions_of_one_code_leave_no_grant_alive(store: Arc<dyn ItemStore>) {
    let records = Records::new(store);
    let user = signed_up(&records).await;
    let code = code_for(&user);
    records.save_code(&code).await.unwrap();
    let attempts: Vec<(Grant, RefreshToken)> = (0..4).map(|_| grant_for(&code)).collect();
    let outcomes = futures_join(&records, &code, &attempts).await;
    assert_eq!(
        outcomes
            .iter()
            .filter(|o| **o == Redemption::Redeemed)
            .count(),
        1,
        "{outcomes:?}"
    );
    assert_eq!(
        outcomes
            .iter()
            .filter(|o| **o == Redemption::Replayed)
            .count(),
        3
    );
    for (grant, _) in &attempts {
        assert_eq!(
            records.grant(&user.org, &user.id, &grant.id).await.unwrap(),
            None
        );
    }
}

async fn futures_join(
    records: &Records,
    code: &AuthorizationCode,
    attempts: &[(Grant, RefreshToken)],
) -> Vec<Redemption> {
    let tasks: Vec<_> = attempts
        .iter()
        .map(|(grant, refresh)| {
            let (records, code, grant, refresh) = (
                records.clone(),
                code.clone(),
                grant.clone(),
                refresh.clone(),
            );
            tokio::spawn(async move { records.redeem_code(&code, &grant, Some(&refresh)).await })
        })
        .collect();
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.push(task.await.unwrap().unwrap());
    }
    outcomes
}

pub async fn a_refresh_token_rotates_once_and_its_reuse_ends_the_grant(store: Arc<dyn ItemStore>) {
    let records = Records::new(store);
    let user = signed_up(&records).await;
    let code = code_for(&user);
    records.save_code(&code).await.unwrap();
    let (grant, first) = grant_for(&code);
    records
        .redeem_code(&code, &grant, Some(&first))
        .await
        .unwrap();

    let second = refresh_for(&grant);
    assert_eq!(
        records
            .rotate_refresh(&grant, &first.token_hash, &second)
            .await
            .unwrap(),
        Rotation::Rotated
    );
    let moved = records
        .grant(&user.org, &user.id, &grant.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(moved.current_refresh, Some(second.token_hash.clone()));
    assert_eq!(moved.version, grant.version + 1);
    // The first token comes back (stolen, or a retry): the grant ends, with every token of it.
    let third = refresh_for(&grant);
    assert_eq!(
        records
            .rotate_refresh(&grant, &first.token_hash, &third)
            .await
            .unwrap(),
        Rotation::Reused
    );
    assert_eq!(
        records.grant(&user.org, &user.id, &grant.id).await.unwrap(),
        None
    );
    assert_eq!(
        records
            .rotate_refresh(&moved, &second.token_hash, &refresh_for(&grant))
            .await
            .unwrap(),
        Rotation::Reused,
        "the current token of an ended grant rotates no more"
    );
}

pub async fn concurrent_refreshes_with_one_token_end_its_grant(store: Arc<dyn ItemStore>) {
    let records = Records::new(store);
    let user = signed_up(&records).await;
    let code = code_for(&user);
    records.save_code(&code).await.unwrap();
    let (grant, first) = grant_for(&code);
    records
        .redeem_code(&code, &grant, Some(&first))
        .await
        .unwrap();
    let tasks: Vec<_> = (0..3)
        .map(|_| {
            let (records, grant, used, next) = (
                records.clone(),
                grant.clone(),
                first.token_hash.clone(),
                refresh_for(&grant),
            );
            tokio::spawn(async move { records.rotate_refresh(&grant, &used, &next).await })
        })
        .collect();
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.push(task.await.unwrap().unwrap());
    }
    assert_eq!(
        outcomes.iter().filter(|o| **o == Rotation::Rotated).count(),
        1,
        "{outcomes:?}"
    );
    assert_eq!(
        records.grant(&user.org, &user.id, &grant.id).await.unwrap(),
        None
    );
}

pub async fn ending_a_users_sessions_ends_their_grants(store: Arc<dyn ItemStore>) {
    let records = Records::new(store);
    let user = signed_up(&records).await;
    let code = code_for(&user);
    records.save_code(&code).await.unwrap();
    let (grant, refresh) = grant_for(&code);
    records
        .redeem_code(&code, &grant, Some(&refresh))
        .await
        .unwrap();
    let session = session_for(&user);
    records.create_session(&session).await.unwrap();
    records
        .end_sessions(&user.org, &user.id, None)
        .await
        .unwrap();
    assert_eq!(
        records.grant(&user.org, &user.id, &grant.id).await.unwrap(),
        None
    );
    assert_eq!(
        records
            .session(&user.org, &user.id, &session.token_hash)
            .await
            .unwrap(),
        None
    );
    // Another user's grant is another partition.
    let other = signed_up(&records).await;
    let code = code_for(&other);
    records.save_code(&code).await.unwrap();
    let (theirs, refresh) = grant_for(&code);
    records
        .redeem_code(&code, &theirs, Some(&refresh))
        .await
        .unwrap();
    records
        .end_sessions(&user.org, &user.id, None)
        .await
        .unwrap();
    assert!(records
        .grant(&other.org, &other.id, &theirs.id)
        .await
        .unwrap()
        .is_some());
}

/// The token endpoint's records (organisation, client, person, code or refresh token, grant)
/// are read together in one round trip; a code or refresh token of another organisation is not
/// found from this one.
pub async fn a_token_request_reads_its_records_in_one_round_trip(store: Arc<dyn ItemStore>) {
    let counted = Arc::new(CountingItems::new(store));
    let records = Records::new(counted.clone());
    let user = signed_up(&records).await;
    let app = crate::clients::client(&user.org, "Platform", 1);
    records.create_client(&app).await.unwrap();
    let mut code = code_for(&user);
    code.client_id = app.id.clone();
    records.save_code(&code).await.unwrap();
    let (grant, refresh) = grant_for(&code);
    records
        .redeem_code(&code, &grant, Some(&refresh))
        .await
        .unwrap();
    counted.take();
    let found = records
        .look_up(
            &user.org,
            &Lookup {
                org: true,
                client: Some(app.id.clone()),
                user: Some(user.id.clone()),
                code: Some(code.code_hash.clone()),
                refresh_token: Some(refresh.token_hash.clone()),
                grant: Some((user.id.clone(), grant.id.clone())),
                ..Lookup::default()
            },
        )
        .await
        .unwrap();
    let calls = counted.take();
    assert_eq!((calls.batch_gets, calls.gets, calls.queries), (1, 0, 0));
    assert_eq!(found.org.unwrap().domain, user.org);
    assert_eq!(found.client, Some(app.clone()));
    assert_eq!(found.user.unwrap().id, user.id);
    assert_eq!(found.code.unwrap().spent_for, Some(grant.id.clone()));
    assert_eq!(found.refresh_token, Some(refresh.clone()));
    assert_eq!(found.grant, Some(grant.clone()));
    // From another organisation, nothing of these is found.
    let (other, _) = new_org(&records).await;
    let found = records
        .look_up(
            &other,
            &Lookup {
                client: Some(app.id.clone()),
                code: Some(code.code_hash.clone()),
                refresh_token: Some(refresh.token_hash.clone()),
                grant: Some((user.id.clone(), grant.id.clone())),
                ..Lookup::default()
            },
        )
        .await
        .unwrap();
    assert!(found.client.is_none() && found.code.is_none());
    assert!(found.refresh_token.is_none() && found.grant.is_none());
}
