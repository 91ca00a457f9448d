//! Record parsing never panics on any bytes: simd-json plus the normalizer of every export
//! shape; a parsed value always gives at least one outcome (a record or why it is malformed).
#![no_main]

use libfuzzer_sys::fuzz_target;
use mailscope::parse::{JsonParser, normalize_top};

fuzz_target!(|data: &[u8]| {
    let mut parser = JsonParser::new();
    let mut out = Vec::new();
    if parser
        .parse(data, |root, child| normalize_top(root, child, &mut out))
        .is_ok()
    {
        // An empty array is the one value that holds no record.
        let empty_array = data.trim_ascii().starts_with(b"[") && out.is_empty();
        assert!(!out.is_empty() || empty_array || !data.trim_ascii().starts_with(b"{"));
    }
    // The parser is reused: a second parse of the same bytes gives the same outcomes.
    let mut again = Vec::new();
    let _ = parser.parse(data, |root, child| normalize_top(root, child, &mut again));
    assert_eq!(out, again);
});
