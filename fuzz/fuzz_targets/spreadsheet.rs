//! Any bytes uploaded as a spreadsheet: an answer (rows, or a refusal with its code), never a
//! panic, and never more rows than an import takes.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    // The reader turns a panic inside calamine into a refusal; libFuzzer's hook would abort on
    // it first. A panic the reader lets through still unwinds to libFuzzer, which aborts.
    static QUIET: std::sync::Once = std::sync::Once::new();
    QUIET.call_once(|| std::panic::set_hook(Box::new(|_| {})));
    match gatehouse_sheets::read_rows(bytes) {
        Ok(rows) => assert!(rows.rows.len() <= 500),
        Err(refusal) => assert!(!refusal.code().is_empty()),
    }
});
