//! A small RESP2 client: commands as arrays of bulk strings, replies read back as simple
//! strings, errors, integers, bulk strings and arrays. It speaks over any byte stream
//! (a plain `TcpStream` or a rustls `StreamOwned`), whose timeouts are the socket's.
//! The commands need a handful of commands (AUTH, SELECT, PING, INFO, CLUSTER INFO,
//! CONFIG SET, ACL), which do not justify a full client's dependencies in the binary.
//!
//! Arguments of a command are never kept, logged or put into an error: an AUTH password
//! exists only in the bytes written to the stream.

use std::fmt;
use std::io::{self, BufRead, BufReader, Read, Write};

use crate::server::deadline::Expired;
use crate::server::pinned::Stranger;

/// The most bytes one reply may take, all its parts together: an INFO reply is a few
/// KiB, so more is a broken or hostile peer, not a reason to allocate.
pub(crate) const MAX_REPLY: usize = 1024 * 1024;

/// A stream a connection can run over.
pub(crate) trait Stream: Read + Write + Send {}
impl<T: Read + Write + Send> Stream for T {}

/// One reply of the server (an error reply is an [`Error::Server`] instead).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Reply {
    Simple(String),
    Integer(i64),
    Bulk(Option<Vec<u8>>),
    Array(Option<Vec<Reply>>),
}

/// Why a command failed.
#[derive(Debug)]
pub(crate) enum Error {
    /// The stream failed: connect, TLS, or the server closed or reset it.
    Io(io::Error),
    /// The conversation's deadline passed before the server finished answering.
    NoAnswer(Expired),
    /// The TLS peer is not a server of this folder: nothing but a TLS hello was sent.
    Stranger(Stranger),
    /// The server answered an error reply to `command` (its name only): `code` is the first
    /// word (`WRONGPASS`, `NOAUTH`, `NOPERM`, `ERR`), `message` the whole line.
    Server {
        command: String,
        code: String,
        message: String,
    },
    /// The reply was not RESP2, or not of the type the command answers.
    Protocol(String),
}

impl Error {
    /// The error code of a server error reply.
    pub(crate) fn code(&self) -> Option<&str> {
        match self {
            Error::Server { code, .. } => Some(code),
            _ => None,
        }
    }

    /// Whether the server refused an AUTH.
    pub(crate) fn auth_failed(&self) -> bool {
        matches!(self, Error::Server { command, .. } if command == "AUTH")
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io(e) => e.fmt(f),
            Error::NoAnswer(e) => e.fmt(f),
            Error::Stranger(s) => s.fmt(f),
            Error::Server { message, .. } => f.write_str(message),
            Error::Protocol(why) => write!(f, "protocol error: {why}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<io::Error> for Error {
    /// A deadline that passed (however deep a TLS layer passed it on) is its own error.
    fn from(e: io::Error) -> Self {
        match crate::server::deadline::expired_in(&e) {
            Some(expired) => Error::NoAnswer(expired.clone()),
            None => Error::Io(e),
        }
    }
}

pub(crate) type Result<T> = std::result::Result<T, Error>;

/// A connection: one command at a time, each reply read in full before the next.
pub(crate) struct Connection {
    stream: BufReader<Box<dyn Stream>>,
}

impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("resp::Connection")
    }
}

impl Connection {
    pub(crate) fn new(stream: impl Stream + 'static) -> Self {
        Connection {
            stream: BufReader::new(Box::new(stream)),
        }
    }

    /// Send one command and read its reply; an error reply is `Err(Error::Server)`.
    pub(crate) fn command(&mut self, args: &[&str]) -> Result<Reply> {
        let writer = self.stream.get_mut();
        writer.write_all(&encode(args))?;
        writer.flush()?;
        read_reply(&mut self.stream).map_err(|e| match e {
            Error::Server { code, message, .. } => Error::Server {
                command: args
                    .first()
                    .map(|c| c.to_ascii_uppercase())
                    .unwrap_or_default(),
                code,
                message,
            },
            other => other,
        })
    }

    /// A command whose reply is text: a simple or bulk string.
    pub(crate) fn text(&mut self, args: &[&str]) -> Result<String> {
        match self.command(args)? {
            Reply::Simple(s) => Ok(s),
            Reply::Bulk(Some(b)) => String::from_utf8(b)
                .map_err(|_| Error::Protocol(format!("{} answered non-UTF-8 text", args[0]))),
            other => Err(Error::Protocol(format!(
                "{} answered {other:?}, not text",
                args[0]
            ))),
        }
    }

    /// AUTH with a user name (ACL) or the password alone (the default user).
    pub(crate) fn auth(&mut self, user: Option<&str>, password: &str) -> Result<()> {
        match user {
            Some(user) => self.ok(&["AUTH", user, password]),
            None => self.ok(&["AUTH", password]),
        }
    }

    pub(crate) fn select(&mut self, db: i64) -> Result<()> {
        self.ok(&["SELECT", &db.to_string()])
    }

    /// A command that answers `+OK`.
    pub(crate) fn ok(&mut self, args: &[&str]) -> Result<()> {
        match self.command(args)? {
            Reply::Simple(s) if s == "OK" => Ok(()),
            other => Err(Error::Protocol(format!(
                "{} answered {other:?}, not OK",
                args[0]
            ))),
        }
    }
}

/// A command as a RESP array of bulk strings.
fn encode(args: &[&str]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// What is left of a reply's [`MAX_REPLY`] bytes.
struct Budget(usize);

impl Budget {
    fn take(&mut self, n: usize) -> Result<()> {
        self.0 = self.0.checked_sub(n).ok_or_else(too_large)?;
        Ok(())
    }
}

fn too_large() -> Error {
    Error::Protocol(format!("a reply larger than {} KiB", MAX_REPLY / 1024))
}

/// One line up to CRLF, without it. The end of the stream is `UnexpectedEof`: the
/// server closed the connection.
fn line(r: &mut impl BufRead, budget: &mut Budget) -> Result<String> {
    let mut buf = Vec::new();
    let n = r.take(budget.0 as u64).read_until(b'\n', &mut buf)?;
    if n == 0 && budget.0 > 0 {
        return Err(Error::Io(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "the server closed the connection",
        )));
    }
    budget.take(n)?;
    if !buf.ends_with(b"\n") && budget.0 == 0 {
        return Err(too_large());
    }
    if !buf.ends_with(b"\r\n") {
        return Err(Error::Protocol("a reply line does not end in CRLF".into()));
    }
    buf.truncate(buf.len() - 2);
    String::from_utf8(buf).map_err(|_| Error::Protocol("a reply line is not UTF-8".into()))
}

/// A length of a bulk string or array: -1 is null.
fn length(text: &str) -> Result<Option<usize>> {
    if text == "-1" {
        return Ok(None);
    }
    match text.parse::<usize>() {
        Ok(n) if n <= MAX_REPLY => Ok(Some(n)),
        Ok(_) => Err(too_large()),
        _ => Err(Error::Protocol(format!("bad length {text:?}"))),
    }
}

/// Arrays nested deeper than this are refused: the replies read here (INFO, CLUSTER
/// INFO, OK) nest at most twice, and each level is a frame on the stack, so a server
/// sending `*1\r\n` a million times would otherwise abort the process.
const MAX_DEPTH: usize = 32;

/// One reply. An error reply inside an array fails the whole reply.
pub(crate) fn read_reply(r: &mut impl BufRead) -> Result<Reply> {
    read_nested(r, 0, &mut Budget(MAX_REPLY))
}

fn read_nested(r: &mut impl BufRead, depth: usize, budget: &mut Budget) -> Result<Reply> {
    if depth > MAX_DEPTH {
        return Err(Error::Protocol(format!(
            "arrays nested deeper than {MAX_DEPTH} levels"
        )));
    }
    let l = line(r, budget)?;
    let (kind, rest) = l.split_at(l.chars().next().map_or(0, char::len_utf8));
    match kind {
        "+" => Ok(Reply::Simple(rest.to_owned())),
        "-" => Err(Error::Server {
            command: String::new(),
            code: rest.split(' ').next().unwrap_or_default().to_owned(),
            message: rest.to_owned(),
        }),
        ":" => rest
            .parse()
            .map(Reply::Integer)
            .map_err(|_| Error::Protocol(format!("bad integer {rest:?}"))),
        "$" => match length(rest)? {
            None => Ok(Reply::Bulk(None)),
            Some(n) => {
                budget.take(n + 2)?;
                let mut data = vec![0; n + 2];
                r.read_exact(&mut data)?;
                if !data.ends_with(b"\r\n") {
                    return Err(Error::Protocol("a bulk string does not end in CRLF".into()));
                }
                data.truncate(n);
                Ok(Reply::Bulk(Some(data)))
            }
        },
        "*" => match length(rest)? {
            None => Ok(Reply::Array(None)),
            Some(n) => {
                // Each element takes at least 3 bytes (`+\r\n`): a count the budget
                // cannot hold is refused before anything is allocated for it.
                if n.saturating_mul(3) > budget.0 {
                    return Err(too_large());
                }
                let mut items = Vec::with_capacity(n.min(1024));
                for _ in 0..n {
                    items.push(read_nested(r, depth + 1, budget)?);
                }
                Ok(Reply::Array(Some(items)))
            }
        },
        _ => Err(Error::Protocol(format!(
            "unknown reply type {:?}",
            kind.chars().next().unwrap_or(' ')
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    /// A stream that answers `replies` and records what was written.
    struct Scripted {
        replies: Cursor<Vec<u8>>,
        written: std::sync::Arc<std::sync::Mutex<Vec<u8>>>,
    }

    impl Read for Scripted {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            self.replies.read(buf)
        }
    }

    impl Write for Scripted {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.written.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn scripted(replies: &[u8]) -> (Connection, std::sync::Arc<std::sync::Mutex<Vec<u8>>>) {
        let written = std::sync::Arc::default();
        let s = Scripted {
            replies: Cursor::new(replies.to_vec()),
            written: std::sync::Arc::clone(&written),
        };
        (Connection::new(s), written)
    }

    fn parse(bytes: &[u8]) -> Result<Reply> {
        read_reply(&mut Cursor::new(bytes.to_vec()))
    }

    #[test]
    fn commands_are_arrays_of_bulk_strings() {
        assert_eq!(
            encode(&["AUTH", "kimera_user", "p ss\r\n"]),
            b"*3\r\n$4\r\nAUTH\r\n$11\r\nkimera_user\r\n$6\r\np ss\r\n\r\n".to_vec()
        );
        assert_eq!(encode(&["PING"]), b"*1\r\n$4\r\nPING\r\n".to_vec());
    }

    #[test]
    fn every_reply_type_parses() {
        assert_eq!(parse(b"+PONG\r\n").unwrap(), Reply::Simple("PONG".into()));
        assert_eq!(parse(b":-42\r\n").unwrap(), Reply::Integer(-42));
        assert_eq!(
            parse(b"$5\r\na\r\nbc\r\n").unwrap(),
            Reply::Bulk(Some(b"a\r\nbc".to_vec()))
        );
        assert_eq!(parse(b"$0\r\n\r\n").unwrap(), Reply::Bulk(Some(Vec::new())));
        assert_eq!(parse(b"$-1\r\n").unwrap(), Reply::Bulk(None));
        assert_eq!(parse(b"*-1\r\n").unwrap(), Reply::Array(None));
        assert_eq!(
            parse(b"*3\r\n+OK\r\n:1\r\n*1\r\n$1\r\nx\r\n").unwrap(),
            Reply::Array(Some(vec![
                Reply::Simple("OK".into()),
                Reply::Integer(1),
                Reply::Array(Some(vec![Reply::Bulk(Some(b"x".to_vec()))])),
            ]))
        );
    }

    #[test]
    fn an_error_reply_carries_its_code_and_line() {
        let e = parse(b"-WRONGPASS invalid username-password pair\r\n").unwrap_err();
        assert_eq!(e.code(), Some("WRONGPASS"));
        assert_eq!(e.to_string(), "WRONGPASS invalid username-password pair");
    }

    #[test]
    fn broken_replies_are_protocol_errors_or_eof() {
        for bad in [
            &b"?x\r\n"[..],
            b"+no crlf\n",
            b":12a\r\n",
            b"$3\r\nabcd\r\n",
            b"$-2\r\n",
            b"$99999999999\r\n",
            b"*x\r\n",
        ] {
            assert!(
                matches!(parse(bad), Err(Error::Protocol(_))),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
        for short in [&b""[..], b"$5\r\nab", b"*2\r\n+OK\r\n"] {
            match parse(short) {
                Err(Error::Io(e)) => assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof),
                other => panic!("{:?}: {other:?}", String::from_utf8_lossy(short)),
            }
        }
    }

    #[test]
    fn auth_errors_name_the_command_but_never_the_password() {
        let (mut con, written) =
            scripted(b"-WRONGPASS invalid username-password pair or user is disabled.\r\n");
        let e = con.auth(Some("kimera_user"), "s3cret-pass").unwrap_err();
        assert!(e.auth_failed());
        assert_eq!(e.code(), Some("WRONGPASS"));
        assert!(!e.to_string().contains("s3cret"), "{e}");
        assert!(!format!("{e:?}").contains("s3cret"), "{e:?}");
        assert!(!format!("{con:?}").contains("s3cret"));
        assert_eq!(
            written.lock().unwrap().as_slice(),
            b"*3\r\n$4\r\nAUTH\r\n$11\r\nkimera_user\r\n$11\r\ns3cret-pass\r\n"
        );
    }

    #[test]
    fn a_session_reads_each_reply_in_turn() {
        let (mut con, written) = scripted(
            b"+OK\r\n+OK\r\n+PONG\r\n$30\r\n# Server\r\nredis_version:7.0.15\r\n-NOPERM no\r\n",
        );
        con.auth(None, "pw").unwrap();
        con.select(3).unwrap();
        assert_eq!(con.text(&["PING"]).unwrap(), "PONG");
        assert_eq!(
            con.text(&["INFO", "server"]).unwrap(),
            "# Server\r\nredis_version:7.0.15"
        );
        let e = con.ok(&["config", "SET", "a", "b"]).unwrap_err();
        assert_eq!(e.code(), Some("NOPERM"));
        assert!(!e.auth_failed());
        assert!(matches!(&e, Error::Server { command, .. } if command == "CONFIG"));
        let sent = String::from_utf8(written.lock().unwrap().clone()).unwrap();
        assert!(sent.contains("*2\r\n$6\r\nSELECT\r\n$1\r\n3\r\n"), "{sent}");
        // The next command finds the stream at its end: the server is gone.
        assert!(matches!(con.text(&["PING"]), Err(Error::Io(_))));
    }

    #[test]
    fn a_wrong_reply_type_is_an_error() {
        let (mut con, _) = scripted(b":1\r\n+QUEUED\r\n");
        assert!(matches!(con.text(&["PING"]), Err(Error::Protocol(_))));
        assert!(matches!(con.ok(&["SELECT", "1"]), Err(Error::Protocol(_))));
    }

    #[test]
    fn a_reply_larger_than_the_cap_is_refused_before_it_is_read() {
        let cap = format!("a reply larger than {} KiB", MAX_REPLY / 1024);
        // Huge counts refuse at once, nested or not, and allocate nothing for them.
        let headers = b"*67108864\r\n".repeat(100_000);
        for bad in [
            headers,
            format!("${}\r\n", MAX_REPLY + 1).into_bytes(),
            [b"+".as_slice(), &vec![b'a'; MAX_REPLY + 10], b"\r\n"].concat(),
        ] {
            let err = parse(&bad).unwrap_err();
            assert_eq!(err.to_string(), format!("protocol error: {cap}"));
        }
        // Parts that pass one by one still count together.
        let part = format!("${}\r\n{}\r\n", MAX_REPLY / 4, "x".repeat(MAX_REPLY / 4));
        let mut four = b"*4\r\n".to_vec();
        four.extend(part.repeat(4).into_bytes());
        assert_eq!(
            parse(&four).unwrap_err().to_string(),
            format!("protocol error: {cap}")
        );
        let mut three = b"*3\r\n".to_vec();
        three.extend(part.repeat(3).into_bytes());
        assert!(parse(&three).is_ok());
    }

    #[test]
    fn deeply_nested_arrays_are_refused_not_a_stack_overflow() {
        let mut bytes = b"*1\r\n".repeat(1_000_000);
        bytes.extend_from_slice(b":1\r\n");
        let err = read_reply(&mut Cursor::new(bytes)).unwrap_err();
        assert!(err.to_string().contains("nested deeper than 32"), "{err}");
        let mut ok = b"*1\r\n".repeat(32);
        ok.extend_from_slice(b":1\r\n");
        assert!(read_reply(&mut Cursor::new(ok)).is_ok());
    }
}
