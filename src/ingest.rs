//! Ingest: runs the read -> frame -> parse stages in parallel and accounts for every record.
//!
//! One producer thread walks the inputs in order. A plain file is memory-mapped and cut into
//! newline-aligned chunks (no copy); a compressed, UTF-16 or standard-input source is decoded
//! on the producer thread into recycled blocks. Work goes through a bounded crossbeam channel
//! to `threads` parser workers on a rayon pool, so input buffers stay bounded whatever the input
//! size. Each worker returns a partial result; partials are merged in input order, then
//! records are de-duplicated by record id in sharded hash maps. Whichever copy of a record
//! arrives first, the smallest (by the record's total order) is kept, so the result does not
//! depend on file order, chunking or thread count.

use crate::distinct::first_occurrence_ids;
use crate::error::{Error, Result};
use crate::input::InputPath;
use crate::input::decode::{
    Compression, Encoding, HashState, HashingReader, Utf16Reader, decompress, prefix_then_error,
    read_up_to_partial, with_prefix,
};
use crate::input::frame::{
    BATCH_ROWS, Block, BlockReader, CsvFraming, Framed, JsonFramer, Piece, RowBatch, ValueBatch,
    element_lines, frame_csv, split_lines, trim_record,
};
use crate::input::sniff::{self, Container};
use crate::model::{Nanos, Record, RecordId};
use crate::parse::{JsonParser, Malformed, MalformedKind, Outcome, normalize_row, normalize_top};
use crate::progress::Progress;
use crossbeam_channel::{Receiver, Sender, bounded};
use memmap2::Mmap;
use rayon::prelude::*;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fs::File;
use std::io::Read;
use std::ops::Range;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// How to ingest.
#[derive(Clone, Debug)]
pub struct Options {
    pub threads: usize,
    /// Target size of a chunk of NDJSON handed to one worker.
    pub chunk_bytes: usize,
    /// A record longer than this is reported as `too-long` and not parsed.
    pub max_record: usize,
    /// Stop at the first malformed record or unreadable input.
    pub strict: bool,
    /// Compute each file's SHA-256.
    pub hash: bool,
    pub progress: bool,
    /// How many malformed records of each kind to keep with their place.
    pub max_examples: usize,
    /// How to read an ambiguous locale date (`5/6/2024`) when a record has no ISO time;
    /// `None`: such a record is malformed (`bad-time`).
    pub date_order: Option<crate::parse::fields::DateOrder>,
    /// What to keep of the InternetMessageIds of listed messages (see
    /// [`JsonParser::message_ids`]).
    pub message_ids: crate::parse::MessageIds,
    /// Keep the folders of MailItemsAccessed records with their listed messages, and a sync
    /// record's folder. `stats` and `throttled` read none of them: they are still parsed and
    /// checked (a record with lossy PowerShell folders stays malformed) and counted
    /// (`OperationCount`'s default), then dropped as each record is parsed, which saves about
    /// a third of the memory of its records. Every field those commands read comes before the
    /// folders in a record's order, so which copy of a duplicate is kept changes nothing they
    /// report.
    pub folders: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            chunk_bytes: 4 << 20,
            max_record: 8 << 20,
            strict: false,
            hash: true,
            progress: false,
            max_examples: 20,
            date_order: None,
            message_ids: crate::parse::MessageIds::Text,
            folders: true,
        }
    }
}

/// What was read from one input.
#[derive(Clone, Debug, Serialize)]
pub struct FileReport {
    pub path: String,
    /// Bytes in the file as stored (compressed size for compressed files).
    pub size: u64,
    /// SHA-256 of the file as stored; `None` when not computed (hashing off, a file that
    /// could not be opened, a directory with no files).
    pub sha256: Option<String>,
    pub compression: Compression,
    pub encoding: Encoding,
    pub container: String,
    /// The record shape seen at the start (e.g. `auditdata`, `purview-portal-csv`).
    pub shape: String,
    /// Records read from this file: parsed, duplicate or malformed.
    pub records: u64,
    /// Why the file, or its end, could not be read.
    pub error: Option<String>,
}

/// A malformed record and its place.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MalformedAt {
    pub path: String,
    pub line: u64,
    pub kind: MalformedKind,
    pub why: String,
    #[serde(skip)]
    pub file: usize,
}

impl MalformedAt {
    pub fn location(&self) -> String {
        format!("{}:{}: {}: {}", self.path, self.line, self.kind, self.why)
    }
}

/// What ingest keeps of each unique record: the record itself, or a smaller form of it for a
/// command that reads only some of its fields (`stats`, `throttled`, `syncs`: see
/// `analyze::inventory::InventoryRecord` and `Selected`), made as each record is parsed, so
/// that memory grows by the smaller form only.
///
/// Copies of one record id that differ keep the smallest copy; for the same copy to be kept
/// whatever is kept of it, the order of the smaller form must be the order of the records it
/// comes from: `from_record(a) < from_record(b)` only when `a < b`. A form made of a prefix of
/// `Record`'s fields, in their order, is such a form.
pub trait Kept: Ord + Send + Sync + Sized {
    /// Whether this form reads the access context (client IP, client string, session, AppId,
    /// ClientAppId) of a MailItemsAccessed record with this access type and throttled flag.
    /// Where it does not, the parser leaves those fields empty instead of normalizing and
    /// interning them (see `JsonParser::context`).
    fn needs_context(_: crate::model::AccessType, _: bool) -> bool {
        true
    }
    fn from_record(r: Record) -> Self;
    fn id(&self) -> &RecordId;
    fn time(&self) -> Nanos;
}

impl Kept for Record {
    fn from_record(r: Record) -> Self {
        r
    }
    fn id(&self) -> &RecordId {
        &self.id
    }
    fn time(&self) -> Nanos {
        self.time
    }
}

/// Everything ingest found: the unique well-formed records (or what is kept of them, see
/// [`Kept`]) and the accounting of the rest.
#[derive(Debug)]
pub struct Ingested<T = Record> {
    pub files: Vec<FileReport>,
    /// Unique well-formed records, sorted by (time, id).
    pub records: Vec<T>,
    /// All records read: `records.len() + duplicates + malformed`.
    pub read: u64,
    pub duplicates: u64,
    pub malformed: BTreeMap<MalformedKind, u64>,
    /// The first malformed records of each kind, in input order.
    pub malformed_examples: Vec<MalformedAt>,
}

impl<T> Default for Ingested<T> {
    fn default() -> Self {
        Ingested {
            files: Vec::new(),
            records: Vec::new(),
            read: 0,
            duplicates: 0,
            malformed: BTreeMap::new(),
            malformed_examples: Vec::new(),
        }
    }
}

impl<T> Ingested<T> {
    pub fn malformed_total(&self) -> u64 {
        self.malformed.values().sum()
    }

    /// True when anything was skipped: malformed records or files with errors.
    pub fn skipped_anything(&self) -> bool {
        self.malformed_total() > 0 || self.files.iter().any(|f| f.error.is_some())
    }
}

/// Bytes shared between the producer and the workers: a memory map, or a buffer.
type Shared = Arc<dyn AsRef<[u8]> + Send + Sync>;

enum Payload {
    /// A piece of a memory map or buffer; `true` when it is a file mapping whose pages may be
    /// released from the resident set once parsed (never for a buffer: see `release_pages`).
    Mapped(Shared, Range<usize>, bool),
    Owned(Vec<u8>),
    LongLine(usize),
    Values(ValueBatch),
    Rows(RowBatch),
}

struct Work {
    file: usize,
    seq: u64,
    payload: Payload,
}

/// A worker's result for one piece of work.
struct Partial<T> {
    file: usize,
    seq: u64,
    /// Line numbers in `examples` count from the start of this piece (NDJSON) rather than
    /// from the start of the file.
    relative: bool,
    lines: u64,
    raw: u64,
    records: Vec<T>,
    malformed: [u64; MalformedKind::ALL.len()],
    examples: Vec<(u64, Malformed)>,
    /// Drop each record's folders as it is parsed (see [`Options::folders`]).
    drop_folders: bool,
}

impl<T: Kept> Partial<T> {
    fn new(work: &Work, drop_folders: bool) -> Self {
        Partial {
            file: work.file,
            seq: work.seq,
            relative: false,
            lines: 0,
            raw: 0,
            records: Vec::new(),
            malformed: [0; MalformedKind::ALL.len()],
            examples: Vec::new(),
            drop_folders,
        }
    }

    fn malformed(&mut self, line: u64, m: Malformed, max_examples: usize) {
        self.raw += 1;
        let k = m.kind as usize;
        self.malformed[k] += 1;
        if self.malformed[k] as usize <= max_examples {
            self.examples.push((line, m));
        }
    }

    fn outcome(&mut self, line: u64, o: Outcome, max_examples: usize) {
        match o {
            Outcome::Record(mut r) => {
                self.raw += 1;
                if self.drop_folders {
                    crate::parse::drop_folders(&mut r);
                }
                self.records.push(T::from_record(r));
            }
            Outcome::Malformed(m) => self.malformed(line, m, max_examples),
        }
    }
}

/// Per-worker state, reused from piece to piece.
struct Worker {
    chunk: Vec<u8>,
    parser: JsonParser,
    outcomes: Vec<Outcome>,
    max_record: usize,
    max_examples: usize,
    drop_folders: bool,
}

impl Worker {
    /// `context`: see [`Kept::needs_context`].
    fn new(opts: &Options, context: crate::parse::NeedsContext) -> Self {
        let mut parser = JsonParser::new();
        parser.date_order = opts.date_order;
        parser.message_ids = opts.message_ids;
        parser.context = context;
        Worker {
            chunk: Vec::new(),
            parser,
            outcomes: Vec::new(),
            max_record: opts.max_record,
            max_examples: opts.max_examples,
            drop_folders: !opts.folders,
        }
    }

    fn process<T: Kept>(&mut self, work: Work, free: &Sender<Vec<u8>>) -> Partial<T> {
        let mut p = Partial::new(&work, self.drop_folders);
        match work.payload {
            Payload::Mapped(map, range, file_map) => {
                p.relative = true;
                let bytes = &(*map).as_ref()[range];
                self.lines(bytes, &mut p);
                if file_map {
                    release_pages(bytes);
                }
            }
            Payload::Owned(buf) => {
                p.relative = true;
                self.lines(&buf, &mut p);
                let _ = free.try_send(buf);
            }
            Payload::LongLine(len) => {
                p.relative = true;
                p.lines = 1;
                p.malformed(
                    1,
                    Malformed::too_long(len, self.max_record),
                    self.max_examples,
                );
            }
            Payload::Values(batch) => self.values(&batch, &mut p),
            Payload::Rows(batch) => {
                self.rows(&batch, &mut p);
                let _ = free.try_send(batch.text.into_bytes());
            }
        }
        p
    }

    /// NDJSON: copies each line into a padded buffer and parses it there, in place.
    fn lines<T: Kept>(&mut self, bytes: &[u8], p: &mut Partial<T>) {
        let Worker {
            chunk,
            parser,
            outcomes,
            max_record,
            max_examples,
            ..
        } = self;
        // Audit records are about 1 KB or more: room for most of a chunk's records at once.
        p.records.reserve(bytes.len() / 1024);
        let len = bytes.len();
        // Each line is copied just before it is parsed, to the start of the buffer: it is read
        // from the input once and parsed while still in cache, where copying the whole piece
        // first left its start out of cache by the time it was parsed. The copy always lands
        // on the same few cache lines; copied to its own offset in a 4 MiB buffer instead,
        // every line wrote to lines not in cache (fetched before being overwritten) and pushed
        // the interning tables out. Bytes after a line (a longer earlier line, or zeros) are
        // only simd-json's padding.
        let mut pos = 0;
        let mut line = 0u64;
        while pos < len {
            let end = memchr::memchr(b'\n', &bytes[pos..]).map_or(len, |i| pos + i);
            line += 1;
            let r = trim_record(&bytes[pos..end]);
            let (s, e) = (pos + r.start, pos + r.end);
            // The line's length with its line end, as a line cut out before it reaches a
            // worker is reported (`Piece::LongLine`, `Block::LongLine`): which of the two a
            // long line takes depends on the chunk size, and its message must not.
            let with_end = end - pos + usize::from(end < len);
            pos = end + 1;
            if s == e {
                continue; // a blank line is not a record
            }
            if e - s > *max_record {
                p.malformed(
                    line,
                    Malformed::too_long(with_end, *max_record),
                    *max_examples,
                );
                continue;
            }
            let record = &bytes[s..e];
            match parse_line(chunk, parser, outcomes, record) {
                Ok(()) => {
                    for o in outcomes.drain(..) {
                        p.outcome(line, o, *max_examples);
                    }
                }
                Err(m)
                    if matches!(
                        m.kind,
                        MalformedKind::InvalidJson | MalformedKind::Truncated
                    ) =>
                {
                    // Objects one after another (a file without its last line end, then the
                    // next): each is a record of this line.
                    let Some(objects) = crate::input::frame::objects_in_line(record) else {
                        p.malformed(line, m, *max_examples);
                        continue;
                    };
                    let n = objects.len();
                    for (i, r) in objects.into_iter().enumerate() {
                        match parse_line(chunk, parser, outcomes, &record[r]) {
                            Ok(()) => {
                                for o in outcomes.drain(..) {
                                    p.outcome(line, o, *max_examples);
                                }
                            }
                            Err(m) => {
                                let at = format!("object {} of {n} on the line", i + 1);
                                p.malformed(line, m.context(&at), *max_examples);
                            }
                        }
                    }
                }
                Err(m) => p.malformed(line, m, *max_examples),
            }
        }
        p.lines = line;
    }

    fn values<T: Kept>(&mut self, batch: &ValueBatch, p: &mut Partial<T>) {
        for v in &batch.values {
            match v {
                Framed::TooLong { line, len } => p.malformed(
                    *line,
                    Malformed::too_long(*len, self.max_record),
                    self.max_examples,
                ),
                Framed::Value { line, range } => {
                    let outcomes = &mut self.outcomes;
                    outcomes.clear();
                    let bytes = &batch.data[range.clone()];
                    match self
                        .parser
                        .parse(bytes, |root, child| normalize_top(root, child, outcomes))
                    {
                        Ok(()) => {
                            // Records of a Graph page each get their own line.
                            let offsets = element_lines(bytes);
                            let exact = offsets.len() == outcomes.len();
                            for (i, o) in outcomes.drain(..).enumerate() {
                                let at = if exact { *line + offsets[i] } else { *line };
                                p.outcome(at, o, self.max_examples);
                            }
                        }
                        Err(m) => p.malformed(*line, m, self.max_examples),
                    }
                }
            }
        }
    }

    fn rows<T: Kept>(&mut self, batch: &RowBatch, p: &mut Partial<T>) {
        let mut pairs: Vec<(&str, &str)> = Vec::new();
        for row in &batch.rows {
            match &row.cells {
                Err(m) => p.malformed(row.line, m.clone(), self.max_examples),
                Ok(cells) => {
                    pairs.clear();
                    let header = batch.header.iter().map(String::as_str);
                    pairs.extend(header.zip(batch.cells(cells.clone())));
                    let o = normalize_row(&pairs, &batch.header, &mut self.parser);
                    p.outcome(row.line, o, self.max_examples);
                }
            }
        }
    }
}

/// Parses one NDJSON record: copied into the padded buffer `chunk`, parsed there in place,
/// its outcomes left in `outcomes`.
fn parse_line(
    chunk: &mut Vec<u8>,
    parser: &mut JsonParser,
    outcomes: &mut Vec<Outcome>,
    record: &[u8],
) -> std::result::Result<(), Malformed> {
    outcomes.clear();
    let n = record.len();
    if chunk.len() < n + simd_json::INPUT_PADDING {
        chunk.resize(n + simd_json::INPUT_PADDING, 0);
    }
    chunk[..n].copy_from_slice(record);
    parser.parse_in_place(chunk, n, record, |root, child| {
        normalize_top(root, child, outcomes)
    })
}

/// The producer's view of the run.
struct Producer<'a> {
    opts: &'a Options,
    tx: Sender<Work>,
    free: Receiver<Vec<u8>>,
    stop: &'a AtomicBool,
    progress: &'a Progress,
}

const SNIFF_BYTES: usize = 256 * 1024;

impl Producer<'_> {
    fn send(&self, file: usize, seq: &mut u64, payload: Payload) -> bool {
        let w = Work {
            file,
            seq: *seq,
            payload,
        };
        *seq += 1;
        !self.stop.load(Ordering::Relaxed) && self.tx.send(w).is_ok()
    }

    fn csv_framing(
        &self,
        type_line: bool,
        piece: Option<crate::input::frame::CsvPiece>,
    ) -> CsvFraming {
        CsvFraming {
            type_line,
            piece,
            batch_rows: BATCH_ROWS,
            max_record: self.opts.max_record,
        }
    }

    /// Frames a list view (see [`crate::input::list`]) into row batches; `tick` runs before
    /// each is sent.
    fn list(
        &self,
        r: &mut dyn Read,
        file: usize,
        seq: &mut u64,
        tick: &mut dyn FnMut(),
    ) -> std::io::Result<()> {
        crate::input::list::frame_list(
            r,
            self.opts.max_record,
            BATCH_ROWS,
            &|| self.buffer(),
            &|| self.stop.load(Ordering::Relaxed),
            &mut |b| {
                tick();
                self.send(file, seq, Payload::Rows(b));
            },
        )
    }

    fn json_framer(&self, c: &Container) -> JsonFramer {
        let framer = JsonFramer::new(self.opts.max_record, self.opts.chunk_bytes);
        match c {
            Container::JsonPiece { cut } => framer.begins_inside(*cut),
            _ => framer,
        }
    }

    fn buffer(&self) -> Vec<u8> {
        self.free.try_recv().unwrap_or_default()
    }

    fn produce(&self, file: usize, input: &InputPath) -> FileReport {
        let mut report = FileReport {
            path: input.display(),
            size: 0,
            sha256: None,
            compression: Compression::None,
            encoding: Encoding::Utf8,
            container: Container::Unknown.as_str().to_string(),
            shape: String::new(),
            records: 0,
            error: None,
        };
        let path = match input {
            InputPath::Stdin => {
                self.stream(file, Box::new(std::io::stdin()), &mut report);
                return report;
            }
            InputPath::Memory { bytes, .. } => {
                report.size = bytes.len() as u64;
                let compression = Compression::sniff(bytes);
                let encoding = Encoding::sniff(bytes);
                if compression == Compression::None && !encoding.is_utf16() && !bytes.is_empty() {
                    self.mapped(file, bytes.clone(), false, encoding, &mut report);
                } else {
                    let copy: Vec<u8> = bytes.as_ref().clone();
                    self.stream(file, Box::new(std::io::Cursor::new(copy)), &mut report);
                }
                return report;
            }
            InputPath::EmptyDir(_) => {
                report.container = "directory".to_string();
                report.error = Some("directory holds no files (hidden files are skipped)".into());
                return report;
            }
            InputPath::File(p) => p,
        };
        // Inputs are evidence: opened read-only, never written.
        let f = match File::open(path) {
            Ok(f) => f,
            Err(e) => {
                report.error = Some(format!("cannot open: {e}"));
                return report;
            }
        };
        let meta = f.metadata().ok();
        report.size = meta.as_ref().map_or(0, |m| m.len());
        if meta.as_ref().is_some_and(|m| m.is_file() && m.len() > 0) {
            // SAFETY: the map is read-only and mailscope never writes its inputs. If another
            // process truncates the file while it is mapped, reading it may fault; evidence
            // files are not expected to change under an investigation (documented in README).
            if let Ok(map) = unsafe { Mmap::map(&f) } {
                let head = &map[..map.len().min(SNIFF_BYTES)];
                let compression = Compression::sniff(head);
                let encoding = Encoding::sniff(head);
                if compression == Compression::None && !encoding.is_utf16() {
                    self.mapped(file, Arc::new(map), true, encoding, &mut report);
                    return report;
                }
            }
        }
        self.stream(file, Box::new(f), &mut report);
        report
    }

    /// A plain UTF-8 file, memory-mapped.
    fn mapped(
        &self,
        file: usize,
        map: Shared,
        file_map: bool,
        encoding: Encoding,
        report: &mut FileReport,
    ) {
        let mut hasher = self.opts.hash.then(sha2::Sha256::new);
        use sha2::Digest;
        let data: &[u8] = (*map).as_ref();
        report.encoding = encoding;
        let head = &data[..data.len().min(SNIFF_BYTES)];
        let container = sniff::sniff_container(head);
        report.container = container.as_str().to_string();
        report.shape = shape_of(&container, head);
        let mut seq = 0;
        let mut hash = |bytes: &[u8]| {
            if let Some(h) = hasher.as_mut() {
                h.update(bytes);
            }
        };
        match container {
            Container::Ndjson => {
                for piece in split_lines(data, self.opts.chunk_bytes, self.opts.max_record) {
                    let (range, payload) = match piece {
                        Piece::Lines(r) => (r.clone(), Payload::Mapped(map.clone(), r, file_map)),
                        Piece::LongLine(r) => (r.clone(), Payload::LongLine(r.len())),
                    };
                    hash(&data[range.clone()]);
                    self.progress.inc(range.len() as u64);
                    if !self.send(file, &mut seq, payload) {
                        break;
                    }
                }
            }
            Container::Json | Container::JsonPiece { .. } => {
                let mut framer = self.json_framer(&container);
                let mut ok = true;
                for piece in data.chunks(1 << 20) {
                    hash(piece);
                    self.progress.inc(piece.len() as u64);
                    framer.feed(piece, &mut |b| {
                        ok = ok && self.send(file, &mut seq, Payload::Values(b))
                    });
                    if !ok {
                        break;
                    }
                }
                framer.finish(&mut |b| ok = ok && self.send(file, &mut seq, Payload::Values(b)));
            }
            Container::Csv { type_line, piece } => {
                // Read through the splitter's buffer: hashed as it goes and, for a file, its
                // pages dropped from the resident memory once copied (as the NDJSON workers
                // drop theirs), so that a CSV export no longer counts whole in the peak.
                let mut on_read = |b: &[u8]| {
                    hash(b);
                    self.progress.inc(b.len() as u64);
                };
                let mut reader = MappedReader::new(data, file_map, &mut on_read);
                let res = frame_csv(
                    &mut reader,
                    &self.csv_framing(type_line, piece),
                    &|| self.buffer(),
                    &|| self.stop.load(Ordering::Relaxed),
                    &mut |b| {
                        self.send(file, &mut seq, Payload::Rows(b));
                    },
                );
                // Stopped early (`--strict`): the file's hash still covers all of it.
                reader.skip_rest();
                if let Err(e) = res {
                    report.error = Some(format!("cannot read CSV: {e}"));
                }
            }
            Container::List => {
                let mut on_read = |b: &[u8]| {
                    hash(b);
                    self.progress.inc(b.len() as u64);
                };
                let mut reader = MappedReader::new(data, file_map, &mut on_read);
                let res = self.list(&mut reader, file, &mut seq, &mut || {});
                reader.skip_rest();
                if let Err(e) = res {
                    report.error = Some(format!("read error: {e}"));
                }
            }
            other => {
                hash(data);
                self.progress.inc(data.len() as u64);
                report.error = Some(not_records(&other));
            }
        }
        if let Some(h) = hasher {
            report.sha256 = Some(crate::input::decode::hex(&h.finalize()));
        }
    }

    /// A compressed, UTF-16 or standard-input source, decoded on this thread.
    fn stream(&self, file: usize, raw: Box<dyn Read + Send>, report: &mut FileReport) {
        let state = HashState::new(self.opts.hash);
        let raw: Box<dyn Read + Send> = Box::new(HashingReader::new(raw, state.clone()));
        // A stream that breaks off while it is sniffed keeps the bytes read before the break:
        // they are framed as usual and the break is reported when the framer reaches it.
        let sniff = |r: Box<dyn Read + Send>, n: usize| {
            let mut r = r;
            match read_up_to_partial(&mut r, n) {
                (head, None) => (head.clone(), with_prefix(head, r)),
                (head, Some(e)) => (head.clone(), prefix_then_error(head, e)),
            }
        };
        let (head, raw) = sniff(raw, 4);
        report.compression = Compression::sniff(&head);
        let r = match decompress(report.compression, raw) {
            Ok(r) => r,
            Err(e) => {
                report.error = Some(format!("cannot read: {e}"));
                return self.finish_stream(&state, report);
            }
        };
        let (head, mut r) = sniff(r, 4096);
        report.encoding = Encoding::sniff(&head);
        if report.encoding.is_utf16() {
            r = Box::new(Utf16Reader::new(r));
        }
        let (head, r) = sniff(r, SNIFF_BYTES);
        let container = sniff::sniff_container(&head);
        report.container = container.as_str().to_string();
        report.shape = shape_of(&container, &head);
        let mut r = r;
        let mut seq = 0;
        let mut last = 0u64;
        let tick = |last: &mut u64| {
            let now = state.lock().map_or(0, |s| s.bytes);
            self.progress.inc(now.saturating_sub(*last));
            *last = now;
        };
        match container {
            Container::Ndjson => {
                let mut blocks = BlockReader::new(r, self.opts.chunk_bytes, self.opts.max_record);
                while let Some(b) = blocks.next_block(self.buffer()) {
                    tick(&mut last);
                    let payload = match b {
                        Block::Lines(v) => Payload::Owned(v),
                        Block::LongLine(n) => Payload::LongLine(n),
                    };
                    if !self.send(file, &mut seq, payload) {
                        break;
                    }
                }
                if let Some(e) = blocks.take_error() {
                    report.error = Some(broken(report.compression, &e));
                }
            }
            Container::Json | Container::JsonPiece { .. } => {
                let mut framer = self.json_framer(&container);
                let mut buf = vec![0u8; 1 << 20];
                let mut ok = true;
                loop {
                    match r.read(&mut buf) {
                        Ok(0) => break,
                        Ok(n) => {
                            tick(&mut last);
                            framer.feed(&buf[..n], &mut |b| {
                                ok = ok && self.send(file, &mut seq, Payload::Values(b))
                            });
                            if !ok {
                                break;
                            }
                        }
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                        Err(e) => {
                            report.error = Some(broken(report.compression, &e));
                            break;
                        }
                    }
                }
                framer.finish(&mut |b| ok = ok && self.send(file, &mut seq, Payload::Values(b)));
            }
            Container::Csv { type_line, piece } => {
                let res = frame_csv(
                    &mut r,
                    &self.csv_framing(type_line, piece),
                    &|| self.buffer(),
                    &|| self.stop.load(Ordering::Relaxed),
                    &mut |b| {
                        tick(&mut last);
                        self.send(file, &mut seq, Payload::Rows(b));
                    },
                );
                if let Err(e) = res {
                    report.error = Some(broken(report.compression, &e));
                }
            }
            Container::List => {
                if let Err(e) = self.list(&mut r, file, &mut seq, &mut || tick(&mut last)) {
                    report.error = Some(broken(report.compression, &e));
                }
            }
            other => {
                // Read to the end, so that the file's hash covers all of it.
                if let Err(e) = std::io::copy(&mut r, &mut std::io::sink()) {
                    report.error = Some(broken(report.compression, &e));
                } else {
                    report.error = Some(not_records(&other));
                }
            }
        }
        tick(&mut last);
        self.finish_stream(&state, report)
    }

    fn finish_stream(&self, state: &Arc<Mutex<HashState>>, report: &mut FileReport) {
        if let Ok(mut s) = state.lock() {
            // Hash the whole stored file even when decoding stopped early.
            report.size = report.size.max(s.bytes);
            report.sha256 = s.finish();
        }
    }
}

fn broken(c: Compression, e: &std::io::Error) -> String {
    match c {
        Compression::None => format!("read error: {e}"),
        c => format!("{} stream broke off: {e}", c.as_str()),
    }
}

fn not_records(c: &Container) -> String {
    match c {
        Container::MessageTrace => {
            "a message-trace export, not audit records (give it to `scope --trace`)".into()
        }
        Container::Empty => "empty file: no records".into(),
        _ => "not an audit-log export mailscope recognises".into(),
    }
}

fn shape_of(c: &Container, head: &[u8]) -> String {
    match c {
        Container::Ndjson | Container::Json | Container::JsonPiece { .. } => {
            sniff::record_shape(head).to_string()
        }
        Container::Csv { piece: Some(_), .. } => "csv-piece".to_string(),
        Container::List => "search-mailboxauditlog-list".to_string(),
        Container::Csv { .. } => {
            let b = sniff::skip_blank(head);
            let mut lines = b.split(|&c| c == b'\n');
            let mut first = lines.next().unwrap_or_default();
            if first.starts_with(b"#TYPE") {
                first = lines.next().unwrap_or_default();
            }
            let first = first.strip_suffix(b"\r").unwrap_or(first);
            sniff::csv_shape(&sniff::header_columns(first)).to_string()
        }
        _ => String::new(),
    }
}

/// Reads every input and returns the unique records and the accounting.
pub fn ingest(inputs: &[InputPath], opts: &Options) -> Result<Ingested> {
    ingest_as(inputs, opts)
}

/// [`ingest`], keeping `T` of each unique record (see [`Kept`]).
pub fn ingest_as<T: Kept>(inputs: &[InputPath], opts: &Options) -> Result<Ingested<T>> {
    let threads = opts.threads.max(1);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| Error::Usage(format!("cannot start {threads} threads: {e}")))?;
    let total: u64 = inputs
        .iter()
        .map(|i| match i {
            InputPath::File(p) => std::fs::metadata(p).map_or(0, |m| m.len()),
            InputPath::Stdin | InputPath::EmptyDir(_) => 0,
            InputPath::Memory { bytes, .. } => bytes.len() as u64,
        })
        .sum();
    let progress = Progress::new(total, opts.progress);
    let (tx, rx) = bounded::<Work>(threads * 2);
    let (free_tx, free_rx) = bounded::<Vec<u8>>(threads * 2 + 2);
    let stop = AtomicBool::new(false);
    let partials = Mutex::new(Vec::<Partial<T>>::new());
    let read_phase = crate::progress::Phase::start("read and parse");

    let reports = std::thread::scope(|scope| {
        let producer = Producer {
            opts,
            tx,
            free: free_rx,
            stop: &stop,
            progress: &progress,
        };
        let handle = scope.spawn(move || {
            let mut reports = Vec::new();
            for (i, input) in inputs.iter().enumerate() {
                if producer.stop.load(Ordering::Relaxed) {
                    break;
                }
                let report = producer.produce(i, input);
                if opts.strict && report.error.is_some() {
                    producer.stop.store(true, Ordering::Relaxed);
                }
                reports.push(report);
            }
            reports
        });
        pool.scope(|s| {
            for _ in 0..threads {
                let rx = rx.clone();
                let free_tx = free_tx.clone();
                let (stop, partials) = (&stop, &partials);
                s.spawn(move |_| {
                    let mut worker = Worker::new(opts, T::needs_context);
                    // After a --strict stop the producer sends nothing more, but the work it
                    // sent before is still parsed: every piece earlier in input order than the
                    // one that stopped the run is read, so the malformed record reported is
                    // the first one, whatever the thread count.
                    for work in rx.iter() {
                        let p = worker.process(work, &free_tx);
                        if opts.strict && p.malformed.iter().any(|&n| n > 0) {
                            stop.store(true, Ordering::Relaxed);
                        }
                        if let Ok(mut v) = partials.lock() {
                            v.push(p);
                        }
                    }
                });
            }
        });
        handle.join().unwrap_or_default()
    });
    progress.finish();
    drop(read_phase);
    let partials = partials.into_inner().unwrap_or_default();
    // Every thread has finished; the merge frees the workers' parts, and the command's own
    // phases their scratch vectors: that memory goes back to the system at once.
    crate::memory::free_at_once_until_output();
    let merge_phase = crate::progress::Phase::start("merge and de-duplicate records");
    let out = merge(reports, partials, opts, &pool);
    drop(merge_phase);
    if opts.strict {
        if let Some(first) = out.malformed_examples.first() {
            return Err(Error::Strict(first.location()));
        }
        if let Some(f) = out.files.iter().find(|f| f.error.is_some()) {
            return Err(Error::Strict(format!(
                "{}: {}",
                f.path,
                f.error.as_deref().unwrap_or_default()
            )));
        }
    }
    Ok(out)
}

fn merge<T: Kept>(
    mut files: Vec<FileReport>,
    mut partials: Vec<Partial<T>>,
    opts: &Options,
    pool: &rayon::ThreadPool,
) -> Ingested<T> {
    partials.sort_by_key(|p| (p.file, p.seq));
    let mut out = Ingested::default();
    let mut examples = Vec::new();
    let mut base = 0u64;
    let mut current = usize::MAX;
    let mut all_records = Vec::with_capacity(partials.len());
    for p in partials {
        if p.file != current {
            current = p.file;
            base = 0;
        }
        let path = files
            .get(p.file)
            .map(|f| f.path.clone())
            .unwrap_or_default();
        for (line, m) in p.examples {
            examples.push(MalformedAt {
                path: path.clone(),
                line: if p.relative { base + line } else { line },
                kind: m.kind,
                why: m.why,
                file: p.file,
            });
        }
        base += p.lines;
        if let Some(f) = files.get_mut(p.file) {
            f.records += p.raw;
        }
        out.read += p.raw;
        for (k, n) in MalformedKind::ALL.iter().zip(p.malformed) {
            if n > 0 {
                *out.malformed.entry(*k).or_default() += n;
            }
        }
        all_records.push(p.records);
    }
    examples.sort_by_key(|e| (e.file, e.line, e.kind));
    let mut per_kind: BTreeMap<MalformedKind, usize> = BTreeMap::new();
    examples.retain(|e| {
        let n = per_kind.entry(e.kind).or_default();
        *n += 1;
        *n <= opts.max_examples
    });
    out.malformed_examples = examples;

    let (records, duplicates) = pool.install(|| dedup(all_records));
    out.records = records;
    out.duplicates = duplicates;
    out.files = std::mem::take(&mut files);
    out
}

/// De-duplicates records by id; keeps the smallest copy of each. The ids are numbered in
/// parallel (sharded maps, see [`first_occurrence_ids`]); the records themselves are moved
/// once, into the result, and never copied.
fn dedup<T: Kept>(parts: Vec<Vec<T>>) -> (Vec<T>, u64) {
    let mut records = crate::flat::concat(parts);
    let (ids, firsts) = first_occurrence_ids(&records, |r| r.id());
    let duplicates = (records.len() - firsts.len()) as u64;
    // The smallest copy of each id: only duplicates are compared.
    let mut best = firsts;
    for (i, &id) in ids.iter().enumerate() {
        let b = &mut best[id as usize];
        if *b as usize != i && records[i] < records[*b as usize] {
            *b = i as u32;
        }
    }
    let mut at = 0;
    records.retain(|_| {
        let keep = best[ids[at] as usize] as usize == at;
        at += 1;
        keep
    });
    records.par_sort_unstable_by(|a, b| (a.time(), a.id()).cmp(&(b.time(), b.id())));
    (records, duplicates)
}

/// A mapped file read as a stream: each piece handed out is passed to `on_read` (the hash and
/// the progress bar), and, for a file mapping (`file_map`), the whole pages read so far are
/// released every few megabytes (see [`release_pages`]): the reader copies what it hands out,
/// so nothing points into them afterwards.
struct MappedReader<'a, F: FnMut(&[u8])> {
    data: &'a [u8],
    at: usize,
    /// Pages before this offset are released.
    released: usize,
    file_map: bool,
    on_read: &'a mut F,
}

impl<F: FnMut(&[u8])> Read for MappedReader<'_, F> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        const RELEASE_EVERY: usize = 4 << 20;
        let n = buf.len().min(self.data.len() - self.at);
        let piece = &self.data[self.at..self.at + n];
        buf[..n].copy_from_slice(piece);
        (self.on_read)(piece);
        self.at += n;
        if self.file_map && (self.at - self.released >= RELEASE_EVERY || n == 0) {
            release_pages(&self.data[self.released..self.at]);
            // The next release starts at the page this one stopped in (kept: partly unread).
            let end = self.data[..self.at].as_ptr_range().end as usize;
            self.released = self.at.saturating_sub(end % PAGE);
        }
        Ok(n)
    }
}

impl<'a, F: FnMut(&[u8])> MappedReader<'a, F> {
    fn new(data: &'a [u8], file_map: bool, on_read: &'a mut F) -> Self {
        MappedReader {
            data,
            at: 0,
            released: 0,
            file_map,
            on_read,
        }
    }

    /// Passes what was not read to `on_read`, without copying it.
    fn skip_rest(&mut self) {
        if self.at < self.data.len() {
            (self.on_read)(&self.data[self.at..]);
            self.at = self.data.len();
        }
    }
}

/// The page size [`release_pages`] and [`MappedReader`] count in.
const PAGE: usize = 4096;

/// Drops this process's page-table entries for the whole pages inside `bytes`, a parsed piece
/// of a read-only file mapping (only that: on a heap buffer MADV_DONTNEED would zero it): the
/// pages stay in the page cache, but no longer count in the process's resident memory, which
/// then shows the memory mailscope itself uses. Reading them again (a neighbouring piece shares
/// its boundary pages, which are kept) would fault them back in from the file, so this is safe
/// whatever reads the mapping later.
fn release_pages(bytes: &[u8]) {
    #[cfg(target_os = "linux")]
    {
        let start = (bytes.as_ptr() as usize).next_multiple_of(PAGE);
        let end = (bytes.as_ptr() as usize + bytes.len()) & !(PAGE - 1);
        if end > start {
            // SAFETY: [start, end) lies inside the live mapping `bytes` points into; for a
            // private read-only file mapping MADV_DONTNEED only unmaps the pages, and later
            // reads see the file's contents again.
            unsafe {
                libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_DONTNEED);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::testutil::{bind, record};

    /// Each line is parsed in a buffer that still holds the longer line before it; a record
    /// cut short must be read as cut, never completed by the earlier line's bytes, and the
    /// lines after it must parse as themselves.
    #[test]
    fn a_cut_line_after_a_longer_one_is_truncated() {
        let t = "2024-03-04T10:00:00";
        let full = bind(
            "r1",
            t,
            "198.51.100.1",
            "s1",
            "\\Inbox",
            &["<a@x>", "<b@x>"],
        )
        .to_string();
        let cut = &full[..full.len() / 2];
        let other = bind("r2", t, "198.51.100.2", "s2", "\\Inbox", &["<c@x>"]).to_string();
        let text = format!("{full}\n{cut}\n{other}\n{cut}\n");
        let input = InputPath::Memory {
            name: "cut".into(),
            bytes: std::sync::Arc::new(text.into_bytes()),
        };
        for threads in [1, 2] {
            let opts = Options {
                threads,
                ..Options::default()
            };
            let got = ingest(std::slice::from_ref(&input), &opts).unwrap();
            let ids: Vec<String> = got
                .records
                .iter()
                .map(|r| r.id.text().into_owned())
                .collect();
            assert_eq!(ids, ["r1", "r2"]);
            assert_eq!(got.read, 4);
            let cut_at: Vec<(u64, MalformedKind)> = got
                .malformed_examples
                .iter()
                .map(|m| (m.line, m.kind))
                .collect();
            assert_eq!(
                cut_at,
                [(2, MalformedKind::Truncated), (4, MalformedKind::Truncated)]
            );
        }
    }

    /// A mapped file read through [`MappedReader`] in small reads gives its bytes in order,
    /// each once to the hash, and its released pages still read back as the file.
    #[test]
    fn mapped_reader_hands_out_every_byte_and_releases_safely() {
        let text: Vec<u8> = (0..10_000_000u32).map(|i| (i % 251) as u8).collect();
        let mut f = tempfile::NamedTempFile::new().unwrap();
        std::io::Write::write_all(&mut f, &text).unwrap();
        // SAFETY: a private read-only map of a file this test owns and does not change.
        let map = unsafe { Mmap::map(f.as_file()).unwrap() };
        let mut hashed = Vec::new();
        let mut on_read = |b: &[u8]| hashed.extend_from_slice(b);
        let mut reader = MappedReader::new(&map[..], true, &mut on_read);
        let mut read = Vec::new();
        let mut buf = vec![0u8; 65_537];
        loop {
            let n = reader.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            read.extend_from_slice(&buf[..n]);
        }
        assert!(reader.released > 0);
        assert!(read == text && hashed == text);
        assert!(map[..] == text[..]);
        // Stopped after one read, the rest still goes to the hash, once.
        let mut hashed = Vec::new();
        let mut on_read = |b: &[u8]| hashed.extend_from_slice(b);
        let mut reader = MappedReader::new(&map[..], true, &mut on_read);
        assert_eq!(reader.read(&mut buf).unwrap(), buf.len());
        reader.skip_rest();
        reader.skip_rest();
        assert!(hashed == text);
    }

    /// Copies of one id that differ (two exports of one record, say) leave the smallest copy,
    /// wherever the copies sit among the parts; distinct ids are all kept.
    #[test]
    fn dedup_keeps_the_smallest_copy_in_any_order() {
        let t = "2024-03-04T10:00:00";
        let id = "c5242d77-c0da-5b57-c100-6a23d1c7aaf9";
        let a = record(&bind(id, t, "198.51.100.1", "s1", "\\Inbox", &["<a@x>"]));
        let b = record(&bind(id, t, "198.51.100.2", "s1", "\\Inbox", &["<a@x>"]));
        let other = record(&bind(
            "other",
            t,
            "198.51.100.3",
            "s2",
            "\\Inbox",
            &["<b@x>"],
        ));
        let smallest = a.clone().min(b.clone());
        let layouts = [
            vec![vec![a.clone(), b.clone()], vec![other.clone()]],
            vec![vec![b.clone()], vec![other.clone(), a.clone()]],
            vec![vec![other.clone(), b.clone(), a.clone(), b.clone()]],
        ];
        for parts in layouts {
            let (records, duplicates) = dedup(parts.clone());
            assert_eq!(records.len(), 2, "{parts:?}");
            assert!(records.contains(&smallest) && records.contains(&other));
            let n: usize = parts.iter().map(Vec::len).sum();
            assert_eq!(duplicates, n as u64 - 2);
        }
    }
}
