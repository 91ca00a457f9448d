//! PowerShell's list view of audit records: `Search-MailboxAuditLog -ShowDetails | Format-List`
//! saved as text. One record is a block of `Name : Value` lines (the names padded to one
//! width), blocks are separated by blank lines. A value longer than the console is wrapped
//! onto lines that begin with the padding; a value with line breaks of its own continues the
//! same way.
//!
//! Each block becomes one row with its names as the header, so the record is read as the
//! same columns of a Search-MailboxAuditLog CSV export are (`normalize_row`).
//!
//! Wrapped lines are joined with only their padding (as wide as the label and ` : `) taken
//! off, so a value broken anywhere, also at a space, joins back as it was. Under a culture
//! that wraps at words (English, French, German, Italian, Portuguese, Spanish), PowerShell
//! breaks a value at a space where it can; if it leaves that space out of both lines, the
//! joined value lacks it (a client string, a folder name). Values without spaces (message ids
//! in `AggregatedRecordFoldersData`, record ids, session ids) join back exactly either way.

use super::frame::{BATCH_BYTES, Row, RowBatch, utf8_cells};
use super::sniff::BOM;
use crate::parse::{Malformed, MalformedKind};
use std::io::{self, BufRead, BufReader, Read};
use std::sync::Arc;

/// A `Name : Value` line: the name and where the value starts. Names are letters, digits and
/// `_`, padded with spaces before the colon; the colon is followed by a space or ends the line.
fn field(line: &[u8]) -> Option<(&[u8], usize)> {
    let colon = memchr::memchr(b':', line)?;
    let name = line[..colon].trim_ascii_end();
    let named = !name.is_empty()
        && name[0].is_ascii_alphabetic()
        && name.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_');
    match line.get(colon + 1) {
        _ if !named => None,
        None => Some((name, line.len())),
        Some(b' ') => Some((name, colon + 2)),
        Some(_) => None,
    }
}

/// A line that continues the value before it (wrapped, or a line break of its own): it
/// starts with the padding.
pub fn is_continuation(line: &[u8]) -> bool {
    matches!(line.first(), Some(b' ' | b'\t'))
}

/// The lines before the first record: blank ones and `#` comments.
fn is_preamble(line: &[u8]) -> bool {
    line.trim_ascii().is_empty() || line.starts_with(b"#")
}

/// Whether `head` (a file's first bytes) is a list of audit records: after blank and `#`
/// lines, a block of `Name : Value` lines (and continuations) that names `Operation` and
/// a time (`LastAccessed`, `CreationTime` or `CreationDate`).
pub fn looks_like_list(head: &[u8]) -> bool {
    let head = head.strip_prefix(BOM).unwrap_or(head);
    let lines = head
        .split(|&c| c == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .skip_while(|l| is_preamble(l));
    let (mut operation, mut time) = (false, false);
    for line in lines {
        if line.trim_ascii().is_empty() {
            break;
        }
        if is_continuation(line) {
            continue;
        }
        let Some((name, _)) = field(line) else {
            return false;
        };
        operation |= name == b"Operation";
        time |= matches!(name, b"LastAccessed" | b"CreationTime" | b"CreationDate");
    }
    operation && time
}

/// One block as it is read.
#[derive(Default)]
struct Block {
    /// The line it starts on (0: no block yet).
    line: u64,
    names: Vec<String>,
    /// The values' bytes one after another, each ending at its entry of `ends`.
    text: Vec<u8>,
    ends: Vec<usize>,
    /// Where the value of the last `Name : Value` line starts on its line: the padding of its
    /// continuation lines.
    pad: usize,
    /// Why the block is not a record, once that is known.
    bad: Option<Malformed>,
}

impl Block {
    /// Adds line `n` of the block; a line longer than `max_record` (`len` bytes, of which
    /// `line` holds the first) makes the block too long.
    fn add_line(&mut self, n: u64, line: &[u8], len: usize, max_record: usize) {
        if self.line == 0 {
            self.line = n;
        }
        if self.bad.is_some() {
            return;
        }
        if len > max_record {
            self.bad = Some(Malformed::too_long(len, max_record));
            return;
        }
        if is_continuation(line) {
            // The continuation of the last value (a wrapped or multi-line value).
            if self.ends.is_empty() {
                self.bad = Some(Malformed::new(
                    MalformedKind::NotARecord,
                    format!("line {n} continues a value before any `Name : Value` line"),
                ));
                return;
            }
            // Only the padding goes: a space at a break belongs to the value.
            let padding = line
                .iter()
                .take(self.pad)
                .take_while(|&&c| c == b' ')
                .count();
            self.text.extend_from_slice(&line[padding..]);
            *self.ends.last_mut().expect("checked above") = self.text.len();
        } else if let Some((name, at)) = field(line) {
            self.end_value();
            // Checked to be ASCII.
            self.names.push(String::from_utf8_lossy(name).into_owned());
            self.text.extend_from_slice(&line[at..]);
            self.ends.push(self.text.len());
            self.pad = at;
        } else {
            self.bad = Some(Malformed::new(
                MalformedKind::NotARecord,
                format!("line {n} is neither `Name : Value` nor the continuation of a value"),
            ));
            return;
        }
        if self.text.len() > max_record {
            self.bad = Some(Malformed::too_long(self.text.len(), max_record));
        }
    }

    /// Ends the last value: white space at its end is the line's, not the value's.
    fn end_value(&mut self) {
        let start = self.ends.len().checked_sub(2).map_or(0, |i| self.ends[i]);
        if let Some(end) = self.ends.last_mut() {
            let kept = self.text[start..*end].trim_ascii_end().len();
            self.text.truncate(start + kept);
            *end = self.text.len();
        }
    }
}

/// The rows read so far, as a batch under construction: consecutive records with the same
/// names share one header.
struct Batches<'a> {
    header: Arc<Vec<String>>,
    rows: Vec<Row>,
    text: Vec<u8>,
    ends: Vec<usize>,
    batch_rows: usize,
    buffer: &'a dyn Fn() -> Vec<u8>,
    emit: &'a mut dyn FnMut(RowBatch),
}

impl Batches<'_> {
    fn flush(&mut self) {
        if self.rows.is_empty() {
            return;
        }
        let mut next = (self.buffer)();
        next.clear();
        let bytes = std::mem::replace(&mut self.text, next);
        // Only blocks whose text is UTF-8 are added (see `end_block`).
        let text = String::from_utf8(bytes).expect("rows are UTF-8");
        (self.emit)(RowBatch {
            header: self.header.clone(),
            rows: std::mem::take(&mut self.rows),
            text,
            ends: std::mem::take(&mut self.ends),
        });
    }

    fn end_block(&mut self, block: &mut Block) {
        let mut b = std::mem::take(block);
        b.end_value();
        if b.line == 0 {
            return;
        }
        // Rows hand their cells out as `str`s: each value must be UTF-8 on its own.
        let checked = b.bad.map_or_else(|| utf8_cells(&b.text, 0, &b.ends), Err);
        let cells = checked.map(|()| {
            if self.header.as_slice() != b.names.as_slice() {
                self.flush();
                self.header = Arc::new(b.names);
            }
            let base = self.text.len();
            self.text.extend_from_slice(&b.text);
            let first = self.ends.len();
            self.ends.extend(b.ends.iter().map(|e| base + e));
            first..self.ends.len()
        });
        self.rows.push(Row {
            line: b.line,
            cells,
        });
        if self.rows.len() >= self.batch_rows || self.text.len() >= BATCH_BYTES {
            self.flush();
        }
    }
}

/// Reads one line (without its `\n`) into `line`, keeping at most `max` bytes of it; the
/// rest of a longer line is read past. `None` at the end of the input.
fn read_line(r: &mut impl BufRead, line: &mut Vec<u8>, max: usize) -> io::Result<Option<usize>> {
    line.clear();
    let mut total = 0usize;
    loop {
        let buf = match r.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if buf.is_empty() {
            return Ok((total > 0).then_some(total));
        }
        let (take, done) = match memchr::memchr(b'\n', buf) {
            Some(i) => (i, true),
            None => (buf.len(), false),
        };
        let room = max.saturating_sub(line.len()).min(take);
        line.extend_from_slice(&buf[..room]);
        total += take;
        r.consume(take + usize::from(done));
        if done {
            return Ok(Some(total));
        }
    }
}

/// Frames a list view into rows: one per block, on the block's first line, each a record or
/// malformed with why. Batches go to `emit`; their text buffers come from `buffer`. Rows read
/// before a read error are emitted before it is returned.
pub fn frame_list(
    reader: impl Read,
    max_record: usize,
    batch_rows: usize,
    buffer: &dyn Fn() -> Vec<u8>,
    stop: &dyn Fn() -> bool,
    emit: &mut dyn FnMut(RowBatch),
) -> io::Result<()> {
    let mut r = BufReader::with_capacity(1 << 16, reader);
    let mut out = Batches {
        header: Arc::new(Vec::new()),
        rows: Vec::new(),
        text: Vec::new(),
        ends: Vec::new(),
        batch_rows: batch_rows.max(1),
        buffer,
        emit,
    };
    let mut block = Block::default();
    let mut line = Vec::new();
    let mut n = 0u64;
    let mut started = false;
    loop {
        // Kept: enough of a longer line to see what it starts with after a BOM (a `#` line
        // before the first block) and to mark it too long.
        let len = match read_line(&mut r, &mut line, max_record.saturating_add(8)) {
            Ok(Some(len)) => len,
            Ok(None) => break,
            Err(e) => {
                out.end_block(&mut block);
                out.flush();
                return Err(e);
            }
        };
        n += 1;
        let mut text = &line[..];
        if n == 1 {
            text = text.strip_prefix(BOM).unwrap_or(text);
        }
        let text = text.strip_suffix(b"\r").unwrap_or(text);
        // A line longer than the limit is judged by all of it, not by the part kept: it is
        // part of a block, too long, unless it is a `#` line before the first block.
        let blank = len <= max_record && text.trim_ascii().is_empty();
        if !started {
            started = !(blank || text.starts_with(b"#"));
            if !started {
                continue;
            }
        }
        if blank {
            out.end_block(&mut block);
            if stop() {
                return Ok(());
            }
        } else {
            block.add_line(n, text, len, max_record);
        }
    }
    out.end_block(&mut block);
    out.flush();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A row as the tests compare it: its line, and its names and values or its malformed kind.
    type Got = (u64, Result<Vec<(String, String)>, String>);

    /// The rows of `data`.
    fn rows(data: &[u8], max: usize, batch: usize) -> Vec<Got> {
        let mut got = Vec::new();
        frame_list(data, max, batch, &Vec::new, &|| false, &mut |b| {
            for row in &b.rows {
                let cells = row.cells.clone().map(|range| {
                    b.header
                        .iter()
                        .cloned()
                        .zip(b.cells(range).map(String::from))
                        .collect()
                });
                got.push((row.line, cells.map_err(|m| m.kind.as_str().to_string())));
            }
        })
        .unwrap();
        got
    }

    fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn blocks_become_rows_with_their_names() {
        let text = "\u{feff}# a note\r\n\r\nOperation    : MailItemsAccessed\r\nLastAccessed : 1/4/2019 1:00:00 PM\r\nEmpty        :\r\nAggregated   : [{\"Path\":\"\\\\Inbox\",\"FolderItems\":[{\"InternetMessageId\":\"<a@\r\n               b>\"}]}]\r\nClient       : Mozilla/5.0  \r\n                (Windows NT)\t \r\n\r\n\r\nOperation    : MailboxLogin\r\nLastAccessed : 1/5/2019 1:00:00 PM\r\n";
        assert!(looks_like_list(text.as_bytes()));
        for batch in [1, 2, 100] {
            assert_eq!(
                rows(text.as_bytes(), 1000, batch),
                [
                    (
                        3,
                        Ok(pairs(&[
                            ("Operation", "MailItemsAccessed"),
                            ("LastAccessed", "1/4/2019 1:00:00 PM"),
                            ("Empty", ""),
                            (
                                "Aggregated",
                                "[{\"Path\":\"\\\\Inbox\",\"FolderItems\":[{\"InternetMessageId\":\"<a@b>\"}]}]"
                            ),
                            ("Client", "Mozilla/5.0   (Windows NT)"),
                        ]))
                    ),
                    (
                        12,
                        Ok(pairs(&[
                            ("Operation", "MailboxLogin"),
                            ("LastAccessed", "1/5/2019 1:00:00 PM")
                        ]))
                    ),
                ],
                "batch {batch}"
            );
        }
    }

    #[test]
    fn damaged_blocks_are_malformed_and_the_rest_is_read() {
        let text = b"Operation : A\nnot a field line\nLastAccessed : x\n\n  continues nothing\nOperation : B\n\nOperation : \xff\n\nOperation : C\nLastAccessed : ".to_vec();
        let mut long = text.clone();
        long.extend(std::iter::repeat_n(b'9', 50));
        let got = rows(&long, 40, 3);
        let kinds: Vec<(u64, Result<usize, String>)> = got
            .into_iter()
            .map(|(l, c)| (l, c.map(|p| p.len())))
            .collect();
        assert_eq!(
            kinds,
            [
                (1, Err("not-a-record".to_string())),
                (5, Err("not-a-record".to_string())),
                (8, Err("invalid-utf8".to_string())),
                (10, Err("too-long".to_string())),
            ]
        );
    }

    #[test]
    fn only_a_list_of_audit_records_looks_like_one() {
        for (text, want) in [
            ("Operation : X\nLastAccessed : 1/1/2020\n", true),
            (
                "# note\n\nOperation : X\n  more\nCreationTime : 2020-01-01\n",
                true,
            ),
            ("Operation : X\n\nLastAccessed : 1/1/2020\n", false),
            ("Operation : X\nName: X\n", false),
            ("Operation:X\nLastAccessed:1\n", false),
            ("{\"Operation\" : 1, \"LastAccessed\" : 2}\n", false),
            ("RecordId,CreationDate,Operation\n", false),
            ("", false),
        ] {
            assert_eq!(looks_like_list(text.as_bytes()), want, "{text:?}");
        }
    }
}
