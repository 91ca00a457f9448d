//! Byte-level decoding: compression by magic bytes (zstd, gzip, both multi-frame), UTF-16LE
//! to UTF-8, and a hashing tee that computes a file's SHA-256 as it is read.

use sha2::{Digest, Sha256};
use std::io::{self, Read};
use std::sync::{Arc, Mutex};

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    None,
    Zstd,
    Gzip,
}

impl Compression {
    /// By magic bytes, never by file name. See: ../shared/docs/formats.md
    pub fn sniff(head: &[u8]) -> Compression {
        if head.starts_with(&[0x28, 0xB5, 0x2F, 0xFD]) {
            Compression::Zstd
        } else if head.starts_with(&[0x1F, 0x8B]) {
            Compression::Gzip
        } else {
            Compression::None
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Zstd => "zstd",
            Compression::Gzip => "gzip",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum Encoding {
    #[serde(rename = "utf-8")]
    Utf8,
    #[serde(rename = "utf-8-bom")]
    Utf8Bom,
    #[serde(rename = "utf-16le-bom")]
    Utf16LeBom,
    #[serde(rename = "utf-16le")]
    Utf16Le,
}

impl Encoding {
    /// UTF-16LE is recognised by its BOM, or without one (message-trace portal reports) by
    /// Latin text with a NUL after (nearly) every character.
    pub fn sniff(head: &[u8]) -> Encoding {
        if head.starts_with(&[0xEF, 0xBB, 0xBF]) {
            return Encoding::Utf8Bom;
        }
        if head.starts_with(&[0xFF, 0xFE]) {
            return Encoding::Utf16LeBom;
        }
        let pairs = head.len().min(512) / 2;
        if pairs >= 2 {
            let latin_nul = (0..pairs)
                .filter(|&i| head[2 * i] != 0 && head[2 * i + 1] == 0)
                .count();
            if latin_nul * 4 >= pairs * 3 {
                return Encoding::Utf16Le;
            }
        }
        Encoding::Utf8
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Encoding::Utf8 => "utf-8",
            Encoding::Utf8Bom => "utf-8-bom",
            Encoding::Utf16LeBom => "utf-16le-bom",
            Encoding::Utf16Le => "utf-16le",
        }
    }

    pub fn is_utf16(self) -> bool {
        matches!(self, Encoding::Utf16Le | Encoding::Utf16LeBom)
    }
}

/// The largest zstd window read: 2 GiB, the most `zstd --long` writes on 64-bit systems.
pub const ZSTD_WINDOW_LOG_MAX: u32 = 31;

/// Wraps a reader in the decoder its magic bytes call for.
pub fn decompress(
    compression: Compression,
    inner: Box<dyn Read + Send>,
) -> io::Result<Box<dyn Read + Send>> {
    Ok(match compression {
        Compression::None => inner,
        // zstd's streaming decoder reads every frame of a multi-frame file. Frames written
        // with long-distance matching (`zstd --long`, usual for multi-gigabyte exports) ask
        // for windows up to 2 GiB, which the decoder refuses past 128 MiB unless allowed: the
        // memory is the window the file declares, whatever its length.
        Compression::Zstd => {
            let mut decoder = zstd::stream::read::Decoder::new(inner)?;
            decoder.window_log_max(ZSTD_WINDOW_LOG_MAX)?;
            Box::new(decoder)
        }
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(inner)),
    })
}

/// Reads `prefix` first, then the rest of a stream (for sniffing a stream without losing bytes).
pub fn with_prefix(prefix: Vec<u8>, rest: Box<dyn Read + Send>) -> Box<dyn Read + Send> {
    Box::new(io::Cursor::new(prefix).chain(rest))
}

/// Reads up to `n` bytes (fewer only at the end of the stream).
pub fn read_up_to(r: &mut dyn Read, n: usize) -> io::Result<Vec<u8>> {
    let (buf, err) = read_up_to_partial(r, n);
    match err {
        Some(e) => Err(e),
        None => Ok(buf),
    }
}

/// Reads up to `n` bytes; on a read error returns what was read before it, and the error.
pub fn read_up_to_partial(r: &mut dyn Read, n: usize) -> (Vec<u8>, Option<io::Error>) {
    let mut buf = vec![0u8; n];
    let mut filled = 0;
    while filled < n {
        match r.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(k) => filled += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                buf.truncate(filled);
                return (buf, Some(e));
            }
        }
    }
    buf.truncate(filled);
    (buf, None)
}

/// Reads `prefix`, then fails once with `err` (a stream that broke off while it was sniffed:
/// the bytes before the break are still read, and the break is still reported).
pub fn prefix_then_error(prefix: Vec<u8>, err: io::Error) -> Box<dyn Read + Send> {
    struct FailOnce(Option<io::Error>);
    impl Read for FailOnce {
        fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
            match self.0.take() {
                Some(e) => Err(e),
                None => Ok(0),
            }
        }
    }
    Box::new(io::Cursor::new(prefix).chain(FailOnce(Some(err))))
}

/// UTF-16LE to UTF-8, streaming. Unpaired surrogates become U+FFFD; a BOM is dropped.
pub struct Utf16Reader<R> {
    inner: R,
    pending: Vec<u8>,
    out: Vec<u8>,
    out_pos: usize,
    odd: Option<u8>,
    high: Option<u16>,
    eof: bool,
}

impl<R: Read> Utf16Reader<R> {
    pub fn new(inner: R) -> Self {
        Utf16Reader {
            inner,
            pending: vec![0; 64 * 1024],
            out: Vec::with_capacity(96 * 1024),
            out_pos: 0,
            odd: None,
            high: None,
            eof: false,
        }
    }

    fn push_unit(&mut self, u: u16) {
        let ch = if let Some(h) = self.high.take() {
            if (0xDC00..0xE000).contains(&u) {
                char::from_u32(0x10000 + (((h as u32) - 0xD800) << 10) + (u as u32 - 0xDC00))
            } else {
                self.push_char('\u{FFFD}');
                return self.push_unit(u);
            }
        } else if (0xD800..0xDC00).contains(&u) {
            self.high = Some(u);
            return;
        } else {
            char::from_u32(u as u32)
        };
        match ch {
            Some('\u{FEFF}') => {}
            Some(c) => self.push_char(c),
            None => self.push_char('\u{FFFD}'),
        }
    }

    fn push_char(&mut self, c: char) {
        let mut b = [0u8; 4];
        self.out.extend_from_slice(c.encode_utf8(&mut b).as_bytes());
    }

    fn fill(&mut self) -> io::Result<()> {
        self.out.clear();
        self.out_pos = 0;
        while self.out.is_empty() && !self.eof {
            let n = self.inner.read(&mut self.pending)?;
            if n == 0 {
                self.eof = true;
                if self.high.take().is_some() || self.odd.take().is_some() {
                    self.push_char('\u{FFFD}');
                }
                break;
            }
            let mut i = 0;
            if let Some(lo) = self.odd.take() {
                let u = u16::from_le_bytes([lo, self.pending[0]]);
                self.push_unit(u);
                i = 1;
            }
            while i + 1 < n {
                let u = u16::from_le_bytes([self.pending[i], self.pending[i + 1]]);
                self.push_unit(u);
                i += 2;
            }
            if i < n {
                self.odd = Some(self.pending[i]);
            }
        }
        Ok(())
    }
}

impl<R: Read> Read for Utf16Reader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.out_pos >= self.out.len() {
            self.fill()?;
        }
        let n = buf.len().min(self.out.len() - self.out_pos);
        buf[..n].copy_from_slice(&self.out[self.out_pos..self.out_pos + n]);
        self.out_pos += n;
        Ok(n)
    }
}

/// Hashes (SHA-256) and counts every byte read through it: the raw file, before decoding.
pub struct HashingReader<R> {
    inner: R,
    state: Arc<Mutex<HashState>>,
}

#[derive(Default)]
pub struct HashState {
    pub hasher: Option<Sha256>,
    pub bytes: u64,
}

impl HashState {
    pub fn new(hash: bool) -> Arc<Mutex<HashState>> {
        Arc::new(Mutex::new(HashState {
            hasher: hash.then(Sha256::new),
            bytes: 0,
        }))
    }

    /// Hex SHA-256 of everything read so far (`None` when hashing is off).
    pub fn finish(&mut self) -> Option<String> {
        self.hasher.take().map(|h| hex(&h.finalize()))
    }
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

impl<R> HashingReader<R> {
    pub fn new(inner: R, state: Arc<Mutex<HashState>>) -> Self {
        HashingReader { inner, state }
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Ok(mut s) = self.state.lock() {
            s.bytes += n as u64;
            if let Some(h) = s.hasher.as_mut() {
                h.update(&buf[..n]);
            }
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stream written as `zstd --long=31` writes it (a window past the 128 MiB the
    /// decoder takes unless told; here 1 GiB, the content size not given) is read whole.
    #[test]
    fn zstd_with_a_long_window_is_read() {
        let text = b"{\"Id\":\"1\"}\n".repeat(1000);
        let mut encoder = zstd::stream::write::Encoder::new(Vec::new(), 3).unwrap();
        encoder.window_log(30).unwrap();
        encoder.long_distance_matching(true).unwrap();
        encoder.include_contentsize(false).unwrap();
        std::io::Write::write_all(&mut encoder, &text).unwrap();
        let frame = encoder.finish().unwrap();
        let read = |r: &mut dyn Read| {
            let mut out = Vec::new();
            r.read_to_end(&mut out).map(|_| out)
        };
        let mut plain = zstd::stream::read::Decoder::new(&frame[..]).unwrap();
        assert!(read(&mut plain).is_err(), "the default decoder refuses it");
        let mut ours = decompress(Compression::Zstd, Box::new(io::Cursor::new(frame))).unwrap();
        assert_eq!(read(&mut ours).unwrap(), text);
    }

    #[test]
    fn utf16_round_trip() {
        let text = "héllo\n{\"a\":\"😀\"}\n";
        let mut bytes = vec![0xFF, 0xFE];
        for u in text.encode_utf16() {
            bytes.extend_from_slice(&u.to_le_bytes());
        }
        assert_eq!(Encoding::sniff(&bytes), Encoding::Utf16LeBom);
        assert_eq!(Encoding::sniff(&bytes[2..]), Encoding::Utf16Le);
        let mut out = String::new();
        Utf16Reader::new(&bytes[..])
            .read_to_string(&mut out)
            .unwrap();
        assert_eq!(out, text);
        // Read one byte at a time: units split across reads must still decode.
        let mut r = Utf16Reader::new(io::BufReader::with_capacity(1, &bytes[..]));
        let mut out2 = String::new();
        r.read_to_string(&mut out2).unwrap();
        assert_eq!(out2, text);
    }

    #[test]
    fn magic_bytes() {
        assert_eq!(
            Compression::sniff(&[0x28, 0xB5, 0x2F, 0xFD, 0]),
            Compression::Zstd
        );
        assert_eq!(Compression::sniff(&[0x1F, 0x8B, 8]), Compression::Gzip);
        assert_eq!(Compression::sniff(b"{\"a\""), Compression::None);
        assert_eq!(Encoding::sniff(b"\xEF\xBB\xBF{"), Encoding::Utf8Bom);
        assert_eq!(Encoding::sniff(b"{\"CreationTime\":1}"), Encoding::Utf8);
    }
}
