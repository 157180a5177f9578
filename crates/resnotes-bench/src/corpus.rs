//! A deterministic synthetic corpus: markdown notes of 200 B – 20 KB, most of them short (sizes
//! follow 200 B × 100^(u³) for uniform u: median ≈ 1 KB, a long tail up to 20 KB).

/// xorshift64*: small, fast and deterministic; the seed is passed in so runs are repeatable.
pub struct Rng(u64);

impl Rng {
    /// A generator from a non-zero seed.
    pub fn new(seed: u64) -> Self {
        Rng(seed.max(1))
    }
    /// Next 64 random bits.
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    /// Uniform in [0, n).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const WORDS: &[&str] = &[
    "meeting", "notes", "project", "idea", "sync", "folder", "draft", "review", "list", "travel",
    "budget", "recipe", "garden", "book", "chapter", "todo", "call", "email", "design", "plan",
    "weekly", "summary", "question", "answer", "research", "paper", "link", "follow", "up", "with",
    "the", "a", "and", "for", "on", "in", "to", "of", "is", "about", "before", "after", "check",
    "write", "read", "team", "client", "deadline", "friday", "monday", "morning", "evening",
    "home", "office",
];

/// A sentence of 5–14 words ending with a full stop.
pub fn sentence(rng: &mut Rng) -> String {
    let n = 5 + rng.below(10);
    let mut s = String::new();
    for i in 0..n {
        let w = WORDS[rng.below(WORDS.len())];
        if i == 0 {
            let mut c = w.chars();
            s.extend(c.next().map(|c| c.to_ascii_uppercase()));
            s.push_str(c.as_str());
        } else {
            s.push(' ');
            s.push_str(w);
        }
    }
    s.push('.');
    s
}

/// A title of 2–5 words.
pub fn title(rng: &mut Rng) -> String {
    let n = 2 + rng.below(4);
    (0..n).map(|_| WORDS[rng.below(WORDS.len())]).collect::<Vec<_>>().join(" ")
}

/// A markdown body of about `size` bytes: headings, paragraphs, list items and checkboxes.
pub fn body_of_size(rng: &mut Rng, size: usize) -> String {
    let mut b = String::with_capacity(size + 100);
    while b.len() < size {
        match rng.below(6) {
            0 => b.push_str(&format!("## {}\n\n", title(rng))),
            1 => b.push_str(&format!("- {}\n", sentence(rng))),
            2 => b.push_str(&format!("- [ ] {}\n", sentence(rng))),
            _ => {
                let mut p = String::new();
                for _ in 0..(1 + rng.below(4)) {
                    p.push_str(&sentence(rng));
                    p.push(' ');
                }
                b.push_str(p.trim_end());
                b.push_str("\n\n");
            }
        }
    }
    b.truncate(b.char_indices().map(|(i, _)| i).take_while(|i| *i <= size).last().unwrap_or(0));
    b
}

/// A body whose size follows the corpus distribution.
pub fn body(rng: &mut Rng) -> String {
    let u = rng.unit();
    let size = (200.0 * 100f64.powf(u * u * u)) as usize;
    body_of_size(rng, size)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_stay_in_range_and_are_repeatable() {
        let mut r = Rng::new(7);
        let sizes: Vec<usize> = (0..2000).map(|_| body(&mut r).len()).collect();
        assert!(sizes.iter().all(|s| (150..=20_000).contains(s)), "{:?}", sizes.iter().max());
        let mut r2 = Rng::new(7);
        assert_eq!(body(&mut r2).len(), sizes[0]);
    }
}
