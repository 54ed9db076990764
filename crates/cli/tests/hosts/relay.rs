//! The impaired link of `hosts.rs`: a TCP relay per direction, in the root
//! namespace, that delays every chunk, resets connections at random (as
//! they arrive, and mid-stream after a random number of bytes), and holds
//! every connection while partitioned.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// What the relay does to the traffic, changed while it runs, and what it
/// did.
pub struct Impairment {
    /// Delay before each chunk is passed on, one way, in milliseconds
    /// (plus up to half as much again at random).
    pub latency_ms: AtomicU64,
    /// Chance in a hundred that a connection is reset as it arrives.
    pub drop_percent: AtomicU64,
    /// Chance in a hundred that a connection is reset mid-stream, after a
    /// random number of bytes (both ways together).
    pub cut_percent: AtomicU64,
    /// While true, connections are held and nothing is forwarded; those
    /// open when it begins are reset.
    pub partition: watch::Sender<bool>,
    rng: Mutex<u64>,
    /// A reset as a connection arrives, owed since the chance was last
    /// raised from zero: with keep-alive and batches a run may open only
    /// a few connections, and chance alone could then reset none.
    owed_drop: AtomicBool,
    /// A mid-stream cut owed likewise, until a connection is cut.
    owed_cut: AtomicBool,
    /// Connections taken.
    pub connections: AtomicU64,
    /// Connections reset as they arrived.
    pub dropped: AtomicU64,
    /// Connections reset mid-stream.
    pub resets: AtomicU64,
    /// Connections open when a partition began, reset then.
    pub partition_cuts: AtomicU64,
    /// Connections taken during a partition: held, and reset when it heals.
    pub held: AtomicU64,
}

impl Impairment {
    pub fn new(seed: u64) -> Self {
        Self {
            latency_ms: AtomicU64::new(0),
            drop_percent: AtomicU64::new(0),
            cut_percent: AtomicU64::new(0),
            partition: watch::channel(false).0,
            rng: Mutex::new(seed | 1),
            owed_drop: AtomicBool::new(false),
            owed_cut: AtomicBool::new(false),
            connections: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            resets: AtomicU64::new(0),
            partition_cuts: AtomicU64::new(0),
            held: AtomicU64::new(0),
        }
    }

    pub fn set(&self, latency_ms: u64, drop_percent: u64, cut_percent: u64) {
        self.latency_ms.store(latency_ms, Ordering::SeqCst);
        self.drop_percent.store(drop_percent, Ordering::SeqCst);
        self.cut_percent.store(cut_percent, Ordering::SeqCst);
        self.owed_drop.store(drop_percent > 0, Ordering::SeqCst);
        self.owed_cut.store(cut_percent > 0, Ordering::SeqCst);
    }

    /// A number in `0..n` (xorshift64*: reproducible from the seed alone
    /// only in what it draws, since connections arrive as they will).
    fn below(&self, n: u64) -> u64 {
        let mut state = self.rng.lock().unwrap();
        *state ^= *state >> 12;
        *state ^= *state << 25;
        *state ^= *state >> 27;
        state.wrapping_mul(0x2545_f491_4f6c_dd1d) % n.max(1)
    }

    fn chance(&self, percent: &AtomicU64) -> bool {
        self.below(100) < percent.load(Ordering::SeqCst)
    }

    fn delay(&self) -> Duration {
        let base = self.latency_ms.load(Ordering::SeqCst);
        Duration::from_millis(base + self.below(base / 2 + 1))
    }
}

/// The two directions of the link, each impaired on its own.
pub struct Link {
    /// The connections US's node opens to MX's.
    pub to_mx: Arc<Impairment>,
    /// The connections MX's node opens to US's.
    pub to_us: Arc<Impairment>,
}

impl Link {
    fn both(&self) -> [&Impairment; 2] {
        [&self.to_mx, &self.to_us]
    }

    pub fn set(&self, latency_ms: u64, drop_percent: u64, cut_percent: u64) {
        for way in self.both() {
            way.set(latency_ms, drop_percent, cut_percent);
        }
    }

    pub fn partition(&self, on: bool) {
        for way in self.both() {
            way.partition.send_replace(on);
        }
    }

    /// A counter summed over both directions.
    pub fn total(&self, counter: impl Fn(&Impairment) -> &AtomicU64) -> u64 {
        self.both()
            .iter()
            .map(|way| counter(way).load(Ordering::SeqCst))
            .sum()
    }
}

/// Resets a connection: closing with a zero linger sends RST, not FIN.
fn reset(stream: TcpStream) {
    let _ = stream.set_zero_linger();
    drop(stream);
}

/// Takes connections on `listener` and relays each to `upstream` through
/// the impairment.
pub async fn relay(listener: TcpListener, upstream: SocketAddr, link: Arc<Impairment>) {
    loop {
        if let Ok((client, _)) = listener.accept().await {
            tokio::spawn(relay_one(client, upstream, Arc::clone(&link)));
        }
    }
}

/// How one direction of a relayed connection ended.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Flow {
    /// Its sender closed it.
    Closed,
    /// It was cut: both sides are reset.
    Cut,
}

/// Relays one connection, or resets or holds it.
async fn relay_one(mut client: TcpStream, upstream: SocketAddr, link: Arc<Impairment>) {
    link.connections.fetch_add(1, Ordering::SeqCst);
    let mut partition = link.partition.subscribe();
    if *partition.borrow_and_update() {
        // Nothing gets through a partition: the connection hangs until it
        // heals, and is then reset.
        link.held.fetch_add(1, Ordering::SeqCst);
        let _ = partition.wait_for(|p| !*p).await;
        reset(client);
        return;
    }
    if link.owed_drop.swap(false, Ordering::SeqCst) || link.chance(&link.drop_percent) {
        link.dropped.fetch_add(1, Ordering::SeqCst);
        reset(client);
        return;
    }
    let Ok(Ok(mut server)) =
        tokio::time::timeout(Duration::from_secs(5), TcpStream::connect(upstream)).await
    else {
        reset(client);
        return;
    };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let owed_cut = link.owed_cut.swap(false, Ordering::SeqCst);
    let cut_after = (owed_cut || link.chance(&link.cut_percent)).then(|| 1 + link.below(6_000));
    let moved = AtomicU64::new(0);
    let (cut, _) = watch::channel(false);
    let (a, b) = {
        let (mut client_in, mut client_out) = client.split();
        let (mut server_in, mut server_out) = server.split();
        let ends = Ends {
            link: &link,
            moved: &moved,
            cut_after,
            cut: &cut,
        };
        tokio::join!(
            ends.pump(&mut client_in, &mut server_out, partition.clone()),
            ends.pump(&mut server_in, &mut client_out, partition),
        )
    };
    if a == Flow::Cut || b == Flow::Cut {
        reset(client);
        reset(server);
    }
    if owed_cut && cut_after.is_none_or(|limit| moved.load(Ordering::SeqCst) < limit) {
        // The connection ended before its cut: the next one owes it.
        link.owed_cut.store(true, Ordering::SeqCst);
    }
}

/// What the two directions of one relayed connection share.
#[derive(Clone, Copy)]
struct Ends<'a> {
    link: &'a Impairment,
    /// Bytes passed on so far, both ways.
    moved: &'a AtomicU64,
    /// Where the connection is cut, if it is to be.
    cut_after: Option<u64>,
    /// Turned true when either direction cuts the connection.
    cut: &'a watch::Sender<bool>,
}

impl Ends<'_> {
    /// Copies one direction until it ends (`Closed`, its end passed on as
    /// a FIN) or the connection is cut (`Cut`: the caller resets both
    /// sides).
    async fn pump(
        self,
        from: &mut tokio::net::tcp::ReadHalf<'_>,
        to: &mut tokio::net::tcp::WriteHalf<'_>,
        mut partition: watch::Receiver<bool>,
    ) -> Flow {
        let mut cut = self.cut.subscribe();
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            let n = tokio::select! {
                () = async { drop(cut.wait_for(|c| *c).await) } => return Flow::Cut,
                () = async { drop(partition.wait_for(|p| *p).await) } => {
                    if !self.cut.send_replace(true) {
                        self.link.partition_cuts.fetch_add(1, Ordering::SeqCst);
                    }
                    return Flow::Cut;
                }
                read = from.read(&mut buf) => match read {
                    Ok(0) => {
                        let _ = to.shutdown().await;
                        return Flow::Closed;
                    }
                    Ok(n) => n,
                    Err(_) => {
                        self.cut.send_replace(true);
                        return Flow::Cut;
                    }
                },
            };
            let total = self.moved.fetch_add(n as u64, Ordering::SeqCst) + n as u64;
            if self.cut_after.is_some_and(|limit| total >= limit) {
                if !self.cut.send_replace(true) {
                    self.link.resets.fetch_add(1, Ordering::SeqCst);
                }
                return Flow::Cut;
            }
            tokio::time::sleep(self.link.delay()).await;
            if to.write_all(&buf[..n]).await.is_err() {
                self.cut.send_replace(true);
                return Flow::Cut;
            }
        }
    }
}
