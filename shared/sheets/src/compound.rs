//! A check of a legacy `.xls` (an OLE compound file, MS-CFB) before calamine reads it. calamine
//! follows the file's sector chains without noticing a chain that loops: a crafted 6 KB file
//! made it grow one buffer until the allocator gave up (found by `fuzz/fuzz_targets/
//! spreadsheet.rs`; the input is kept in `tests/files/xls-looping-chain.xls`). Here every chain
//! calamine will follow is walked once, with each sector visited at most once and every size
//! bounded by the file, so what calamine then reads is at most a few times the upload's size.

use std::collections::HashSet;

const SIGNATURE: [u8; 8] = [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];
const END_OF_CHAIN: u32 = 0xFFFF_FFFE;
/// Ids above this are markers (FAT, DIFAT, end of chain, free), not sectors.
const MAX_SECTOR: u32 = 0xFFFF_FFFA;
const HEADER_DIFAT: usize = 109;
/// The streams calamine's xls reader opens by name.
const READ_BY_CALAMINE: [&str; 4] = [
    "Workbook",
    "Book",
    "\u{5}SummaryInformation",
    "\u{5}DocumentSummaryInformation",
];

/// Why a compound file is not one calamine may safely read.
#[derive(Debug, PartialEq, Eq)]
pub struct Unsafe(pub &'static str);

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

pub fn is_compound_file(bytes: &[u8]) -> bool {
    bytes.starts_with(&SIGNATURE)
}

struct File<'a> {
    bytes: &'a [u8],
    sector_size: usize,
    fat: Vec<u32>,
}

impl File<'_> {
    fn sector(&self, id: u32) -> Result<&[u8], Unsafe> {
        let start = (id as usize + 1)
            .checked_mul(self.sector_size)
            .ok_or(Unsafe("a sector beyond the file"))?;
        self.bytes
            .get(start..start + self.sector_size)
            .ok_or(Unsafe("a sector beyond the file"))
    }

    /// The sectors of the chain starting at `start`, each once, ending where the FAT says.
    fn chain(&self, start: u32) -> Result<Vec<u32>, Unsafe> {
        let mut seen = HashSet::new();
        let mut ids = Vec::new();
        let mut id = start;
        while id != END_OF_CHAIN {
            if id > MAX_SECTOR || !seen.insert(id) {
                return Err(Unsafe("a sector chain that loops or ends badly"));
            }
            self.sector(id)?;
            ids.push(id);
            id = *self
                .fat
                .get(id as usize)
                .ok_or(Unsafe("a sector outside the allocation table"))?;
        }
        Ok(ids)
    }
}

/// A directory entry as calamine reads it: its name, first sector and size.
struct Entry {
    name: String,
    start: u32,
    size: u64,
}

/// A compound file whose every chain was walked and found sound.
struct Parsed<'a> {
    file: File<'a>,
    entries: Vec<Entry>,
    cutoff: u64,
    mini_fat: Vec<u32>,
}

/// Walks the allocation tables and every stream's chain; answers why not when any loops, leaves
/// the file or declares more bytes than the file holds.
pub fn check(bytes: &[u8]) -> Result<(), Unsafe> {
    parse(bytes).map(|_| ())
}

/// The bytes of the first stream named one of `names` in a sound compound file.
pub fn stream(bytes: &[u8], names: &[&str]) -> Option<Vec<u8>> {
    let parsed = parse(bytes).ok()?;
    let entry = names.iter().find_map(|n| {
        parsed
            .entries
            .iter()
            .find(|e| e.name.as_bytes().eq_ignore_ascii_case(n.as_bytes()))
    })?;
    let size = usize::try_from(entry.size).ok()?;
    let file = &parsed.file;
    let mut out = Vec::with_capacity(size);
    if entry.size >= parsed.cutoff {
        for id in file.chain(entry.start).ok()? {
            out.extend_from_slice(file.sector(id).ok()?);
        }
    } else {
        let root = parsed.entries.first()?;
        let mut mini_stream = Vec::new();
        for id in file.chain(root.start).ok()? {
            mini_stream.extend_from_slice(file.sector(id).ok()?);
        }
        let mut id = entry.start;
        while id != END_OF_CHAIN && out.len() < size {
            let at = id as usize * 64;
            out.extend_from_slice(mini_stream.get(at..at + 64)?);
            id = *parsed.mini_fat.get(id as usize)?;
        }
    }
    out.truncate(size);
    Some(out)
}

fn parse(bytes: &[u8]) -> Result<Parsed<'_>, Unsafe> {
    let corrupt = Unsafe("a truncated header");
    if !is_compound_file(bytes) || bytes.len() < 512 {
        return Err(corrupt);
    }
    let shift = u16_at(bytes, 30).ok_or(Unsafe("a truncated header"))?;
    let sector_size = match shift {
        9 => 512,
        12 => 4096,
        _ => return Err(Unsafe("an unknown sector size")),
    };
    let max_sectors = bytes.len() / sector_size + 1;
    let entries_per_sector = sector_size / 4;
    let mut file = File {
        bytes,
        sector_size,
        fat: Vec::new(),
    };

    // The FAT's own sectors: 109 in the header, then a chain of DIFAT sectors.
    let mut fat_sectors: Vec<u32> = (0..HEADER_DIFAT)
        .filter_map(|i| u32_at(bytes, 76 + 4 * i))
        .filter(|id| *id <= MAX_SECTOR)
        .collect();
    let mut difat = u32_at(bytes, 68).ok_or(Unsafe("a truncated header"))?;
    let mut seen = HashSet::new();
    while difat <= MAX_SECTOR {
        if !seen.insert(difat) || seen.len() > max_sectors {
            return Err(Unsafe("a DIFAT chain that loops"));
        }
        let sector = file.sector(difat)?;
        for i in 0..entries_per_sector - 1 {
            match u32_at(sector, 4 * i) {
                Some(id) if id <= MAX_SECTOR => fat_sectors.push(id),
                _ => {}
            }
        }
        difat = u32_at(sector, 4 * (entries_per_sector - 1)).unwrap_or(END_OF_CHAIN);
    }
    if fat_sectors.len() > max_sectors {
        return Err(Unsafe("more FAT sectors than the file holds"));
    }
    let mut fat = Vec::with_capacity(fat_sectors.len() * entries_per_sector);
    for id in fat_sectors {
        let sector = file.sector(id)?;
        fat.extend((0..entries_per_sector).filter_map(|i| u32_at(sector, 4 * i)));
    }
    file.fat = fat;

    // The directory, read as calamine reads it: each entry's name is its first 64 bytes up to a
    // NUL (the length field is not trusted), its size 32 bits with 512-byte sectors and 64 with
    // 4096, whatever its kind; the first entry is the root, whose stream holds the small streams.
    let directory_start = u32_at(bytes, 48).ok_or(Unsafe("a truncated header"))?;
    let directory = file.chain(directory_start)?;
    let mut entries = Vec::new();
    for id in directory {
        let sector = file.sector(id)?;
        for entry in sector.chunks_exact(128) {
            // Decoded exactly as calamine decodes it: a byte-order mark at the start picks the
            // encoding and is dropped (a crafted file named its workbook "\u{feff}Workbook", which
            // a plain UTF-16 decode did not match, and so went unchecked), then cut at the
            // first NUL byte of the result.
            let mut name = encoding_rs::UTF_16LE.decode(&entry[..64]).0.into_owned();
            if let Some(nul) = name.as_bytes().iter().position(|b| *b == 0) {
                name.truncate(nul);
            }
            let size = if sector_size == 512 {
                u64::from(u32_at(entry, 120).unwrap_or(0))
            } else {
                u64_at(entry, 120).unwrap_or(0)
            };
            entries.push(Entry {
                name,
                start: u32_at(entry, 116).unwrap_or(END_OF_CHAIN),
                size,
            });
        }
    }
    let cutoff = 4096; // calamine's, not the header's
    let root = entries.first().ok_or(Unsafe("an empty directory"))?;
    let mini_fat_sectors = u64::from(u32_at(bytes, 64).unwrap_or(0));
    let mut mini_fat = Vec::new();
    if mini_fat_sectors > 0 {
        check_stream(&file, root.start, root.size)?;
        let mini_fat_start = u32_at(bytes, 60).unwrap_or(END_OF_CHAIN);
        for id in file.chain(mini_fat_start)? {
            let sector = file.sector(id)?;
            mini_fat.extend((0..entries_per_sector).filter_map(|i| u32_at(sector, 4 * i)));
        }
    }
    let mini_sectors = root.size / 64 + 1;
    // The streams calamine opens by name (the first entry of each name).
    for name in READ_BY_CALAMINE {
        let Some(entry) = entries
            .iter()
            .find(|e| e.name.as_bytes().eq_ignore_ascii_case(name.as_bytes()))
        else {
            continue;
        };
        if entry.size >= cutoff {
            check_stream(&file, entry.start, entry.size)?;
            continue;
        }
        if mini_fat_sectors == 0 {
            continue; // calamine finds no mini stream and reads nothing
        }
        let mut seen = HashSet::new();
        let mut id = entry.start;
        let mut held = 0u64;
        while id != END_OF_CHAIN && held < entry.size {
            if id > MAX_SECTOR || u64::from(id) >= mini_sectors || !seen.insert(id) {
                return Err(Unsafe("a mini sector chain that loops or ends badly"));
            }
            held += 64;
            id = *mini_fat
                .get(id as usize)
                .ok_or(Unsafe("a mini sector outside the mini allocation table"))?;
        }
        if held < entry.size {
            return Err(Unsafe("a stream longer than its chain"));
        }
    }
    Ok(Parsed {
        file,
        entries,
        cutoff,
        mini_fat,
    })
}

/// A stream of `size` bytes from `start`: its chain is sound and holds at least that much.
fn check_stream(file: &File, start: u32, size: u64) -> Result<(), Unsafe> {
    if size > file.bytes.len() as u64 {
        return Err(Unsafe("a stream larger than the file"));
    }
    if size == 0 {
        return Ok(());
    }
    let held = file.chain(start)?.len() as u64 * file.sector_size as u64;
    if held < size {
        return Err(Unsafe("a stream longer than its chain"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal compound file of 512-byte sectors: sector 0 the FAT, sector 1 the directory
    /// (a root entry with an empty stream), `fat` the FAT's first entries.
    fn compound(fat: &[u32], directory_start: u32) -> Vec<u8> {
        let mut bytes = vec![0u8; 512 * 3];
        bytes[..8].copy_from_slice(&SIGNATURE);
        bytes[26..28].copy_from_slice(&3u16.to_le_bytes());
        bytes[28..30].copy_from_slice(&0xFFFEu16.to_le_bytes());
        bytes[30..32].copy_from_slice(&9u16.to_le_bytes());
        bytes[32..34].copy_from_slice(&6u16.to_le_bytes());
        bytes[44..48].copy_from_slice(&1u32.to_le_bytes());
        bytes[48..52].copy_from_slice(&directory_start.to_le_bytes());
        bytes[56..60].copy_from_slice(&4096u32.to_le_bytes());
        bytes[60..64].copy_from_slice(&END_OF_CHAIN.to_le_bytes());
        bytes[68..72].copy_from_slice(&END_OF_CHAIN.to_le_bytes());
        for i in 0..HEADER_DIFAT {
            let id: u32 = if i == 0 { 0 } else { 0xFFFF_FFFF };
            bytes[76 + 4 * i..80 + 4 * i].copy_from_slice(&id.to_le_bytes());
        }
        let fat_at = 512;
        for (i, entry) in fat.iter().enumerate() {
            bytes[fat_at + 4 * i..fat_at + 4 * i + 4].copy_from_slice(&entry.to_le_bytes());
        }
        let dir_at = 1024;
        bytes[dir_at + 66] = 5;
        bytes[dir_at + 116..dir_at + 120].copy_from_slice(&END_OF_CHAIN.to_le_bytes());
        bytes
    }

    #[test]
    fn a_sound_file_passes() {
        let fat = [0xFFFF_FFFD, END_OF_CHAIN];
        assert_eq!(check(&compound(&fat, 1)), Ok(()));
    }

    #[test]
    fn a_directory_chain_that_loops_is_refused() {
        // The directory's sector points back at itself: calamine would read it forever.
        let fat = [0xFFFF_FFFD, 1];
        assert!(check(&compound(&fat, 1)).is_err());
    }

    #[test]
    fn chains_that_leave_the_file_or_the_table_are_refused() {
        assert!(check(&compound(&[0xFFFF_FFFD, 7], 1)).is_err());
        assert!(check(&compound(&[0xFFFF_FFFD, END_OF_CHAIN], 9)).is_err());
        assert!(check(&compound(&[0xFFFF_FFFD, END_OF_CHAIN], 600)).is_err());
    }

    #[test]
    fn a_stream_declaring_more_than_the_file_is_refused() {
        let mut bytes = compound(&[0xFFFF_FFFD, END_OF_CHAIN, END_OF_CHAIN], 1);
        let entry = 1024 + 128;
        for (i, unit) in "Workbook".encode_utf16().enumerate() {
            bytes[entry + 2 * i..entry + 2 * i + 2].copy_from_slice(&unit.to_le_bytes());
        }
        bytes[entry + 66] = 2;
        bytes[entry + 116..entry + 120].copy_from_slice(&2u32.to_le_bytes());
        bytes[entry + 120..entry + 128].copy_from_slice(&(1u64 << 31).to_le_bytes());
        assert_eq!(check(&bytes), Err(Unsafe("a stream larger than the file")));
    }

    #[test]
    fn what_the_fuzzer_found_is_refused_quickly() {
        let found = include_bytes!("../tests/files/xls-looping-chain.xls");
        assert!(is_compound_file(found));
        assert!(check(found).is_err());
    }
}
