//! Listeners: one accept loop per network location.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::SystemTime;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

use crate::dispatch;
use crate::gateway::{Inner, Listener};
use crate::location::{Flow, Location};

pub(crate) async fn listen(
    gw: Arc<Inner>,
    id: String,
    addr: SocketAddr,
    location: Location,
) -> io::Result<SocketAddr> {
    let listener = TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    let (stop, mut stopped) = tokio::sync::watch::channel(false);
    if let Ok(mut l) = gw.listeners.lock()
        && let Some(old) = l.insert(id, Listener { addr: bound, stop })
    {
        let _ = old.stop.send(true);
    }
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = stopped.changed() => break,
                accepted = listener.accept() => match accepted {
                    Ok((stream, peer)) => {
                        let _ = stream.set_nodelay(true);
                        tokio::spawn(connection(gw.clone(), location.clone(), stream, peer, bound));
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                    }
                },
            }
        }
    });
    Ok(bound)
}

async fn connection(
    gw: Arc<Inner>,
    location: Location,
    stream: TcpStream,
    peer: SocketAddr,
    local: SocketAddr,
) {
    let start = SystemTime::now();
    let guard = location.endpoint().and_then(|e| e.guard.clone());
    if let Some(g) = &guard
        && !g.admit(peer)
    {
        // Refused at the connection, as a security group drops it.
        drop(stream);
        g.record(Flow {
            peer,
            local,
            start,
            end: SystemTime::now(),
            bytes: 0,
            packets: 1,
            accepted: false,
        });
        return;
    }
    let bytes = Arc::new(AtomicU64::new(0));
    let requests = Arc::new(AtomicU64::new(0));
    let io = TokioIo::new(Counted {
        inner: stream,
        bytes: bytes.clone(),
    });
    let counter = requests.clone();
    let service = service_fn(move |req| {
        counter.fetch_add(1, Ordering::Relaxed);
        CatchPanic {
            inner: Box::pin(dispatch::handle(gw.clone(), location.clone(), peer, req)),
        }
    });
    if let Err(e) = http1::Builder::new()
        .keep_alive(true)
        .serve_connection(io, service)
        .await
    {
        tracing::debug!(error = %e, %peer, "connection ended");
    }
    if let Some(g) = &guard {
        g.record(Flow {
            peer,
            local,
            start,
            end: SystemTime::now(),
            bytes: bytes.load(Ordering::Relaxed),
            packets: requests.load(Ordering::Relaxed).max(1),
            accepted: true,
        });
    }
}

/// A stream that counts the bytes through it, for flow logs.
struct Counted {
    inner: TcpStream,
    bytes: Arc<AtomicU64>,
}

impl AsyncRead for Counted {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        let n = buf.filled().len() - before;
        self.bytes.fetch_add(n as u64, Ordering::Relaxed);
        r
    }
}

impl AsyncWrite for Counted {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = &r {
            self.bytes.fetch_add(*n as u64, Ordering::Relaxed);
        }
        r
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if let Poll::Ready(Ok(n)) = &r {
            self.bytes.fetch_add(*n as u64, Ordering::Relaxed);
        }
        r
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

type Handled = Result<http::Response<crate::body::Body>, dispatch::Refused>;

/// Turns a panic while handling one request into a 500 for that request: a defect must
/// deny, never take down the connection's other requests or the process.
struct CatchPanic {
    inner: Pin<Box<dyn std::future::Future<Output = Handled> + Send>>,
}

impl std::future::Future for CatchPanic {
    type Output = Handled;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Handled> {
        let inner = &mut self.inner;
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| inner.as_mut().poll(cx))) {
            Ok(poll) => poll,
            Err(_) => {
                tracing::error!("a request handler panicked; answered 500");
                let e = crate::AwsError::internal("handler panicked");
                let id = crate::gateway::new_request_id();
                Poll::Ready(Ok(crate::protocol::error(
                    crate::protocol::Protocol::Json,
                    None,
                    &e,
                    &id,
                    false,
                )))
            }
        }
    }
}
