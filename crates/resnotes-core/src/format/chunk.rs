//! The structural check of Automerge change chunks (FORMAT.md §6): cheap enough to run on every
//! change of every entry a reader accepts, before the changes are parsed in full.

use crate::format::entry::{sha256, NoteChange};

/// First bytes of every Automerge chunk.
const CHUNK_MAGIC: [u8; 4] = [0x85, 0x6f, 0x4a, 0x83];

/// Checks that every change of an entry is a well-formed Automerge change chunk (FORMAT.md §6):
/// magic, chunk type 1 (change), a length that ends exactly at the end, and the checksum (the
/// first 4 bytes of the SHA-256 the change hash is made of). It costs a hash instead of a full
/// parse (which decodes every operation: most of a join's time); changes are parsed in full
/// when applied. A change that fails makes the whole entry malformed.
///
/// Chunk type 2 (a compressed change) is refused: writers exchange changes uncompressed
/// (`Change::raw_bytes()`), and Automerge inflates a compressed one without a bound, so 2 KB of
/// DEFLATE can demand gigabytes (a decompression bomb that crashed every device syncing the
/// folder). Deflated columns inside a type 1 change are refused by Automerge's own parser
/// before anything is inflated.
pub fn check_chunks(changes: &[NoteChange]) -> std::result::Result<(), String> {
    for c in changes {
        check_chunk(&c.change).map_err(|why| {
            format!("a change for note {} is not a valid Automerge change: {why}", c.note)
        })?;
    }
    Ok(())
}

fn check_chunk(b: &[u8]) -> std::result::Result<(), &'static str> {
    if b.len() < 10 || b[..4] != CHUNK_MAGIC {
        return Err("no Automerge chunk header");
    }
    match b[8] {
        1 => {}
        2 => return Err("a compressed change, which writers of this format never produce"),
        _ => return Err("not a change chunk"),
    }
    let (mut len, mut shift, mut pos) = (0u64, 0u32, 9usize);
    loop {
        let byte = *b.get(pos).ok_or("length cut short")?;
        pos += 1;
        if shift > 56 {
            return Err("length too long");
        }
        len |= u64::from(byte & 0x7f) << shift;
        shift += 7;
        if byte & 0x80 == 0 {
            break;
        }
    }
    if (b.len() - pos) as u64 != len {
        return Err("length does not match");
    }
    if sha256(&b[8..])[..4] != b[4..8] {
        return Err("checksum does not match");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::docs::note;
    use automerge::Change;
    use uuid::Uuid;

    #[test]
    fn chunk_check_accepts_real_changes_and_refuses_damaged_ones() {
        let me = Uuid::from_u128(1);
        let mut doc = note::new_doc(&me);
        note::create(&mut doc, "t", &"a long body ".repeat(100), 1).unwrap();
        let change = note::take_change(&mut doc, 0).unwrap();
        assert_eq!(check_chunk(&change), Ok(()));
        let mut flipped = change.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 1;
        assert_eq!(check_chunk(&flipped), Err("checksum does not match"));
        assert_eq!(check_chunk(&change[..change.len() - 1]), Err("length does not match"));
        let mut longer = change.clone();
        longer.push(0);
        assert_eq!(check_chunk(&longer), Err("length does not match"));
        assert_eq!(check_chunk(&[0; 12]), Err("no Automerge chunk header"));
        let mut doc_chunk = change.clone();
        doc_chunk[8] = 0;
        assert_eq!(check_chunk(&doc_chunk), Err("not a change chunk"));
        // A compressed change is refused: Automerge would inflate it without a bound.
        let mut c = Change::from_bytes(change).unwrap();
        let packed = c.bytes().to_vec();
        assert_eq!(packed[8], 2);
        assert_eq!(
            check_chunk(&packed),
            Err("a compressed change, which writers of this format never produce")
        );
    }
}
