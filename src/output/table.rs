//! Plain aligned tables for the terminal.

use std::io::{self, Write};

/// A table: a header and rows of cells, rendered with aligned columns.
#[derive(Debug, Default)]
pub struct Table {
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
    /// Columns to right-align (numbers).
    pub right: Vec<usize>,
}

/// Cells longer than this are shortened on the terminal (CSV and JSON keep them whole).
const MAX_CELL: usize = 100;

fn shorten(s: &str) -> String {
    // Control characters from the evidence must not drive the terminal.
    let clean: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if clean.chars().count() > MAX_CELL {
        let mut t: String = clean.chars().take(MAX_CELL - 1).collect();
        t.push('…');
        t
    } else {
        clean
    }
}

impl Table {
    pub fn new(header: &[&str]) -> Self {
        Table {
            header: header.iter().map(|s| s.to_string()).collect(),
            rows: Vec::new(),
            right: Vec::new(),
        }
    }

    pub fn right(mut self, cols: &[usize]) -> Self {
        self.right = cols.to_vec();
        self
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    pub fn write(&self, w: &mut dyn Write, indent: &str) -> io::Result<()> {
        let rows: Vec<Vec<String>> = std::iter::once(&self.header)
            .chain(self.rows.iter())
            .map(|r| r.iter().map(|c| shorten(c)).collect())
            .collect();
        let ncol = rows.iter().map(|r| r.len()).max().unwrap_or(0);
        let mut width = vec![0; ncol];
        for r in &rows {
            for (i, c) in r.iter().enumerate() {
                width[i] = width[i].max(c.chars().count());
            }
        }
        for r in &rows {
            let mut line = String::from(indent);
            for (i, c) in r.iter().enumerate() {
                let pad = width[i] - c.chars().count();
                if self.right.contains(&i) {
                    line.push_str(&" ".repeat(pad));
                    line.push_str(c);
                } else {
                    line.push_str(c);
                    if i + 1 < r.len() {
                        line.push_str(&" ".repeat(pad));
                    }
                }
                if i + 1 < r.len() {
                    line.push_str("  ");
                }
            }
            writeln!(w, "{}", line.trim_end())?;
        }
        Ok(())
    }
}
