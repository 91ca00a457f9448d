//! The properties the fuzz targets check (fuzz/fuzz_targets/), as library functions so that
//! `cargo test` replays them on stable over tests/fixtures/fuzz. Each panics when its
//! property does not hold.

use crate::analyze::access::{Accesses, SyncRecord};
use crate::analyze::contexts::{ContextRow, Key, contexts};
use crate::analyze::inventory::{InventoryRecord, inventory_in_runs};
use crate::analyze::messages::{MessageRow, messages};
use crate::analyze::sessions::{SessionRow, sessions};
use crate::analyze::throttle::ThrottleRecord;
use crate::ingest::{Ingested, Kept, Options, ingest_as};
use crate::input::InputPath;
use crate::input::frame::{
    Block, BlockReader, CsvFraming, Framed, JsonFramer, Piece, RowBatch, ValueBatch, frame_csv,
    split_lines, trim_record,
};
use crate::input::list::frame_list;
use crate::parse::{
    Field, JsonParser, Malformed, MalformedKind, MessageIds, Outcome, is_page, keep_message_ids,
    normalize_row, normalize_top,
};
use std::sync::Arc;

/// Where each record of a list view starts (1-based lines) and how many `Name : Value` lines
/// it has, found the plain way: the whole text split into lines, the first blank and `#` ones
/// skipped, then runs of lines that are not blank. A line is blank when it is white space of
/// at most `max_record` bytes (`\r` included; a longer line is a too-long part of a record).
fn blocks_by_rule(data: &[u8], max_record: usize) -> Vec<(u64, usize)> {
    let mut lines: Vec<&[u8]> = data.split(|&c| c == b'\n').collect();
    if data.is_empty() || data.ends_with(b"\n") {
        lines.pop();
    }
    let mut out: Vec<(u64, usize)> = Vec::new();
    let mut inside = false;
    let mut started = false;
    for (i, raw) in lines.iter().enumerate() {
        let mut text = *raw;
        if i == 0 {
            text = text.strip_prefix(crate::input::sniff::BOM).unwrap_or(text);
        }
        let text = text.strip_suffix(b"\r").unwrap_or(text);
        let blank = raw.len() <= max_record && text.iter().all(u8::is_ascii_whitespace);
        if !started && (blank || text.starts_with(b"#")) {
            continue;
        }
        started = true;
        if blank {
            inside = false;
            continue;
        }
        if !inside {
            out.push((i as u64 + 1, 0));
            inside = true;
        }
        if !matches!(text.first(), Some(b' ' | b'\t')) {
            out.last_mut().expect("pushed above").1 += 1;
        }
    }
    out
}

/// `frame_list` gives one row per record of a list view, on the line the plain rule says it
/// starts on ([`blocks_by_rule`]); a record it reads has as many cells as the block has
/// `Name : Value` lines, and as many names in its batch's header.
pub fn list_rows_are_total(data: &[u8], max_record: usize, batch: usize) {
    let want = blocks_by_rule(data, max_record);
    let mut got: Vec<(u64, Option<usize>)> = Vec::new();
    frame_list(data, max_record, batch, &Vec::new, &|| false, &mut |b| {
        assert!(
            b.rows.len() <= batch.max(1),
            "a batch holds at most its rows"
        );
        for row in &b.rows {
            let cells = row.cells.as_ref().ok().map(|range| {
                assert_eq!(b.header.len(), range.len(), "line {}", row.line);
                assert_eq!(b.cells(range.clone()).count(), range.len());
                range.len()
            });
            got.push((row.line, cells));
        }
    })
    .expect("reading from memory cannot fail");
    assert_eq!(
        got.iter().map(|g| g.0).collect::<Vec<_>>(),
        want.iter().map(|w| w.0).collect::<Vec<_>>(),
        "the records' lines"
    );
    for ((line, cells), (_, fields)) in got.iter().zip(&want) {
        if let Some(n) = cells {
            assert_eq!(n, fields, "the cells of the record on line {line}");
        }
    }
}

/// `split_lines` pieces tile the input in order; `BlockReader` ends, its blocks add up to it,
/// and their lines are the input's bytes in order, whether each is built in a new buffer or
/// in the one the block before it came in (still holding that block's bytes, or at first
/// bytes of no input: none of them may show).
pub fn framing_covers_every_byte(data: &[u8], target: usize, max_record: usize) {
    let mut pos = 0;
    for p in split_lines(data, target, max_record) {
        let (Piece::Lines(r) | Piece::LongLine(r)) = p;
        assert_eq!(r.start, pos, "pieces must tile the input");
        assert!(r.end > r.start, "an empty piece");
        pos = r.end;
    }
    assert_eq!(pos, data.len(), "pieces must cover the input");
    for recycle in [false, true] {
        let mut reader = BlockReader::new(data, target, max_record);
        let (mut total, mut dropped) = (0, 0);
        // The bytes left out since the last look, after the `total` delivered: white space.
        let left_out = |reader: &BlockReader<&[u8]>, total: &mut usize, dropped: &mut usize| {
            let n = reader.dropped() - *dropped;
            let bytes = &data[*total..*total + n];
            assert!(
                trim_record(bytes).is_empty(),
                "bytes other than white space left out"
            );
            (*total, *dropped) = (*total + n, reader.dropped());
            n
        };
        let mut blocks = 0;
        let mut buf = vec![b'#'; 2 * target + 3];
        while let Some(b) = reader.next_block(match recycle {
            true => std::mem::take(&mut buf),
            false => Vec::new(),
        }) {
            blocks += 1;
            assert!(blocks <= data.len() + 1, "BlockReader does not end");
            // White space it left out at the start of a long line, then the block.
            let left_out = left_out(&reader, &mut total, &mut dropped);
            let at = total;
            total += match &b {
                Block::Lines(v) => v.len(),
                Block::LongLine(n) => *n - left_out,
            };
            assert!(total <= data.len(), "blocks longer than the input");
            buf = match b {
                Block::Lines(v) => {
                    assert!(!v.is_empty(), "an empty block");
                    assert!(
                        v[..] == data[at..total],
                        "a block that is not the input's bytes"
                    );
                    v
                }
                Block::LongLine(_) => vec![b'#'; target],
            };
        }
        // A line of white space may run to the end of the input.
        left_out(&reader, &mut total, &mut dropped);
        assert_eq!(total, data.len(), "blocks must add up to the input");
    }
}

/// The values the JSON framer finds, fed in the given pieces.
pub fn framed(parts: &[&[u8]], max_record: usize, batch: usize) -> Vec<(u64, Vec<u8>)> {
    framed_inside(parts, max_record, batch, 0)
}

/// [`framed`] for a stream whose first `cut` bytes are the rest of a record it begins inside
/// ([`JsonFramer::begins_inside`]).
pub fn framed_inside(
    parts: &[&[u8]],
    max_record: usize,
    batch: usize,
    cut: usize,
) -> Vec<(u64, Vec<u8>)> {
    let mut f = JsonFramer::new(max_record, batch).begins_inside(cut);
    let mut out = Vec::new();
    let mut take = |b: ValueBatch| {
        for v in b.values {
            match v {
                Framed::Value { line, range } => out.push((line, b.data[range].to_vec())),
                Framed::TooLong { line, len } => {
                    out.push((line, format!("LONG{len}").into_bytes()))
                }
            }
        }
    };
    for p in parts {
        f.feed(p, &mut take);
    }
    f.finish(&mut take);
    out
}

/// The JSON framer gives the same values wherever the stream is cut; also for a stream the
/// sniffer finds to begin inside a record, whose first value is then that record's rest, on
/// line 1.
pub fn framing_ignores_cuts(data: &[u8], cuts: impl IntoIterator<Item = usize>, max: usize) {
    let inside = match crate::input::sniff::sniff_container(data) {
        crate::input::sniff::Container::JsonPiece { cut } => cut,
        _ => 0,
    };
    assert!(inside <= data.len(), "a cut past the head");
    let whole = framed(&[data], max, 64);
    let from_inside = framed_inside(&[data], max, 64, inside);
    if inside > 0 && inside <= max {
        assert_eq!(
            from_inside.first(),
            Some(&(1, data[..inside].to_vec())),
            "the rest of the record begun inside"
        );
    }
    for at in cuts {
        let at = at.min(data.len());
        assert_eq!(
            whole,
            framed(&[&data[..at], &data[at..]], max, 64),
            "JSON framing cut at byte {at}"
        );
        assert_eq!(
            from_inside,
            framed_inside(&[&data[..at], &data[at..]], max, 64, inside),
            "JSON framing from inside a record, cut at byte {at}"
        );
    }
}

/// simd-json plus the normalizer never panic; a reused parser gives the same outcomes; a
/// parser that drops message ids gives the same outcomes with the ids empty.
pub fn parsing_is_total(data: &[u8]) {
    let mut parser = JsonParser::new();
    let mut out = Vec::new();
    let mut page_or_array = false;
    let ok = parser
        .parse(data, |root, child| {
            page_or_array = matches!(root, Field::Arr(_)) || is_page(root);
            normalize_top(root, child, &mut out)
        })
        .is_ok();
    // Every parsed value gives an outcome, except a page or an array that holds no record
    // (a value that does not parse is one malformed outcome of its own).
    assert!(
        !ok || !out.is_empty() || page_or_array,
        "an object that is not a page gave no outcome"
    );
    let mut again = Vec::new();
    let _ = parser.parse(data, |root, child| normalize_top(root, child, &mut again));
    assert_eq!(out, again, "a reused parser gave other outcomes");
    for ids in [MessageIds::Digest, MessageIds::Drop] {
        let mut other = Vec::new();
        let _ =
            parser_keeping(ids).parse(data, |root, child| normalize_top(root, child, &mut other));
        assert_eq!(
            other,
            ids_kept(out.clone(), ids),
            "parsing with message ids {ids:?} changed more than them"
        );
    }
}

/// A parser that keeps `ids` of message ids (digests as `contexts` reads, nothing as `stats`).
fn parser_keeping(ids: MessageIds) -> JsonParser {
    let mut p = JsonParser::new();
    p.message_ids = ids;
    p
}

/// `outcomes` with the message ids of their records turned into `ids`.
fn ids_kept(outcomes: Vec<Outcome>, ids: MessageIds) -> Vec<Outcome> {
    outcomes
        .into_iter()
        .map(|o| match o {
            Outcome::Record(mut r) => {
                keep_message_ids(&mut r, ids);
                Outcome::Record(r)
            }
            m => m,
        })
        .collect()
}

/// The records the `csv` crate reads from `data` with mailscope's settings (no header row,
/// rows of any length), with the line of the record's first byte (counted here: the line
/// `position()` gives before a record counts neither the blank lines before it nor, after
/// a CRLF, the `\n`) and the record's length (its bytes from the first, after the line ends and byte-order mark before it, to
/// its line end included, from the positions before and after it): what
/// [`Records`](crate::input::csv_records::Records) must give. Reading stops at the first
/// error (there is none with these settings on bytes in memory).
pub fn csv_crate_records(data: &[u8]) -> Vec<(u64, usize, Vec<Vec<u8>>)> {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(data);
    let mut rec = csv::ByteRecord::new();
    let mut got = Vec::new();
    loop {
        let mut start = rdr.position().byte() as usize;
        if start == 0 && data.starts_with(b"\xef\xbb\xbf") {
            start = 3;
        }
        match rdr.read_byte_record(&mut rec) {
            Ok(true) => {
                let end = rdr.position().byte() as usize;
                while matches!(data.get(start), Some(b'\r' | b'\n')) && start < end {
                    start += 1;
                }
                let line = 1 + memchr::memchr_iter(b'\n', &data[..start]).count() as u64;
                got.push((line, end - start, rec.iter().map(<[u8]>::to_vec).collect()));
            }
            Ok(false) | Err(_) => return got,
        }
    }
}

/// A reader that hands out at most `piece` bytes at a time, and once they are all out fails
/// if `fail` says so (a stream that breaks off) instead of ending.
pub(crate) struct Pieces<'a> {
    pub data: &'a [u8],
    pub piece: usize,
    pub fail: bool,
}

impl std::io::Read for Pieces<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.data.is_empty() && self.fail {
            return Err(std::io::Error::other("broken off"));
        }
        let n = buf.len().min(self.piece).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

/// [`Records`](crate::input::csv_records::Records) splits `data`, read `piece` bytes at a
/// time, into the records and lines the `csv` crate gives reading it whole; a record longer
/// than `max` only measured, as long as the crate's.
pub fn csv_records_match_the_csv_crate(data: &[u8], piece: usize, max: usize) {
    let want: Vec<_> = csv_crate_records(data)
        .into_iter()
        .map(|(line, len, cells)| (line, if len > max { Err(len) } else { Ok(cells) }))
        .collect();
    let pieces = Pieces {
        data,
        piece: piece.max(1),
        fail: false,
    };
    // A buffer that starts as small as the pieces, and grows.
    let mut records = crate::input::csv_records::Records::with_block(pieces, max, piece);
    // The records are added one after another to the same buffers, as a batch holds them.
    let (mut out, mut ends) = (Vec::new(), Vec::new());
    let mut got = Vec::new();
    let mut first = 0usize;
    while let Some(record) = records.next_record(&mut out, &mut ends).unwrap() {
        let from = first.checked_sub(1).map_or(0, |i| ends[i]);
        let cells = crate::input::csv_records::cells(&out, from, &ends[first..]);
        let cells = cells.map(<[u8]>::to_vec).collect();
        got.push((record.line, record.too_long.map_or(Ok(cells), Err)));
        first = ends.len();
    }
    assert_eq!(got, want, "pieces of {piece} bytes, limit {max}");
}

/// CSV framing and the normalization of its rows never panic; keeping digests of message ids
/// or dropping them changes nothing else; the records are split as the `csv` crate splits
/// them (see [`csv_records_match_the_csv_crate`]), and [`frame_csv`] gives each row after
/// the `#TYPE` line and the header with its line and the crate's cells, or says it is not
/// UTF-8 or longer than the record limit, whatever the batches. Run without a limit and
/// with a small one (from `batch`).
pub fn csv_rows_are_total(data: &[u8], type_line: bool, batch: usize) {
    let batch = batch.max(1);
    for max_record in [usize::MAX, 2 + 5 * batch] {
        csv_records_match_the_csv_crate(data, batch, max_record);
        let framing = CsvFraming {
            type_line,
            batch_rows: batch,
            max_record,
            piece: None,
        };
        assert_eq!(
            framed_rows(data, &framing),
            csv_crate_rows(data, &framing),
            "rows in batches of {batch}, limit {max_record}"
        );
        // As a piece of a split export: no header, the first line a row or read past.
        for first_line_cut in [false, true] {
            let piece = Some(crate::input::frame::CsvPiece {
                columns: 3,
                audit_data: 1,
                first_line_cut,
            });
            let framing = CsvFraming { piece, ..framing };
            assert_eq!(
                framed_rows(data, &framing),
                csv_crate_rows(data, &framing),
                "rows of a piece (first line cut: {first_line_cut}) in batches of {batch}, \
                 limit {max_record}"
            );
        }
    }
}

/// A row as [`csv_rows_are_total`] compares it: its line, and its cells or why it is
/// malformed (the kind, and for a record too long the message).
type CheckedRow = (u64, Result<Vec<String>, String>);

/// The rows [`frame_csv`] gives (its batches' buffers handed back with bytes in them, as the
/// workers hand theirs back), each normalized with message ids kept, digested and dropped.
fn framed_rows(data: &[u8], framing: &CsvFraming) -> Vec<CheckedRow> {
    let mut parser = JsonParser::new();
    let mut others = [MessageIds::Digest, MessageIds::Drop].map(|ids| (ids, parser_keeping(ids)));
    let mut got = Vec::new();
    let mut emit = |b: RowBatch| {
        for row in &b.rows {
            let cells = match &row.cells {
                Ok(cells) => cells.clone(),
                Err(m) => {
                    let too_long = m.kind == MalformedKind::TooLong;
                    let why = if too_long {
                        m.why.clone()
                    } else {
                        m.kind.to_string()
                    };
                    got.push((row.line, Err(why)));
                    continue;
                }
            };
            let header = b.header.iter().map(String::as_str);
            let pairs: Vec<(&str, &str)> = header.zip(b.cells(cells.clone())).collect();
            let with = normalize_row(&pairs, &b.header, &mut parser);
            for (ids, other) in &mut others {
                let got = normalize_row(&pairs, &b.header, other);
                assert_eq!(
                    vec![got],
                    ids_kept(vec![with.clone()], *ids),
                    "parsing with message ids {ids:?} changed more than them"
                );
            }
            let cells = b.cells(cells).map(str::to_owned).collect();
            got.push((row.line, Ok(cells)));
        }
    };
    let buffer = || b"left over".to_vec();
    let framed = frame_csv(data, framing, &buffer, &|| false, &mut emit);
    assert!(framed.is_ok());
    got
}

/// The rows [`frame_csv`] must give, from the `csv` crate's records: those after a `#TYPE`
/// line and the header (the first record not too long, and not the `#TYPE` line); for a
/// piece of a split export, every record, after the first line when it is cut (`truncated`
/// on line 1).
fn csv_crate_rows(data: &[u8], framing: &CsvFraming) -> Vec<CheckedRow> {
    let mut want = Vec::new();
    let piece = framing.piece.is_some();
    let (mut header, mut type_line) = (piece, framing.type_line && !piece);
    let mut data = data;
    let mut shift = 0;
    if framing.piece.is_some_and(|p| p.first_line_cut) {
        want.push((1, Err(MalformedKind::Truncated.to_string())));
        data = memchr::memchr(b'\n', data).map_or(&[][..], |i| &data[i + 1..]);
        shift = 1;
    }
    for (line, len, cells) in csv_crate_records(data) {
        let line = line + shift;
        let too_long = len > framing.max_record;
        let is_type = type_line && cells.first().is_some_and(|c| c.starts_with(b"#TYPE"));
        type_line = false;
        if too_long {
            let why = Malformed::too_long(len, framing.max_record).why;
            want.push((line, Err(why)));
        } else if is_type {
        } else if !header {
            header = true;
        } else {
            let text: Result<Vec<_>, _> = cells.into_iter().map(String::from_utf8).collect();
            let invalid = || MalformedKind::InvalidUtf8.to_string();
            want.push((line, text.map_err(|_| invalid())));
        }
    }
    want
}

fn ingest_twice<T: Kept>(bytes: &Arc<Vec<u8>>, threads: usize, chunk_bytes: usize) -> Ingested<T> {
    let opts = Options {
        threads,
        chunk_bytes,
        progress: false,
        hash: false,
        max_examples: usize::MAX,
        max_record: 4096,
        ..Options::default()
    };
    let input = InputPath::Memory {
        name: "check".into(),
        bytes: bytes.clone(),
    };
    ingest_as(&[input.clone(), input], &opts).expect("in-memory input cannot fail to open")
}

/// What the analysis makes of `ingested` on `threads` threads: every context row (grouped by
/// every key and by mailbox), message row and session row.
fn analyses(
    ingested: &Ingested,
    threads: usize,
) -> (
    Vec<ContextRow>,
    Vec<ContextRow>,
    Vec<MessageRow>,
    Vec<SessionRow>,
) {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("a thread pool");
    pool.install(|| {
        let acc = Accesses::build(&ingested.records, |_| true);
        let m = messages(&acc);
        let s = sessions(&acc);
        let by_mailbox = contexts(acc.clone(), &[Key::Mailbox]);
        (contexts(acc, &Key::ALL), by_mailbox, m, s)
    })
}

/// What a command keeps of each record (`T`), read on `threads` threads, is what it makes of
/// the records `full` holds: the same copies of duplicated ids, in the same order, with the
/// same accounting.
fn kept_agrees<T: Kept + PartialEq + std::fmt::Debug>(
    bytes: &Arc<Vec<u8>>,
    threads: usize,
    chunk_bytes: usize,
    full: &Ingested,
) {
    let kept: Ingested<T> = ingest_twice(bytes, threads, chunk_bytes);
    let made: Vec<T> = full
        .records
        .iter()
        .map(|r| T::from_record(r.clone()))
        .collect();
    assert_eq!(
        kept.records,
        made,
        "{} keeps another copy or order",
        std::any::type_name::<T>()
    );
    assert_eq!(
        (kept.read, kept.duplicates, &kept.malformed),
        (full.read, full.duplicates, &full.malformed)
    );
}

/// One thread with large chunks and `threads` threads with `chunk_bytes` chunks give the same
/// records, accounting and malformed places (the input is read twice: as two files), and the
/// same contexts, messages, sessions and inventory (also counted in runs of 3 records); what `stats`, `throttled` and `syncs` keep of each
/// record (on `threads` threads) is what they make of those records.
pub fn threads_agree(data: &[u8], threads: usize, chunk_bytes: usize) {
    let bytes = Arc::new(data.to_vec());
    let one: Ingested = ingest_twice(&bytes, 1, 1 << 20);
    let many: Ingested = ingest_twice(&bytes, threads, chunk_bytes);
    assert_eq!(one.records, many.records);
    kept_agrees::<InventoryRecord>(&bytes, threads, chunk_bytes, &one);
    kept_agrees::<ThrottleRecord>(&bytes, threads, chunk_bytes, &one);
    kept_agrees::<SyncRecord>(&bytes, threads, chunk_bytes, &one);
    assert_eq!(
        (one.read, one.duplicates, &one.malformed),
        (many.read, many.duplicates, &many.malformed)
    );
    let places = |i: &Ingested| {
        i.malformed_examples
            .iter()
            .map(|m| (m.file, m.line, m.kind))
            .collect::<Vec<_>>()
    };
    assert_eq!(places(&one), places(&many));
    assert_eq!(
        one.read,
        one.records.len() as u64 + one.duplicates + one.malformed_total()
    );
    assert_eq!(
        analyses(&one, 1),
        analyses(&many, threads),
        "the analysis depends on the thread count"
    );
    // The inventory from runs of 3 records (merged tallies) is the inventory from one run.
    let inventory = |i: &Ingested, run: usize| {
        serde_json::to_string(&inventory_in_runs(i, run)).expect("an inventory serializes")
    };
    assert_eq!(
        inventory(&many, 3),
        inventory(&one, usize::MAX),
        "the inventory depends on how its records are split"
    );
}
