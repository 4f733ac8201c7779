//! A socket wrapper whose read buffer exists only while it holds bytes.
//!
//! tungstenite reads into a buffer it keeps for the life of the connection,
//! and reads at most that buffer's size per call: a 4 KiB buffer costs 4 KiB
//! per idle connection, a small one costs a system call per few hundred
//! bytes of a large message. Under a small tungstenite buffer, this wrapper
//! reads the socket in [`CHUNK`]-sized pieces onto the stack and keeps on
//! the heap only what the caller had no room for, until the caller has
//! taken it: an idle connection holds no read buffer here at all, and a
//! large message still costs one system call per [`CHUNK`].

use std::io;
use std::mem::MaybeUninit;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Most bytes read from the socket in one call.
pub const CHUNK: usize = 16 * 1024;

/// `io` with its reads done in [`CHUNK`]s (see the module's docs).
pub struct ReadOnDemand<S> {
    io: S,
    /// Bytes read from the socket that the caller had no room for; empty
    /// (no allocation) whenever the caller has taken everything.
    unread: Box<[u8]>,
    /// How much of `unread` the caller has taken.
    taken: usize,
}

impl<S> ReadOnDemand<S> {
    /// Wraps `io`.
    pub fn new(io: S) -> Self {
        Self {
            io,
            unread: Box::default(),
            taken: 0,
        }
    }

    /// The wrapped socket.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.io
    }

    /// Bytes held for the caller (for tests and metrics).
    pub fn held(&self) -> usize {
        self.unread.len() - self.taken
    }

    /// Copies what is held into `buf`; frees it once all is taken.
    fn give_held(&mut self, buf: &mut ReadBuf<'_>) {
        let n = self.held().min(buf.remaining());
        buf.put_slice(&self.unread[self.taken..self.taken + n]);
        self.taken += n;
        if self.taken == self.unread.len() {
            self.unread = Box::default();
            self.taken = 0;
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for ReadOnDemand<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if this.held() > 0 {
            this.give_held(buf);
            return Poll::Ready(Ok(()));
        }
        // Room enough: straight into the caller's buffer.
        if buf.remaining() >= CHUNK {
            return Pin::new(&mut this.io).poll_read(cx, buf);
        }
        // On the stack, so nothing is allocated while the socket is quiet.
        let mut chunk = [MaybeUninit::<u8>::uninit(); CHUNK];
        let mut read = ReadBuf::uninit(&mut chunk);
        match Pin::new(&mut this.io).poll_read(cx, &mut read) {
            Poll::Ready(Ok(())) => {}
            other => return other,
        }
        let filled = read.filled();
        let now = filled.len().min(buf.remaining());
        buf.put_slice(&filled[..now]);
        if now < filled.len() {
            this.unread = filled[now..].into();
            this.taken = 0;
        }
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for ReadOnDemand<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn small_reads_get_every_byte_in_order_and_the_buffer_goes_once_taken() {
        let (client, server) = tokio::io::duplex(4 * CHUNK);
        let mut server = ReadOnDemand::new(server);
        let sent: Vec<u8> = (0..3 * CHUNK + 123).map(|i| (i % 251) as u8).collect();
        let mut client = client;
        client.write_all(&sent).await.unwrap();
        drop(client);
        let mut got = Vec::new();
        let mut small = [0u8; 100];
        let mut held_at_some_point = false;
        loop {
            let n = server.read(&mut small).await.unwrap();
            if n == 0 {
                break;
            }
            got.extend_from_slice(&small[..n]);
            held_at_some_point |= server.held() > 0;
        }
        assert_eq!(got, sent);
        assert!(held_at_some_point, "a 100-byte reader left bytes held");
        assert_eq!(server.held(), 0);
        assert!(server.unread.is_empty(), "nothing kept once all is read");
    }

    #[tokio::test]
    async fn a_large_reader_reads_the_socket_directly() {
        let (mut client, server) = tokio::io::duplex(4 * CHUNK);
        let mut server = ReadOnDemand::new(server);
        client.write_all(&[7u8; 1000]).await.unwrap();
        let mut large = vec![0u8; CHUNK];
        let n = server.read(&mut large).await.unwrap();
        assert_eq!(n, 1000);
        assert_eq!(server.held(), 0);
        server.write_all(b"back").await.unwrap();
        let mut back = [0u8; 4];
        client.read_exact(&mut back).await.unwrap();
        assert_eq!(&back, b"back");
    }
}
