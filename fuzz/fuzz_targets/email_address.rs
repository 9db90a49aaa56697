//! Any text given as an email address: refused, or accepted as an address that holds no CR, LF
//! or NUL (no header injection), reads back as itself (what is stored is what is mailed), and
//! is the recipient of the mail sent to it.
#![no_main]

use gatehouse_domain::clock::Timestamp;
use gatehouse_domain::mail::PasswordResetMail;
use gatehouse_domain::types::{EmailAddress, Language, PersonName};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|raw: &str| {
    let Ok(address) = EmailAddress::parse(raw) else {
        return;
    };
    let text = address.as_str();
    assert!(!text.contains(['\r', '\n', '\0']), "{text:?}");
    assert!(text.is_ascii(), "{text:?}");
    assert_eq!(EmailAddress::parse(text).as_ref(), Ok(&address));
    assert_eq!(address.normalized(), text);
    assert_eq!(format!("{}@{}", address.local_part(), address.domain()), text);
    let name = PersonName::parse("Ada").unwrap();
    let mail = PasswordResetMail {
        to: &address,
        org: "acme",
        first_name: &name,
        link: "https://app.example.com/acme/reset-password?token=x".into(),
        expires_at: Timestamp::from_unix_seconds(1_800_000_000),
        language: Language::En,
    }
    .render()
    .expect("a reset mail renders for any accepted address");
    assert_eq!(mail.to, address);
    assert!(!mail.subject.contains(['\r', '\n']));
});
