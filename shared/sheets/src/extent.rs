//! The extent of every sheet, checked before calamine reads the file: calamine turns a sheet's
//! cells into a dense grid from the first to the last cell, so one far cell (a 4.9 KB xlsx with a
//! value in XFD1048576) asks for 17 billion cells, and an xls may ask for what its DIMENSIONS
//! record claims (both found by `fuzz/fuzz_targets/spreadsheet.rs`). A sheet may span at most
//! [`MAX_EXTENT_CELLS`] cells, counted from A1 as calamine's grid is not, so the grid stays small
//! (at most a few tens of MiB) whatever the upload.

use std::io::{Cursor, Read};

use quick_xml::events::Event;

use crate::compound;
use crate::SheetError;

/// Rows × columns a sheet may span from A1: a 500-row import with 20 columns uses 10,020.
pub const MAX_EXTENT_CELLS: u64 = 1_000_000;

fn too_wide(rows: u64, cols: u64) -> Result<(), SheetError> {
    if rows.saturating_mul(cols) > MAX_EXTENT_CELLS {
        Err(SheetError::Corrupt(format!(
            "a sheet spans {rows} rows × {cols} columns (cells far from the others?); keep the invitations in the first columns and rows"
        )))
    } else {
        Ok(())
    }
}

/// `B12` → (12, 2); `$B$12` too.
fn a1(reference: &[u8]) -> Option<(u64, u64)> {
    let reference: Vec<u8> = reference.iter().copied().filter(|b| *b != b'$').collect();
    let letters = reference
        .iter()
        .take_while(|b| b.is_ascii_alphabetic())
        .count();
    let (col, row) = reference.split_at(letters);
    if col.is_empty() || col.len() > 3 || row.is_empty() || row.len() > 7 {
        return None;
    }
    let col = col.iter().try_fold(0u64, |n, b| {
        Some(n * 26 + u64::from(b.to_ascii_uppercase().checked_sub(b'A')?) + 1)
    })?;
    let row = std::str::from_utf8(row).ok()?.parse().ok()?;
    Some((row, col))
}

/// The farthest row and column of an xlsx worksheet's cells and rows.
fn xlsx_sheet(xml: &[u8]) -> Result<(u64, u64), SheetError> {
    let mut reader = quick_xml::Reader::from_reader(xml);
    let (mut rows, mut cols) = (0u64, 0u64);
    let mut buf = Vec::new();
    loop {
        let event = reader
            .read_event_into(&mut buf)
            .map_err(|e| SheetError::Damaged {
                cause: format!("a worksheet's XML: {e}"),
            })?;
        match event {
            Event::Start(e) | Event::Empty(e) => {
                let name = e.local_name();
                let cell = name.as_ref() == "c";
                if cell || name.as_ref() == "row" {
                    for attribute in e.attributes().flatten() {
                        if attribute.key.local_name().as_ref() != "r" {
                            continue;
                        }
                        if cell {
                            if let Some((row, col)) = a1(attribute.value.as_bytes()) {
                                rows = rows.max(row);
                                cols = cols.max(col);
                            }
                        } else if let Ok(row) = attribute.value.parse::<u64>() {
                            rows = rows.max(row);
                        }
                    }
                }
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    Ok((rows, cols.max(1)))
}

fn check_xlsx(bytes: &[u8]) -> Result<(), SheetError> {
    let Ok(mut archive) = zip::ZipArchive::new(Cursor::new(bytes)) else {
        return Ok(()); // Not a readable zip: calamine says what it is.
    };
    for index in 0..archive.len() {
        let mut entry = archive
            .by_index(index)
            .map_err(|_| SheetError::Corrupt("an unreadable zip entry".into()))?;
        let name = entry
            .name()
            .map(|n| n.to_ascii_lowercase())
            .unwrap_or_default();
        if !(name.starts_with("xl/worksheets/") && name.ends_with(".xml")) {
            continue;
        }
        // Sizes were bounded by the zip-bomb check before this.
        let mut xml = Vec::new();
        entry
            .read_to_end(&mut xml)
            .map_err(|_| SheetError::Corrupt("an unreadable worksheet".into()))?;
        let (rows, cols) = xlsx_sheet(&xml)?;
        too_wide(rows, cols)?;
    }
    Ok(())
}

/// BIFF records that hold one cell (row, column first) and those that hold a run of cells in a
/// row (the last column at their end).
const CELL_RECORDS: [u16; 9] = [
    0x0006, 0x0201, 0x0203, 0x0204, 0x0205, 0x027E, 0x00FD, 0x00D6, 0x0406,
];
const RUN_RECORDS: [u16; 2] = [0x00BD, 0x00BE];
const DIMENSIONS: u16 = 0x0200;

/// A BIFF record: its type, its data, and where the next one starts (calamine's own walk: a
/// record whose length runs past the stream ends it).
fn record(stream: &[u8], at: usize) -> Option<(u16, &[u8], usize)> {
    let header = stream.get(at..at.checked_add(4)?)?;
    let kind = u16::from_le_bytes([header[0], header[1]]);
    let len = usize::from(u16::from_le_bytes([header[2], header[3]]));
    let data = stream.get(at + 4..at + 4 + len)?;
    Some((kind, data, at + 4 + len))
}

fn u16_in(data: &[u8], i: usize) -> Option<u64> {
    data.get(i..i + 2)
        .map(|b| u64::from(u16::from_le_bytes([b[0], b[1]])))
}

fn u32_in(data: &[u8], i: usize) -> Option<u64> {
    data.get(i..i + 4)
        .map(|b| u64::from(u32::from_le_bytes([b[0], b[1], b[2], b[3]])))
}

/// What calamine reserves for a DIMENSIONS record, computed as calamine does (u32 arithmetic
/// that wraps when the first row is past the last).
fn check_dimensions(data: &[u8]) -> Result<(), SheetError> {
    let (first_row, last_row, first_col, last_col) = match data.len() {
        10 => (
            u16_in(data, 0),
            u16_in(data, 2),
            u16_in(data, 4),
            u16_in(data, 6),
        ),
        14 | 16 => (
            u32_in(data, 0),
            u32_in(data, 4),
            u16_in(data, 8),
            u16_in(data, 10),
        ),
        _ => return Ok(()), // calamine refuses the record.
    };
    let (Some(rf), Some(rl), Some(cf), Some(cl)) = (first_row, last_row, first_col, last_col)
    else {
        return Ok(());
    };
    let [rf, rl, cf, cl] = [rf, rl, cf, cl].map(|n| n as u32);
    let cf = if cf > 0xFF || cl < cf { 0 } else { cf };
    if rl >= 1 && cl >= 1 {
        let span =
            |first: u32, last: u32| u64::from((last - 1).wrapping_sub(first).wrapping_add(1));
        too_wide(span(rf, rl), span(cf, cl))?;
    }
    Ok(())
}

/// One sheet, walked from where its BoundSheet record says it starts, as calamine walks it
/// (nested substreams such as embedded charts skipped): every DIMENSIONS record it would reserve
/// for, and the farthest cell it would make a grid to.
fn check_xls_sheet(stream: &[u8], start: usize) -> Result<(), SheetError> {
    let (mut rows, mut cols) = (0u64, 0u64);
    let (mut seen_bof, mut depth) = (false, 0usize);
    let mut at = start;
    while let Some((kind, data, next)) = record(stream, at) {
        at = next;
        if depth > 0 {
            match kind {
                0x0809 => depth += 1,
                0x000A => depth -= 1,
                _ => {}
            }
            continue;
        }
        match kind {
            0x0809 if seen_bof => depth += 1,
            0x0809 => seen_bof = true,
            0x000A => break,
            DIMENSIONS => check_dimensions(data)?,
            k if CELL_RECORDS.contains(&k) => {
                rows = rows.max(u16_in(data, 0).unwrap_or(0) + 1);
                cols = cols.max(u16_in(data, 2).unwrap_or(0) + 1);
            }
            k if RUN_RECORDS.contains(&k) && data.len() >= 6 => {
                rows = rows.max(u16_in(data, 0).unwrap_or(0) + 1);
                cols = cols.max(u16_in(data, data.len() - 2).unwrap_or(0) + 1);
            }
            _ => {}
        }
    }
    too_wide(rows, cols)
}

/// The workbook stream's globals name where each sheet starts (BoundSheet, 0x0085), at any
/// offset, even inside another record's data: a crafted file found by fuzzing put a sheet there
/// whose DIMENSIONS asked calamine for 858 GB, which aborts the process (no panic to catch).
/// Each sheet is checked from the offset calamine will read it from.
fn check_xls(bytes: &[u8]) -> Result<(), SheetError> {
    let Some(stream) = compound::stream(bytes, &["Workbook", "Book"]) else {
        return Ok(()); // No workbook stream (an encrypted xlsx): calamine refuses it.
    };
    check_workbook_stream(&stream)
}

fn check_workbook_stream(stream: &[u8]) -> Result<(), SheetError> {
    let mut starts = Vec::new();
    let mut at = 0;
    while let Some((kind, data, next)) = record(stream, at) {
        match kind {
            0x0085 => starts.extend(u32_in(data, 0).map(|pos| pos as usize)),
            0x000A => break,
            _ => {}
        }
        at = next;
    }
    starts.sort_unstable();
    starts.dedup();
    starts
        .into_iter()
        .try_for_each(|start| check_xls_sheet(stream, start))
}

/// Refuses a file whose sheets span more than [`MAX_EXTENT_CELLS`] (xlsx and xls; ods files
/// are bounded by calamine itself).
pub fn check(bytes: &[u8]) -> Result<(), SheetError> {
    if bytes.starts_with(b"PK") {
        check_xlsx(bytes)
    } else if compound::is_compound_file(bytes) {
        check_xls(bytes)
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_read_as_row_and_column() {
        assert_eq!(a1(b"A1"), Some((1, 1)));
        assert_eq!(a1(b"$B$12"), Some((12, 2)));
        assert_eq!(a1(b"XFD1048576"), Some((1_048_576, 16_384)));
        assert_eq!(a1(b"1A"), None);
        assert_eq!(a1(b"ABCD1"), None);
    }

    fn biff(kind: u16, data: &[u8]) -> Vec<u8> {
        let mut out = kind.to_le_bytes().to_vec();
        out.extend((data.len() as u16).to_le_bytes());
        out.extend(data);
        out
    }

    /// calamine reads a sheet from the offset its BoundSheet record names, even one inside
    /// another record's data, where a walk of the stream record by record never looks.
    #[test]
    fn a_sheet_is_checked_where_its_bound_sheet_record_says_it_starts() {
        let huge = [0u8, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0x00, 0, 0, 0xFF, 0, 0, 0];
        let hidden = [biff(0x0809, &[0; 16]), biff(DIMENSIONS, &huge)].concat();
        let bound_sheet =
            |at: u32| biff(0x0085, &[&at.to_le_bytes()[..], &[0, 0, 1, b'S']].concat());
        // Globals (BOF, BoundSheet, EOF: 20 + 12 + 4 bytes), then a record whose data hides the sheet.
        let stream = |at: u32| {
            [
                biff(0x0809, &[0; 16]),
                bound_sheet(at),
                biff(0x000A, &[]),
                biff(0x00FC, &[&[0u8; 4][..], &hidden].concat()),
            ]
            .concat()
        };
        let hidden_at = 20 + 12 + 4 + 4 + 4;
        assert!(check_workbook_stream(&stream(hidden_at)).is_err());
        // Pointed at the record that holds it, the sheet is that record and asks for nothing.
        assert!(check_workbook_stream(&stream(hidden_at - 8)).is_ok());
    }

    #[test]
    fn a_far_cell_makes_a_sheet_too_wide() {
        let near = br#"<worksheet><sheetData><row r="1"><c r="A1"/><c r="C1"/></row><row r="501"><c r="C501"/></row></sheetData></worksheet>"#;
        assert_eq!(xlsx_sheet(near).unwrap(), (501, 3));
        let far = br#"<x:worksheet xmlns:x="s"><x:sheetData><x:row r="1"><x:c r="A1"/></x:row><x:row r="1048576"><x:c r="XFD1048576"/></x:row></x:sheetData></x:worksheet>"#;
        let (rows, cols) = xlsx_sheet(far).unwrap();
        assert_eq!((rows, cols), (1_048_576, 16_384));
        assert!(too_wide(rows, cols).is_err());
        assert!(too_wide(501, 3).is_ok());
    }
}
