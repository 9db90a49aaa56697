use rust_xlsxwriter::{Format, Workbook, Worksheet, XlsxError};

use crate::{SheetError, MAX_ROWS};

/// The template's example rows (email, identifier, first name, last name, groups): one per kind.
/// An importer can recognise them if a template is uploaded with them left in.
pub const TEMPLATE_EXAMPLES: [[&str; 5]; 2] = [
    ["ada.lovelace@example.com", "", "Ada", "Lovelace", ""],
    ["", "00123", "Grace", "Hopper", ""],
];

const HEADERS: [&str; 5] = ["Email", "Identifier", "First name", "Last name", "Groups"];

fn write_error(e: XlsxError) -> SheetError {
    SheetError::Write(e.to_string())
}

/// Writes text so that no spreadsheet evaluates it: text beginning with `=`, `+`, `-`, `@`, a
/// tab, CR or NUL gets Excel's quote prefix (shown as typed, kept as text when edited), and
/// every cell is a string cell, never a formula (OWASP ASVS 5.0 1.2.10).
pub fn write_text(
    sheet: &mut Worksheet,
    row: u32,
    col: u16,
    text: &str,
    format: Option<&Format>,
) -> Result<(), SheetError> {
    let risky = text.starts_with(['=', '+', '-', '@', '\t', '\r', '\0']);
    let written = match (risky, format) {
        (true, Some(f)) => {
            sheet.write_string_with_format(row, col, text, &f.clone().set_quote_prefix())
        }
        (true, None) => {
            sheet.write_string_with_format(row, col, text, &Format::new().set_quote_prefix())
        }
        (false, Some(f)) => sheet.write_string_with_format(row, col, text, f),
        (false, None) => sheet.write_string(row, col, text),
    };
    written.map(|_| ()).map_err(write_error)
}

/// The bulk-invitation template: a sheet with the header row, one example row per kind and the
/// identifier column formatted as text (so `00123` stays `00123`), and a help sheet with short
/// instructions and the organisation's group names.
pub fn template(org_name: &str, groups: &[String]) -> Result<Vec<u8>, SheetError> {
    let mut book = Workbook::new();
    let bold = Format::new().set_bold();
    let as_text = Format::new().set_num_format("@");
    {
        let sheet = book.add_worksheet();
        sheet.set_name("Invitations").map_err(write_error)?;
        for (col, header) in HEADERS.iter().enumerate() {
            write_text(sheet, 0, col as u16, header, Some(&bold))?;
            sheet
                .set_column_width(col as u16, if col == 0 { 32 } else { 18 })
                .map_err(write_error)?;
        }
        // Identifiers as text in every row an admin may fill.
        for row in 1..=MAX_ROWS as u32 {
            sheet.write_blank(row, 1, &as_text).map_err(write_error)?;
        }
        for (index, example) in TEMPLATE_EXAMPLES.iter().enumerate() {
            for (col, value) in example.iter().enumerate() {
                if !value.is_empty() {
                    let format = (col == 1).then_some(&as_text);
                    write_text(sheet, index as u32 + 1, col as u16, value, format)?;
                }
            }
        }
    }
    {
        let sheet = book.add_worksheet();
        sheet.set_name("Help").map_err(write_error)?;
        let help = [
            format!("Bulk invitations to {org_name}: one person per row of the Invitations sheet, at most {MAX_ROWS}."),
            "Give each person an Email, or an Identifier (letters and digits, for people without email; needs sign-up without email).".to_string(),
            "First name and Last name are required. Groups: group names separated by commas.".to_string(),
            "Everyone is invited as a member. Replace the two example rows; rows left empty are skipped.".to_string(),
            "Each row gets a verdict in the import report: created, or skipped with the reason.".to_string(),
        ];
        for (row, line) in help.iter().enumerate() {
            write_text(sheet, row as u32, 0, line, None)?;
        }
        let start = help.len() as u32 + 1;
        write_text(sheet, start, 0, "Groups of this organisation", Some(&bold))?;
        for (i, group) in groups.iter().enumerate() {
            write_text(sheet, start + 1 + i as u32, 0, group, None)?;
        }
        sheet.set_column_width(0, 100).map_err(write_error)?;
    }
    book.save_to_buffer().map_err(write_error)
}

/// A one-sheet table: a bold header row, then each line's first cell as a number (a row number)
/// and the others as text, none of it evaluated. For import reports.
pub fn table(
    sheet_name: &str,
    headers: &[&str],
    lines: &[(u32, Vec<String>)],
) -> Result<Vec<u8>, SheetError> {
    let mut book = Workbook::new();
    let bold = Format::new().set_bold();
    let sheet = book.add_worksheet();
    sheet.set_name(sheet_name).map_err(write_error)?;
    for (col, header) in headers.iter().enumerate() {
        write_text(sheet, 0, col as u16, header, Some(&bold))?;
        sheet
            .set_column_width(col as u16, if col == 0 { 8 } else { 22 })
            .map_err(write_error)?;
    }
    sheet.set_freeze_panes(1, 0).map_err(write_error)?;
    for (i, (number, cells)) in lines.iter().enumerate() {
        let row = i as u32 + 1;
        sheet
            .write_number(row, 0, f64::from(*number))
            .map_err(write_error)?;
        for (col, text) in cells.iter().enumerate() {
            if !text.is_empty() {
                write_text(sheet, row, col as u16 + 1, text, None)?;
            }
        }
    }
    book.save_to_buffer().map_err(write_error)
}

/// A one-sheet table written row by row in rust_xlsxwriter's constant-memory mode: each row is
/// flushed to a temporary file as the next begins, so memory stays flat whatever the rows. Every
/// cell is text, none evaluated. For exports.
pub struct StreamedTable {
    book: Workbook,
    next_row: u32,
}

impl StreamedTable {
    pub fn new(sheet_name: &str, headers: &[&str]) -> Result<Self, SheetError> {
        let mut book = Workbook::new();
        let bold = Format::new().set_bold();
        let sheet = book
            .add_worksheet_with_constant_memory()
            .map_err(write_error)?;
        sheet.set_name(sheet_name).map_err(write_error)?;
        for (col, header) in headers.iter().enumerate() {
            sheet
                .set_column_width(col as u16, 20)
                .map_err(write_error)?;
            write_text(sheet, 0, col as u16, header, Some(&bold))?;
        }
        Ok(Self { book, next_row: 1 })
    }

    pub fn row(&mut self, cells: &[String]) -> Result<(), SheetError> {
        let row = self.next_row;
        let sheet = self.book.worksheet_from_index(0).map_err(write_error)?;
        for (col, text) in cells.iter().enumerate() {
            if !text.is_empty() {
                write_text(sheet, row, col as u16, text, None)?;
            }
        }
        self.next_row += 1;
        Ok(())
    }

    /// Rows written so far (the header not counted).
    pub fn rows(&self) -> u32 {
        self.next_row - 1
    }

    pub fn finish(mut self) -> Result<Vec<u8>, SheetError> {
        self.book.save_to_buffer().map_err(write_error)
    }
}
