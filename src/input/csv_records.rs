//! CSV records, split as the `csv` crate splits them with the settings mailscope uses
//! (comma, `"` quotes with `""` inside them, `\r`, `\n` or `\r\n` ending a record, blank lines
//! skipped, a UTF-8 byte-order mark at the start dropped, rows of any length), but faster on
//! the cells an audit export is made of.
//!
//! A Purview export's AuditData cell is a whole JSON record inside quotes, its own quotes
//! doubled: the `csv` crate's state machine stops at every comma and quote in it, and was a
//! quarter of the CPU time of `contexts` on such a file. Here a quoted cell is copied from
//! one quote to the next 16 bytes at a time (`copy_to_quote`) and an unquoted one from
//! one comma or line end to the next (a `memchr` search). [`crate::check::csv_records_match_the_csv_crate`] checks the two agree, the
//! line each record starts on included, on any bytes, read whole or in pieces of any size.

use std::io::{self, Read};

/// What [`scan`] found at the start of its input.
#[derive(Debug, PartialEq, Eq)]
enum Scan {
    /// A record, ending `consumed` bytes in, after `newlines` line feeds.
    Record { consumed: usize, newlines: u64 },
    /// The input ends inside a record and more may come.
    Incomplete,
}

/// Reads the record at the start of `input` (which starts with a byte other than a line
/// end) into `out` (the cells' bytes one after another) and `ends` (where each cell ends in
/// `out`). `eof`: nothing follows `input`.
///
/// The states are the `csv` crate's (csv-core's): line ends before a record are skipped (by
/// [`Records::next_record`], before this); a cell that starts with a quote runs to the next
/// lone quote (`""` is one quote), anything after that quote and before the next comma or
/// line end is kept as it is (`"a"b` is `ab`); any other cell runs to the next comma or line
/// end, quotes included. A record that ends
/// with `\r` ends there: a `\n` after it is skipped before the next record, as the crate
/// does.
fn scan(input: &[u8], eof: bool, out: &mut Vec<u8>, ends: &mut Vec<usize>) -> Scan {
    // Every line feed the record consumes is counted once it ends (they can only be inside
    // quoted cells, or its own end).
    let newlines_in = |s: &[u8]| memchr::memchr_iter(b'\n', s).count() as u64;
    let mut i = 0;
    // The record ends at the end of the input: complete only when nothing follows.
    macro_rules! at_end {
        () => {{
            if !eof {
                return Scan::Incomplete;
            }
            ends.push(out.len());
            return Scan::Record {
                consumed: input.len(),
                newlines: newlines_in(input),
            };
        }};
    }
    // The cell ends at `i`, a comma, `\r` or `\n`: the record too unless it is a comma.
    macro_rules! cell_end {
        () => {{
            ends.push(out.len());
            let b = input[i];
            i += 1;
            if b != b',' {
                return Scan::Record {
                    consumed: i,
                    newlines: newlines_in(&input[..i]),
                };
            }
        }};
    }
    loop {
        // The start of a cell.
        let Some(&first) = input.get(i) else {
            at_end!()
        };
        if first == b'"' {
            i += 1;
            loop {
                let Some(q) = copy_to_quote(input, i, out) else {
                    at_end!()
                };
                i = q + 1;
                match input.get(i) {
                    None => at_end!(),
                    Some(b'"') => {
                        out.push(b'"');
                        i += 1;
                    }
                    Some(_) => break,
                }
            }
            // After the closing quote: a comma or line end, or bytes kept as they are.
            if matches!(input[i], b',' | b'\r' | b'\n') {
                cell_end!();
                continue;
            }
        }
        match memchr::memchr3(b',', b'\r', b'\n', &input[i..]) {
            None => {
                out.extend_from_slice(&input[i..]);
                at_end!()
            }
            Some(k) => {
                out.extend_from_slice(&input[i..i + k]);
                i += k;
                cell_end!();
            }
        }
    }
}

/// Copies `input[from..]` to `out` up to the next quote and returns the quote's position, or
/// copies all of it and returns `None`. In a Purview AuditData cell a quote comes every few
/// bytes (each of the JSON's quotes is doubled), so this is the hot loop: 16 bytes are
/// compared at a time and stored whole, `out` then cut back to the bytes before the quote
/// (no call per stretch between two quotes).
#[inline]
fn copy_to_quote(input: &[u8], from: usize, out: &mut Vec<u8>) -> Option<usize> {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::*;
        const W: usize = 16;
        let mut i = from;
        while i + W <= input.len() {
            out.reserve(W);
            let len = out.len();
            // SAFETY: SSE2 is part of x86-64; `input[i..i + W]` is in bounds (checked above),
            // and `out` has room for W more bytes (reserved), of which only those before the
            // quote are then counted in its length: the rest are written but not kept.
            let mask = unsafe {
                let block = _mm_loadu_si128(input.as_ptr().add(i).cast());
                _mm_storeu_si128(out.as_mut_ptr().add(len).cast(), block);
                _mm_movemask_epi8(_mm_cmpeq_epi8(block, _mm_set1_epi8(b'"' as i8))) as u32
            };
            let n = if mask == 0 {
                W
            } else {
                mask.trailing_zeros() as usize
            };
            // SAFETY: the first `n` of the bytes just written are initialized.
            unsafe { out.set_len(len + n) };
            if mask != 0 {
                return Some(i + n);
            }
            i += W;
        }
        copy_to_quote_bytes(input, i, out)
    }
    #[cfg(not(target_arch = "x86_64"))]
    copy_to_quote_bytes(input, from, out)
}

/// [`copy_to_quote`] without SIMD (its last few bytes, and other architectures).
fn copy_to_quote_bytes(input: &[u8], from: usize, out: &mut Vec<u8>) -> Option<usize> {
    let rest = &input[from..];
    match memchr::memchr(b'"', rest) {
        Some(q) => {
            out.extend_from_slice(&rest[..q]);
            Some(from + q)
        }
        None => {
            out.extend_from_slice(rest);
            None
        }
    }
}

/// The cells of a record [`Records::next_record`] read: `bytes` holds them one after another,
/// the first starting at `from`, each ending at its entry of `ends`.
pub fn cells<'a>(
    bytes: &'a [u8],
    from: usize,
    ends: &'a [usize],
) -> impl Iterator<Item = &'a [u8]> + 'a {
    let mut at = from;
    ends.iter().map(move |&e| {
        let cell = &bytes[at..e];
        at = e;
        cell
    })
}

/// A record [`Records::next_record`] read.
#[derive(Debug, PartialEq, Eq)]
pub struct Record {
    /// The line its reading started on.
    pub line: u64,
    /// Its length, when it is longer than the limit: then its cells were not kept.
    pub too_long: Option<usize>,
}

/// The records of a CSV stream, read in blocks.
pub struct Records<R> {
    src: R,
    buf: Vec<u8>,
    /// The unread bytes are `buf[start..end]`.
    start: usize,
    end: usize,
    eof: bool,
    /// The line the next read starts on: 1 + the line feeds read so far.
    line: u64,
    /// Whether the start was looked at for a byte-order mark.
    began: bool,
    /// A read error that came after some bytes (see [`Records::fill`]).
    failed: Option<io::Error>,
    /// Records longer than this (line end included) are read past, not kept.
    max_record: usize,
    /// The buffer's first size.
    block: usize,
    /// Bytes looked at by [`scan`], for the test that they stay linear in the input.
    #[cfg(test)]
    scanned: usize,
}

impl<R: Read> Records<R> {
    /// The buffer's first size: small, because a zeroed megabyte per file made the fuzz
    /// target five times slower. It doubles at each read up to [`Self::STEADY`], and beyond
    /// when a record does not fit.
    const BLOCK: usize = 64 << 10;
    /// The size a long input's buffer settles at, where a record that straddles two reads
    /// (and is scanned twice) is one in several hundred.
    const STEADY: usize = 1 << 20;

    /// The records of `src`; one longer than `max_record` bytes (its line end included) is
    /// read past, not kept.
    pub fn new(src: R, max_record: usize) -> Self {
        Self::with_block(src, max_record, Self::BLOCK)
    }

    /// Numbers the lines from `line` (the records of a stream whose first lines were read
    /// past).
    pub fn from_line(mut self, line: u64) -> Self {
        self.line = line;
        self
    }

    /// [`Records::new`] with a buffer that starts at `block` bytes: a small one makes the
    /// checks meet records that straddle reads (and reads past long ones) in small inputs.
    pub(crate) fn with_block(src: R, max_record: usize, block: usize) -> Self {
        Records {
            src,
            block: block.max(1),
            buf: Vec::new(),
            start: 0,
            end: 0,
            eof: false,
            line: 1,
            began: false,
            failed: None,
            max_record,
            #[cfg(test)]
            scanned: 0,
        }
    }

    /// The next record, its cells' bytes added to `out` and their ends (positions in `out`)
    /// to `ends`, with the line its first byte is on (after the blank lines before it, with
    /// any line ends: not what `csv`'s `position().line()` says before the record is read,
    /// which counts neither those blank lines nor, after a CRLF, the `\n`); `None` at the
    /// end. A record longer than the limit
    /// adds nothing and is only measured. An error of the source ends the records; the
    /// record it broke off is lost (nothing of it is added).
    pub fn next_record(
        &mut self,
        out: &mut Vec<u8>,
        ends: &mut Vec<usize>,
    ) -> io::Result<Option<Record>> {
        if !self.began {
            while self.end - self.start < 3 && !self.eof {
                self.fill()?;
            }
            if self.buf[self.start..self.end].starts_with(b"\xef\xbb\xbf") {
                self.start += 3;
            }
            self.began = true;
        }
        // Line ends before the record, dropped as they come (a run of them is not held).
        loop {
            let rest = &self.buf[self.start..self.end];
            let lead = rest.iter().position(|&b| b != b'\n' && b != b'\r');
            let lead = lead.unwrap_or(rest.len());
            self.line += memchr::memchr_iter(b'\n', &rest[..lead]).count() as u64;
            self.start += lead;
            if self.start < self.end {
                break;
            }
            if self.eof {
                return Ok(None);
            }
            self.fill()?;
        }
        let line = self.line;
        let (base, cells) = (out.len(), ends.len());
        loop {
            #[cfg(test)]
            {
                self.scanned += self.end - self.start;
            }
            let too_long = |len| Record {
                line,
                too_long: Some(len),
            };
            match scan(&self.buf[self.start..self.end], self.eof, out, ends) {
                Scan::Record { consumed, newlines } => {
                    self.start += consumed;
                    self.line += newlines;
                    if consumed > self.max_record {
                        out.truncate(base);
                        ends.truncate(cells);
                        return Ok(Some(too_long(consumed)));
                    }
                    let too_long = None;
                    return Ok(Some(Record { line, too_long }));
                }
                Scan::Incomplete => {
                    out.truncate(base);
                    ends.truncate(cells);
                    if self.end - self.start > self.max_record {
                        return Ok(Some(too_long(self.skip_record()?)));
                    }
                    self.fill()?;
                }
            }
        }
    }

    /// Reads past the record at `start`, longer than the limit, keeping none of it (the
    /// states of [`scan`], a byte at a time, as the buffer is read again and again): its
    /// length, line end included.
    fn skip_record(&mut self) -> io::Result<usize> {
        #[derive(Clone, Copy)]
        enum Cell {
            Start,
            Quoted,
            /// A quote inside a quoted cell: the cell's end, or the first of `""`.
            Quote,
            Unquoted,
        }
        let mut cell = Cell::Start;
        let mut len = 0;
        loop {
            let rest = &self.buf[self.start..self.end];
            let (mut used, mut ended) = (rest.len(), false);
            for (k, &b) in rest.iter().enumerate() {
                cell = match (cell, b) {
                    (Cell::Quoted, b'"') => Cell::Quote,
                    (Cell::Quoted, _) => Cell::Quoted,
                    (Cell::Start | Cell::Quote, b'"') => Cell::Quoted,
                    (_, b',') => Cell::Start,
                    (_, b'\r' | b'\n') => {
                        (used, ended) = (k + 1, true);
                        break;
                    }
                    _ => Cell::Unquoted,
                };
            }
            self.line += memchr::memchr_iter(b'\n', &rest[..used]).count() as u64;
            self.start += used;
            len += used;
            if ended || self.eof {
                return Ok(len);
            }
            self.fill()?;
        }
    }

    /// Reads more: the unread bytes move to the front, the buffer doubles when they fill it
    /// (or while it is smaller than [`Self::STEADY`]), and it is read full (or to the end of the source). Full, so that a record longer than
    /// one read of the source (a quote left open runs to the end of the file) is scanned again
    /// only each time the buffer doubles, not after every read: linear time, as the `csv`
    /// crate's. An error after some bytes came is kept for the next call, so that the records
    /// those bytes complete are still read.
    fn fill(&mut self) -> io::Result<()> {
        if let Some(e) = self.failed.take() {
            return Err(e);
        }
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.end == self.buf.len() || self.buf.len() < Self::STEADY {
            let len = (self.buf.len() * 2).max(self.block);
            self.buf.resize(len, 0);
        }
        let before = self.end;
        while self.end < self.buf.len() {
            match self.src.read(&mut self.buf[self.end..]) {
                Ok(0) => {
                    self.eof = true;
                    break;
                }
                Ok(n) => self.end += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if self.end > before => {
                    self.failed = Some(e);
                    break;
                }
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::Pieces;

    /// A record read whole, starting on `line`.
    fn kept(line: u64) -> Option<Record> {
        let too_long = None;
        Some(Record { line, too_long })
    }

    fn records(data: &[u8]) -> Vec<(u64, Vec<String>)> {
        let mut r = Records::new(data, usize::MAX);
        let (mut out, mut ends) = (Vec::new(), Vec::new());
        let mut got = Vec::new();
        while let Some(Record { line, .. }) = r.next_record(&mut out, &mut ends).unwrap() {
            let text = |c| String::from_utf8_lossy(c).into_owned();
            got.push((line, cells(&out, 0, &ends).map(text).collect()));
            out.clear();
            ends.clear();
        }
        got
    }

    #[test]
    fn quoted_cells_with_doubled_quotes_commas_and_line_ends() {
        let data = b"\xef\xbb\xbfId,AuditData\r\n1,\"{\"\"a\"\":\"\"x,y\"\"}\"\r\n\r\n2,\"two\nlines\"\n3,\"a\"b,c\"d\"";
        assert_eq!(
            records(data),
            [
                (1, vec!["Id".into(), "AuditData".into()]),
                (2, vec!["1".into(), "{\"a\":\"x,y\"}".into()]),
                (4, vec!["2".into(), "two\nlines".into()]),
                (6, vec!["3".into(), "ab".into(), "c\"d\"".into()]),
            ]
        );
        for piece in [1, 2, 3, 7, 1 << 20] {
            for max in [usize::MAX, 30, 4] {
                crate::check::csv_records_match_the_csv_crate(data, piece, max);
            }
        }
    }

    #[test]
    fn ends_of_input() {
        assert_eq!(records(b""), []);
        assert_eq!(records(b"\r\n\n"), []);
        assert_eq!(records(b"a,"), [(1, vec!["a".into(), "".into()])]);
        assert_eq!(records(b"\"open"), [(1, vec!["open".into()])]);
        assert_eq!(records(b"\"\""), [(1, vec!["".into()])]);
        assert_eq!(records(b"\xef\xbb"), [(1, vec!["\u{fffd}".into()])]);
    }

    /// A quote left open runs to the end of the input: one record of 8 MB, read 4 KiB at a
    /// time, is scanned about twice over (once per doubling of the buffer), not once per read.
    #[test]
    fn a_long_record_is_scanned_in_linear_time() {
        let mut data = b"a,\"".to_vec();
        data.resize(8 << 20, b'x');
        let pieces = Pieces {
            data: &data,
            piece: 4096,
            fail: false,
        };
        let mut r = Records::new(pieces, usize::MAX);
        let (mut out, mut ends) = (Vec::new(), Vec::new());
        assert_eq!(r.next_record(&mut out, &mut ends).unwrap(), kept(1));
        assert_eq!((out.len(), ends.len()), (data.len() - 3 + 1, 2));
        assert!(r.next_record(&mut out, &mut ends).unwrap().is_none());
        assert!(r.scanned < 3 * data.len(), "{} bytes scanned", r.scanned);
    }

    /// A record longer than the limit (here a quoted cell of 8 MB, its quotes doubled, over
    /// many lines) is measured and read past, and the buffer stays about the limit's size;
    /// the records after it are read as before, on their own lines.
    #[test]
    fn a_record_past_the_limit_is_not_held() {
        let mut data = b"1,ok\n2,\"".to_vec();
        let lines = (8 << 20) / 20;
        let cell = b"{\"\"a\"\":\r\n\"\"x,y\"\"}".repeat(lines);
        data.extend_from_slice(&cell);
        data.extend_from_slice(b"\"\r\n\n3,after");
        let pieces = Pieces {
            data: &data,
            piece: 4096,
            fail: false,
        };
        let max = 64 << 10;
        let mut r = Records::new(pieces, max);
        let (mut out, mut ends) = (Vec::new(), Vec::new());
        assert_eq!(r.next_record(&mut out, &mut ends).unwrap(), kept(1));
        let long = r.next_record(&mut out, &mut ends).unwrap();
        let len = 2 + 1 + cell.len() + 2;
        let too_long = Some(len);
        assert_eq!(long, Some(Record { line: 2, too_long }));
        assert!(r.buf.len() <= Records::<&[u8]>::STEADY.max(4 * max));
        // On its own line: after the cell's line ends, the record's, and a blank line.
        let lines = lines as u64;
        assert_eq!(r.next_record(&mut out, &mut ends).unwrap(), kept(4 + lines));
        assert_eq!(out, b"1ok3after");
        assert!(r.next_record(&mut out, &mut ends).unwrap().is_none());
    }

    /// A source that breaks off: the records its bytes completed come first, then the error;
    /// the record it cut is lost.
    #[test]
    fn records_before_a_read_error_are_kept() {
        let pieces = Pieces {
            data: b"a,b\nc\nd,e",
            piece: 3,
            fail: true,
        };
        let mut r = Records::new(pieces, usize::MAX);
        let (mut out, mut ends) = (Vec::new(), Vec::new());
        assert_eq!(r.next_record(&mut out, &mut ends).unwrap(), kept(1));
        assert_eq!(out, b"ab");
        assert_eq!(r.next_record(&mut out, &mut ends).unwrap(), kept(2));
        assert_eq!((&out[..], &ends[..]), (&b"abc"[..], &[1, 2, 3][..]));
        assert!(r.next_record(&mut out, &mut ends).is_err());
        assert_eq!((&out[..], &ends[..]), (&b"abc"[..], &[1, 2, 3][..]));
    }

    proptest::proptest! {
        /// The `csv` crate's records and lines, on bytes made of what matters to the split
        /// (commas, quotes, CR, LF, a byte-order mark, a character of two bytes, a byte that
        /// is not UTF-8) and plain letters, read in pieces of any size; and its rows, as
        /// `frame_csv` batches them ([`crate::check::csv_rows_are_total`]).
        #[test]
        fn splits_like_the_csv_crate(
            parts in proptest::collection::vec(
                proptest::sample::select(vec![
                    &b","[..], b"\"", b"\"\"", b"\r", b"\n", b"\r\n", b"\xef\xbb\xbf",
                    "é".as_bytes(), b"\xff", b"a", b"bc", b"#TYPE",
                ]),
                0..60,
            ),
            piece in 1usize..40,
            type_line: bool,
        ) {
            let data: Vec<u8> = parts.concat();
            crate::check::csv_rows_are_total(&data, type_line, piece);
        }
    }
}
