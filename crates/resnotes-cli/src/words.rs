//! Numbers in sentences: what the CLI prints reads as words, "1 note", "1,200 entries".

/// `n` and the word for it, singular for exactly one, with thousands separated.
pub fn count(n: u64, one: &str, many: &str) -> String {
    format!("{} {}", indicatif::HumanCount(n), if n == 1 { one } else { many })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_read_as_words() {
        assert_eq!(count(1, "entry", "entries"), "1 entry");
        assert_eq!(count(0, "entry", "entries"), "0 entries");
        assert_eq!(count(1200, "entry", "entries"), "1,200 entries");
        assert_eq!(count(1_234_567, "file", "files"), "1,234,567 files");
    }
}
