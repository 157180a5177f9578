//! How strong a workspace passphrase must be, and how hard it is to test one: the passphrase
//! wraps the workspace key in every copy of `index.json` (old ones stay in cloud folders'
//! version history), so whoever gets one can try passphrases offline for as long as they like.
//!
//! Strength is zxcvbn's estimate of the guesses an attacker needs (dictionaries, names,
//! keyboard patterns, l33t, years), not a count of character classes: "Password1!" is
//! trivially guessable and refused, however many classes it mixes.

use serde::Serialize;
use ts_rs::TS;

use crate::error::{Error, Result};

/// Shortest passphrase accepted, whatever its estimate.
pub(crate) const MIN_PASSPHRASE_LEN: usize = 8;
/// Smallest zxcvbn score accepted: 3, "safely unguessable" (over 10^8 guesses), which scrypt's
/// cost per guess (about a second here) makes years of work.
const MIN_SCORE: u8 = 3;
/// Default scrypt work factor for wrapping the key with a passphrase (~1 s here).
pub const DEFAULT_SCRYPT_LOG_N: u8 = 18;

/// How strong a passphrase looks, for the strength shown while choosing one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, TS)]
pub struct Strength {
    /// Estimated guesses an attacker needs, as bits (log2).
    pub bits: u32,
    /// `too short`, `weak`, `fair`, `good` or `strong`.
    pub label: String,
    /// Whether it is accepted at all.
    pub acceptable: bool,
    /// What to do about it, in one sentence, when it is not strong ("Add another word or
    /// two…"); empty for a strong one.
    pub advice: String,
}

/// Rates a passphrase with zxcvbn. Too short or trivially guessable ones are not acceptable.
pub fn strength(passphrase: &str) -> Strength {
    let e = zxcvbn::zxcvbn(passphrase, &["resilient", "notes", "resnotes"]);
    let score = u8::from(e.score());
    let bits = (e.guesses_log10() * std::f64::consts::LOG2_10).round().max(0.0) as u32;
    let long_enough = passphrase.chars().count() >= MIN_PASSPHRASE_LEN;
    let label = match score {
        _ if !long_enough => "too short",
        0 | 1 => "weak",
        2 => "fair",
        3 => "good",
        _ => "strong",
    };
    let advice = if !long_enough {
        format!("use at least {MIN_PASSPHRASE_LEN} characters; a few unrelated words are best")
    } else {
        let f = e.feedback();
        let mut parts: Vec<String> =
            f.and_then(|f| f.warning()).map(|w| w.to_string()).into_iter().collect();
        parts.extend(f.map(|f| f.suggestions()).unwrap_or_default().iter().map(|s| s.to_string()));
        if parts.is_empty() && score < 4 {
            parts.push("Add another word or two. Uncommon words are better.".into());
        }
        parts.join(" ")
    };
    Strength { bits, label: label.into(), acceptable: long_enough && score >= MIN_SCORE, advice }
}

/// Refuses passphrases that are too short or too easy to guess to protect the workspace key,
/// saying why and what to do.
pub fn check_passphrase(p: &str) -> Result<()> {
    let s = strength(p);
    if s.acceptable {
        return Ok(());
    }
    Err(Error::WeakPassphrase(format!(
        "this passphrase is {} to protect your notes: {}",
        if s.label == "too short" { "too short" } else { "too easy to guess" },
        s.advice.trim_end_matches('.')
    )))
}

/// The scrypt work factor for new passphrase wraps: [`DEFAULT_SCRYPT_LOG_N`], or more with
/// `RESNOTES_SCRYPT_LOG_N` (18..=22; a lower value is ignored: it would make the wrapped key
/// cheap to attack). Tests, which wrap hundreds of keys, lower it with the explicitly named
/// `RESNOTES_TEST_ONLY_WEAK_SCRYPT_LOG_N` (10..=22), never set by a user.
pub fn scrypt_log_n() -> u8 {
    let var = |name: &str, range: std::ops::RangeInclusive<u8>| {
        std::env::var(name).ok().and_then(|v| v.parse().ok()).filter(|n| range.contains(n))
    };
    var("RESNOTES_TEST_ONLY_WEAK_SCRYPT_LOG_N", 10..=22)
        .or_else(|| var("RESNOTES_SCRYPT_LOG_N", DEFAULT_SCRYPT_LOG_N..=22))
        .unwrap_or(DEFAULT_SCRYPT_LOG_N)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guessable_passphrases_are_refused_and_strong_ones_accepted() {
        // (passphrase, acceptable)
        let cases = [
            ("password", false),
            ("Password1!", false),
            ("letmein123", false),
            ("qwertyuiop", false),
            ("short", false),
            ("correct horse battery staple", true),
            ("ivory tugboat quietly sketching", true),
            ("Tr0ub4dor&3-blue-kettle", true),
        ];
        for (p, ok) in cases {
            let s = strength(p);
            assert_eq!(s.acceptable, ok, "{p:?}: {s:?}");
            assert_eq!(check_passphrase(p).is_ok(), ok, "{p:?}");
            if !ok {
                assert!(!s.advice.is_empty(), "{p:?} gets advice");
            }
        }
        assert_eq!(strength("short").label, "too short");
        let err = check_passphrase("Password1!").unwrap_err().to_string();
        assert!(err.starts_with("this passphrase is too easy to guess"), "{err}");
        assert!(strength("correct horse battery staple").bits < 100, "not 164 bits any more");
    }
}
