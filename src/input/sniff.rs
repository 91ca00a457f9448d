//! Container detection: which export shape a file is, from its first bytes, without the
//! user saying. See: ../shared/docs/formats.md, "Containers (detect, don't ask)".

use serde::Serialize;

/// How a file's records are laid out.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Container {
    /// One JSON object per line: cut at any newline, parsed in parallel.
    Ndjson,
    /// JSON arrays, pretty-printed or concatenated objects, Graph `{"value":[...]}` pages.
    Json,
    /// A piece of a JSON document split by size or by lines (`split -b`, `split -l`), which
    /// begins inside a record: its first `cut` bytes are the rest of that record, one
    /// malformed value; framing starts after them (see [`json_cut`]).
    JsonPiece { cut: usize },
    /// A CSV export; `type_line` when a `#TYPE ...` line comes before the header; `piece`
    /// for a piece of a split export, without its header.
    Csv {
        type_line: bool,
        piece: Option<super::frame::CsvPiece>,
    },
    /// PowerShell's list view of audit records (`Search-MailboxAuditLog -ShowDetails |
    /// Format-List`): blocks of `Name : Value` lines (see [`super::list`]).
    List,
    /// A message-trace export: metadata for `scope --trace`, not audit records.
    MessageTrace,
    /// Nothing but white space.
    Empty,
    /// Not an export mailscope knows.
    Unknown,
}

impl Container {
    pub fn as_str(&self) -> &'static str {
        match self {
            Container::Ndjson => "ndjson",
            Container::Json | Container::JsonPiece { .. } => "json",
            Container::Csv { .. } => "csv",
            Container::List => "list",
            Container::MessageTrace => "message-trace",
            Container::Empty => "empty",
            Container::Unknown => "unknown",
        }
    }
}

pub(crate) const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Skips white space and UTF-8 BOMs.
pub fn skip_blank(mut b: &[u8]) -> &[u8] {
    loop {
        if let Some(rest) = b.strip_prefix(BOM) {
            b = rest;
        } else if let Some((&c, rest)) = b.split_first()
            && (c.is_ascii_whitespace() || c == 0)
        {
            b = rest;
        } else {
            return b;
        }
    }
}

fn first_line(b: &[u8]) -> &[u8] {
    let end = memchr::memchr(b'\n', b).unwrap_or(b.len());
    let line = &b[..end];
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// Splits a CSV header line into trimmed column names.
pub fn header_columns(line: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(line);
    text.split(',')
        .map(|c| {
            c.trim()
                .trim_start_matches('\u{feff}')
                .trim_matches('"')
                .trim()
                .to_string()
        })
        .collect()
}

/// How a line holds JSON: from its first byte, as far as the line goes.
#[derive(Debug, PartialEq, Eq)]
enum LineShape {
    /// One whole value (an object or array), nothing but white space after it.
    Whole,
    /// A value and more after it on the line: concatenated objects, `},`.
    More,
    /// A value still open at the line's end, outside a string.
    Open,
    /// A value still open at the line's end, inside a string: a raw newline there, which
    /// JSON never holds in a string, means the line was cut mid-record.
    OpenInString,
}

fn line_shape(line: &[u8]) -> LineShape {
    let mut strings = super::frame::StrState::default();
    let (mut depth, mut closed) = (0u32, false);
    for &c in line {
        if closed && !c.is_ascii_whitespace() {
            return LineShape::More;
        }
        if strings.step(c) {
            continue;
        }
        match c {
            b'{' | b'[' => depth += 1,
            b'}' | b']' => {
                depth = depth.saturating_sub(1);
                closed = depth == 0;
            }
            _ => {}
        }
    }
    if strings.in_string() {
        LineShape::OpenInString
    } else if closed {
        LineShape::Whole
    } else {
        LineShape::Open
    }
}

/// Whether the lines after a file's first line (`rest`, as far as the sniffing window goes)
/// are records one per line: the first eight whole lines of it, or as many as it holds, at
/// least `need`, are each one whole JSON object. No JSON document holds two such lines one
/// after the other (values in an object or array need a comma between them), nor one such
/// line and then its closing bracket's line, and no CSV row is one (a cell that holds JSON is
/// quoted, for its commas).
fn whole_objects_follow(rest: &[u8], need: usize) -> bool {
    let mut lines: Vec<&[u8]> = rest.split(|&c| c == b'\n').collect();
    if lines.len() > 1 {
        lines.pop(); // what follows the last line end: a line the window may have cut
    }
    let lines: Vec<&[u8]> = lines
        .into_iter()
        .map(<[u8]>::trim_ascii)
        .filter(|l| !l.is_empty())
        .take(8)
        .collect();
    lines.len() >= need
        && lines
            .iter()
            .all(|l| l.first() == Some(&b'{') && line_shape(l) == LineShape::Whole)
}

/// NDJSON or a JSON document, for a start `b` (past white space and BOMs) that is `{` or `[`,
/// from its first line alone where it can tell: NDJSON when that line is one whole object;
/// JSON when it starts with `[`, when a value closes on it and more follows (objects one
/// after another, `},`), or when it opens an object that does not close on it (a
/// pretty-printed object, a Graph page's `{"@odata.context":...,"value":[`), even if one-line
/// objects follow. Three exceptions keep an NDJSON file whose first line was cut mid-record
/// NDJSON: a line cut inside a string (a raw newline there is never JSON); a line that begins
/// inside a value (a piece of a split file: see [`begins_inside_value`]) followed by whole
/// objects (see [`whole_objects_follow`]); and an open object followed by two of them (one
/// is not enough: a Graph page may hold a single record on its line). A first line longer
/// than the sniffing window is NDJSON when it starts with `{` (a record on one line), with or
/// without a BOM before it.
///
/// [`begins_inside_value`]: super::frame::begins_inside_value
fn objects_container(b: &[u8]) -> Container {
    let object = b.first() == Some(&b'{');
    let Some(nl) = memchr::memchr(b'\n', b) else {
        return match line_shape(b) {
            LineShape::More => Container::Json,
            _ if object => Container::Ndjson,
            _ => Container::Json,
        };
    };
    let (first, rest) = (&b[..nl], &b[nl + 1..]);
    let shape = line_shape(first);
    if object && matches!(shape, LineShape::Whole | LineShape::OpenInString)
        || super::frame::begins_inside_value(first) && whole_objects_follow(rest, 1)
        || object && shape == LineShape::Open && whole_objects_follow(rest, 2)
    {
        Container::Ndjson
    } else {
        Container::Json
    }
}

/// For a start of a JSON document that begins inside a record (a piece of a file split by
/// size or by lines), the length of that record's rest: up to the bracket that closes the
/// outermost value the piece began in, before the first object that starts at that level and
/// closes within `head` (the next record). `None` when no bracket closes one not opened (a
/// whole document), or no object follows at that level within `head`.
///
/// - Brackets are counted from the first byte, outside a string or inside one, whichever
///   leaves the first line's end outside a string (JSON never holds a raw newline in a
///   string; when both do, the first that gives a cut). A later raw newline inside a string
///   means this is not JSON read from there.
/// - When the piece began inside a nested value (a record's `Folders` array), the first
///   levels it closes are not the outermost: the deepest level that holds a whole object is
///   taken, unless two levels or more close below it (the piece began inside an object of
///   the last record, and the array ends).
/// - With `or_all`, a start that closes a bracket it never opened and holds no whole object
///   after it (the last piece: the rest of one record, and the array's end) is cut up to its
///   deepest closing bracket, unless an object closed at the first level before and only one
///   level closes (the piece began between two records, and ends with the array).
fn json_cut(head: &[u8], or_all: bool) -> Option<usize> {
    use super::frame::StrState;
    let nl = memchr::memchr(b'\n', head)?;
    StrState::CUT_STARTS
        .into_iter()
        .filter(|s| {
            let mut s = *s;
            head[..nl].iter().for_each(|&b| {
                s.step(b);
            });
            !s.in_string()
        })
        .find_map(|strings| json_cut_from(head, strings, or_all))
}

/// [`json_cut`] with the brackets counted from `strings`' state at the first byte.
fn json_cut_from(head: &[u8], mut strings: super::frame::StrState, or_all: bool) -> Option<usize> {
    let (mut depth, mut min) = (0i64, 0i64);
    // The level being looked at: where its closing bracket ended, and whether an object
    // started at it since; the best level so far, one that held a whole object.
    let (mut cut, mut started) = (0usize, false);
    let mut best = None;
    // An object closed at the first level before any bracket closed one not opened: the piece
    // began between the elements of an array, or inside an array of a record.
    let mut between = false;
    for (i, &b) in head.iter().enumerate() {
        if b == b'\n' && strings.in_string() {
            return None;
        }
        if strings.step(b) {
            continue;
        }
        match b {
            b'{' | b'[' => {
                if b == b'{' && depth == min && min < 0 {
                    started = true;
                }
                depth += 1;
            }
            b'}' | b']' => {
                depth -= 1;
                if depth < min {
                    (min, cut, started) = (depth, i + 1, false);
                } else if b == b'}' && depth == min && started {
                    best = Some((cut, min));
                } else if b == b'}' && depth == 0 && min == 0 {
                    between = true;
                }
            }
            _ => {}
        }
    }
    let cut = match best {
        // Two levels or more closed after the objects of `best`'s level (more than the
        // array's end): they were objects inside the last record, such as its properties.
        Some((_, level)) if min < level - 1 => Some(cut),
        Some((at, _)) => Some(at),
        None => (or_all && (min < -1 || min == -1 && !between)).then_some(cut),
    };
    // An array's end alone is no part of a record (concatenated arrays, split between them).
    cut.filter(|&c| {
        head[..c]
            .iter()
            .any(|b| !matches!(b, b']' | b',') && !b.is_ascii_whitespace())
    })
}

/// The rows of a piece of a split CSV export, which lacks the export's header: the whole rows
/// after its first line (up to eight, at least one) all have as many cells, one of them, at
/// the same place, an AuditData object (`{...}` naming `CreationTime` or `Operation`). The
/// first line is a row of its own when it has that shape too (a piece of `split -l`), or
/// blank (cut between a row's CR and LF), else the rest of a row cut at its start
/// (`split -b`).
fn csv_piece(b: &[u8]) -> Option<super::frame::CsvPiece> {
    let shape = |bytes: &[u8], most: usize| {
        let mut records = super::csv_records::Records::new(bytes, usize::MAX);
        let (mut out, mut ends) = (Vec::new(), Vec::new());
        let mut shapes = Vec::new();
        while shapes.len() < most {
            out.clear();
            ends.clear();
            match records.next_record(&mut out, &mut ends) {
                Ok(Some(_)) => {}
                _ => break,
            }
            let cells: Vec<&[u8]> = super::csv_records::cells(&out, 0, &ends).collect();
            let audit = cells.iter().position(|c| {
                let c = c.trim_ascii();
                c.first() == Some(&b'{')
                    && c.last() == Some(&b'}')
                    && (memchr::memmem::find(c, b"\"CreationTime\"").is_some()
                        || memchr::memmem::find(c, b"\"Operation\"").is_some())
            });
            shapes.push(audit.map(|a| (cells.len(), a)));
        }
        shapes
    };
    let nl = memchr::memchr(b'\n', b)?;
    let last = memchr::memrchr(b'\n', b)?;
    let rows = shape(b.get(nl + 1..last + 1)?, 8);
    let (columns, audit_data) = (*rows.first()?)?;
    if rows.iter().any(|r| *r != Some((columns, audit_data))) {
        return None;
    }
    let first = shape(&b[..nl + 1], 2);
    Some(super::frame::CsvPiece {
        columns,
        audit_data,
        first_line_cut: !b[..nl].trim_ascii().is_empty() && first != [Some((columns, audit_data))],
    })
}

/// A JSON document, or a piece of one that begins inside a record (see [`json_cut`]).
fn json_or_piece(head: &[u8]) -> Container {
    json_cut(head, true).map_or(Container::Json, |cut| Container::JsonPiece { cut })
}

/// Detects the container from the decoded (UTF-8) start of a file. `head` should hold at
/// least the first line, when the file has one within the sniffing window.
pub fn sniff_container(head: &[u8]) -> Container {
    let b = skip_blank(head);
    let Some(&c) = b.first() else {
        return Container::Empty;
    };
    match c {
        // A piece of a CSV export cut inside an AuditData cell: `{""Name""...`, `[\r\n...`,
        // `,{""Name""...` (no header starts so).
        b'{' | b'[' | b',' | b']' if let Some(piece) = csv_piece(b) => Container::Csv {
            type_line: false,
            piece: Some(piece),
        },
        b'{' | b'[' => match objects_container(b) {
            Container::Json => json_or_piece(head),
            c => c,
        },
        // A piece of a JSON array split between two elements (`,` then the next) or at an
        // array's end (`]` then the next array): the framer reads them between values. (Or
        // one split inside an array of a record, between two of its elements.)
        b',' | b']'
            if matches!(
                b.iter()
                    .find(|c| !matches!(c, b',' | b']') && !c.is_ascii_whitespace()),
                Some(b'{' | b'[')
            ) =>
        {
            json_or_piece(head)
        }
        // A first line that starts no export, followed by records one per line: a piece of
        // a split NDJSON file, which begins inside a record (that line is then malformed,
        // `truncated`, on line 1).
        _ if memchr::memchr(b'\n', b).is_some_and(|nl| whole_objects_follow(&b[nl + 1..], 1)) => {
            Container::Ndjson
        }
        _ => {
            let mut line = first_line(b);
            let mut type_line = false;
            if line.starts_with(b"#TYPE") {
                type_line = true;
                let rest = &b[line.len()..];
                line = first_line(skip_blank(rest));
            }
            let cols = header_columns(line);
            let has = |name: &str| cols.iter().any(|c| c.eq_ignore_ascii_case(name));
            if has("AuditData")
                || (has("Operation") || has("Operations") || has("operation") || has("ActionType"))
                    && (has("CreationDate")
                        || has("CreationTime")
                        || has("LastAccessed")
                        || has("TimeGenerated")
                        || has("createdDateTime")
                        || has("Timestamp"))
            {
                Container::Csv {
                    type_line,
                    piece: None,
                }
            } else if (has("MessageId") || has("message_id"))
                && (has("SenderAddress") || has("sender_address"))
            {
                Container::MessageTrace
            } else if super::list::looks_like_list(b) {
                Container::List
            } else if let Some(piece) = csv_piece(b) {
                Container::Csv {
                    type_line: false,
                    piece: Some(piece),
                }
            } else if let Some(cut) = json_cut(head, false) {
                Container::JsonPiece { cut }
            } else {
                Container::Unknown
            }
        }
    }
}

/// A short description of the record shape, from the first record's text (for the inventory).
pub fn record_shape(head: &[u8]) -> &'static str {
    let finder = |needle: &str| memchr::memmem::find(head, needle.as_bytes()).is_some();
    if finder("\"RawEventData\"") {
        "defender-cloudappevents"
    } else if finder("\"OfficeActivity\"") || finder("\"TimeGenerated\"") {
        "sentinel-officeactivity"
    } else if finder("\"auditData\"") || finder("\"auditLogRecordType\"") {
        "graph-auditlogrecord"
    } else if finder("\"AuditData\"") {
        "export-wrapper"
    } else if finder("\"CreationTime\"") {
        "auditdata"
    } else if finder("\"contentUri\"") {
        "management-api-content-list"
    } else {
        "other"
    }
}

/// A short description of a CSV export from its header.
pub fn csv_shape(cols: &[String]) -> &'static str {
    let has = |name: &str| cols.iter().any(|c| c.eq_ignore_ascii_case(name));
    if has("RecordId") && has("AuditData") {
        "purview-portal-csv"
    } else if has("ResultIndex") || has("Identity") && has("AuditData") {
        "search-unifiedauditlog-csv"
    } else if has("auditData") && has("createdDateTime") {
        "graph-csv"
    } else if has("AuditData") {
        "auditdata-csv"
    } else if has("AggregatedRecordFoldersData") || has("LastAccessed") {
        "search-mailboxauditlog-csv"
    } else if has("TimeGenerated") {
        "sentinel-officeactivity-csv"
    } else {
        "flat-csv"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn containers() {
        assert_eq!(
            sniff_container(b"{\"a\":1}\n{\"a\":2}\n"),
            Container::Ndjson
        );
        assert_eq!(sniff_container(b"\xEF\xBB\xBF{\"a\":1}"), Container::Ndjson);
        assert_eq!(sniff_container(b"{\n \"a\": 1\n}\n"), Container::Json);
        assert_eq!(sniff_container(b"  [\n{}]"), Container::Json);
        assert_eq!(sniff_container(b" \n\r\n"), Container::Empty);
        assert_eq!(
            sniff_container(b"RecordId,CreationDate,RecordType,Operation,UserId,AuditData\r\n"),
            Container::Csv {
                type_line: false,
                piece: None
            }
        );
        assert_eq!(
            sniff_container(b"#TYPE X\n\"RecordType\",\"CreationDate\",\"AuditData\"\n"),
            Container::Csv {
                type_line: true,
                piece: None
            }
        );
        assert_eq!(
            sniff_container(b"\"MessageId\",\"Received\",\"SenderAddress\"\n"),
            Container::MessageTrace
        );
        assert_eq!(sniff_container(b"# notes\nhello\n"), Container::Unknown);
        // Notes, then one JSON line: records one per line after a first line that is none.
        assert_eq!(sniff_container(b"# notes\n{\"a\":1}\n"), Container::Ndjson);
        assert_eq!(
            sniff_container(b"# notes\n{\"a\":1},\n"),
            Container::Unknown
        );
    }

    /// NDJSON only when the first line is one whole value (or was cut mid-record); a first
    /// line that opens an object or array not closed on it is a JSON document, whatever
    /// one-line objects follow; the same bytes give the same answer with a BOM before them.
    #[test]
    fn ndjson_or_json_from_the_first_line() {
        let json = [
            &b"{\n \"a\": 1,\n \"b\": [\n  {\"x\": 1},\n  {\"y\": 2}\n ],\n \"c\": {\"z\": 3}\n}\n"
                [..],
            b"{\"@odata.context\":\"x\",\"value\":[\n{\"a\":1},\n{\"a\":2}\n]}",
            b"{\"@odata.context\":\"x\",\"value\":[\n{\"a\":1}\n]}\n",
            b"{\"a\":1}{\"a\":2}\n",
            b"{\"a\":1},\n{\"a\":2}\n",
            b"{\"a\":1} {\"a\":2}",
            // A first line that would begin inside a value, but what follows is not records
            // one per line: an array's elements, or an element and the array's end.
            b"[{\"a\":\"}\"},\n{\"b\":1},\n{\"c\":1}\n]\n",
            b"[{\"a\":\"}\"},\n{\"b\":1}\n]\n",
        ];
        let ndjson = [
            &b"{\"a\":1}\n{\"a\":2}\n"[..],
            b"{\"a\":{\"b\":[1,\"}\"]}}\r\n\r\n",
            // First lines cut mid-record: inside a string, and outside one.
            b"{\"a\":\"cu\n{\"a\":2}\n",
            b"{\"a\":1,\n{\"b\":1}\n\n{\"c\":2}\n",
            // First lines that begin mid-record (a piece of a split file), cut outside a
            // string, inside one, inside a nested object or array, inside a string holding
            // JSON, followed by one whole record.
            b"Time\":\"2024\",\"a\":1}\n{\"a\":2}\n",
            b"c-d\",\"a\":1}\r\n{\"a\":2}\r\n",
            b"{\"N\":\"x\"}],\"a\":1}\n{\"a\":2}\n",
            b"[\"x\"],\"a\":1}\n{\"a\":2}\n",
            b"{\\\"N\\\":[\\\"x\\\"]}\",\"a\":1}\n{\"a\":2}\n",
        ];
        for (want, texts) in [
            (Container::Json, &json[..]),
            (Container::Ndjson, &ndjson[..]),
        ] {
            for t in texts {
                let bom = [BOM, t].concat();
                let show = String::from_utf8_lossy(t);
                assert_eq!(sniff_container(t), want, "{show}");
                assert_eq!(sniff_container(&bom), want, "BOM + {show}");
            }
        }
        // A first line longer than the sniffing window (the head ends inside it).
        // (See `pieces_of_a_split_json_document` for JSON that begins inside a record.)
        let mut long = b"{\"a\":\"".to_vec();
        long.resize(1000, b'x');
        assert_eq!(sniff_container(&long), Container::Ndjson);
        assert_eq!(sniff_container(&[BOM, &long].concat()), Container::Ndjson);
        long.truncate(20);
        long.extend_from_slice(b"\"}{\"b\":\"");
        long.resize(1000, b'y');
        assert_eq!(sniff_container(&long), Container::Json);
    }

    /// Pieces of a split JSON document: where the rest of the record they begin inside ends
    /// (`|` in each text), or none (a whole document, a piece that begins between records).
    #[test]
    fn pieces_of_a_split_json_document() {
        let cases: [(&str, Option<Container>); 8] = [
            // Inside a record's key level, cut outside a string and inside one.
            ("\"x\": 1\n  }|,\n  {\"a\": 1\n  }\n]\n", None),
            (
                "e\": \"[{\\\"A\\\":1}]\"\n  }|,\n  {\"a\": 1\n  }\n]\n",
                None,
            ),
            // Inside a record's array of objects: its levels are not the records' level.
            (
                "{\"N\": 1},\n{\"N\": 2}\n],\n\"x\": 1\n}|,\n{\"a\": [{\"b\": 1}]\n}\n]\n",
                None,
            ),
            // Inside the last record's properties: its rest and the array's end, one value.
            ("{\"N\": 1},\n{\"N\": 2}\n],\n\"x\": 1\n}\n]|\n", None),
            // Between records, at an array's end, a whole document, a concatenation.
            (",\n{\"a\": 1}\n]\n", Some(Container::Json)),
            ("]\n[\n{\"a\": 1}\n]\n", Some(Container::Json)),
            (
                "[\n{\"a\": 1},\n{\"a\": [{\"b\": 1}]}\n]\n",
                Some(Container::Json),
            ),
            // The last record's rest, not starting as JSON does: not known as a piece.
            ("\"x\": 1\n}\n]\n", Some(Container::Unknown)),
        ];
        for (text, want) in cases {
            let want = want.unwrap_or_else(|| Container::JsonPiece {
                cut: text.find('|').unwrap(),
            });
            let bytes = text.replace('|', "");
            assert_eq!(sniff_container(bytes.as_bytes()), want, "{text}");
        }
    }

    /// Pieces of a split CSV export: rows with an AuditData cell at one place and no header;
    /// the first line a row of its own, or the rest of one.
    #[test]
    fn pieces_of_a_split_csv_export() {
        let row = |id: &str| format!("{id},2024-01-01,50,\"{{\"\"Operation\"\":\"\"X\"\"}}\",\r\n");
        let piece = |first_line_cut| Container::Csv {
            type_line: false,
            piece: Some(crate::input::frame::CsvPiece {
                columns: 5,
                audit_data: 3,
                first_line_cut,
            }),
        };
        let rows = [row("b"), row("c")].concat();
        for (first, want) in [
            (row("a"), piece(false)),
            ("\r\n".to_string(), piece(false)),
            (
                "24-01-01,50,\"{\"\"Operation\"\":\"\"X\"\"}\",\r\n".to_string(),
                piece(true),
            ),
            ("\"\":\"\"X\"\"}\",\r\n".to_string(), piece(true)),
            ("{\"\"Name\"\":1}]}\",\r\n".to_string(), piece(true)),
            ("[1,\r\n".to_string(), piece(true)),
        ] {
            let text = format!("{first}{rows}");
            assert_eq!(sniff_container(text.as_bytes()), want, "{text}");
        }
        // Rows of other shapes, or without an audit record in them: not a piece.
        let other = format!("{}{}x,\"{{\"\"Operation\"\":1}}\"\r\n", row("a"), row("b"));
        assert_eq!(sniff_container(other.as_bytes()), Container::Unknown);
        let plain = "a,b\r\nc,\"{\"\"x\"\":1}\"\r\nd,\"{}\"\r\n";
        assert_eq!(sniff_container(plain.as_bytes()), Container::Unknown);
    }
}
