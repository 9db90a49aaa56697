//! `bulk-import`: S3 notifies it when an import's file is uploaded (`uploads/{org}/{import id}`);
//! it runs the import. Deliveries are at least once and may come twice at the same time: the
//! import itself makes that safe (see `gatehouse_domain::usecase::bulk_import`). An event whose
//! import is running elsewhere is answered with an error, so that Lambda delivers it again later
//! and it takes the import over if that worker died.

use aws_lambda_events::event::s3::S3Event;
use gatehouse_domain::usecase::bulk_import::{run_import, Ran, RunError};
use gatehouse_domain::usecase::imports::parse_upload_key;
use gatehouse_domain::Services;

/// What one record of an event came to.
// One per record of an event (a handful): the size of an import held whole does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Outcome {
    Ran(Ran),
    /// The key is no import's upload (another prefix, a malformed or foreign name): ignored.
    NotAnUpload(String),
}

/// Runs the import of every upload the event names. `Err` if one must be retried.
pub async fn handle(services: &Services, event: &S3Event) -> Result<Vec<Outcome>, RunError> {
    let mut outcomes = Vec::with_capacity(event.records.len());
    let mut retry = None;
    for record in &event.records {
        let key = record
            .s3
            .object
            .url_decoded_key
            .clone()
            .or_else(|| record.s3.object.key.as_deref().map(url_decoded))
            .unwrap_or_default();
        let Some((org, id)) = parse_upload_key(&key) else {
            tracing::warn!(key = %key, "an S3 event for a key that is no import's upload; ignored");
            outcomes.push(Outcome::NotAnUpload(key));
            continue;
        };
        match run_import(services, &gatehouse_sheets::Sheets, &org, &id).await {
            Ok(ran) => {
                match &ran {
                    Ran::Finished(import) => {
                        tracing::info!(import = %id, %org, status = import.state.name(), counts = ?import.counts, "import finished")
                    }
                    Ran::AlreadyFinished(_) => {
                        tracing::info!(import = %id, %org, "import had finished; event ignored")
                    }
                    Ran::NoSuchImport => {
                        tracing::warn!(import = %id, %org, "an upload for no import; ignored")
                    }
                    Ran::NoFile => {
                        tracing::warn!(import = %id, %org, "the uploaded file is gone; the import waits for another")
                    }
                }
                outcomes.push(Outcome::Ran(ran));
            }
            Err(e) => {
                tracing::warn!(import = %id, %org, cause = %gatehouse_domain::Chain(&e), "import not finished; the event will be delivered again");
                retry = Some(e);
            }
        }
    }
    match retry {
        Some(e) => Err(e),
        None => Ok(outcomes),
    }
}

/// An S3 event's key as written: `+` for spaces and `%XX` escapes.
pub fn url_decoded(raw: &str) -> String {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(high), Some(low)) => {
                    out.push(high << 4 | low);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(b: u8) -> Option<u8> {
    char::from(b)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

#[cfg(test)]
mod tests {
    use super::url_decoded;

    #[test]
    fn keys_are_decoded_as_s3_encodes_them() {
        assert_eq!(url_decoded("uploads/acme/abc"), "uploads/acme/abc");
        assert_eq!(url_decoded("a+b%2Fc"), "a b/c");
        assert_eq!(url_decoded("100%"), "100%");
        assert_eq!(url_decoded("%zz"), "%zz");
        assert_eq!(url_decoded("%41"), "A");
        assert_eq!(url_decoded("%é%"), "%é%", "no panic inside a character");
    }
}
