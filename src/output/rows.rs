//! Tabular results in every output format: table, CSV, JSON (an array of objects) and
//! NDJSON, with the same columns in the same order.

use super::table::Table;
use super::{Format, Output};
use crate::parse::fields::format_time;
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

    fn json(&self) -> serde_json::Value {
        match self {
            Cell::Text(s) => serde_json::Value::String(s.clone()),
            Cell::Sym(s) => serde_json::Value::String(s.to_string()),
            Cell::Int(n) => serde_json::Value::from(*n),
            Cell::Time(t) => serde_json::Value::String(format_time(*t)),
            Cell::Bool(b) => serde_json::Value::Bool(*b),
            Cell::Null => serde_json::Value::Null,
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
        Cell::text(&m.mailbox),
        Cell::Text(crate::analyze::messages::bracketed(&m.internet_message_id)),
        Cell::text(&m.folder),
        Cell::opt_int(m.size_bytes),
        Cell::Time(m.first_access),
        Cell::Time(m.last_access),
        Cell::Int(m.accesses),
        Cell::text(&m.sessions),
        Cell::text(&m.client_ips),
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

/// Excel runs a cell that starts with one of these as a formula; evidence strings are
/// attacker-controlled, so such cells get a leading apostrophe in CSV.
/// See: OWASP "CSV Injection".
fn defuse(s: &str) -> std::borrow::Cow<'_, str> {
    match s.as_bytes().first() {
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r') => format!("'{s}").into(),
        _ => s.into(),
    }
}

/// The I/O error inside a CSV error, with its kind kept (a closed pipe stays a closed pipe).
fn csv_io(e: csv::Error) -> io::Error {
    match e.into_kind() {
        csv::ErrorKind::Io(e) => e,
        other => io::Error::other(format!("{other:?}")),
    }
}

fn csv_writer<W: Write>(w: W) -> csv::Writer<W> {
    csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(w)
}

/// One row of cells as CSV (text defused, numbers without a copy of the cell).
fn write_csv_row<W: Write>(c: &mut csv::Writer<W>, r: &[Cell]) -> io::Result<()> {
    let mut num = itoa::Buffer::new();
    for cell in r {
        match cell {
            Cell::Text(s) => c.write_field(defuse(s).as_bytes()),
            Cell::Sym(s) => c.write_field(defuse(s).as_bytes()),
            Cell::Int(n) => c.write_field(num.format(*n).as_bytes()),
            other => c.write_field(other.render().as_bytes()),
        }
        .map_err(csv_io)?;
    }
    c.write_record(None::<&[u8]>).map_err(csv_io)
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

    /// Calls `each` with every row in order, [`BATCH`] rows at a time.
    fn batches(&self, each: &mut dyn FnMut(&[Vec<Cell>]) -> io::Result<()>) -> io::Result<()> {
        for batch in self.rows.chunks(BATCH) {
            each(batch)?;
        }
        if let Some(g) = &self.generated {
            for start in (0..g.count).step_by(BATCH) {
                let batch: Vec<Vec<Cell>> = (start..(start + BATCH).min(g.count))
                    .into_par_iter()
                    .map(|i| (g.make)(i))
                    .collect();
                each(&batch)?;
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
                let mut c = csv_writer(&mut *w);
                c.write_record(&self.header).map_err(csv_io)?;
                c.flush()?;
                drop(c);
                // Rows are rendered in parallel, a batch at a time (bounded memory), and
                // written in order.
                self.batches(&mut |batch| {
                    let parts: Vec<Vec<u8>> = batch
                        .par_chunks(2048)
                        .map(|rows| {
                            let mut c = csv_writer(Vec::<u8>::new());
                            for r in rows {
                                write_csv_row(&mut c, r)?;
                            }
                            c.into_inner().map_err(|e| e.into_error())
                        })
                        .collect::<io::Result<_>>()?;
                    for p in parts {
                        w.write_all(&p)?;
                    }
                    Ok(())
                })?;
            }
            Format::Json => {
                writeln!(w, "[")?;
                let (total, mut i) = (self.len(), 0);
                self.batches(&mut |batch| {
                    for r in batch {
                        i += 1;
                        let sep = if i < total { "," } else { "" };
                        writeln!(w, "  {}{sep}", self.object(r))?;
                    }
                    Ok(())
                })?;
                writeln!(w, "]")?;
            }
            Format::Ndjson => {
                self.batches(&mut |batch| {
                    for r in batch {
                        writeln!(w, "{}", self.object(r))?;
                    }
                    Ok(())
                })?;
            }
        }
        Ok(())
    }

    fn object(&self, r: &[Cell]) -> String {
        let fields: Vec<String> = self
            .header
            .iter()
            .zip(r)
            .map(|(k, v)| format!("{}:{}", serde_json::Value::from(*k), v.json()))
            .collect();
        format!("{{{}}}", fields.join(","))
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
            for format in [Format::Csv, Format::Json, Format::Ndjson, Format::Table] {
                assert_eq!(
                    written(&generated, format),
                    written(&pushed, format),
                    "{count} rows as {format:?}"
                );
            }
        }
    }
}
