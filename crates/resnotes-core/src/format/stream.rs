//! Streaming in fixed 64 KiB chunks, so that large attachments never sit in memory: reading a
//! source chunk by chunk, and copying with progress.

use std::io::{self, Read, Write};

/// Chunk size for streaming (also age's STREAM chunk size).
pub(crate) const CHUNK: usize = 64 * 1024;

/// Feeds everything `r` yields to `f` (the chunk and the bytes so far); returns the byte count.
pub(crate) fn for_each_chunk(
    mut r: impl Read,
    mut f: impl FnMut(&[u8], u64) -> io::Result<()>,
) -> io::Result<u64> {
    let mut buf = vec![0u8; CHUNK];
    let mut done = 0u64;
    loop {
        let k = match r.read(&mut buf) {
            Ok(0) => return Ok(done),
            Ok(k) => k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        done += k as u64;
        f(&buf[..k], done)?;
    }
}

/// Copies `r` to `w`, reporting the bytes copied so far; returns the byte count.
pub(crate) fn copy_with_progress(
    r: impl Read,
    w: &mut impl Write,
    progress: &mut dyn FnMut(u64),
) -> io::Result<u64> {
    for_each_chunk(r, |chunk, done| {
        w.write_all(chunk)?;
        progress(done);
        Ok(())
    })
}
