//! Spreadsheets for bulk invitations. [`read_rows`] turns the bytes an admin uploaded (xlsx, xls
//! or ods, as Excel or LibreOffice saved them) into rows, refusing a whole file that is not one it
//! can read safely; [`template`] writes the file admins fill in. Pure: no I/O, fuzzable from
//! bytes. What each row means (valid email, known group, …) is the domain's to decide.

mod adapters;
mod compound;
mod extent;
mod read;
mod write;

pub use adapters::{InvitationsSheet, Sheets, REPORT_HEADERS};
pub use read::{read_rows, Cell, CellKind, Row, Rows};
pub use write::{table, template, write_text, StreamedTable, TEMPLATE_EXAMPLES};

/// Files larger than this are refused before they are opened.
pub const MAX_FILE_BYTES: usize = 5 * 1024 * 1024;
/// Zip-based files (xlsx, ods) whose entries unpack to more than this are refused unopened.
pub const MAX_UNPACKED_BYTES: u64 = 64 * 1024 * 1024;
/// At most this many invitations per file.
pub const MAX_ROWS: usize = 500;

/// Why a whole file is refused: nothing in it is imported. `code` is stable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SheetError {
    #[error("the file is larger than {} MiB", MAX_FILE_BYTES / (1024 * 1024))]
    FileTooLarge,
    #[error("the file unpacks to more than {} MiB", MAX_UNPACKED_BYTES / (1024 * 1024))]
    UnpackedTooLarge,
    #[error("the file is not a spreadsheet Gatehouse reads (xlsx, xls or ods)")]
    NotASpreadsheet,
    #[error("the file is password-protected; save it without a password")]
    Encrypted,
    #[error("the file could not be read: {0}")]
    Corrupt(String),
    /// The reader's own complaint is in `cause`, for the log; the admin reads what to do.
    #[error("the file is damaged and could not be read; open it in Excel or LibreOffice, save it again and upload that copy")]
    Damaged { cause: String },
    #[error(
        "no sheet has a header row naming the columns (Email or Identifier, First name, Last name)"
    )]
    NoHeader,
    #[error("the file has {rows} rows of invitations; at most {max} per file", max = MAX_ROWS)]
    TooManyRows { rows: usize },
    #[error("the template could not be written: {0}")]
    Write(String),
}

impl SheetError {
    /// What the reader itself said, for the log (never shown to the admin).
    pub fn cause(&self) -> Option<&str> {
        match self {
            Self::Damaged { cause } => Some(cause),
            _ => None,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            Self::FileTooLarge => "file_too_large",
            Self::UnpackedTooLarge => "file_unpacks_too_large",
            Self::NotASpreadsheet => "not_a_spreadsheet",
            Self::Encrypted => "file_encrypted",
            Self::Corrupt(_) | Self::Damaged { .. } => "file_corrupt",
            Self::NoHeader => "no_header_row",
            Self::TooManyRows { .. } => "too_many_rows",
            Self::Write(_) => "template_failed",
        }
    }
}
