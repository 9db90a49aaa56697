//! Local adapters: [`EmbeddedItems`], a persistent item store in one redb file, and [`FileOutbox`],
//! a mailer that writes each message as an RFC 5322 `.eml` file, and [`LocalFiles`], uploads and
//! reports in a directory behind signed URLs of the local server.

mod files;
pub mod migrate;
mod outbox;
pub mod signing_keys;
mod store;

pub use files::{valid_key, FileOp, LocalFiles};
pub use outbox::FileOutbox;
pub use signing_keys::FileSigningKeys;
pub use store::EmbeddedItems;
