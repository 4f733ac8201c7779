//! A TCP proxy between the client and the hub that can cut the link.
//!
//! - [`Proxy::blackhole`]: stop moving bytes in both directions without
//!   closing anything (a pulled cable, a sleeping laptop, a NAT that forgot
//!   the flow). Bytes wait in the kernel buffers and move again on resume,
//!   as TCP retransmission would deliver them. New connections are accepted
//!   but not forwarded.
//! - [`Proxy::reset`]: send RST on every connection, and on every new one
//!   until resumed (a crashed middlebox, a refused route).
//! - [`Proxy::hang_up_after_connect`]: forward each new connection until
//!   the hub's `connect` reply has gone through, then close it (FIN) towards
//!   the client: a hub that accepts `connect` and hangs up at once.
//! - [`Proxy::resume`]: forward again.
//! - [`Proxy::set_target`]: send new connections to another hub (restart).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Forward,
    Blackhole,
    Reset,
    HangUpAfterConnect,
}

pub struct Proxy {
    pub addr: SocketAddr,
    target: Arc<Mutex<SocketAddr>>,
    mode: watch::Sender<Mode>,
    accepts: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

impl Proxy {
    pub async fn start(target: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let target = Arc::new(Mutex::new(target));
        let (mode, _) = watch::channel(Mode::Forward);
        let accepts = Arc::new(AtomicUsize::new(0));
        let task = tokio::spawn(accept_loop(
            listener,
            target.clone(),
            mode.clone(),
            accepts.clone(),
        ));
        Self {
            addr,
            target,
            mode,
            accepts,
            task,
        }
    }

    pub fn ws_url(&self) -> String {
        format!("ws://{}/connection/websocket", self.addr)
    }

    pub fn blackhole(&self) {
        self.mode.send_replace(Mode::Blackhole);
    }

    pub fn reset(&self) {
        self.mode.send_replace(Mode::Reset);
    }

    pub fn hang_up_after_connect(&self) {
        self.mode.send_replace(Mode::HangUpAfterConnect);
    }

    pub fn resume(&self) {
        self.mode.send_replace(Mode::Forward);
    }

    pub fn set_target(&self, target: SocketAddr) {
        *self.target.lock().unwrap() = target;
    }

    /// TCP connections accepted so far.
    pub fn accepts(&self) -> usize {
        self.accepts.load(Ordering::SeqCst)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
        self.mode.send_replace(Mode::Reset);
    }
}

async fn accept_loop(
    listener: TcpListener,
    target: Arc<Mutex<SocketAddr>>,
    mode: watch::Sender<Mode>,
    accepts: Arc<AtomicUsize>,
) {
    while let Ok((inbound, _)) = listener.accept().await {
        accepts.fetch_add(1, Ordering::SeqCst);
        let target = *target.lock().unwrap();
        tokio::spawn(relay(inbound, target, mode.subscribe()));
    }
}

async fn relay(inbound: TcpStream, target: SocketAddr, mut mode: watch::Receiver<Mode>) {
    // Hold a new connection while blackholed; the hub sees nothing of it.
    loop {
        let current = *mode.borrow_and_update();
        match current {
            Mode::Forward | Mode::HangUpAfterConnect => break,
            Mode::Reset => return rst(&inbound),
            Mode::Blackhole => {
                if mode.changed().await.is_err() {
                    return;
                }
            }
        }
    }
    let Ok(upstream) = TcpStream::connect(target).await else {
        return rst(&inbound);
    };
    let _ = inbound.set_nodelay(true);
    let _ = upstream.set_nodelay(true);
    let (in_read, in_write) = inbound.into_split();
    let (up_read, up_write) = upstream.into_split();
    tokio::join!(
        pump(in_read, up_write, mode.clone(), false),
        pump(up_read, in_write, mode, true),
    );
}

/// What the hub's `connect` reply contains (frames from the server are not
/// masked, so the JSON is plain in the byte stream).
const CONNECT_REPLY: &[u8] = b"\"connect\":";

fn rst(stream: &TcpStream) {
    let _ = stream.set_zero_linger();
}

/// Moves bytes `from` → `to` as the mode says. `from_hub`: this is the
/// hub → client direction, the one [`Mode::HangUpAfterConnect`] watches.
async fn pump(
    mut from: OwnedReadHalf,
    mut to: OwnedWriteHalf,
    mut mode: watch::Receiver<Mode>,
    from_hub: bool,
) {
    let mut buf = vec![0u8; 16 * 1024];
    // The last bytes forwarded, so that a reply split across reads is seen.
    let mut tail: Vec<u8> = Vec::new();
    loop {
        let current = *mode.borrow_and_update();
        match current {
            Mode::Reset => {
                rst(from.as_ref());
                rst(to.as_ref());
                return;
            }
            Mode::Blackhole => {
                if mode.changed().await.is_err() {
                    return;
                }
            }
            Mode::Forward | Mode::HangUpAfterConnect => tokio::select! {
                read = from.read(&mut buf) => match read {
                    Ok(0) | Err(_) => {
                        let _ = to.shutdown().await;
                        return;
                    }
                    Ok(n) => {
                        if to.write_all(&buf[..n]).await.is_err() {
                            return;
                        }
                        if from_hub && current == Mode::HangUpAfterConnect {
                            tail.extend_from_slice(&buf[..n]);
                            if tail.windows(CONNECT_REPLY.len()).any(|w| w == CONNECT_REPLY) {
                                // In order after the reply: the client sees
                                // `connect` succeed, then the link end.
                                let _ = to.shutdown().await;
                                return;
                            }
                            let seen = tail.len().saturating_sub(CONNECT_REPLY.len());
                            tail.drain(..seen);
                        }
                    }
                },
                changed = mode.changed() => {
                    if changed.is_err() {
                        return;
                    }
                }
            },
        }
    }
}
