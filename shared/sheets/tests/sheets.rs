//! Reading and writing bulk-invitation spreadsheets, from bytes.

use std::io::{Cursor, Write};

use calamine::{Data, Reader};
use gatehouse_sheets::{
    read_rows, template, write_text, CellKind, SheetError, MAX_ROWS, TEMPLATE_EXAMPLES,
};
use proptest::prelude::*;
use rust_xlsxwriter::{Format, Workbook};

/// An xlsx with one sheet of these rows (strings; `#n` writes the number n).
fn xlsx(rows: &[Vec<&str>]) -> Vec<u8> {
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    for (r, row) in rows.iter().enumerate() {
        for (c, value) in row.iter().enumerate() {
            if let Some(n) = value.strip_prefix('#') {
                sheet
                    .write_number(r as u32, c as u16, n.parse::<f64>().unwrap())
                    .unwrap();
            } else if !value.is_empty() {
                sheet.write_string(r as u32, c as u16, *value).unwrap();
            }
        }
    }
    book.save_to_buffer().unwrap()
}

#[test]
fn the_template_reads_back_with_its_examples_and_text_identifiers() {
    let groups = vec!["Engineering".to_string(), "=cmd|' /C calc'!A0".to_string()];
    let bytes = template("Acme", &groups).unwrap();
    let read = read_rows(&bytes).unwrap();
    assert_eq!(read.sheet, "Invitations");
    assert_eq!(read.header_row, 1);
    assert_eq!(read.rows.len(), 2, "{read:?}");
    let ada = &read.rows[0];
    assert_eq!(ada.number, 2);
    assert_eq!(ada.email.as_ref().unwrap().text, TEMPLATE_EXAMPLES[0][0]);
    assert_eq!(ada.first_name.as_ref().unwrap().text, "Ada");
    let grace = &read.rows[1];
    let uid = grace.uid.as_ref().unwrap();
    assert_eq!((uid.text.as_str(), uid.kind), ("00123", CellKind::Text));
    // The help sheet lists the groups, the risky name as plain text.
    let mut book = calamine::open_workbook_auto_from_rs(Cursor::new(bytes)).unwrap();
    let help = book.worksheet_range("Help").unwrap();
    let texts: Vec<String> = help.cells().map(|(_, _, d)| d.to_string()).collect();
    assert!(texts.iter().any(|t| t == "Engineering"));
    assert!(texts.iter().any(|t| t == &groups[1]));
    assert!(book
        .worksheet_formula("Help")
        .unwrap()
        .cells()
        .all(|(_, _, f)| f.is_empty()));
}

#[test]
fn headers_match_whatever_the_case_accents_spaces_language_or_order() {
    let bytes = xlsx(&[
        vec!["Liste des invités"],
        vec![],
        vec![
            " GROUPES ",
            "Nom",
            "Prénom",
            "Courriel",
            "Identifiant",
            "Notes",
        ],
        vec![
            "Ventes ; Support,",
            "Durand",
            "Zoé",
            " zoe@example.fr ",
            "",
            "ignored",
        ],
        vec![],
        vec!["", "Martin", "Léa", "", "#4567", ""],
    ]);
    let read = read_rows(&bytes).unwrap();
    assert_eq!(read.header_row, 3);
    assert_eq!(read.rows.len(), 2, "empty rows are skipped");
    let zoe = &read.rows[0];
    assert_eq!(zoe.number, 4);
    assert_eq!(
        zoe.email.as_ref().unwrap().text,
        "zoe@example.fr",
        "trimmed"
    );
    assert_eq!(zoe.first_name.as_ref().unwrap().text, "Zoé");
    assert_eq!(zoe.groups, vec!["Ventes", "Support"]);
    let lea = &read.rows[1];
    assert_eq!(lea.number, 6);
    // A number where an identifier belongs is reported as a number, not silently changed.
    let uid = lea.uid.as_ref().unwrap();
    assert_eq!((uid.text.as_str(), uid.kind), ("4567", CellKind::Number));
    for english in [
        ["E-mail", "First Name", "LAST_NAME"],
        ["email", "firstname", "last name"],
    ] {
        let bytes = xlsx(&[english.to_vec(), vec!["a@example.com", "A", "B"]]);
        assert_eq!(read_rows(&bytes).unwrap().rows.len(), 1, "{english:?}");
    }
}

#[test]
fn at_most_500_rows_and_a_header_is_required() {
    let header = vec!["Email", "First name", "Last name"];
    let mut rows = vec![header.clone()];
    let emails: Vec<String> = (0..=MAX_ROWS)
        .map(|i| format!("p{i}@example.com"))
        .collect();
    for e in &emails[..MAX_ROWS] {
        rows.push(vec![e.as_str(), "First", "Last"]);
    }
    assert_eq!(read_rows(&xlsx(&rows)).unwrap().rows.len(), MAX_ROWS);
    rows.push(vec![emails[MAX_ROWS].as_str(), "First", "Last"]);
    let refused = read_rows(&xlsx(&rows)).unwrap_err();
    assert_eq!(refused, SheetError::TooManyRows { rows: MAX_ROWS + 1 });
    assert_eq!(refused.code(), "too_many_rows");
    // No header: names alone, or no identifying column.
    for no_header in [
        vec![vec!["a@example.com", "First", "Last"]],
        vec![vec!["First name", "Last name"], vec!["A", "B"]],
    ] {
        assert_eq!(
            read_rows(&xlsx(&no_header)).unwrap_err(),
            SheetError::NoHeader
        );
    }
}

#[test]
fn hidden_and_extra_sheets_are_not_read() {
    let mut book = Workbook::new();
    let hidden = book.add_worksheet();
    hidden.set_name("Old").unwrap();
    hidden.write_string(0, 0, "Email").unwrap();
    hidden.write_string(0, 1, "First name").unwrap();
    hidden.write_string(0, 2, "Last name").unwrap();
    hidden.write_string(1, 0, "old@example.com").unwrap();
    hidden.set_hidden(true);
    let notes = book.add_worksheet();
    notes.set_name("Notes").unwrap();
    notes.write_string(0, 0, "nothing to import here").unwrap();
    let current = book.add_worksheet();
    current.set_name("Current").unwrap();
    current.write_string(0, 0, "Email").unwrap();
    current.write_string(0, 1, "First name").unwrap();
    current.write_string(0, 2, "Last name").unwrap();
    current.write_string(1, 0, "new@example.com").unwrap();
    current.write_string(1, 1, "New").unwrap();
    current.write_string(1, 2, "Person").unwrap();
    current.set_active(true);
    let read = read_rows(&book.save_to_buffer().unwrap()).unwrap();
    assert_eq!(read.sheet, "Current");
    assert_eq!(read.rows.len(), 1);
    assert_eq!(read.rows[0].email.as_ref().unwrap().text, "new@example.com");
}

#[test]
fn files_that_are_not_spreadsheets_or_too_big_are_refused_whole() {
    assert_eq!(
        read_rows(b"email,first,last\na@b.c,A,B\n").unwrap_err(),
        SheetError::NotASpreadsheet
    );
    assert_eq!(read_rows(b"").unwrap_err(), SheetError::NotASpreadsheet);
    let too_big = vec![b'x'; gatehouse_sheets::MAX_FILE_BYTES + 1];
    assert_eq!(read_rows(&too_big).unwrap_err(), SheetError::FileTooLarge);
    // A truncated xlsx is a corrupt file.
    let whole = template("Acme", &[]).unwrap();
    let err = read_rows(&whole[..whole.len() / 2]).unwrap_err();
    assert!(
        matches!(err, SheetError::Corrupt(_) | SheetError::NotASpreadsheet),
        "{err:?}"
    );
    // A sound OLE container that holds no workbook: what a password-protected xlsx is.
    assert_eq!(
        read_rows(&compound_file_without_workbook()).unwrap_err(),
        SheetError::Encrypted
    );
    // An OLE signature over nothing sound is a corrupt file (never handed to calamine).
    let mut ole = vec![0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];
    ole.extend(vec![0u8; 4096]);
    assert!(matches!(
        read_rows(&ole).unwrap_err(),
        SheetError::Corrupt(_)
    ));
}

/// A compound file (MS-CFB) of 512-byte sectors whose only entry is an empty root: sector 0 the
/// allocation table, sector 1 the directory.
fn compound_file_without_workbook() -> Vec<u8> {
    let end = 0xFFFF_FFFEu32.to_le_bytes();
    let mut bytes = vec![0u8; 512 * 3];
    bytes[..8].copy_from_slice(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]);
    bytes[26..28].copy_from_slice(&3u16.to_le_bytes());
    bytes[28..30].copy_from_slice(&0xFFFEu16.to_le_bytes());
    bytes[30..32].copy_from_slice(&9u16.to_le_bytes());
    bytes[32..34].copy_from_slice(&6u16.to_le_bytes());
    bytes[44..48].copy_from_slice(&1u32.to_le_bytes());
    bytes[48..52].copy_from_slice(&1u32.to_le_bytes());
    bytes[56..60].copy_from_slice(&4096u32.to_le_bytes());
    bytes[60..64].copy_from_slice(&end);
    bytes[68..72].copy_from_slice(&end);
    for i in 0..109 {
        let id: u32 = if i == 0 { 0 } else { 0xFFFF_FFFF };
        bytes[76 + 4 * i..80 + 4 * i].copy_from_slice(&id.to_le_bytes());
    }
    bytes[512..516].copy_from_slice(&0xFFFF_FFFDu32.to_le_bytes());
    bytes[516..520].copy_from_slice(&end);
    bytes[1024 + 66] = 5;
    bytes[1024 + 116..1024 + 120].copy_from_slice(&end);
    bytes
}

#[test]
fn a_zip_bomb_is_refused_before_it_is_unpacked() {
    let mut bytes = Vec::new();
    {
        let mut zip = zip::ZipWriter::new(Cursor::new(&mut bytes));
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .large_file(true);
        zip.start_file("xl/worksheets/sheet1.xml", options).unwrap();
        let zeros = vec![0u8; 1 << 20];
        for _ in 0..80 {
            zip.write_all(&zeros).unwrap();
        }
        zip.finish().unwrap();
    }
    assert!(bytes.len() < gatehouse_sheets::MAX_FILE_BYTES);
    assert_eq!(read_rows(&bytes).unwrap_err(), SheetError::UnpackedTooLarge);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Whatever the text, what Gatehouse writes reads back as that text, and never as a formula.
    #[test]
    fn written_text_is_never_a_formula(text in "[=+\\-@\t\r]?[ -~é\u{4e2d}]{0,40}") {
        let mut book = Workbook::new();
        let sheet = book.add_worksheet();
        write_text(sheet, 0, 0, &text, None).unwrap();
        write_text(sheet, 1, 0, &text, Some(&Format::new().set_bold())).unwrap();
        let bytes = book.save_to_buffer().unwrap();
        // Risky text carries Excel's quote prefix, so that editing the cell keeps it text.
        let mut styles = String::new();
        std::io::Read::read_to_string(
            &mut zip::ZipArchive::new(Cursor::new(&bytes)).unwrap().by_name("xl/styles.xml").unwrap(),
            &mut styles,
        )
        .unwrap();
        let risky = text.starts_with(['=', '+', '-', '@', '\t', '\r']);
        prop_assert_eq!(styles.contains("quotePrefix=\"1\""), risky);
        let mut read = calamine::open_workbook_auto_from_rs(Cursor::new(bytes)).unwrap();
        let name = read.sheet_names()[0].clone();
        let range = read.worksheet_range(&name).unwrap();
        for row in 0..2u32 {
            match range.get_value((row, 0)) {
                Some(Data::String(s)) => prop_assert_eq!(s, &text),
                None | Some(Data::Empty) => prop_assert!(text.is_empty()),
                other => prop_assert!(false, "{:?}", other),
            }
        }
        prop_assert!(read.worksheet_formula(&name).unwrap().cells().all(|(_, _, f)| f.is_empty()));
    }

    /// Any bytes: an answer, never a panic.
    #[test]
    fn any_bytes_get_an_answer(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = read_rows(&bytes);
    }
}

/// calamine makes a dense grid from a sheet's first to its last cell: one value far away (here
/// XFD1048576, 17 billion cells) must be refused before calamine reads the file, not exhaust
/// memory; so must an xls whose records claim such a sheet (found by fuzzing).
#[test]
fn a_sheet_spanning_millions_of_cells_is_refused_before_it_is_read() {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (col, header) in ["Email", "First name", "Last name"].iter().enumerate() {
        sheet.write_string(0, col as u16, *header).unwrap();
    }
    sheet.write_string(1, 0, "ada@example.com").unwrap();
    sheet.write_string(1, 1, "Ada").unwrap();
    sheet.write_string(1, 2, "Lovelace").unwrap();
    let near = book.save_to_buffer().unwrap();
    assert_eq!(read_rows(&near).unwrap().rows.len(), 1);
    let sheet = book.worksheet_from_index(0).unwrap();
    sheet.write_string(1_048_575, 16_383, "far away").unwrap();
    let far = book.save_to_buffer().unwrap();
    match read_rows(&far) {
        Err(SheetError::Corrupt(why)) => assert!(why.contains("1048576 rows"), "{why}"),
        other => panic!("{other:?}"),
    }
    let xls = include_bytes!("files/xls-dimensions-reserve.xls");
    assert!(matches!(read_rows(xls), Err(SheetError::Corrupt(_))));
    // First row past the last: calamine's arithmetic wraps to billions of rows.
    let xls = include_bytes!("files/xls-inverted-dimensions.xls");
    assert!(matches!(read_rows(xls), Err(SheetError::Corrupt(_))));
    // A workbook stream named "\u{feff}Workbook" (calamine drops the byte-order mark, so reads
    // it) that claims 256 MiB in a 5.6 KB file, with a DIMENSIONS record asking for 858 GB: the
    // allocation aborts the process, no panic to catch (found by fuzzing). Refused before calamine.
    let xls = include_bytes!("files/xls-workbook-named-with-a-byte-order-mark.xls");
    match read_rows(xls) {
        Err(SheetError::Corrupt(why)) => assert!(why.contains("larger than the file"), "{why}"),
        other => panic!("{other:?}"),
    }
}

/// calamine panics on an xls naming a sector past the end of the file (found by fuzzing): the
/// reader answers that the file is corrupt.
#[test]
fn a_file_calamine_panics_on_is_a_corrupt_file() {
    let xls = include_bytes!("files/xls-sector-past-the-end.xls");
    assert!(matches!(read_rows(xls), Err(SheetError::Corrupt(_))));
}

/// A worksheet whose XML is broken: the admin reads what to do, in their words; the reader's
/// own complaint ("Xlsx error: Xml error…") is kept for the log only.
#[test]
fn a_damaged_file_is_refused_in_the_admins_words() {
    let whole = template("Acme", &[]).unwrap();
    let mut source = zip::ZipArchive::new(Cursor::new(&whole)).unwrap();
    let mut bytes = Vec::new();
    {
        let mut out = zip::ZipWriter::new(Cursor::new(&mut bytes));
        for i in 0..source.len() {
            let mut entry = source.by_index(i).unwrap();
            let name = entry.name().unwrap().to_string();
            out.start_file(name.as_str(), zip::write::SimpleFileOptions::default())
                .unwrap();
            if name.starts_with("xl/worksheets/sheet") {
                out.write_all(b"<worksheet><sheetData><row r=\"1\"><c r=\"A1\"><v>1</c></v></row></sheetData></worksheet>")
                    .unwrap();
            } else {
                std::io::copy(&mut entry, &mut out).unwrap();
            }
        }
        out.finish().unwrap();
    }
    let err = read_rows(&bytes).unwrap_err();
    assert_eq!(err.code(), "file_corrupt", "{err:?}");
    let shown = err.to_string();
    for internal in ["XML", "Xml", "xml", "Xlsx", "error", "Error", "ill-formed"] {
        assert!(!shown.contains(internal), "{shown}");
    }
    assert!(shown.contains("save it again"), "{shown}");
    let cause = err.cause().expect("the reader's words, for the log");
    assert!(!cause.is_empty() && !shown.contains(cause), "{err:?}");
}
