//! SHA-256 digests in the two spellings the outputs use: lowercase hex (users.acl's
//! `#<hash>` passwords, content hashes) and colon-separated uppercase hex (certificate
//! fingerprints, as `openssl x509 -fingerprint -sha256` prints them). Hex encoding is
//! the `hex` crate's everywhere.

fn sha256(bytes: &[u8]) -> aws_lc_rs::digest::Digest {
    aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, bytes)
}

/// The form users.acl stores passwords in: `#` + 64 lowercase hex digits (without the `#`).
pub(crate) fn sha256_hex(text: &str) -> String {
    hex::encode(sha256(text.as_bytes()))
}

/// A certificate's SHA-256 fingerprint: `AB:CD:...`.
pub(crate) fn fingerprint(der: &[u8]) -> String {
    let upper = hex::encode_upper(sha256(der));
    let pairs: Vec<&str> = upper
        .as_bytes()
        .chunks(2)
        .map(|p| std::str::from_utf8(p).expect("hex digits are ASCII"))
        .collect();
    pairs.join(":")
}
