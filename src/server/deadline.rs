//! A deadline for a conversation with a server, and a TCP stream that keeps it: every
//! read and write waits at most for what is left of it, so a server that trickles one
//! byte a second, or never answers, ends the conversation when the deadline passes
//! (a socket timeout alone restarts with each byte).

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

/// The default of `--timeout`: long enough for a TLS handshake across a continent and a
/// CONFIG SET that loads new files, short enough that a stuck server is named quickly.
pub(crate) const DEFAULT_TIMEOUT_SECS: u64 = 10;

/// When a conversation must be over.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Deadline {
    at: Instant,
    budget: Duration,
}

impl Deadline {
    /// A deadline `budget` from now.
    pub(crate) fn after(budget: Duration) -> Deadline {
        Deadline {
            at: Instant::now() + budget,
            budget,
        }
    }

    /// What is left of it; `None` once it has passed (a zero socket timeout would mean
    /// "wait forever").
    pub(crate) fn left(&self) -> Option<Duration> {
        self.at
            .checked_duration_since(Instant::now())
            .filter(|d| !d.is_zero())
    }

    /// The same deadline, but no later than `limit` from now.
    pub(crate) fn at_most(self, limit: Duration) -> Deadline {
        let capped = Instant::now() + limit;
        if capped < self.at {
            Deadline {
                at: capped,
                budget: limit,
            }
        } else {
            self
        }
    }

    /// The error a stream returns once it has passed.
    pub(crate) fn expired(&self, addr: &str) -> io::Error {
        io::Error::new(
            io::ErrorKind::TimedOut,
            Expired {
                addr: addr.to_owned(),
                within: self.budget,
            },
        )
    }
}

/// A conversation that ran out of time: the server accepted the connection (or never
/// answered the connect) but did not finish answering before the deadline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Expired {
    pub(crate) addr: String,
    pub(crate) within: Duration,
}

impl fmt::Display for Expired {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let within = self.within.as_secs_f64();
        write!(f, "no answer from {} within {within} s", self.addr)
    }
}

impl std::error::Error for Expired {}

/// A TCP connection whose reads and writes end at the deadline.
#[derive(Debug)]
pub(crate) struct Bounded {
    sock: TcpStream,
    deadline: Deadline,
    addr: String,
}

impl Bounded {
    fn arm(&self, set: fn(&TcpStream, Option<Duration>) -> io::Result<()>) -> io::Result<()> {
        let left = self
            .deadline
            .left()
            .ok_or_else(|| self.deadline.expired(&self.addr))?;
        set(&self.sock, Some(left))
    }

    /// A socket timeout is the deadline passing (it was armed with what was left).
    fn named(&self, e: io::Error) -> io::Error {
        match e.kind() {
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => {
                self.deadline.expired(&self.addr)
            }
            _ => e,
        }
    }
}

impl Read for Bounded {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.arm(TcpStream::set_read_timeout)?;
        self.sock.read(buf).map_err(|e| self.named(e))
    }
}

impl Write for Bounded {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.arm(TcpStream::set_write_timeout)?;
        self.sock.write(buf).map_err(|e| self.named(e))
    }

    fn flush(&mut self) -> io::Result<()> {
        self.sock.flush()
    }
}

/// A TCP connection to the first address of `host` that answers, within the deadline,
/// the name lookup included.
pub(crate) fn connect(host: &str, port: u16, deadline: Deadline) -> io::Result<Bounded> {
    let addr = crate::config::node::host_port(host, port);
    let mut last = io::Error::new(io::ErrorKind::NotFound, format!("{host} does not resolve"));
    for sa in resolve(host, port, deadline, &addr)? {
        let left = deadline.left().ok_or_else(|| deadline.expired(&addr))?;
        match TcpStream::connect_timeout(&sa, left) {
            Ok(sock) => {
                return Ok(Bounded {
                    sock,
                    deadline,
                    addr,
                });
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
                ) =>
            {
                last = deadline.expired(&addr);
            }
            Err(e) => last = e,
        }
    }
    Err(last)
}

/// The addresses of `host`, from the system resolver, within the deadline. The resolver
/// cannot be interrupted, so a lookup that hangs (an unreachable DNS server) is left to
/// finish on its own thread while the command goes on with "no answer".
fn resolve(
    host: &str,
    port: u16,
    deadline: Deadline,
    addr: &str,
) -> io::Result<Vec<std::net::SocketAddr>> {
    if let Ok(ip) = host.parse::<std::net::IpAddr>() {
        return Ok(vec![std::net::SocketAddr::new(ip, port)]);
    }
    let (tx, rx) = std::sync::mpsc::channel();
    let name = host.to_owned();
    std::thread::Builder::new()
        .name("resolve".into())
        .spawn(move || {
            let _ = tx.send(
                (name.as_str(), port)
                    .to_socket_addrs()
                    .map(Iterator::collect),
            );
        })?;
    let left = deadline.left().ok_or_else(|| deadline.expired(addr))?;
    match rx.recv_timeout(left) {
        Ok(found) => found,
        Err(_) => Err(deadline.expired(addr)),
    }
}

/// The deadline error inside an I/O error, however deep a TLS layer passed it on.
pub(crate) fn expired_in(e: &io::Error) -> Option<&Expired> {
    e.get_ref()?.downcast_ref::<Expired>()
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_name_lookup_is_bounded_by_the_deadline_too() {
        let fresh = Deadline::after(Duration::from_secs(5));
        assert_eq!(resolve("127.0.0.1", 7, fresh, "a").unwrap().len(), 1);
        assert!(!resolve("localhost", 7, fresh, "a").unwrap().is_empty());
        let spent = Deadline::after(Duration::ZERO);
        let err = resolve("localhost", 7, spent, "localhost:7").unwrap_err();
        assert!(expired_in(&err).is_some(), "{err}");
    }

    use super::*;
    use std::net::TcpListener;

    #[test]
    fn a_trickling_peer_cannot_stretch_the_deadline() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let feeder = std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            // One byte every 100 ms: each read returns well within any socket timeout.
            for _ in 0..30 {
                if s.write_all(b"x").is_err() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        });
        let started = Instant::now();
        let mut con = connect(
            "127.0.0.1",
            port,
            Deadline::after(Duration::from_millis(500)),
        )
        .unwrap();
        let mut buf = [0u8; 1];
        let err = loop {
            match con.read(&mut buf) {
                Ok(1) => continue,
                Ok(n) => panic!("read {n} bytes: the feeder stopped before the deadline"),
                Err(e) => break e,
            }
        };
        assert!(
            started.elapsed() < Duration::from_millis(900),
            "{:?}",
            started.elapsed()
        );
        let expired = expired_in(&err).expect("the deadline error");
        assert_eq!(
            expired.to_string(),
            format!("no answer from 127.0.0.1:{port} within 0.5 s")
        );
        drop(con);
        feeder.join().unwrap();
    }
}
