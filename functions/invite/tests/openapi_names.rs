//! The enums the OpenAPI document names (`InviteeRoleName`, `StatusName`, …) mirror domain enums
//! only so that the document can list their values. Proven equal here, not trusted to stay so:
//! each pair is matched both ways with one variant list (so a variant added to either enum alone
//! does not compile), and each variant's name in the document is the string the API writes.

use gatehouse_domain::lifecycle::EventKind;
use gatehouse_domain::model::{Delivery, InvitationKind, InvitationStatus};
use gatehouse_domain::types::{InviteeRole, Language};
use gatehouse_domain::views::{DeliveryName, HistoryKindName};
use gatehouse_http::LanguageName;
use gatehouse_invite::{InviteeRoleName, KindName, StatusName};

/// Every variant of both enums, as (the document's name, the domain's value). Both matches are
/// exhaustive over the same list, so the list is each enum's every variant.
macro_rules! mirrored {
    ($name:ident, $domain:ident, [$($variant:ident),+ $(,)?]) => {{
        fn to_domain(name: &$name) -> $domain {
            match name {
                $($name::$variant => $domain::$variant),+
            }
        }
        fn to_name(domain: $domain) -> $name {
            match domain {
                $($domain::$variant => $name::$variant),+
            }
        }
        vec![$((
            serde_json::to_value(to_name($domain::$variant)).unwrap(),
            to_domain(&$name::$variant),
        )),+]
    }};
}

fn names(pairs: Vec<(serde_json::Value, &'static str)>) {
    assert!(!pairs.is_empty());
    for (in_the_document, written) in pairs {
        assert_eq!(
            in_the_document, written,
            "the document names what the API writes"
        );
    }
}

#[test]
fn the_documents_enums_are_the_domains() {
    names(
        mirrored!(InviteeRoleName, InviteeRole, [Member, Guest])
            .into_iter()
            .map(|(n, d)| (n, d.as_role().as_str()))
            .collect(),
    );
    names(
        mirrored!(
            StatusName,
            InvitationStatus,
            [Pending, Accepted, Revoked, Expired]
        )
        .into_iter()
        .map(|(n, d)| (n, d.as_str()))
        .collect(),
    );
    names(
        mirrored!(KindName, InvitationKind, [Email, Uid])
            .into_iter()
            .map(|(n, d)| (n, d.as_str()))
            .collect(),
    );
    names(
        mirrored!(
            HistoryKindName,
            EventKind,
            [
                Created,
                Sent,
                Resent,
                Reminded,
                DeliveryFailed,
                Bounced,
                Complained,
                Accepted,
                Revoked,
                Expired,
            ]
        )
        .into_iter()
        .map(|(n, d)| (n, d.as_str()))
        .collect(),
    );
    names(
        mirrored!(
            DeliveryName,
            Delivery,
            [Queued, Sent, Manual, Bounced, Complained]
        )
        .into_iter()
        .map(|(n, d)| (n, d.as_str()))
        .collect(),
    );
    names(
        mirrored!(LanguageName, Language, [En, Fr])
            .into_iter()
            .map(|(n, d)| (n, d.as_str()))
            .collect(),
    );
}
