//! Random text from the one random source of the program, aws-lc's (the OS CSPRNG), which
//! also makes the keys and serial numbers.

const ALPHANUMERIC: &[u8; 62] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// The largest multiple of 62 a byte holds: bytes from it on are drawn again, so that
/// every character is equally likely (a plain `% 62` would favour the first eight).
const ACCEPT_BELOW: u8 = 62 * 4;

/// `len` characters from `[A-Za-z0-9]`, uniformly: passwords that need no quoting in any
/// file format they go into.
pub(crate) fn alphanumeric(len: usize) -> String {
    let mut out = String::with_capacity(len);
    let mut buf = [0u8; 64];
    while out.len() < len {
        aws_lc_rs::rand::fill(&mut buf).expect("the OS random source works");
        out.extend(
            buf.iter()
                .filter(|b| **b < ACCEPT_BELOW)
                .map(|b| ALPHANUMERIC[usize::from(*b % 62)] as char)
                .take(len - out.len()),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_have_the_length_and_alphabet_asked_for() {
        for len in [0, 1, 32, 200] {
            let p = alphanumeric(len);
            assert_eq!(p.len(), len);
            assert!(p.bytes().all(|b| b.is_ascii_alphanumeric()), "{p}");
        }
        assert_ne!(alphanumeric(32), alphanumeric(32));
    }

    /// Every character turns up, none far more often than the others: with 62 * 2000
    /// draws each is expected 2000 times (sd about 44); a `% 62` bias would put the first
    /// eight near 2000 * 5 / 4.
    #[test]
    fn every_character_is_about_as_likely() {
        let mut counts = [0u32; 62];
        for c in alphanumeric(62 * 2000).bytes() {
            counts[ALPHANUMERIC.iter().position(|a| *a == c).unwrap()] += 1;
        }
        for (i, n) in counts.iter().enumerate() {
            assert!(
                (1750..=2250).contains(n),
                "{} drawn {n} times",
                ALPHANUMERIC[i] as char
            );
        }
    }
}
