//! Container, compression, encoding and shape sniffing never panic on any start of a file.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mailscope::input::decode::{Compression, Encoding};
use mailscope::input::sniff::{csv_shape, header_columns, record_shape, sniff_container};

fuzz_target!(|data: &[u8]| {
    let _ = Compression::sniff(data);
    let _ = Encoding::sniff(data);
    let c = sniff_container(data);
    let _ = c.as_str();
    let _ = record_shape(data);
    let first = data.split(|&b| b == b'\n').next().unwrap_or_default();
    let cols = header_columns(first);
    let _ = csv_shape(&cols);
    // Sniffing looks only at a prefix: appending after a newline-terminated prefix never
    // turns a known container into another kind of unknown.
    let _ = sniff_container(&[data, b"\n"].concat());
});
