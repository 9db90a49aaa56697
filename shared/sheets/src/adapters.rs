//! The domain's ports over these spreadsheets: [`Sheets`] (the bulk import's [`Spreadsheets`]:
//! uploaded files read into rows, reports written) and [`InvitationsSheet`] (the export's
//! [`ExportSheet`], streamed). Shared by the functions that import, run imports, export and
//! serve the console, so that none of them depends on another.

use gatehouse_domain::usecase::bulk_import::{FileRefusal, ReportLine, Spreadsheets};
use gatehouse_domain::usecase::export::{ExportSheet, EXPORT_HEADERS};
use gatehouse_domain::usecase::imports::ImportRow;

use crate::{Cell, CellKind, StreamedTable, TEMPLATE_EXAMPLES};

/// calamine and rust_xlsxwriter.
#[derive(Debug, Clone, Copy, Default)]
pub struct Sheets;

pub const REPORT_HEADERS: [&str; 10] = [
    "Row",
    "Email",
    "Identifier",
    "First name",
    "Last name",
    "Result",
    "Reason",
    "Message",
    "Sign-in identifier",
    "Access code",
];

fn held(kind: CellKind) -> Option<&'static str> {
    match kind {
        CellKind::Text => None,
        CellKind::Number => Some("number"),
        CellKind::Date => Some("date"),
        CellKind::Bool => Some("true/false value"),
        CellKind::Error => Some("formula error"),
    }
}

impl Spreadsheets for Sheets {
    fn read(&self, bytes: &[u8]) -> Result<Vec<ImportRow>, FileRefusal> {
        let rows = crate::read_rows(bytes).map_err(|e| {
            if let Some(cause) = e.cause() {
                tracing::warn!(code = e.code(), cause, "an uploaded file could not be read");
            }
            FileRefusal {
                code: e.code(),
                message: e.to_string(),
            }
        })?;
        Ok(rows
            .rows
            .into_iter()
            .map(|row| {
                let mut not_text = Vec::new();
                let mut text = |cell: Option<Cell>, column: &'static str| {
                    let cell = cell?;
                    if let Some(what) = held(cell.kind) {
                        not_text.push((column, what));
                    }
                    Some(cell.text)
                };
                let email = text(row.email, "email");
                let first_name = text(row.first_name, "first_name");
                let last_name = text(row.last_name, "last_name");
                // A number is a uid that lost its zeros (the domain says so); other kinds are not text.
                let uid_was_number = row.uid.as_ref().is_some_and(|c| c.kind == CellKind::Number);
                let uid = match row.uid {
                    Some(c) if c.kind == CellKind::Number => Some(c.text),
                    other => text(other, "identifier"),
                };
                let cells = [
                    email.as_deref().unwrap_or(""),
                    uid.as_deref().unwrap_or(""),
                    first_name.as_deref().unwrap_or(""),
                    last_name.as_deref().unwrap_or(""),
                ];
                let is_example = TEMPLATE_EXAMPLES
                    .iter()
                    .any(|example| example[..4] == cells && row.groups.is_empty());
                ImportRow {
                    number: row.number,
                    is_example,
                    email,
                    uid,
                    uid_was_number,
                    first_name,
                    last_name,
                    groups: row.groups,
                    not_text,
                }
            })
            .collect())
    }

    fn report(
        &self,
        _org_name: &str,
        lines: &[ReportLine],
    ) -> Result<Vec<u8>, gatehouse_domain::Cause> {
        let table: Vec<(u32, Vec<String>)> = lines
            .iter()
            .map(|l| {
                let text = |v: &Option<String>| v.clone().unwrap_or_default();
                (
                    l.row,
                    vec![
                        text(&l.email),
                        text(&l.uid),
                        text(&l.first_name),
                        text(&l.last_name),
                        l.result.as_str().to_string(),
                        l.code.unwrap_or_default().to_string(),
                        l.message.clone(),
                        text(&l.sign_in),
                        text(&l.access_code),
                    ],
                )
            })
            .collect();
        crate::table("Report", &REPORT_HEADERS, &table).map_err(Into::into)
    }
}

/// The export's sheet: `gatehouse-sheets` in constant-memory mode.
pub struct InvitationsSheet(StreamedTable);

impl InvitationsSheet {
    pub fn new() -> Result<Self, crate::SheetError> {
        StreamedTable::new("Invitations", &EXPORT_HEADERS).map(Self)
    }
}

impl ExportSheet for InvitationsSheet {
    fn row(&mut self, cells: &[String; 16]) -> Result<(), gatehouse_domain::Cause> {
        self.0.row(cells).map_err(Into::into)
    }
    fn finish(self: Box<Self>) -> Result<Vec<u8>, gatehouse_domain::Cause> {
        self.0.finish().map_err(Into::into)
    }
}
