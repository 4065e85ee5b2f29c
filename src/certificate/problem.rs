//! Why a file is not a certificate this tool can read, in the words users see.

use crate::error::Error;

/// Why a file is not a certificate this tool can read, in the words users see (the
/// parsers' own Debug names, such as `NomError(Eof)`, are not shown).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CertProblem {
    /// A `-----BEGIN` line without its `-----END` line.
    Unterminated,
    /// A `-----BEGIN` line that is not well formed.
    MalformedBegin,
    /// The text between the lines is not base64.
    Base64,
    /// No `-----BEGIN CERTIFICATE-----` block at all.
    NoCertificate,
    /// A PEM block over the parser's 256 MB limit.
    TooLarge,
    /// The file could not be read.
    Unreadable(String),
    /// The DER inside is not an X.509 certificate (truncated, or another object).
    NotX509,
    /// A validity date this tool cannot represent.
    BadTime,
}

/// A certificate file that does not read: which one, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CertError {
    pub(crate) label: String,
    pub(crate) problem: CertProblem,
}

impl std::fmt::Display for CertError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let label = &self.label;
        let pem = |f: &mut std::fmt::Formatter<'_>, why: &str| {
            write!(f, "{label}: not a PEM certificate: {why}")
        };
        match &self.problem {
            CertProblem::Unterminated => pem(f, "a -----BEGIN line without its -----END line"),
            CertProblem::MalformedBegin => pem(f, "a malformed -----BEGIN line"),
            CertProblem::Base64 => pem(f, "the text between -----BEGIN and -----END is not base64"),
            CertProblem::TooLarge => pem(f, "a PEM block larger than 256 MB"),
            CertProblem::Unreadable(e) => write!(f, "{label}: cannot be read: {e}"),
            CertProblem::NoCertificate => write!(
                f,
                "{label}: holds no certificate (no -----BEGIN CERTIFICATE----- block)"
            ),
            CertProblem::NotX509 => write!(
                f,
                "{label}: not an X.509 certificate: what is inside the PEM block is truncated or another kind of object"
            ),
            CertProblem::BadTime => write!(f, "{label}: a validity date out of range"),
        }
    }
}

impl std::error::Error for CertError {}

impl From<CertError> for Error {
    fn from(e: CertError) -> Error {
        Error::failed(e.to_string())
    }
}

impl CertError {
    pub(crate) fn new(label: &str, problem: CertProblem) -> CertError {
        CertError {
            label: label.to_owned(),
            problem,
        }
    }

    /// A PEM parser's refusal.
    pub(crate) fn pem(label: &str, e: rustls_pki_types::pem::Error) -> CertError {
        use rustls_pki_types::pem::Error as P;
        let problem = match e {
            P::MissingSectionEnd { .. } => CertProblem::Unterminated,
            P::IllegalSectionStart { .. } => CertProblem::MalformedBegin,
            P::Base64Decode(_) => CertProblem::Base64,
            P::NoItemsFound => CertProblem::NoCertificate,
            P::SectionTooLarge => CertProblem::TooLarge,
            P::Io(e) => CertProblem::Unreadable(e.to_string()),
            _ => CertProblem::NotX509,
        };
        CertError::new(label, problem)
    }
}
