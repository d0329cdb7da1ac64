//! An I/O stream with bytes put back in front of it, and a count of the bytes read through it.
//!
//! A parked HTTP/1.1 connection (see `connection`) is handed back by hyper with whatever it had
//! read but not used, and is woken by reading one byte; both go back in front of the stream
//! for the next hyper connection. The count tells the connection whether any request bytes
//! have arrived since the last response ended.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::{Buf, Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::idle::Activity;

/// `inner`, read after `prefix`.
pub struct Prefixed<T> {
    prefix: Bytes,
    inner: T,
    activity: Arc<Activity>,
}

impl<T> Prefixed<T> {
    /// Wraps `inner` with nothing in front; reads are reported to `activity`.
    pub fn new(inner: T, activity: Arc<Activity>) -> Self {
        Prefixed {
            prefix: Bytes::new(),
            inner,
            activity,
        }
    }

    /// Puts `bytes` in front of whatever is still unread.
    pub fn unread(&mut self, bytes: Bytes) {
        if bytes.is_empty() {
            return;
        }
        if self.prefix.is_empty() {
            self.prefix = bytes;
        } else {
            let mut joined = BytesMut::with_capacity(bytes.len() + self.prefix.len());
            joined.extend_from_slice(&bytes);
            joined.extend_from_slice(&self.prefix);
            self.prefix = joined.freeze();
        }
    }

    /// Whether bytes are waiting in front of the stream.
    pub fn has_unread(&self) -> bool {
        !self.prefix.is_empty()
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Prefixed<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if !self.prefix.is_empty() {
            let n = self.prefix.len().min(buf.remaining());
            buf.put_slice(&self.prefix[..n]);
            self.prefix.advance(n);
            return Poll::Ready(Ok(()));
        }
        let before = buf.filled().len();
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        let n = buf.filled().len() - before;
        if n > 0 {
            self.activity.note_read(n);
        }
        r
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Prefixed<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    #[tokio::test]
    async fn unread_bytes_come_first_in_order_and_only_stream_bytes_are_counted() {
        let activity = Activity::new();
        let mut p = Prefixed::new(&b"world"[..], activity.clone());
        p.unread(Bytes::from_static(b"lo "));
        p.unread(Bytes::from_static(b"hel"));
        assert!(p.has_unread());
        let mut all = Vec::new();
        p.read_to_end(&mut all).await.expect("read");
        assert_eq!(all, b"hello world");
        assert_eq!(activity.bytes_read(), 5);
    }
}
