//! Tabular results in every output format: table, CSV, JSON (an array of objects) and
//! NDJSON, with the same columns in the same order.

use super::table::Table;
use super::{Format, Output};
use crate::parse::fields::{format_time, write_time as format_time_into};
use rayon::prelude::*;
use std::io::{self, Write};

/// One cell: numbers stay numbers in JSON; times are written as RFC 3339 UTC.
#[derive(Clone, Debug, PartialEq)]
pub enum Cell {
    Text(String),
    /// Interned text (no copy per row).
    Sym(crate::sym::Sym),
    Int(u64),
    Time(i64),
    Bool(bool),
    Null,
}

impl Cell {
    pub fn text(s: impl Into<String>) -> Cell {
        Cell::Text(s.into())
    }

    pub fn opt_int(v: Option<u64>) -> Cell {
        v.map_or(Cell::Null, Cell::Int)
    }

    fn render(&self) -> String {
        match self {
            Cell::Text(s) => s.clone(),
            Cell::Sym(s) => s.to_string(),
            Cell::Int(n) => n.to_string(),
            Cell::Time(t) => format_time(*t),
            Cell::Bool(b) => b.to_string(),
            Cell::Null => String::new(),
        }
    }
}

/// The columns of an accessed message, shared by `messages` and the report's messages.csv.
pub const MESSAGE_COLUMNS: [&str; 9] = [
    "mailbox",
    "internet_message_id",
    "folder",
    "size_bytes",
    "first_access",
    "last_access",
    "accesses",
    "sessions",
    "client_ips",
];

/// The cells of [`MESSAGE_COLUMNS`] for one message.
pub fn message_cells(m: &crate::analyze::messages::MessageRow) -> Vec<Cell> {
    vec![
        Cell::Sym(m.mailbox),
        Cell::Text(crate::analyze::messages::bracketed(&m.internet_message_id)),
        m.folder.cell(),
        Cell::opt_int(m.size_bytes),
        Cell::Time(m.first_access),
        Cell::Time(m.last_access),
        Cell::Int(m.accesses),
        m.sessions.cell(),
        m.client_ips.cell(),
    ]
}

/// Rows with a header, sorted by the command before writing.
#[derive(Debug, Default)]
pub struct Rows {
    pub header: Vec<&'static str>,
    pub rows: Vec<Vec<Cell>>,
    /// Rows made from their source only when written, after `rows` (see [`Rows::generated`]).
    generated: Option<Generated>,
}

/// `count` rows, row `i` made by `make(i)`.
struct Generated {
    count: usize,
    make: Box<dyn Fn(usize) -> Vec<Cell> + Send + Sync>,
}

impl std::fmt::Debug for Generated {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Generated({} rows)", self.count)
    }
}

/// Rows rendered or made at a time: bounded memory for the cells of a large result.
const BATCH: usize = 1 << 16;

/// What [`Rows::batches`] calls with each batch: the index of its first row, and its rows.
type EachBatch<'a> = dyn FnMut(usize, &[Vec<Cell>]) -> io::Result<()> + 'a;

/// Appends `s` as one CSV field: quoted when it holds a delimiter, a quote or a line break
/// (quotes doubled), as the `csv` crate writes it by default (checked by a test), but
/// without its per-byte state machine: `contexts` writes millions of fields.
fn csv_text(out: &mut Vec<u8>, s: &str) {
    csv_field(out, s, defuse_needed(s.as_bytes()));
}

/// Appends `s` as one CSV field, after an apostrophe when `apostrophe` (see [`csv_text`]).
fn csv_field(out: &mut Vec<u8>, s: &str, apostrophe: bool) {
    let b = s.as_bytes();
    // A fold without an early exit: the compiler checks many bytes per instruction (most
    // fields need no quotes, so the early exit saved nothing).
    let special = |c: u8| matches!(c, b',' | b'"' | b'\r' | b'\n');
    if !b.iter().fold(false, |any, &c| any | special(c)) {
        if apostrophe {
            out.push(b'\'');
        }
        out.extend_from_slice(b);
        return;
    }
    out.push(b'"');
    if apostrophe {
        out.push(b'\'');
    }
    for part in b.split_inclusive(|&c| c == b'"') {
        out.extend_from_slice(part);
        if part.last() == Some(&b'"') {
            out.push(b'"');
        }
    }
    out.push(b'"');
}

/// Excel runs a cell that starts with one of these as a formula; evidence strings are
/// attacker-controlled, so such cells get a leading apostrophe in CSV.
/// See: OWASP "CSV Injection".
fn defuse_needed(b: &[u8]) -> bool {
    matches!(b.first(), Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r'))
}

/// Appends one row of cells as CSV, ended by CRLF (text defused; numbers and times written
/// without a `String` each). A row that would be empty is written `""`, as the `csv` crate
/// does, so it is not read as a blank line.
fn csv_row(out: &mut Vec<u8>, r: &[Cell]) {
    let start = out.len();
    let mut num = itoa::Buffer::new();
    for (i, cell) in r.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        match cell {
            Cell::Text(s) => csv_text(out, s),
            Cell::Sym(s) => csv_text(out, s),
            Cell::Int(n) => out.extend_from_slice(num.format(*n).as_bytes()),
            Cell::Time(t) => format_time_into(*t, out),
            Cell::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
            Cell::Null => {}
        }
    }
    if out.len() == start {
        out.extend_from_slice(b"\"\"");
    }
    out.extend_from_slice(b"\r\n");
}

/// Appends `s` as a JSON string, escaped as `serde_json` escapes it (checked by a test): `"`
/// and `\`, the short escapes of backspace, tab, line feed, form feed and carriage return,
/// other control characters as `\u00XX`; everything else as it is.
fn json_string(out: &mut Vec<u8>, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    let b = s.as_bytes();
    let mut plain = 0;
    for (i, &c) in b.iter().enumerate() {
        let short: &[u8] = match c {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0c => b"\\f",
            0..0x20 => b"",
            _ => continue,
        };
        out.extend_from_slice(&b[plain..i]);
        plain = i + 1;
        if short.is_empty() {
            out.extend_from_slice(b"\\u00");
            out.extend_from_slice(&[HEX[usize::from(c >> 4)], HEX[usize::from(c & 0xf)]]);
        } else {
            out.extend_from_slice(short);
        }
    }
    out.extend_from_slice(&b[plain..]);
    out.push(b'"');
}

/// Each column's name as a JSON string and a colon: the start of each field of a row's
/// object, escaped once for all rows.
fn json_keys(header: &[&str]) -> Vec<Vec<u8>> {
    header
        .iter()
        .map(|h| {
            let mut k = Vec::new();
            json_string(&mut k, h);
            k.push(b':');
            k
        })
        .collect()
}

/// Appends one row as a compact JSON object: `keys` (see [`json_keys`]) with the
/// cells, numbers as numbers, times as RFC 3339 strings, an empty cell as `null`.
fn json_object(out: &mut Vec<u8>, keys: &[Vec<u8>], r: &[Cell]) {
    let mut num = itoa::Buffer::new();
    out.push(b'{');
    for (i, (key, cell)) in keys.iter().zip(r).enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(key);
        match cell {
            Cell::Text(s) => json_string(out, s),
            Cell::Sym(s) => json_string(out, s),
            Cell::Int(n) => out.extend_from_slice(num.format(*n).as_bytes()),
            Cell::Time(t) => {
                out.push(b'"');
                format_time_into(*t, out);
                out.push(b'"');
            }
            Cell::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
            Cell::Null => out.extend_from_slice(b"null"),
        }
    }
    out.push(b'}');
}

impl Rows {
    pub fn new(header: &[&'static str]) -> Self {
        Rows {
            header: header.to_vec(),
            rows: Vec::new(),
            generated: None,
        }
    }

    /// `count` rows whose cells `make(i)` builds when they are written, a batch at a time
    /// and in parallel: a result of a million rows is not also held as a million rows of
    /// cells.
    pub fn generated(
        header: &[&'static str],
        count: usize,
        make: impl Fn(usize) -> Vec<Cell> + Send + Sync + 'static,
    ) -> Self {
        Rows {
            generated: Some(Generated {
                count,
                make: Box::new(make),
            }),
            ..Rows::new(header)
        }
    }

    pub fn len(&self) -> usize {
        self.rows.len() + self.generated.as_ref().map_or(0, |g| g.count)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Calls `each` with every row in order, [`BATCH`] rows at a time, and the index of the
    /// batch's first row.
    fn batches(&self, each: &mut EachBatch<'_>) -> io::Result<()> {
        for (i, batch) in self.rows.chunks(BATCH).enumerate() {
            each(i * BATCH, batch)?;
        }
        if let Some(g) = &self.generated {
            for start in (0..g.count).step_by(BATCH) {
                let batch: Vec<Vec<Cell>> = (start..(start + BATCH).min(g.count))
                    .into_par_iter()
                    .map(|i| (g.make)(i))
                    .collect();
                each(self.rows.len() + start, &batch)?;
            }
        }
        Ok(())
    }

    pub fn push(&mut self, row: Vec<Cell>) {
        debug_assert_eq!(row.len(), self.header.len());
        self.rows.push(row);
    }

    pub fn write(&self, out: &mut Output) -> io::Result<()> {
        let w: &mut dyn Write = &mut out.writer;
        match out.format {
            Format::Table => {
                // Column widths need every row: generated rows are made here, stored rows
                // are read where they are (not copied).
                let made: Vec<Vec<Cell>> = self.generated.as_ref().map_or_else(Vec::new, |g| {
                    (0..g.count).into_par_iter().map(|i| (g.make)(i)).collect()
                });
                let all = || self.rows.iter().chain(&made);
                let numeric: Vec<usize> = (0..self.header.len())
                    .filter(|&i| {
                        !self.is_empty() && all().all(|r| matches!(r[i], Cell::Int(_) | Cell::Null))
                    })
                    .collect();
                let mut t = Table::new(&self.header).right(&numeric);
                for r in all() {
                    t.row(r.iter().map(Cell::render).collect());
                }
                t.write(w, "")?;
                if self.is_empty() {
                    writeln!(w, "(no rows)")?;
                }
            }
            Format::Csv => {
                // The column names are ours: written as they are, not defused.
                let mut head = Vec::new();
                for (i, h) in self.header.iter().enumerate() {
                    if i > 0 {
                        head.push(b',');
                    }
                    csv_field(&mut head, h, false);
                }
                head.extend_from_slice(b"\r\n");
                w.write_all(&head)?;
                self.write_rendered(w, |out, _, r| csv_row(out, r))?;
            }
            Format::Json => {
                writeln!(w, "[")?;
                let (keys, last) = (json_keys(&self.header), self.len().saturating_sub(1));
                self.write_rendered(w, |out, i, r| {
                    out.extend_from_slice(b"  ");
                    json_object(out, &keys, r);
                    if i < last {
                        out.push(b',');
                    }
                    out.push(b'\n');
                })?;
                writeln!(w, "]")?;
            }
            Format::Ndjson => {
                let keys = json_keys(&self.header);
                self.write_rendered(w, |out, _, r| {
                    json_object(out, &keys, r);
                    out.push(b'\n');
                })?;
            }
        }
        Ok(())
    }

    /// The rows in order, each appended by `render` (given its index). A thread of its own
    /// makes and renders them in parallel, a batch at a time (bounded memory), while this one
    /// writes the batch before: writing (the kernel's copy into the page cache or a pipe) no
    /// longer waits for rendering, nor rendering for writing (`messages` writes 261 MB of CSV
    /// on the 2 GB export; JSON and NDJSON were rendered on one thread, 1.7 s for `contexts`).
    /// The writer stays on this thread (standard output's lock cannot move to another).
    fn write_rendered(
        &self,
        w: &mut dyn Write,
        render: impl Fn(&mut Vec<u8>, usize, &[Cell]) + Sync,
    ) -> io::Result<()> {
        const PART: usize = 2048;
        let (tx, rx) = crossbeam_channel::bounded::<Vec<Vec<u8>>>(1);
        let render = &render;
        std::thread::scope(|scope| {
            let renderer = scope.spawn(move || {
                self.batches(&mut |start, batch| {
                    let parts: Vec<Vec<u8>> = batch
                        .par_chunks(PART)
                        .enumerate()
                        .map(|(p, rows)| {
                            let mut out = Vec::with_capacity(rows.len() * 256);
                            for (j, r) in rows.iter().enumerate() {
                                render(&mut out, start + p * PART + j, r);
                            }
                            out
                        })
                        .collect();
                    // The writer gone (it failed): stop; its error is the one reported.
                    tx.send(parts)
                        .map_err(|_| io::Error::other("output stopped"))
                })
            });
            let mut written = Ok(());
            for parts in &rx {
                written = parts.iter().try_for_each(|p| w.write_all(p));
                if written.is_err() {
                    break;
                }
            }
            // Stops the renderer at its next batch, if the writer failed.
            drop(rx);
            let rendered = renderer
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            written.and(rendered)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// A writer the test can read back after `Output` owns it.
    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn written(rows: &Rows, format: Format) -> String {
        let buf = Shared::default();
        let mut out = Output {
            format,
            writer: Box::new(buf.clone()),
        };
        rows.write(&mut out).unwrap();
        String::from_utf8(buf.0.lock().unwrap().clone()).unwrap()
    }

    fn cells(i: usize) -> Vec<Cell> {
        vec![
            Cell::Int(i as u64),
            Cell::text(format!("=row {i}")),
            Cell::Time(i as i64),
        ]
    }

    /// The `csv` crate's writer, as the rows were written before `csv_row`: the oracle.
    fn csv_crate_row(r: &[Cell]) -> Vec<u8> {
        let mut c = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .from_writer(Vec::new());
        for cell in r {
            let text = match cell {
                Cell::Text(s) => s.clone(),
                Cell::Sym(s) => s.to_string(),
                other => other.render(),
            };
            let text = match defuse_needed(text.as_bytes()) {
                true => format!("'{text}"),
                false => text,
            };
            c.write_field(text.as_bytes()).unwrap();
        }
        c.write_record(None::<&[u8]>).unwrap();
        c.into_inner().unwrap()
    }

    fn any_cell() -> impl proptest::strategy::Strategy<Value = Cell> {
        use proptest::prelude::*;
        // Text from the characters CSV and the formula guard care about, and any other.
        let text = proptest::collection::vec(
            prop_oneof![
                proptest::sample::select(vec![
                    '"', ',', '\r', '\n', '=', '+', '-', '@', '\t', 'a', ' ', '\''
                ]),
                any::<char>(),
            ],
            0..8,
        )
        .prop_map(|c| c.into_iter().collect::<String>());
        prop_oneof![
            text.clone().prop_map(Cell::Text),
            text.prop_map(|t| Cell::Sym(crate::sym::Sym::new(&t))),
            any::<u64>().prop_map(Cell::Int),
            any::<i64>().prop_map(Cell::Time),
            any::<bool>().prop_map(Cell::Bool),
            Just(Cell::Null),
        ]
    }

    /// A row as `serde_json` writes it, as rows were written before `json_object`: the oracle.
    fn serde_object(header: &[&str], r: &[Cell]) -> String {
        let value = |c: &Cell| match c {
            Cell::Text(s) => serde_json::Value::String(s.clone()),
            Cell::Sym(s) => serde_json::Value::String(s.to_string()),
            Cell::Int(n) => serde_json::Value::from(*n),
            Cell::Time(t) => serde_json::Value::String(format_time(*t)),
            Cell::Bool(b) => serde_json::Value::Bool(*b),
            Cell::Null => serde_json::Value::Null,
        };
        let fields: Vec<String> = header
            .iter()
            .zip(r)
            .map(|(k, v)| format!("{}:{}", serde_json::Value::from(*k), value(v)))
            .collect();
        format!("{{{}}}", fields.join(","))
    }

    proptest::proptest! {
        /// A row written by `json_object` is byte for byte what `serde_json` writes for the
        /// same cells and column names: escapes (quotes, backslashes, every control
        /// character), numbers, times, booleans and nulls.
        #[test]
        fn json_rows_are_written_like_serde_json(
            row in proptest::collection::vec(any_cell(), 1..6),
            names in proptest::collection::vec("\\PC{0,6}|[\"\\\\\u{0}-\u{1f}a]{0,4}", 6),
        ) {
            let header: Vec<&str> = names.iter().map(String::as_str).collect();
            let mut mine = Vec::new();
            json_object(&mut mine, &json_keys(&header), &row);
            proptest::prop_assert_eq!(String::from_utf8_lossy(&mine), serde_object(&header, &row));
        }

        /// Rows written by `csv_row` are byte for byte what the `csv` crate writes for the
        /// same (defused) cells: quoting, doubled quotes, CRLF, a lone empty cell as `""`.
        #[test]
        fn csv_rows_are_written_like_the_csv_crate(
            row in proptest::collection::vec(any_cell(), 1..6)
        ) {
            let mut mine = Vec::new();
            csv_row(&mut mine, &row);
            let want = csv_crate_row(&row);
            proptest::prop_assert_eq!(String::from_utf8_lossy(&mine), String::from_utf8_lossy(&want));
        }
    }

    /// Rows made when written, over more than one batch, come out exactly like the same rows
    /// pushed beforehand, in every format; none at all too.
    #[test]
    fn generated_rows_write_like_pushed_rows() {
        let header = ["n", "text", "time"];
        for count in [0, 1, BATCH + 3] {
            let mut pushed = Rows::new(&header);
            for i in 0..count {
                pushed.push(cells(i));
            }
            let generated = Rows::generated(&header, count, cells);
            assert_eq!(generated.len(), count);
            // Every batch in order (they are rendered on another thread while the one before
            // is written), against the `csv` crate's rows.
            let mut csv = b"n,text,time\r\n".to_vec();
            for i in 0..count {
                csv.extend(csv_crate_row(&cells(i)));
            }
            assert!(
                written(&generated, Format::Csv).as_bytes() == csv,
                "{count} rows as CSV are not the rows in order"
            );
            // And as JSON and NDJSON, against `serde_json`'s objects.
            let objects: Vec<String> = (0..count)
                .map(|i| serde_object(&header, &cells(i)))
                .collect();
            let json = match count {
                0 => "[\n]\n".to_string(),
                _ => format!("[\n  {}\n]\n", objects.join(",\n  ")),
            };
            assert!(
                written(&generated, Format::Json) == json,
                "{count} rows as JSON"
            );
            let ndjson: String = objects.iter().map(|o| format!("{o}\n")).collect();
            assert!(
                written(&generated, Format::Ndjson) == ndjson,
                "{count} rows as NDJSON"
            );
            for format in [Format::Csv, Format::Json, Format::Ndjson, Format::Table] {
                assert_eq!(
                    written(&generated, format),
                    written(&pushed, format),
                    "{count} rows as {format:?}"
                );
            }
        }
    }

    /// Writes `limit` bytes, then fails as a closed pipe does.
    struct Closing {
        limit: usize,
        written: usize,
    }

    impl Write for Closing {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            if self.written + b.len() > self.limit {
                return Err(io::ErrorKind::BrokenPipe.into());
            }
            self.written += b.len();
            Ok(b.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    /// A writer that fails (`| head`) stops the rows being made and rendered on the other
    /// thread, and its error is the one returned (a closed pipe then ends the process quietly),
    /// whether it fails on the first batch or a later one.
    #[test]
    fn a_failing_writer_stops_the_rows_and_its_error_is_returned() {
        let rows = Rows::generated(&["n", "text", "time"], 3 * BATCH, cells);
        for limit in [0, 100, 3_000_000] {
            let mut out = Output {
                format: Format::Csv,
                writer: Box::new(Closing { limit, written: 0 }),
            };
            let err = rows.write(&mut out).expect_err("the writer failed");
            assert_eq!(err.kind(), io::ErrorKind::BrokenPipe, "after {limit} bytes");
        }
    }
}
