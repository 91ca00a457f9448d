//! CSV framing and the normalization of CSV rows (flat rows and rows whose AuditData cell
//! holds JSON) never panic; every row becomes exactly one outcome.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mailscope::input::frame::frame_csv;
use mailscope::parse::{JsonParser, Obj, normalize_object};

fuzz_target!(|input: &[u8]| {
    let Some((&knobs, data)) = input.split_first() else {
        return;
    };
    let mut parser = JsonParser::new();
    let mut rows = 0usize;
    let mut outcomes = 0usize;
    let _ = frame_csv(
        data,
        knobs & 1 == 1,
        knobs & 2 == 2,
        1 + (knobs >> 2) as usize,
        &|| false,
        &mut |batch| {
            for row in &batch.rows {
                rows += 1;
                if let Ok(cells) = &row.cells {
                    let pairs: Vec<(&str, &str)> = batch
                        .header
                        .iter()
                        .zip(cells.iter())
                        .map(|(h, c)| (h.as_str(), c.as_str()))
                        .collect();
                    let _ = normalize_object(Obj::Flat(&pairs), &mut parser);
                }
                outcomes += 1;
            }
        },
    );
    assert_eq!(rows, outcomes);
});
