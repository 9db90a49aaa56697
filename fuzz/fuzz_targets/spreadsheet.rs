//! Any bytes uploaded as a spreadsheet: an answer (rows, or a refusal with its code), never a
//! panic, and never more rows than an import takes.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    match gatehouse_sheets::read_rows(bytes) {
        Ok(rows) => assert!(rows.rows.len() <= 500),
        Err(refusal) => assert!(!refusal.code().is_empty()),
    }
});
