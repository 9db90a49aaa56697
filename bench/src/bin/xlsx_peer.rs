//! The export's sheet against its peer: Gatehouse's `InvitationsSheet` (rust_xlsxwriter in
//! constant-memory mode, every cell through the injection-safe `write_text`) and libxlsxwriter,
//! the C library rust_xlsxwriter was ported from, in constant-memory mode too, built from
//! `libxlsxwriter-sys` with its bundled zlib under the `CFLAGS` the script sets
//! (`-O3 -march=native`). In one process, interleaved (ours, peer, peer, ours, …), the same rows
//! (`gatehouse_bench::export_row_cells`), the same header row in bold and column widths, each
//! into a buffer in memory. Before timing, both files are read back with calamine and must hold
//! the same cells. Peak RSS of each is measured in a child process of its own.
//!
//!   xlsx_peer [rows] [rounds]      time (default 100000 rows, 7 rounds of each)
//!   xlsx_peer rss ours|peer [rows] one write in this process, then its VmHWM
//!
//! Built only with the `xlsx-peer` feature (it compiles the C library): `scripts/bench-xlsx-peer`.

use std::ffi::{c_char, CString};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use gatehouse_bench::{export_row_cells, memory_kib, mib, ms, percentiles};
use gatehouse_domain::usecase::export::{ExportSheet, EXPORT_HEADERS};
use libxlsxwriter_sys as lxw;

fn ours(rows: usize) -> anyhow::Result<Vec<u8>> {
    let mut sheet = gatehouse_sheets::InvitationsSheet::new().map_err(|e| anyhow::anyhow!(e))?;
    for n in 0..rows {
        sheet
            .row(&export_row_cells(n))
            .map_err(|e| anyhow::anyhow!(e))?;
    }
    Box::new(sheet).finish().map_err(|e| anyhow::anyhow!(e))
}

/// The same sheet written by libxlsxwriter: constant memory, output to a buffer.
fn peer(rows: usize) -> anyhow::Result<Vec<u8>> {
    let name = CString::new("Invitations")?;
    let headers = EXPORT_HEADERS
        .iter()
        .map(|h| CString::new(*h))
        .collect::<Result<Vec<_>, _>>()?;
    let mut buffer: *const c_char = std::ptr::null();
    let mut size: usize = 0;
    // SAFETY: libxlsxwriter's documented API, called in its order (new, add sheet and format,
    // write rows in order, close); every string passed is a live NUL-terminated CString; the
    // output buffer it allocates is copied then released with free(), as its documentation says.
    unsafe {
        let mut options = lxw::lxw_workbook_options {
            constant_memory: 1,
            tmpdir: std::ptr::null(),
            use_zip64: 0,
            output_buffer: &mut buffer,
            output_buffer_size: &mut size,
        };
        let book = lxw::workbook_new_opt(std::ptr::null(), &mut options);
        if book.is_null() {
            bail!("workbook_new_opt failed");
        }
        let sheet = lxw::workbook_add_worksheet(book, name.as_ptr());
        let bold = lxw::workbook_add_format(book);
        lxw::format_set_bold(bold);
        lxw::worksheet_set_column(sheet, 0, 15, 20.0, std::ptr::null_mut());
        for (col, header) in headers.iter().enumerate() {
            lxw::worksheet_write_string(sheet, 0, col as u16, header.as_ptr(), bold);
        }
        for n in 0..rows {
            for (col, text) in export_row_cells(n).iter().enumerate() {
                if text.is_empty() {
                    continue;
                }
                let text = CString::new(text.as_str())?;
                let error = lxw::worksheet_write_string(
                    sheet,
                    (n + 1) as u32,
                    col as u16,
                    text.as_ptr(),
                    std::ptr::null_mut(),
                );
                if error != lxw::lxw_error_LXW_NO_ERROR {
                    bail!("worksheet_write_string: error {error}");
                }
            }
        }
        let error = lxw::workbook_close(book);
        if error != lxw::lxw_error_LXW_NO_ERROR || buffer.is_null() {
            bail!("workbook_close: error {error}");
        }
        let bytes = std::slice::from_raw_parts(buffer as *const u8, size).to_vec();
        libc_free(buffer as *mut std::ffi::c_void);
        Ok(bytes)
    }
}

extern "C" {
    #[link_name = "free"]
    fn libc_free(pointer: *mut std::ffi::c_void);
}

/// Every cell of the first sheet, as text.
fn cells(bytes: &[u8]) -> anyhow::Result<Vec<Vec<String>>> {
    use calamine::{Reader, Xlsx};
    let mut book = Xlsx::new(std::io::Cursor::new(bytes))?;
    let range = book.worksheet_range_at(0).context("a first sheet")??;
    Ok(range
        .rows()
        .map(|row| row.iter().map(|cell| cell.to_string()).collect())
        .collect())
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("rss") {
        let rows = args
            .get(2)
            .map(|n| n.parse())
            .transpose()?
            .unwrap_or(100_000);
        let (before, _) = memory_kib(std::process::id());
        let bytes = match args.get(1).map(String::as_str) {
            Some("ours") => ours(rows)?,
            Some("peer") => peer(rows)?,
            _ => bail!("rss ours|peer [rows]"),
        };
        let (peak, _) = memory_kib(std::process::id());
        println!("{} {} {}", before, peak, bytes.len());
        return Ok(());
    }
    let rows: usize = args
        .first()
        .map(|n| n.parse())
        .transpose()?
        .unwrap_or(100_000);
    let rounds: usize = args.get(1).map(|n| n.parse()).transpose()?.unwrap_or(7);

    let (a, b) = (ours(1_000)?, peer(1_000)?);
    let (a, b) = (cells(&a)?, cells(&b)?);
    if a != b || a.len() != 1_001 {
        bail!("the two files differ ({} and {} rows)", a.len(), b.len());
    }
    println!("checked: both write the same 1,001 rows x 16 cells (read back with calamine)");

    let (mut t_ours, mut t_peer) = (Vec::<Duration>::new(), Vec::<Duration>::new());
    let (mut size_ours, mut size_peer) = (0, 0);
    for round in 0..rounds {
        let order: [bool; 2] = if round % 2 == 0 {
            [true, false]
        } else {
            [false, true]
        };
        for is_ours in order {
            let start = Instant::now();
            let bytes = if is_ours { ours(rows)? } else { peer(rows)? };
            let took = start.elapsed();
            if is_ours {
                t_ours.push(took);
                size_ours = bytes.len();
            } else {
                t_peer.push(took);
                size_peer = bytes.len();
            }
        }
    }
    let rss = |which: &str| -> anyhow::Result<(f64, f64)> {
        let out = std::process::Command::new(std::env::current_exe()?)
            .args(["rss", which, &rows.to_string()])
            .output()?;
        let text = String::from_utf8(out.stdout)?;
        let fields: Vec<u64> = text
            .split_whitespace()
            .map(|f| f.parse())
            .collect::<Result<_, _>>()
            .with_context(|| format!("rss child said {text:?}"))?;
        Ok((mib(fields[1]), mib(fields[0])))
    };
    let (ours_median, ours_p95) = percentiles(t_ours);
    let (peer_median, peer_p95) = percentiles(t_peer);
    let (ours_peak, ours_base) = rss("ours")?;
    let (peer_peak, peer_base) = rss("peer")?;
    println!("{rows} rows x 13 cells, {rounds} rounds each, interleaved");
    println!("| | median | p95 | xlsx | peak RSS (before) |");
    println!("|---|---|---|---|---|");
    println!(
        "| Gatehouse (rust_xlsxwriter, write_text) | {:.0} ms | {:.0} ms | {:.2} MiB | {:.1} MiB ({:.1}) |",
        ms(ours_median),
        ms(ours_p95),
        size_ours as f64 / 1048576.0,
        ours_peak,
        ours_base
    );
    println!(
        "| libxlsxwriter (C, -O3 -march=native) | {:.0} ms | {:.0} ms | {:.2} MiB | {:.1} MiB ({:.1}) |",
        ms(peer_median),
        ms(peer_p95),
        size_peer as f64 / 1048576.0,
        peer_peak,
        peer_base
    );
    println!(
        "ours / peer: {:.2}x",
        ours_median.as_secs_f64() / peer_median.as_secs_f64()
    );
    Ok(())
}
