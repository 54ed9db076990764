//! The PSI benchmark, as library code the `soberana bench psi` command calls.
//!
//! Both parties run in this process, one thread each, talking over a real TCP socket on
//! 127.0.0.1 with a 4-byte length prefix per message, so the figures include serialisation and
//! the kernel's loopback path. The sets are `n` random items each, half of them shared; the
//! run fails unless the requester finds exactly the shared half.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread;
use std::time::Instant;

use rand::rngs::OsRng;
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use serde::Serialize;

use crate::error::PsiError;
use crate::protocol::{
    Disclosure, Protocol, PsiRequester, PsiResponder, RequesterOutcome, RequesterStep,
    ResponderStep,
};

/// The largest frame the benchmark accepts (1 GiB), so a broken length cannot exhaust memory.
const MAX_FRAME: usize = 1 << 30;

/// What one benchmark run measured.
#[derive(Debug, Clone, Serialize)]
pub struct PsiBenchReport {
    /// The protocol measured.
    pub protocol: Protocol,
    /// Items in each party's set.
    pub n: usize,
    /// Items the requester found in common (the run checks this is `n / 2`).
    pub matches: usize,
    /// Wall-clock seconds from the start of both parties until both have finished (the
    /// requester holding its result), including hashing of the sets, all computation and the
    /// socket transfer; set generation is excluded.
    pub seconds: f64,
    /// Bytes the requester sent, framing included.
    pub bytes_requester_to_responder: u64,
    /// Bytes the responder sent, framing included.
    pub bytes_responder_to_requester: u64,
    /// Messages exchanged in both directions.
    pub messages: usize,
    /// Peak resident memory of the whole process (both parties), from `VmHWM`; `None` where
    /// `/proc/self/status` is unavailable.
    pub peak_memory_bytes: Option<u64>,
    /// CPU seconds (user + system) the process spent during the run, both parties together;
    /// unlike `seconds` it does not grow when other work shares the machine. `None` where
    /// `/proc/self/stat` is unavailable.
    pub cpu_seconds: Option<f64>,
    /// Worker threads available to each party's parallel work.
    pub threads: usize,
}

impl fmt::Display for PsiBenchReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
        write!(
            f,
            "psi {} n={}: {:.3} s end to end, {} matches, wire {:.2} MiB requester→responder + {:.2} MiB responder→requester in {} messages, ",
            self.protocol,
            self.n,
            self.seconds,
            self.matches,
            mib(self.bytes_requester_to_responder),
            mib(self.bytes_responder_to_requester),
            self.messages,
        )?;
        match self.peak_memory_bytes {
            Some(b) => write!(f, "peak memory {:.0} MiB", mib(b))?,
            None => write!(f, "peak memory unknown")?,
        }
        if let Some(cpu) = self.cpu_seconds {
            write!(f, ", {cpu:.3} CPU s")?;
        }
        write!(f, ", {} threads", self.threads)
    }
}

/// Why a benchmark run failed.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// The loopback socket failed.
    #[error("loopback socket failed: {0}")]
    Io(#[from] io::Error),
    /// A party refused a message.
    #[error("protocol failed: {0}")]
    Psi(#[from] PsiError),
    /// The intersection found was not the one built into the sets.
    #[error("wrong result: expected {expected} matches, found {found}")]
    WrongResult {
        /// Matches built into the sets.
        expected: usize,
        /// Matches found.
        found: usize,
    },
    /// The responder's thread ended abnormally.
    #[error("the responder thread failed: {0}")]
    Responder(String),
}

/// Counts bytes through a stream and frames messages with a 4-byte little-endian length.
struct Framed {
    stream: TcpStream,
    sent: u64,
    received: u64,
    messages: usize,
}

impl Framed {
    fn new(stream: TcpStream) -> io::Result<Self> {
        stream.set_nodelay(true)?;
        Ok(Framed {
            stream,
            sent: 0,
            received: 0,
            messages: 0,
        })
    }

    fn send(&mut self, message: &[u8]) -> io::Result<()> {
        let len = u32::try_from(message.len())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "message over 4 GiB"))?;
        self.stream.write_all(&len.to_le_bytes())?;
        self.stream.write_all(message)?;
        self.stream.flush()?;
        self.sent += 4 + message.len() as u64;
        self.messages += 1;
        Ok(())
    }

    fn receive(&mut self) -> io::Result<Vec<u8>> {
        let mut len = [0u8; 4];
        self.stream.read_exact(&mut len)?;
        let len = u32::from_le_bytes(len) as usize;
        if len > MAX_FRAME {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("frame of {len} bytes is over the {MAX_FRAME}-byte limit"),
            ));
        }
        let mut buf = vec![0u8; len];
        self.stream.read_exact(&mut buf)?;
        self.received += 4 + len as u64;
        Ok(buf)
    }
}

/// Two random sets of `n` 16-byte items sharing their first `n / 2`.
fn sets(n: usize) -> (Vec<[u8; 16]>, Vec<[u8; 16]>) {
    let mut rng = ChaCha20Rng::seed_from_u64(OsRng.next_u64());
    let mut item = || {
        let mut b = [0u8; 16];
        rng.fill_bytes(&mut b);
        b
    };
    let requester: Vec<[u8; 16]> = (0..n).map(|_| item()).collect();
    let responder: Vec<[u8; 16]> = requester
        .iter()
        .take(n / 2)
        .copied()
        .chain((n / 2..n).map(|_| item()))
        .collect();
    (requester, responder)
}

fn run_responder(listener: TcpListener, items: Vec<[u8; 16]>) -> Result<Framed, BenchError> {
    let (stream, _) = listener.accept()?;
    let mut link = Framed::new(stream)?;
    let mut responder = PsiResponder::new(&items, Disclosure::Intersection)?;
    loop {
        let message = link.receive()?;
        match responder.handle(&message)? {
            ResponderStep::Send { next, message } => {
                link.send(&message)?;
                responder = next;
            }
            ResponderStep::Finish { message, .. } => {
                link.send(&message)?;
                return Ok(link);
            }
        }
    }
}

/// Runs `protocol` between two parties of `n` items each over loopback TCP.
pub fn run(n: usize, protocol: Protocol) -> Result<PsiBenchReport, BenchError> {
    let (ours, theirs) = sets(n);
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let address = listener.local_addr()?;

    let cpu_start = cpu_time();
    let start = Instant::now();
    let responder = thread::spawn(move || run_responder(listener, theirs));
    let mut link = Framed::new(TcpStream::connect(address)?)?;
    let (mut requester, first) = PsiRequester::start(protocol, &ours)?;
    link.send(&first)?;
    let outcome = loop {
        let message = link.receive()?;
        match requester.handle(&message)? {
            RequesterStep::Send { next, message } => {
                link.send(&message)?;
                requester = next;
            }
            RequesterStep::Done(outcome) => break outcome,
        }
    };
    let responder_link = responder
        .join()
        .map_err(|_| BenchError::Responder("thread panicked".to_owned()))??;
    let seconds = start.elapsed().as_secs_f64();
    let cpu_seconds = cpu_start.zip(cpu_time()).map(|(a, b)| b - a);

    let matches = match outcome {
        RequesterOutcome::Matches(m) => m.len(),
        RequesterOutcome::Count(c) => c,
    };
    if matches != n / 2 {
        return Err(BenchError::WrongResult {
            expected: n / 2,
            found: matches,
        });
    }
    Ok(PsiBenchReport {
        protocol,
        n,
        matches,
        seconds,
        bytes_requester_to_responder: link.sent,
        bytes_responder_to_requester: responder_link.sent,
        messages: link.messages + responder_link.messages,
        peak_memory_bytes: peak_memory(),
        cpu_seconds,
        threads: rayon::current_num_threads(),
    })
}

/// The process's CPU time so far (user + system), from `/proc/self/stat`, in seconds.
fn cpu_time() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which may contain spaces) start after the last `)`;
    // utime and stime are fields 14 and 15 of the whole line, so 12 and 13 of the rest.
    let rest = stat.get(stat.rfind(')')? + 1..)?;
    let mut fields = rest.split_whitespace().skip(11);
    let user: f64 = fields.next()?.parse().ok()?;
    let system: f64 = fields.next()?.parse().ok()?;
    // Linux reports these in USER_HZ ticks: 100 on x86 and ARM.
    Some((user + system) / 100.0)
}

/// The process's peak resident set size, from `VmHWM` in `/proc/self/status`.
pub fn peak_memory() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_protocols_over_loopback() {
        for protocol in [Protocol::Dh, Protocol::Ot] {
            let report = run(256, protocol).unwrap();
            assert_eq!(report.matches, 128);
            assert!(report.bytes_requester_to_responder > 0);
            assert!(report.bytes_responder_to_requester > 0);
            assert_eq!(
                report.messages,
                if protocol == Protocol::Dh { 2 } else { 4 }
            );
            let json = serde_json::to_value(&report).unwrap();
            assert_eq!(json["protocol"], protocol.name());
            assert!(report.to_string().contains("end to end"));
        }
    }

    #[test]
    fn peak_memory_and_cpu_time_are_read_on_linux() {
        if cfg!(target_os = "linux") {
            assert!(peak_memory().unwrap() > 0);
            assert!(cpu_time().unwrap() >= 0.0);
        }
    }
}
