//! Local adapters: [`EmbeddedItems`], a persistent item store in one redb file, and [`FileOutbox`],
//! a mailer that writes each message as an RFC 5322 `.eml` file.

mod outbox;
mod store;

pub use outbox::FileOutbox;
pub use store::EmbeddedItems;
