//! Framing: cutting a byte stream into records, without parsing them.
//!
//! NDJSON is cut at newlines (a raw newline never occurs inside a JSON string), so a memory
//! map is split into newline-aligned chunks and a stream into newline-aligned blocks. JSON
//! documents (arrays, pretty-printed objects) are framed by a small state machine that tracks
//! strings and nesting. CSV is split into records as the `csv` crate splits it (quoted cells
//! may span lines; see `csv_records`).

use super::csv_records::cells;
use std::io::{self, Read};
use std::ops::Range;

/// Whether a JSON scanner is inside a string literal, byte by byte: what every framer needs
/// to find structure without parsing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StrState {
    in_str: bool,
    esc: bool,
}

impl StrState {
    /// Advances over `b`; true when `b` belongs to a string literal (its quotes included).
    #[inline]
    pub fn step(&mut self, b: u8) -> bool {
        if self.in_str {
            if self.esc {
                self.esc = false;
            } else if b == b'\\' {
                self.esc = true;
            } else if b == b'"' {
                self.in_str = false;
            }
            true
        } else if b == b'"' {
            self.in_str = true;
            true
        } else {
            false
        }
    }

    pub fn in_string(self) -> bool {
        self.in_str
    }

    /// The states text that begins where a cut fell may start in: outside a string, inside
    /// one, and inside one right after a backslash.
    pub const CUT_STARTS: [StrState; 3] = [
        StrState {
            in_str: false,
            esc: false,
        },
        StrState {
            in_str: true,
            esc: false,
        },
        StrState {
            in_str: true,
            esc: true,
        },
    ];
}

/// Whether `line` closes a bracket it never opened, its brackets counted from its first byte in
/// each of [`StrState::CUT_STARTS`]: then it begins
/// inside a value, where a cut fell (the first line of a piece of a split file:
/// `{"Name":"x"}],"Id":...}`, or `{\"Attr\":1}","Id":...}` cut inside a string that holds
/// JSON).
pub fn begins_inside_value(line: &[u8]) -> bool {
    let closes_unopened = |mut strings: StrState| {
        let mut depth = 0u32;
        for &b in line {
            if strings.step(b) {
                continue;
            }
            match b {
                b'{' | b'[' => depth += 1,
                b'}' | b']' if depth == 0 => return true,
                b'}' | b']' => depth -= 1,
                _ => {}
            }
        }
        false
    };
    StrState::CUT_STARTS.into_iter().any(closes_unopened)
}

/// A piece of NDJSON input produced by the splitters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    /// Whole lines (the last may lack its newline at the end of the input).
    Lines(Range<usize>),
    /// One line longer than the record limit, newline included when present.
    LongLine(Range<usize>),
}

/// Cuts `data` into chunks of about `target` bytes ending at a newline. When the line that
/// straddles a chunk boundary is longer than `max_record` it becomes a [`Piece::LongLine`] of
/// its own, so that no chunk grows without bound. Shorter over-long lines inside a chunk are
/// left to the parser, which checks every line against the limit.
///
/// Lazily, a boundary at a time: on a mapped file, finding a boundary maps pages around it
/// (about 2 MB each on a page cache of large folios), so finding all of them first held about
/// 950 MB of a 2 GB file resident before the first record was parsed.
pub fn split_lines(
    data: &[u8],
    target: usize,
    max_record: usize,
) -> impl Iterator<Item = Piece> + '_ {
    let target = target.max(1);
    let mut start = 0;
    let mut pending: Option<Piece> = None;
    std::iter::from_fn(move || {
        if let Some(p) = pending.take() {
            return Some(p);
        }
        if start >= data.len() {
            return None;
        }
        let cand = start + target;
        if cand >= data.len() {
            let last = Piece::Lines(start..data.len());
            start = data.len();
            return Some(last);
        }
        let end = memchr::memchr(b'\n', &data[cand - 1..])
            .map(|i| cand + i)
            .unwrap_or(data.len());
        let line_start = memchr::memrchr(b'\n', &data[start..cand - 1])
            .map(|p| start + p + 1)
            .unwrap_or(start);
        let from = std::mem::replace(&mut start, end);
        if trim_record(&data[line_start..end]).len() > max_record {
            let long = Piece::LongLine(line_start..end);
            if line_start > from {
                pending = Some(long);
                return Some(Piece::Lines(from..line_start));
            }
            return Some(long);
        }
        Some(Piece::Lines(from..end))
    })
}

/// A block from [`BlockReader`].
#[derive(Debug)]
pub enum Block {
    /// Whole lines (the last may lack its newline at the end of the stream).
    Lines(Vec<u8>),
    /// A line longer than the limit, skipped: its length.
    LongLine(usize),
}

/// Reads a stream into newline-aligned blocks of about `block` bytes, in recycled buffers.
/// A read error ends the stream: the bytes read before it are still delivered, and the
/// error is kept for [`BlockReader::take_error`].
pub struct BlockReader<R> {
    inner: R,
    block: usize,
    max_record: usize,
    carry: Vec<u8>,
    eof: bool,
    error: Option<io::Error>,
    /// White space left out of the blocks so far (see [`BlockReader::next_block`]).
    dropped: usize,
}

impl<R: Read> BlockReader<R> {
    pub fn new(inner: R, block: usize, max_record: usize) -> Self {
        BlockReader {
            inner,
            block: block.max(64),
            max_record,
            carry: Vec::new(),
            eof: false,
            error: None,
            dropped: 0,
        }
    }

    /// How many bytes of white space the blocks so far left out: that before the record on
    /// lines longer than the limit (a line of nothing but white space is not held whole).
    pub fn dropped(&self) -> usize {
        self.dropped
    }

    /// The read error that ended the stream, if one did.
    pub fn take_error(&mut self) -> Option<io::Error> {
        self.error.take()
    }

    /// Reads up to `want` bytes into `buf` after its first `len` bytes and leaves `buf` that
    /// long; returns how many. The bytes `buf` already holds past `len` (a recycled block's)
    /// are overwritten, not zeroed first: zeroing every block before reading into it was 2% of
    /// the CPU time of a zstd source (only what `buf` never held is zeroed).
    fn read_into(&mut self, buf: &mut Vec<u8>, len: usize, want: usize) -> usize {
        if buf.len() < len + want {
            buf.resize(len + want, 0);
        }
        let mut filled = 0;
        while filled < want && !self.eof {
            match self.inner.read(&mut buf[len + filled..len + want]) {
                Ok(0) => self.eof = true,
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.error = Some(e);
                    self.eof = true;
                }
            }
        }
        buf.truncate(len + filled);
        filled
    }

    /// The next block, built in `buf` (a recycled buffer, whose bytes are overwritten). `None`
    /// at the end.
    pub fn next_block(&mut self, mut buf: Vec<u8>) -> Option<Block> {
        let carry = self.carry.len();
        if buf.len() < carry {
            buf.resize(carry, 0);
        }
        buf[..carry].copy_from_slice(&self.carry);
        self.carry.clear();
        let want = self.block.saturating_sub(carry);
        self.read_into(&mut buf, carry, want);
        if buf.is_empty() {
            return None;
        }
        if let Some(nl) = memchr::memrchr(b'\n', &buf) {
            self.carry.extend_from_slice(&buf[nl + 1..]);
            buf.truncate(nl + 1);
            return Some(Block::Lines(buf));
        }
        // One line fills the whole block: read on to its end, up to the limit. Only the
        // bytes read since the last look are searched, and the line is measured against the
        // limit only each time it has doubled past it (measuring trims its white space, all
        // of it on a line of tabs), so a long line costs linear time; the limit is then
        // found late by less than the line's length, and the line at its end is measured
        // once more below, so what is returned does not change.
        let mut scanned = buf.len();
        let mut measure_at = self.max_record;
        // White space dropped from the line's start (see below).
        let mut dropped = 0;
        loop {
            if let Some(i) = memchr::memchr(b'\n', &buf[scanned..]) {
                let nl = scanned + i;
                self.carry.extend_from_slice(&buf[nl + 1..]);
                buf.truncate(nl + 1);
                break;
            }
            scanned = buf.len();
            if self.eof {
                break;
            }
            let measure = buf.len() > measure_at;
            if measure {
                measure_at = buf.len().saturating_mul(2);
            }
            let record = if measure { trim_record(&buf) } else { 0..0 };
            if record.len() > self.max_record {
                // Skip the rest of the line without keeping it.
                let mut skipped = dropped + buf.len();
                loop {
                    let n = self.read_into(&mut buf, 0, self.block);
                    if let Some(i) = memchr::memchr(b'\n', &buf) {
                        skipped += i + 1;
                        self.carry.extend_from_slice(&buf[i + 1..]);
                        break;
                    }
                    skipped += n;
                    if self.eof {
                        break;
                    }
                }
                return Some(Block::LongLine(skipped));
            }
            if record.start > 0 {
                // The white space before the record is not kept (nor is a line of white
                // space held whole): the record, a blank line, and the line's length (kept
                // in `dropped`) are what they were.
                buf.drain(..record.start);
                dropped += record.start;
                self.dropped += record.start;
                scanned -= record.start;
                // Measured again after as much again: each byte is trimmed about once.
                measure_at = self.max_record.max(2 * buf.len());
            }
            let len = buf.len();
            self.read_into(&mut buf, len, self.block);
        }
        if trim_record(&buf).len() > self.max_record {
            return Some(Block::LongLine(dropped + buf.len()));
        }
        if buf.is_empty() {
            // A line of white space ran to the end of the input, all of it left out.
            return None;
        }
        Some(Block::Lines(buf))
    }
}

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// The record inside a line: without surrounding white space (the newline, a CR) and BOMs.
/// The record limit applies to this length, wherever a line is measured.
pub fn trim_record(line: &[u8]) -> Range<usize> {
    let mut s = 0;
    let mut e = line.len();
    loop {
        if line[s..e].starts_with(BOM) {
            s += 3;
        } else if s < e && line[s].is_ascii_whitespace() {
            s += 1;
        } else {
            break;
        }
    }
    while e > s && line[e - 1].is_ascii_whitespace() {
        e -= 1;
    }
    s..e
}

/// The records of an NDJSON line that holds several objects one after another, as when a file
/// whose last line has no line end is concatenated with the next (`{...}{...}`): the range of
/// each object, the last one as far as the line goes (a cut one is then reported as such).
/// `None` when the line is not that: one value, or something other than an object (after white
/// space) where the next record would start.
pub fn objects_in_line(line: &[u8]) -> Option<Vec<Range<usize>>> {
    let mut out = Vec::new();
    let mut strings = StrState::default();
    let mut depth = 0u32;
    let mut start = None;
    for (i, &b) in line.iter().enumerate() {
        if strings.step(b) {
            start?; // a string where a record should start: not records one after another
            continue;
        }
        match (b, start) {
            (b'{', None) => {
                start = Some(i);
                depth = 1;
            }
            (_, None) if b.is_ascii_whitespace() => {}
            (_, None) => return None,
            (b'{' | b'[', Some(_)) => depth += 1,
            (b'}' | b']', Some(s)) => {
                depth -= 1;
                if depth == 0 {
                    out.push(s..i + 1);
                    start = None;
                }
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push(s..line.len());
    }
    (out.len() > 1).then_some(out)
}

/// One framed JSON value in a [`ValueBatch`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Framed {
    /// The value's bytes are `data[range]`; it starts on `line`.
    Value { line: u64, range: Range<usize> },
    /// A value longer than the record limit (not kept).
    TooLong { line: u64, len: usize },
}

/// Framed JSON values, sent to the parsers in one piece.
#[derive(Debug, Default)]
pub struct ValueBatch {
    pub data: Vec<u8>,
    pub values: Vec<Framed>,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Mode {
    /// Between values: white space, commas, BOMs and array brackets.
    Outside,
    /// Inside an object (or other value) that started with `{`.
    Value,
    /// Bytes that cannot start a value: kept to the end of the line and reported. Inside an
    /// array (a `null`, a number, a string element) they end at the element's end instead:
    /// a comma or `]` outside a string.
    Junk,
    /// The rest of a value cut by a raw newline inside one of its strings (which valid JSON
    /// never holds): skipped up to the next line that starts a value no deeper than the cut
    /// one started (its first byte `{` or `[`, indented no more), where framing resumes.
    Tail,
    /// The rest of a record a piece of a split document begins inside: the first `cut_left`
    /// bytes of the stream, kept as one value (see [`JsonFramer::begins_inside`]).
    Cut,
}

/// Frames JSON documents: arrays of records (the Management API blob, Extractor-Suite JSON,
/// concatenated arrays), pretty-printed or concatenated objects, a single object. Each
/// element of a top-level array and each top-level object becomes one value; whatever else
/// stands between them becomes a value of its own, which the parser then reports.
pub struct JsonFramer {
    mode: Mode,
    depth: u32,
    /// Arrays open around the current place, outside values (elements end at a comma).
    arrays: u32,
    /// White space (BOMs not counted) since the start of the line, while only that was seen
    /// on it; `None` after anything else.
    indent: Option<usize>,
    /// The indent of the line the current value started on, when it started first on it.
    value_indent: usize,
    strings: StrState,
    line: u64,
    value_line: u64,
    value_len: usize,
    /// The last byte added to the current value.
    last_byte: u8,
    value_start: usize,
    /// Bytes of [`Mode::Cut`] still to come.
    cut_left: usize,
    batch: ValueBatch,
    max_record: usize,
    batch_bytes: usize,
}

impl JsonFramer {
    pub fn new(max_record: usize, batch_bytes: usize) -> Self {
        JsonFramer {
            mode: Mode::Outside,
            depth: 0,
            arrays: 0,
            indent: Some(0),
            value_indent: 0,
            strings: StrState::default(),
            line: 1,
            value_line: 1,
            value_len: 0,
            last_byte: 0,
            value_start: 0,
            cut_left: 0,
            batch: ValueBatch::default(),
            max_record,
            batch_bytes: batch_bytes.max(1),
        }
    }

    /// For a stream that begins inside a record (a piece of a split document, see
    /// [`Container::JsonPiece`]): its first `cut` bytes are one value, the rest of that record
    /// (reported as cut by the parser); framing starts after them, between the elements of an
    /// array.
    ///
    /// [`Container::JsonPiece`]: super::sniff::Container::JsonPiece
    pub fn begins_inside(mut self, cut: usize) -> Self {
        if cut > 0 {
            self.begin_value(Mode::Cut);
            self.cut_left = cut;
            self.arrays = 1;
        }
        self
    }

    /// Adds bytes to the current value. At most `max_record + 1` of them are stored: enough
    /// to tell a value over the limit, and to drop a final CR from one just over it.
    fn keep(&mut self, bytes: &[u8]) {
        if let Some(&b) = bytes.last() {
            self.last_byte = b;
        }
        let stored = self.batch.data.len() - self.value_start;
        let room = (self.max_record + 1).saturating_sub(stored);
        self.batch
            .data
            .extend_from_slice(&bytes[..bytes.len().min(room)]);
        self.value_len += bytes.len();
    }

    fn end_value(&mut self, emit: &mut dyn FnMut(ValueBatch)) {
        let framed = if self.value_len > self.max_record {
            self.batch.data.truncate(self.value_start);
            Framed::TooLong {
                line: self.value_line,
                len: self.value_len,
            }
        } else {
            Framed::Value {
                line: self.value_line,
                range: self.value_start..self.batch.data.len(),
            }
        };
        self.batch.values.push(framed);
        self.mode = Mode::Outside;
        if self.batch.data.len() >= self.batch_bytes || self.batch.values.len() >= 65_536 {
            emit(std::mem::take(&mut self.batch));
        }
    }

    /// Ends the current value at a newline at `bytes[i]`, its bytes from `seg` kept: a CR
    /// before the newline is not part of the value, even when the two arrived in different
    /// pieces of the stream. The newline itself is left to the caller.
    fn end_at_newline(
        &mut self,
        bytes: &[u8],
        seg: usize,
        i: usize,
        emit: &mut dyn FnMut(ValueBatch),
    ) {
        self.keep(&bytes[seg..i]);
        if self.value_len > 0 && self.last_byte == b'\r' {
            if self.batch.data.len() - self.value_start == self.value_len {
                self.batch.data.pop();
            }
            self.value_len -= 1;
        }
        self.end_value(emit);
    }

    fn begin_value(&mut self, mode: Mode) {
        self.mode = mode;
        self.depth = 0;
        // A value that does not start a line starts deeper than any line's indent.
        self.value_indent = self.indent.unwrap_or(usize::MAX);
        self.strings = StrState::default();
        self.value_line = self.line;
        self.value_len = 0;
        self.last_byte = 0;
        self.value_start = self.batch.data.len();
    }

    /// White space (and the bytes of a BOM) between values: counts lines and the indent of
    /// the line so far.
    fn between_values(&mut self, b: u8) {
        match b {
            b'\n' => {
                self.line += 1;
                self.indent = Some(0);
            }
            b' ' | b'\t' | b'\r' => self.indent = self.indent.map(|n| n + 1),
            _ => {}
        }
    }

    /// Frames the next bytes of the stream; full batches go to `emit`.
    pub fn feed(&mut self, bytes: &[u8], emit: &mut dyn FnMut(ValueBatch)) {
        let mut i = 0;
        let mut seg = 0; // start of the bytes of the current value not yet kept
        while i < bytes.len() {
            let b = bytes[i];
            match self.mode {
                Mode::Outside => {
                    match b {
                        b'\n' | b' ' | b'\t' | b'\r' | 0xEF | 0xBB | 0xBF => self.between_values(b),
                        b',' => self.indent = None,
                        b'[' => {
                            self.arrays += 1;
                            self.indent = None;
                        }
                        b']' => {
                            self.arrays = self.arrays.saturating_sub(1);
                            self.indent = None;
                        }
                        b'{' => {
                            self.begin_value(Mode::Value);
                            seg = i;
                            continue; // the Value arm counts the brace
                        }
                        _ => {
                            self.begin_value(Mode::Junk);
                            seg = i;
                            continue;
                        }
                    }
                    i += 1;
                }
                Mode::Value => {
                    if b == b'\n' && self.strings.in_string() {
                        // A raw newline inside a string: the value was cut there. It ends
                        // at its line; the rest of it is skipped (see `Mode::Tail`).
                        self.end_at_newline(bytes, seg, i, emit);
                        self.mode = Mode::Tail;
                        continue; // the newline is counted in Tail mode
                    }
                    if self.strings.step(b) {
                        i += 1;
                        continue;
                    }
                    match b {
                        b'{' | b'[' => self.depth += 1,
                        b'}' | b']' => {
                            self.depth = self.depth.saturating_sub(1);
                            if self.depth == 0 {
                                self.keep(&bytes[seg..=i]);
                                self.end_value(emit);
                                self.indent = None;
                                i += 1;
                                continue;
                            }
                        }
                        b'\n' => self.line += 1,
                        _ => {}
                    }
                    i += 1;
                }
                Mode::Junk => {
                    if b == b'\n' {
                        self.end_at_newline(bytes, seg, i, emit);
                        // the newline itself is counted in Outside mode
                        continue;
                    }
                    // An element of an array ends at a comma or `]` outside a string.
                    if !self.strings.step(b) && self.arrays > 0 && matches!(b, b',' | b']') {
                        self.keep(&bytes[seg..i]);
                        self.end_value(emit);
                        self.indent = None;
                        continue; // the comma or bracket is read in Outside mode
                    }
                    i += 1;
                }
                Mode::Cut => {
                    let n = self.cut_left.min(bytes.len() - i);
                    self.line += memchr::memchr_iter(b'\n', &bytes[i..i + n]).count() as u64;
                    (i, self.cut_left) = (i + n, self.cut_left - n);
                    if self.cut_left == 0 {
                        self.keep(&bytes[seg..i]);
                        self.end_value(emit);
                        self.mode = Mode::Outside;
                        self.indent = None;
                    }
                }
                Mode::Tail => {
                    match b {
                        b'\n' | b' ' | b'\t' | b'\r' | 0xEF | 0xBB | 0xBF => self.between_values(b),
                        b'{' | b'[' if self.indent.is_some_and(|n| n <= self.value_indent) => {
                            self.mode = Mode::Outside;
                            continue; // read again in Outside mode
                        }
                        _ => self.indent = None,
                    }
                    i += 1;
                }
            }
        }
        if matches!(self.mode, Mode::Value | Mode::Junk | Mode::Cut) {
            self.keep(&bytes[seg..]);
        }
    }

    /// Ends the stream: an unfinished value is framed as it is (the parser will call it
    /// truncated); the last batch goes to `emit`.
    pub fn finish(&mut self, emit: &mut dyn FnMut(ValueBatch)) {
        if matches!(self.mode, Mode::Value | Mode::Junk | Mode::Cut) {
            self.end_value(emit);
        }
        if !self.batch.values.is_empty() {
            emit(std::mem::take(&mut self.batch));
        }
    }
}

/// For a framed value holding records (a Graph `{"value":[...]}` page, an array), the line
/// offset of each record from the value's first line: the objects that are elements of the
/// top-level array or of the top-level object's `value` array, in order. Empty for a plain
/// record.
pub fn element_lines(value: &[u8]) -> Vec<u64> {
    const OBJECT: u8 = 0;
    const ARRAY: u8 = 1;
    const RECORDS: u8 = 2;
    let mut out = Vec::new();
    let mut line = 0u64;
    let mut strings = StrState::default();
    let mut str_start = 0;
    let mut last_key: &[u8] = b"";
    let mut stack: Vec<u8> = Vec::new();
    for (i, &b) in value.iter().enumerate() {
        if b == b'\n' {
            line += 1;
        }
        let was_in = strings.in_string();
        if strings.step(b) {
            if !was_in {
                str_start = i + 1;
            } else if !strings.in_string() && stack.len() == 1 {
                last_key = &value[str_start..i];
            }
            continue;
        }
        match b {
            b'{' => {
                if stack.last() == Some(&RECORDS) {
                    out.push(line);
                }
                stack.push(OBJECT);
            }
            b'[' => {
                let records = stack.is_empty()
                    || (stack.len() == 1 && stack[0] == OBJECT && last_key == b"value");
                stack.push(if records { RECORDS } else { ARRAY });
            }
            b'}' | b']' => {
                stack.pop();
            }
            _ => {}
        }
    }
    out
}

/// One CSV row: its line, and its cells (a range of [`RowBatch::ends`], for
/// [`RowBatch::cells`]) or why it cannot be read.
#[derive(Debug)]
pub struct Row {
    pub line: u64,
    pub cells: Result<Range<usize>, crate::parse::Malformed>,
}

/// CSV rows with the file's header. The cells of all the rows that were read are one text,
/// one after another (one buffer per batch, not one per cell).
#[derive(Debug)]
pub struct RowBatch {
    pub header: std::sync::Arc<Vec<String>>,
    pub rows: Vec<Row>,
    pub text: String,
    /// Where each cell ends in `text`.
    pub ends: Vec<usize>,
}

impl RowBatch {
    /// The cells of a row whose cells are `range` (its `Ok`).
    pub fn cells(&self, range: Range<usize>) -> impl Iterator<Item = &str> {
        let from = range.start.checked_sub(1).map_or(0, |i| self.ends[i]);
        let cells = cells(self.text.as_bytes(), from, &self.ends[range]);
        // SAFETY: `text` is UTF-8 and each cell starts and ends on one of its character
        // boundaries (`frame_csv` keeps a row only then).
        cells.map(|c| unsafe { std::str::from_utf8_unchecked(c) })
    }
}

/// How [`frame_csv`] reads a CSV export.
#[derive(Debug, Clone, Copy)]
pub struct CsvFraming {
    /// The file may start with a `#TYPE` line (a PowerShell export).
    pub type_line: bool,
    /// The most rows in one batch.
    pub batch_rows: usize,
    /// The record limit, line end included.
    pub max_record: usize,
    /// A piece of a split CSV export, without the export's header (see [`CsvPiece`]).
    pub piece: Option<CsvPiece>,
}

/// A piece of a CSV export split by size or by lines: rows without the export's header. The
/// rows hold `columns` cells, the AuditData at `audit_data` (which holds the whole record);
/// the other cells are named `Column1`, `Column2`... When `first_line_cut`, the first line
/// is the rest of a row cut at its start: reported `truncated` on line 1, not read as CSV
/// (an odd quote in it would open a cell across the rows after it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct CsvPiece {
    pub columns: usize,
    pub audit_data: usize,
    pub first_line_cut: bool,
}

impl CsvPiece {
    /// The header the piece lacks.
    pub fn header(&self) -> Vec<String> {
        (0..self.columns)
            .map(|i| match i == self.audit_data {
                true => "AuditData".to_string(),
                false => format!("Column{}", i + 1),
            })
            .collect()
    }
}

/// A stream without its first line (which is still read, so a hash of the stream's bytes
/// covers it).
struct AfterFirstLine<R> {
    inner: R,
    skipping: bool,
}

impl<R: Read> Read for AfterFirstLine<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.skipping {
            let n = self.inner.read(buf)?;
            if n == 0 {
                return Ok(0);
            }
            if let Some(i) = memchr::memchr(b'\n', &buf[..n]) {
                self.skipping = false;
                if i + 1 < n {
                    buf.copy_within(i + 1..n, 0);
                    return Ok(n - i - 1);
                }
            }
        }
        self.inner.read(buf)
    }
}

/// The most rows, and about the most bytes of cells, in one [`RowBatch`].
pub const BATCH_ROWS: usize = 4096;
pub const BATCH_BYTES: usize = 4 << 20;

/// Frames a CSV export: skips a `#TYPE` line, reads the header, then sends rows in batches
/// of `batch_rows` rows or [`BATCH_BYTES`], the first reached; each batch's text is written
/// into a buffer from `buffer` (so that a consumer can hand it back).
/// Quoted cells may span lines (Purview's AuditData does); rows keep the line they start on.
/// The records are split by [`Records`](super::csv_records::Records), as the `csv` crate
/// splits them; each keeps the line its first byte is on, whatever the line ends (LF, CRLF,
/// both) and blank lines before it. A record longer than
/// `max_record` bytes (its line end included) becomes a malformed row without being held
/// (a quote left open can make the rest of the file one record); one that stands where the
/// header would is such a row, and the header is the record after it.
pub fn frame_csv(
    reader: impl Read,
    framing: &CsvFraming,
    buffer: &dyn Fn() -> Vec<u8>,
    stop: &dyn Fn() -> bool,
    emit: &mut dyn FnMut(RowBatch),
) -> io::Result<()> {
    let CsvFraming {
        type_line,
        batch_rows,
        max_record,
        piece,
    } = *framing;
    let cut = piece.is_some_and(|p| p.first_line_cut);
    let reader = AfterFirstLine {
        inner: reader,
        skipping: cut,
    };
    let mut records =
        super::csv_records::Records::new(reader, max_record).from_line(1 + u64::from(cut));
    let (mut out, mut ends) = (Vec::new(), Vec::new());
    let mut header: Option<std::sync::Arc<Vec<String>>> =
        piece.map(|p| std::sync::Arc::new(p.header()));
    let mut skipped_type = !type_line || piece.is_some();
    let mut rows = Vec::new();
    if cut {
        rows.push(Row {
            line: 1,
            cells: Err(crate::parse::Malformed::new(
                crate::parse::MalformedKind::Truncated,
                "the row begins mid-record (the first line of a piece of a split CSV export)",
            )),
        });
    }
    let mut batch = |out: &mut Vec<u8>, ends: &mut Vec<usize>, rows: &mut Vec<Row>, header| {
        let mut next = buffer();
        next.clear();
        let bytes = std::mem::replace(out, next);
        // SAFETY: every row kept added UTF-8 (see `utf8_cells`); rows that were not have
        // been cut off again, so the text is valid UTF-8 pieces, one after another.
        let text = unsafe { String::from_utf8_unchecked(bytes) };
        emit(RowBatch {
            header,
            rows: std::mem::take(rows),
            text,
            ends: std::mem::take(ends),
        })
    };
    loop {
        let (base, cell) = (out.len(), ends.len());
        let record = match records.next_record(&mut out, &mut ends) {
            Ok(Some(record)) => record,
            Ok(None) => break,
            Err(e) => {
                // Rows read before the stream broke off are still records.
                if !rows.is_empty() {
                    let h = header.clone().unwrap_or_default();
                    batch(&mut out, &mut ends, &mut rows, h);
                }
                return Err(e);
            }
        };
        let line = record.line;
        let cells = match record.too_long {
            Some(len) => Err(crate::parse::Malformed::too_long(len, max_record)),
            None if header.is_none() => {
                // The `#TYPE` line or the header.
                let type_here = !skipped_type
                    && cells(&out, 0, &ends)
                        .next()
                        .is_some_and(|c| c.starts_with(b"#TYPE"));
                if !type_here {
                    let names = cells(&out, 0, &ends)
                        .map(|c| {
                            String::from_utf8_lossy(c)
                                .trim_start_matches('\u{feff}')
                                .trim()
                                .to_string()
                        })
                        .collect();
                    header = Some(std::sync::Arc::new(names));
                }
                skipped_type = true;
                out.clear();
                ends.clear();
                continue;
            }
            None => utf8_cells(&out, base, &ends[cell..]),
        };
        skipped_type = true;
        if cells.is_err() {
            out.truncate(base);
            ends.truncate(cell);
        }
        rows.push(Row {
            line,
            cells: cells.map(|()| cell..ends.len()),
        });
        if rows.len() >= batch_rows || out.len() >= BATCH_BYTES {
            if stop() {
                return Ok(());
            }
            let h = header.clone().unwrap_or_default();
            batch(&mut out, &mut ends, &mut rows, h);
        }
    }
    if !rows.is_empty() {
        batch(&mut out, &mut ends, &mut rows, header.unwrap_or_default());
    }
    Ok(())
}

/// Whether a record's cells are text (`out` holds them from `base`, each ending at its entry
/// of `ends`), or the first cell that is not UTF-8. The record is checked whole, and its cell
/// ends for falling between characters: the same answer as checking each cell.
pub(crate) fn utf8_cells(
    out: &[u8],
    base: usize,
    ends: &[usize],
) -> Result<(), crate::parse::Malformed> {
    use crate::parse::{Malformed, MalformedKind};
    if let Ok(text) = std::str::from_utf8(&out[base..])
        && ends.iter().all(|&e| text.is_char_boundary(e - base))
    {
        return Ok(());
    }
    for (i, c) in cells(out, base, ends).enumerate() {
        if let Err(err) = std::str::from_utf8(c) {
            return Err(Malformed::new(
                MalformedKind::InvalidUtf8,
                format!(
                    "invalid UTF-8 in column {} at byte {}",
                    i + 1,
                    err.valid_up_to()
                ),
            ));
        }
    }
    // Not reached: a record that is not UTF-8 has a cell that is not.
    Err(Malformed::new(MalformedKind::InvalidUtf8, "invalid UTF-8"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines_of(data: &[u8], pieces: &[Piece]) -> Vec<String> {
        pieces
            .iter()
            .map(|p| match p {
                Piece::Lines(r) => String::from_utf8_lossy(&data[r.clone()]).into_owned(),
                Piece::LongLine(r) => format!("LONG{}", r.len()),
            })
            .collect()
    }

    #[test]
    fn objects_one_after_another_on_a_line() {
        let line = br#"{"a":"}{","b":[{}]} {"c":"\"}{"}{"d":1"#;
        let ranges = objects_in_line(line).unwrap();
        let texts: Vec<&[u8]> = ranges.iter().map(|r| &line[r.clone()]).collect();
        let want: [&[u8]; 3] = [br#"{"a":"}{","b":[{}]}"#, br#"{"c":"\"}{"}"#, br#"{"d":1"#];
        assert_eq!(texts, want);
        for one in [
            &br#"{"a":"}{"}"#[..],
            b"{}",
            b"{} x {}",
            b"{}\"x\"{}",
            b"[]{}",
            b" {",
        ] {
            assert_eq!(
                objects_in_line(one),
                None,
                "{}",
                String::from_utf8_lossy(one)
            );
        }
    }

    #[test]
    fn split_covers_everything_once() {
        let data = b"aa\nbbbb\ncc\n\nddddddddddddd\nee";
        for target in 1..data.len() + 2 {
            let pieces: Vec<Piece> = split_lines(data, target, 1000).collect();
            let joined: String = lines_of(data, &pieces).concat();
            assert_eq!(joined.as_bytes(), data, "target {target}");
            for p in &pieces[..pieces.len() - 1] {
                let Piece::Lines(r) = p else { panic!() };
                assert_eq!(data[r.end - 1], b'\n');
            }
        }
        let pieces: Vec<Piece> = split_lines(data, 4, 6).collect();
        assert!(pieces.contains(&Piece::LongLine(12..26)), "{pieces:?}");
    }

    #[test]
    fn blocks_and_long_lines() {
        let data = b"{\"a\":1}\nxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n{\"b\":2}";
        let mut r = BlockReader::new(&data[..], 64, 20);
        let mut got = Vec::new();
        while let Some(b) = r.next_block(Vec::new()) {
            got.push(match b {
                Block::Lines(v) => String::from_utf8(v).unwrap(),
                Block::LongLine(n) => format!("LONG{n}"),
            });
        }
        assert_eq!(got, vec!["{\"a\":1}\n", "LONG73", "{\"b\":2}"]);
    }

    /// A line of white space far longer than the limit, read from a stream, is not held
    /// whole: the blocks stay about the limit's size; the records around it, one after white
    /// space on a long line, and a too-long one after white space (measured whole) are what
    /// they were.
    #[test]
    fn a_long_line_of_white_space_is_not_held() {
        let mut data = b"{\"a\":1}\n".to_vec();
        data.extend(std::iter::repeat_n(b' ', 16 << 20));
        data.push(b'\n');
        data.extend(std::iter::repeat_n(b'\t', 4 << 20));
        data.extend_from_slice(b"{\"b\":2}\n");
        let long = data.len();
        data.extend(std::iter::repeat_n(b' ', 3 << 20));
        data.extend_from_slice(b"{\"c\":\"");
        data.extend(std::iter::repeat_n(b'x', 2 << 20));
        data.extend_from_slice(b"\"}\n");
        let long = data.len() - long;
        data.extend_from_slice(b"{\"d\":4}");
        let mut r = BlockReader::new(&data[..], 64 << 10, 1 << 20);
        let (mut got, mut most) = (Vec::new(), 0);
        while let Some(b) = r.next_block(Vec::new()) {
            match b {
                Block::Lines(v) => {
                    most = most.max(v.capacity());
                    let lines = v.split(|&b| b == b'\n');
                    let records = lines.map(|l| &l[trim_record(l)]).filter(|l| !l.is_empty());
                    got.extend(records.map(|l| String::from_utf8_lossy(l).into_owned()));
                }
                Block::LongLine(n) => got.push(format!("LONG{n}")),
            }
        }
        assert!(most <= 4 << 20, "a block of {most} bytes");
        let want = [
            "{\"a\":1}",
            "{\"b\":2}",
            &format!("LONG{long}"),
            "{\"d\":4}",
        ];
        assert_eq!(got, want);
        crate::check::framing_covers_every_byte(&data, 64 << 10, 1 << 20);
    }

    /// A line of white space longer than the limit that runs to the end of the input ends
    /// the blocks: no empty block after the record before it (found by the framing fuzzer).
    #[test]
    fn white_space_to_the_end_gives_no_empty_block() {
        // Whichever read the white space ends in: at a whole block's worth (71) the last
        // read brings nothing after the white space before it was left out.
        for spaces in 0..400 {
            let mut data = b"{\"a\":1}\n".to_vec();
            data.extend(std::iter::repeat_n(b' ', spaces));
            let mut r = BlockReader::new(&data[..], 71, 1);
            let mut got = Vec::new();
            while let Some(b) = r.next_block(Vec::new()) {
                match b {
                    Block::Lines(v) => got.push(v),
                    Block::LongLine(n) => panic!("{spaces} spaces: a long line of {n}"),
                }
            }
            assert!(
                got.iter().all(|b| !b.is_empty()),
                "{spaces} spaces: an empty block"
            );
            let delivered: usize = got.iter().map(|b| b.len()).sum();
            assert_eq!(r.dropped() + delivered, data.len(), "{spaces} spaces");
        }
    }

    #[test]
    fn json_framing() {
        let text = b"\xEF\xBB\xBF[\n {\"a\": \"}\\\"\"},\n {\"b\": [1,2]}\n]\n[{\"c\":1}]{\"d\":\n2}\ngarbage here\n{\"e\":";
        for split in 0..text.len() {
            let mut f = JsonFramer::new(1 << 20, 1 << 20);
            let mut batches = Vec::new();
            f.feed(&text[..split], &mut |b| batches.push(b));
            f.feed(&text[split..], &mut |b| batches.push(b));
            f.finish(&mut |b| batches.push(b));
            let got: Vec<(u64, String)> = batches
                .iter()
                .flat_map(|b| {
                    b.values.iter().map(|v| match v {
                        Framed::Value { line, range } => (
                            *line,
                            String::from_utf8_lossy(&b.data[range.clone()]).into_owned(),
                        ),
                        Framed::TooLong { line, len } => (*line, format!("LONG{len}")),
                    })
                })
                .collect();
            assert_eq!(
                got,
                vec![
                    (2, "{\"a\": \"}\\\"\"}".to_string()),
                    (3, "{\"b\": [1,2]}".to_string()),
                    (5, "{\"c\":1}".to_string()),
                    (5, "{\"d\":\n2}".to_string()),
                    (7, "garbage here".to_string()),
                    (8, "{\"e\":".to_string()),
                ],
                "split at {split}"
            );
        }
    }

    /// The values of `text` fed in two pieces cut at each byte, all alike, as (line, text).
    fn framed_at_every_cut(text: &[u8]) -> Vec<(u64, String)> {
        let as_text = |v: Vec<(u64, Vec<u8>)>| {
            v.into_iter()
                .map(|(l, b)| (l, String::from_utf8_lossy(&b).into_owned()))
                .collect::<Vec<_>>()
        };
        let whole = as_text(crate::check::framed(&[text], 1 << 20, 1 << 20));
        for split in 0..text.len() {
            let parts: [&[u8]; 2] = [&text[..split], &text[split..]];
            let got = as_text(crate::check::framed(&parts, 1 << 20, 1 << 20));
            assert_eq!(got, whole, "split at {split}");
        }
        whole
    }

    /// One bad spot does not hide the records after it:
    /// - a record cut inside a string (a raw newline, which valid JSON never holds in one)
    ///   ends at its line; the rest of it, down to the next line that starts a record no
    ///   deeper than it did, is skipped (before, the string ran on past the newline and
    ///   swallowed the rest of the file);
    /// - elements of an array that are not objects (`null`, numbers, strings) are values of
    ///   their own, each ending at its comma or `]`, so that the parser reports each as not a
    ///   record; outside arrays a line that is not a value is still one value.
    #[test]
    fn framing_resumes_after_a_cut_record_and_after_elements_that_are_not_objects() {
        // Each text, and the values framed from it with their lines.
        type Case<'a> = (&'a [u8], &'a [(u64, &'a str)]);
        let cases: [Case<'_>; 2] = [
            (
                b"[\n  {\"a\": 1,\n   \"b\": \"cu\r\n      {\"x\": {\"n\": \"y\"}},\n  \"tail\"\n  ],\n  {\"c\": 2}\n]\n{\"d\": \"e\nf\"}\n{\"g\": 3}",
                &[
                    (2, "{\"a\": 1,\n   \"b\": \"cu"),
                    (7, "{\"c\": 2}"),
                    (9, "{\"d\": \"e"),
                    (11, "{\"g\": 3}"),
                ],
            ),
            (
                b"[{\"a\":1},null,{\"b\":2}, 12 ,\"s,]\",{\"c\":3}]\nnot json, at all\n",
                &[
                    (1, "{\"a\":1}"),
                    (1, "null"),
                    (1, "{\"b\":2}"),
                    (1, "12 "),
                    (1, "\"s,]\""),
                    (1, "{\"c\":3}"),
                    (2, "not json, at all"),
                ],
            ),
        ];
        for (text, want) in cases {
            let want: Vec<(u64, String)> = want.iter().map(|&(l, v)| (l, v.to_string())).collect();
            assert_eq!(
                framed_at_every_cut(text),
                want,
                "{}",
                String::from_utf8_lossy(text)
            );
        }
    }

    /// A batch ends at [`BATCH_BYTES`] of text as well as at its number of rows, and rows
    /// that are not UTF-8 leave nothing in it: the rows after them keep their own cells.
    #[test]
    fn csv_batches_end_at_their_size() {
        let big = "x".repeat(BATCH_BYTES / 3);
        let mut data = b"Id,AuditData\n".to_vec();
        for i in 0..12 {
            data.extend_from_slice(format!("{i},{big}\n").as_bytes());
            data.extend_from_slice(b"bad,\xff\n");
        }
        let (mut batches, mut cells, mut bad) = (0, Vec::new(), 0);
        let mut emit = |b: RowBatch| {
            batches += 1;
            assert!(b.text.len() < BATCH_BYTES + big.len() + 10);
            for row in &b.rows {
                match &row.cells {
                    Ok(r) => cells.push((row.line, b.cells(r.clone()).map(str::len).collect())),
                    Err(_) => bad += 1,
                }
            }
        };
        let framing = CsvFraming {
            type_line: false,
            batch_rows: 4096,
            max_record: usize::MAX,
            piece: None,
        };
        frame_csv(&data[..], &framing, &Vec::new, &|| false, &mut emit).unwrap();
        // Three good rows pass the size (with the bad row between them), then the last bad row.
        assert_eq!(batches, 5);
        assert_eq!(bad, 12);
        let want: Vec<(u64, Vec<usize>)> = (0..12)
            .map(|i| (2 + 2 * i as u64, vec![i.to_string().len(), big.len()]))
            .collect();
        assert_eq!(cells, want);
    }
}

#[cfg(test)]
mod element_tests {
    use super::element_lines;

    #[test]
    fn records_of_pages_and_arrays_but_not_of_a_plain_record() {
        let page = b"{\"@odata.context\":\"x\",\n\"value\":[\n{\"id\":1,\"Folders\":[{\"a\":1}]},\n\n{\"id\":2}]}";
        assert_eq!(element_lines(page), vec![2, 4]);
        assert_eq!(element_lines(b"[{\"a\":[{}]},\n{}]"), vec![0, 1]);
        assert!(element_lines(b"{\"Folders\":[{\"Path\":\"\\\\Inbox\"}],\"value\":1}").is_empty());
    }
}
