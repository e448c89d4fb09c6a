//! The contents the segmenter is measured on: `icount.rs`'s `segment` group counts them and
//! `examples/encode_prof.rs` profiles them (it includes this file), so a profile is of the very
//! case the gate counts.

/// A short link as the API hands it out (`--short-link-case host`): alphanumeric after `https`.
pub const SHORT_API: &str = "https://QR.EXAMPLE.COM/R/7K2D9QX4M1ZB";

/// The most digits a symbol holds (version 40 at ECC L): the longest content the segmenter
/// walks, in one version class (its lower bound rules out the two smaller ones).
pub fn max_digits() -> Vec<u8> {
    (0..7089).map(|i| b'0' + (i * 7 % 10) as u8).collect()
}

/// Letter, digit, letter, … as long as the characters' lower bound still fits a version-26
/// symbol at ECC L (1932 characters: 966 × (8 + 3⅓) bits + a header = 10 960 bits, the class's
/// capacity) while byte mode, the optimum, needs version 27 or more: the one kind of content
/// the segmenter runs for two version classes, each over the whole content.
pub fn mixed_two_classes() -> Vec<u8> {
    (0..1932)
        .map(|i| {
            if i % 2 == 0 {
                b'a' + (i % 26) as u8
            } else {
                b'0' + (i % 10) as u8
            }
        })
        .collect()
}
