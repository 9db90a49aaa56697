//! Any text given as an access code: refused, or a code whose grouped form (as it is shown and
//! exported) reads back as the same code, and holds nothing but letters, digits and dashes.
#![no_main]

use gatehouse_domain::access_code::AccessCode;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|raw: &str| {
    let Ok(code) = AccessCode::parse(raw) else {
        return;
    };
    let grouped = code.grouped();
    assert_eq!(grouped.len(), 13, "{grouped}");
    assert!(grouped.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
    let again = AccessCode::parse(&grouped).expect("the grouped form reads back");
    assert_eq!(again.grouped(), grouped);
});
