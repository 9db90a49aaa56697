use std::io::Cursor;

use calamine::{Data, Reader, SheetVisible};
use unicode_normalization::UnicodeNormalization;

use crate::{SheetError, MAX_FILE_BYTES, MAX_ROWS, MAX_UNPACKED_BYTES};

/// What a cell held, trimmed, and what kind of value it was: a uid typed into a numeric cell has
/// lost its leading zeros, and a date where a name belongs is a mistake, so the caller is told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cell {
    pub text: String,
    pub kind: CellKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CellKind {
    Text,
    Number,
    Date,
    Bool,
    /// A formula error (`#N/A`, …).
    Error,
}

/// One data row with the recognised columns. Empty cells are `None`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Row {
    /// The row's number as the spreadsheet shows it (1 is the first row).
    pub number: u32,
    pub email: Option<Cell>,
    pub uid: Option<Cell>,
    pub first_name: Option<Cell>,
    pub last_name: Option<Cell>,
    /// Group names, split on commas and semicolons, trimmed, empty ones dropped.
    pub groups: Vec<String>,
}

/// The rows of the first visible sheet with a header row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rows {
    pub sheet: String,
    /// The header row's number.
    pub header_row: u32,
    pub rows: Vec<Row>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Column {
    Email,
    Uid,
    FirstName,
    LastName,
    Groups,
}

/// A header as people type it: case, accents, spaces, hyphens, dots and underscores do not count.
fn normalized_header(raw: &str) -> String {
    raw.nfd()
        .filter(|c| !unicode_normalization::char::is_combining_mark(*c))
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// English and French headers.
fn column_of(header: &str) -> Option<Column> {
    Some(match normalized_header(header).as_str() {
        "email" | "emailaddress" | "mail" | "courriel" | "adresseemail" | "adressecourriel" => {
            Column::Email
        }
        "identifier" | "uid" | "identifiant" | "id" | "employeenumber" | "matricule" => Column::Uid,
        "firstname" | "givenname" | "prenom" => Column::FirstName,
        "lastname" | "surname" | "familyname" | "nom" | "nomdefamille" => Column::LastName,
        "groups" | "group" | "groupes" | "groupe" => Column::Groups,
        _ => return None,
    })
}

/// Where the header row's columns are. A header row names the first and last name and the email
/// or the identifier.
fn header_columns(cells: &[Data]) -> Option<Vec<(usize, Column)>> {
    let mut found: Vec<(usize, Column)> = Vec::new();
    for (index, cell) in cells.iter().enumerate() {
        let Data::String(text) = cell else { continue };
        if let Some(column) = column_of(text) {
            if !found.iter().any(|(_, c)| *c == column) {
                found.push((index, column));
            }
        }
    }
    let has = |c: Column| found.iter().any(|(_, f)| *f == c);
    let complete =
        has(Column::FirstName) && has(Column::LastName) && (has(Column::Email) || has(Column::Uid));
    complete.then_some(found)
}

fn cell_of(data: &Data) -> Option<Cell> {
    let (text, kind) = match data {
        Data::Empty => return None,
        Data::String(s) => (s.trim().to_string(), CellKind::Text),
        Data::Int(i) => (i.to_string(), CellKind::Number),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => {
            (format!("{}", *f as i64), CellKind::Number)
        }
        Data::Float(f) => (f.to_string(), CellKind::Number),
        Data::Bool(b) => (b.to_string(), CellKind::Bool),
        Data::DateTime(d) => (d.to_string(), CellKind::Date),
        Data::DateTimeIso(s) | Data::DurationIso(s) => (s.clone(), CellKind::Date),
        Data::Error(e) => (e.to_string(), CellKind::Error),
    };
    (!text.is_empty()).then_some(Cell { text, kind })
}

/// How many header rows are looked for at the top of a sheet.
const HEADER_SEARCH_ROWS: usize = 20;

/// Reads the uploaded file. Refuses the whole file when it is too large (packed or unpacked), not
/// a spreadsheet, encrypted or corrupt, has no header row on any visible sheet, or more than
/// [`MAX_ROWS`] non-empty rows; otherwise answers every non-empty row below the header.
///
/// calamine panics on some malformed files (an xls sector past the end of the file, found by
/// fuzzing); a panic while reading is a corrupt file, never a failed import.
pub fn read_rows(bytes: &[u8]) -> Result<Rows, SheetError> {
    std::panic::catch_unwind(|| read_rows_unguarded(bytes)).unwrap_or_else(|_| {
        Err(SheetError::Corrupt(
            "the file's structure could not be read".into(),
        ))
    })
}

fn read_rows_unguarded(bytes: &[u8]) -> Result<Rows, SheetError> {
    if bytes.len() > MAX_FILE_BYTES {
        return Err(SheetError::FileTooLarge);
    }
    check_unpacked_size(bytes)?;
    // calamine follows an xls file's sector chains blindly; a looping one would eat all memory.
    if crate::compound::is_compound_file(bytes) {
        crate::compound::check(bytes)
            .map_err(|unsafe_file| SheetError::Corrupt(unsafe_file.0.into()))?;
    }
    // calamine makes each sheet a dense grid from its first to its last cell.
    crate::extent::check(bytes)?;
    let mut book = calamine::open_workbook_auto_from_rs(Cursor::new(bytes)).map_err(|_| {
        if is_ole_container(bytes) {
            // An xlsx or ods saved with a password is an OLE container of encrypted parts; so
            // is a legacy xls with a password, which calamine refuses to open too.
            SheetError::Encrypted
        } else if bytes.starts_with(b"PK\x03\x04") {
            SheetError::Corrupt("a zip archive without a readable workbook".into())
        } else {
            SheetError::NotASpreadsheet
        }
    })?;
    let visible: Vec<String> = book
        .sheets_metadata()
        .iter()
        .filter(|s| s.visible == SheetVisible::Visible)
        .map(|s| s.name.clone())
        .collect();
    for name in visible {
        let range = book
            .worksheet_range(&name)
            .map_err(|e| SheetError::Damaged {
                cause: e.to_string(),
            })?;
        // Cells are indexed from the range's first column, the header's columns too.
        let first_row = range.start().map_or(0, |(row, _)| row);
        let mut header: Option<(u32, Vec<(usize, Column)>)> = None;
        let mut rows = Vec::new();
        for (offset, cells) in range.rows().enumerate() {
            let number = first_row + offset as u32 + 1;
            let Some((_, columns)) = &header else {
                if offset >= HEADER_SEARCH_ROWS {
                    break;
                }
                header = header_columns(cells).map(|c| (number, c));
                continue;
            };
            let at = |column: Column| {
                columns
                    .iter()
                    .find(|(_, c)| *c == column)
                    .and_then(|(i, _)| cells.get(*i))
                    .and_then(cell_of)
            };
            let row = Row {
                number,
                email: at(Column::Email),
                uid: at(Column::Uid),
                first_name: at(Column::FirstName),
                last_name: at(Column::LastName),
                groups: at(Column::Groups)
                    .map(|g| {
                        g.text
                            .split([',', ';'])
                            .map(str::trim)
                            .filter(|s| !s.is_empty())
                            .map(str::to_string)
                            .collect()
                    })
                    .unwrap_or_default(),
            };
            let empty = row.email.is_none()
                && row.uid.is_none()
                && row.first_name.is_none()
                && row.last_name.is_none()
                && row.groups.is_empty();
            if !empty {
                rows.push(row);
                if rows.len() > MAX_ROWS {
                    // Count them all for the message, without keeping them.
                    let more = range
                        .rows()
                        .skip(offset + 1)
                        .filter(|r| r.iter().any(|c| cell_of(c).is_some()))
                        .count();
                    return Err(SheetError::TooManyRows {
                        rows: rows.len() + more,
                    });
                }
            }
        }
        if let Some((header_row, _)) = header {
            return Ok(Rows {
                sheet: name,
                header_row,
                rows,
            });
        }
    }
    Err(SheetError::NoHeader)
}

fn is_ole_container(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1])
}

/// A zip bomb is refused before anything is unpacked: the entries' declared sizes must add up to
/// at most [`MAX_UNPACKED_BYTES`], and no entry may claim a ratio no spreadsheet has.
fn check_unpacked_size(bytes: &[u8]) -> Result<(), SheetError> {
    if !bytes.starts_with(b"PK") {
        return Ok(());
    }
    let Ok(mut archive) = zip::ZipArchive::new(Cursor::new(bytes)) else {
        return Ok(()); // Not a readable zip: calamine will say what it is.
    };
    let mut total: u64 = 0;
    for index in 0..archive.len() {
        let Ok(entry) = archive.by_index_raw(index) else {
            return Err(SheetError::Corrupt("an unreadable zip entry".into()));
        };
        total = total.saturating_add(entry.size());
        let ratio_ok = entry.size() <= entry.compressed_size().saturating_mul(1024).max(1 << 20);
        if total > MAX_UNPACKED_BYTES || !ratio_ok {
            return Err(SheetError::UnpackedTooLarge);
        }
    }
    Ok(())
}
