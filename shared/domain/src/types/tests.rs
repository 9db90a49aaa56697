use super::*;
use proptest::prelude::*;

#[test]
fn idempotency_keys_are_visible_ascii() {
    let uuid = "0b9c2f4e-6a1d-4c3b-9e8f-7a6b5c4d3e2f";
    assert_eq!(IdempotencyKey::parse(uuid).unwrap().as_str(), uuid);
    assert!(IdempotencyKey::parse(&"k".repeat(255)).is_ok());
    for bad in ["", " ", "a b", "clé", "a\r\nb", &"k".repeat(256)] {
        assert_eq!(
            IdempotencyKey::parse(bad).unwrap_err().code,
            "invalid_idempotency_key",
            "{bad:?}"
        );
    }
}

#[test]
fn org_domains_are_slugs() {
    assert_eq!(OrgDomain::parse(" Acme ").unwrap().as_str(), "acme");
    assert!(OrgDomain::parse("acme-corp2").is_ok());
    for bad in [
        "",
        "a",
        "2acme",
        "acme-",
        "ac me",
        "acmé",
        "ac_me",
        &"a".repeat(41),
    ] {
        assert_eq!(
            OrgDomain::parse(bad).unwrap_err().code,
            "invalid_org_domain",
            "{bad:?}"
        );
    }
}

#[test]
fn emails_are_kept_in_one_canonical_lowercase_form() {
    let a = EmailAddress::parse("Alice@Example.com").unwrap();
    let b = EmailAddress::parse(" alice@example.COM ").unwrap();
    assert_eq!(a, b);
    assert_eq!(a.as_str(), "alice@example.com");
    assert_eq!(a.normalized(), a.as_str());
    assert_eq!(a.domain(), "example.com");
    assert_eq!(a.local_part(), "alice");
    for ok in [
        "a.b+tag@sub.example.org",
        "o'neil@example.ie",
        "x_y-z@ex-ample.co.uk",
        "{weird}|#$%&*=?^`~!@example.com",
    ] {
        let parsed = EmailAddress::parse(ok).unwrap();
        assert_eq!(parsed.as_str(), ok.to_ascii_lowercase());
    }
}

#[test]
fn bad_emails_are_refused() {
    let long = format!("{}@example.com", "a".repeat(250));
    let long_local = format!("{}@example.com", "a".repeat(65));
    for bad in [
        "",
        "alice",
        "alice@",
        "@example.com",
        "alice@localhost",
        "Alice <alice@example.com>",
        "al ice@example.com",
        "alice@exa\nmple.com",
        "alice@[127.0.0.1]",
        "\"alice\"@dup.test",
        "\"al\\ice\"@dup.test",
        "\"a\r\nbcc\"@inj.test",
        "\"a,b\"@x.org",
        "\"a<b>c\"@x.org",
        "\"a@b\"@x.org",
        "a,b@x.org",
        "a@b@x.org",
        "a..b@x.org",
        ".a@x.org",
        "a.@x.org",
        "a(comment)@x.org",
        "alice@x.org\u{0}",
        "zoë@example.com",
        "alice@exämple.com",
        "alice@-x.org",
        "alice@x..org",
        "alice@x.123",
        long.as_str(),
        long_local.as_str(),
    ] {
        assert_eq!(
            EmailAddress::parse(bad).map_err(|e| e.code),
            Err("invalid_email"),
            "{bad:?} accepted"
        );
    }
    assert!(EmailAddress::parse("\"alice\"@dup.test")
        .unwrap_err()
        .message
        .contains("quoted"));
}

#[test]
fn names_are_trimmed_and_bounded() {
    assert_eq!(PersonName::parse("  Zoë ").unwrap().as_str(), "Zoë");
    assert!(PersonName::parse("   ").is_err());
    assert!(PersonName::parse(&"é".repeat(101)).is_err());
    assert!(PersonName::parse(&"é".repeat(100)).is_ok());
    assert!(PersonName::parse("a\u{0}b").is_err());
    assert!(PersonName::parse("a\nb").is_err());
    assert!(PersonalMessage::parse("line one\nline two").is_ok());
}

#[test]
fn names_that_would_lie_about_themselves_are_refused() {
    for (raw, why) in [
        ("Acme\u{202E}gnp.exe", "direction"),
        ("Acme\u{2066}x\u{2069}", "direction"),
        ("Ad\u{200B}min", "invisible"),
        ("\u{200D}Admin", "invisible"),
        ("Ad\u{200C}min", "invisible"),
        ("Ada\u{2028}Lovelace", "separator"),
        ("Ada\u{2029}Byron", "separator"),
        ("Ad\u{FEFF}a", "invisible"),
        ("Ad\u{00AD}a", "invisible"),
    ] {
        for error in [
            PersonName::parse(raw).unwrap_err(),
            OrgName::parse(raw).unwrap_err(),
            GroupName::parse(raw).unwrap_err(),
        ] {
            assert!(error.message.contains(why), "{raw:?}: {error:?}");
        }
    }
    assert_eq!(
        PersonName::parse(raw_codes()).unwrap_err().code,
        "invalid_name"
    );
    assert_eq!(
        OrgName::parse(raw_codes()).unwrap_err().code,
        "invalid_display_name"
    );
    assert_eq!(
        GroupName::parse(raw_codes()).unwrap_err().code,
        "invalid_group_name"
    );
    // Scripts that spell with a joiner keep it: Persian "Mohammad-Hossein", an emoji family.
    assert!(PersonName::parse("محمد\u{200C}حسین").is_ok());
    assert!(PersonName::parse("Ada 👩\u{200D}👧").is_ok());
}

fn raw_codes() -> &'static str {
    "Acme\u{202E}gnp.exe"
}

#[test]
fn trusted_networks_are_cidrs_no_wider_than_a_slash_8() {
    let net = TrustedNetwork::parse(" 203.0.113.77/24 ").unwrap();
    assert_eq!(net.to_string(), "203.0.113.0/24");
    assert!(net.contains("203.0.113.9".parse().unwrap()));
    assert!(net.contains("::ffff:203.0.113.9".parse().unwrap()));
    assert!(!net.contains("203.0.114.9".parse().unwrap()));
    let v6 = TrustedNetwork::parse("2001:db8:1::/48").unwrap();
    assert!(v6.contains("2001:db8:1:2::1".parse().unwrap()));
    for bad in [
        "0.0.0.0/0",
        "10.0.0.0/7",
        "::/0",
        "2001::/31",
        "office",
        "10.0.0.1",
        "",
    ] {
        assert_eq!(
            TrustedNetwork::parse(bad).unwrap_err().code,
            "invalid_trusted_network",
            "{bad}"
        );
    }
}

#[test]
fn names_are_kept_in_nfc() {
    // "Zoë" typed as Z, o, e and a combining diaeresis.
    let decomposed = "Zoe\u{0308}";
    assert_eq!(PersonName::parse(decomposed).unwrap().as_str(), "Zoë");
    assert_eq!(GroupName::parse(decomposed).unwrap().as_str(), "Zoë");
    assert_eq!(OrgName::parse(decomposed).unwrap().as_str(), "Zoë");
}

#[test]
fn group_names_that_look_alike_are_confusable() {
    let name = |s: &str| GroupName::parse(s).unwrap();
    assert!(
        name("Еveryone").confusable_with(&name("Everyone")),
        "Cyrillic Е"
    );
    assert!(name("everyone").confusable_with(&name("Everyone")), "case");
    assert!(name("Sa1es").confusable_with(&name("Sales")), "digit one");
    assert!(name("Ρaris").confusable_with(&name("Paris")), "Greek Ρ");
    assert!(!name("Sales").confusable_with(&name("Support")));
    assert!(!name("Design").confusable_with(&name("Designers")));
}

#[test]
fn invitee_roles_are_member_or_guest() {
    assert_eq!(InviteeRole::parse("member").unwrap(), InviteeRole::Member);
    assert!(
        InviteeRole::parse("Member").is_err(),
        "exactly as the contract spells it"
    );
    assert_eq!(InviteeRole::parse("guest").unwrap(), InviteeRole::Guest);
    assert_eq!(
        InviteeRole::parse("admin").unwrap_err().code,
        "invalid_role"
    );
}

#[test]
fn email_domains_parse() {
    assert_eq!(
        EmailDomain::parse("@Example.COM").unwrap().as_str(),
        "example.com"
    );
    assert!(EmailDomain::parse("example").is_err());
    assert!(EmailDomain::parse("-x.com").is_err());
}

#[test]
fn uids_are_letters_and_digits_matched_case_insensitively() {
    assert_eq!(Uid::parse(" E1234 ").unwrap().as_str(), "E1234");
    assert_eq!(Uid::parse("E1234").unwrap(), Uid::parse("e1234").unwrap());
    assert!(Uid::parse(&"9".repeat(64)).is_ok());
    for bad in [
        "",
        " ",
        "E 1234",
        "E-1234",
        "e.1234",
        "ü123",
        "12:34",
        &"9".repeat(65),
    ] {
        assert_eq!(Uid::parse(bad).unwrap_err().code, "invalid_uid", "{bad:?}");
    }
}

#[test]
fn sign_in_identifiers_are_emails_or_uid_colon_domain() {
    let demo = OrgDomain::parse("demo").unwrap();
    assert_eq!(
        SignInIdentifier::parse("E1234:demo").unwrap(),
        SignInIdentifier::Uid {
            uid: Uid::parse("E1234").unwrap(),
            domain: demo.clone()
        }
    );
    assert_eq!(
        SignInIdentifier::parse("e1234:DEMO").unwrap().normalized(),
        "e1234:demo"
    );
    assert!(matches!(
        SignInIdentifier::parse("a@example.com").unwrap(),
        SignInIdentifier::Email(_)
    ));
    for bad in ["E1234", "E 12:demo", ":demo", "E1234:", "x@y"] {
        assert!(SignInIdentifier::parse(bad).is_err(), "{bad:?}");
    }
    // On an organisation's own route a bare identifier is that organisation's.
    assert_eq!(
        SignInIdentifier::parse_in(" E1234 ", &demo).unwrap(),
        SignInIdentifier::parse("E1234:demo").unwrap()
    );
    assert_eq!(
        SignInIdentifier::parse_in("E1234:other", &demo).unwrap(),
        SignInIdentifier::parse("E1234:other").unwrap()
    );
    assert!(SignInIdentifier::parse_in("E 1234", &demo).is_err());
}

proptest! {
    #[test]
    fn parsing_never_panics(s in "\\PC*") {
        let _ = EmailAddress::parse(&s);
        let _ = OrgDomain::parse(&s);
        let _ = PersonName::parse(&s);
        let _ = UserId::parse(&s);
    }

    /// Every accepted address is its own canonical form: what is stored is what is compared,
    /// what the claim key is made of, and what the mailer is handed. Nothing in it can break
    /// a mail header, and parsing it again gives it back unchanged.
    #[test]
    fn accepted_emails_are_canonical_and_header_safe(
        s in prop_oneof![
            "[a-zA-Z0-9.'+_{}|~!#$%&*=?^`-]{1,40}@[a-zA-Z0-9.-]{1,20}",
            "[\"\\\\a-zA-Z0-9.,<>()@ \r\n\t\u{0}'+_{}|~!#$%&*=?^`é-]{1,40}(@[a-zA-Z0-9.\\[\\]é-]{0,20})?",
        ]
    ) {
        if let Ok(e) = EmailAddress::parse(&s) {
            let stored = e.as_str();
            prop_assert!(!stored.contains(['\r', '\n', '\0', '"', '\\', ',', '<', '>', '(', ')', ' ']));
            prop_assert!(stored.is_ascii());
            prop_assert_eq!(stored.matches('@').count(), 1);
            prop_assert_eq!(e.normalized(), stored.to_string());
            prop_assert_eq!(stored.to_ascii_lowercase(), stored.to_string());
            prop_assert_eq!(EmailAddress::parse(stored).unwrap(), e.clone());
            prop_assert_eq!(format!("{}@{}", e.local_part(), e.domain()), stored.to_string());
        }
    }

    #[test]
    fn two_spellings_of_one_address_are_one_address(
        local in "[a-zA-Z0-9][a-zA-Z0-9._+-]{0,15}[a-zA-Z0-9]",
        domain in "[a-zA-Z][a-zA-Z0-9]{0,10}\\.[a-zA-Z]{2,6}",
    ) {
        prop_assume!(!local.contains(".."));
        let typed = format!("{local}@{domain}");
        let a = EmailAddress::parse(&typed).unwrap();
        let b = EmailAddress::parse(&typed.to_uppercase()).unwrap();
        prop_assert_eq!(a.as_str(), b.as_str());
    }

    #[test]
    fn valid_org_domains_round_trip(s in "[a-z][a-z0-9-]{0,38}[a-z0-9]") {
        let d = OrgDomain::parse(&s).unwrap();
        prop_assert_eq!(OrgDomain::parse(d.as_str()).unwrap(), d);
    }
}
