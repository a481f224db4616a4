//! The HTTP/1.1 accept loop, with the bounds axum's `serve` has no settings for: a request head
//! must arrive whole within the header timeout (hyper starts that clock when a connection begins
//! waiting for a request, so it also closes idle keep-alive connections), a request body that
//! stops arriving for the body idle timeout fails its request ([`IdleBody`]), and at most
//! `max_connections` connections are served at once; past that, new connections wait in the
//! listen queue until one closes, and the connections already served carry on.

use std::future::Future;
use std::pin::{pin, Pin};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::serve::Listener;
use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::sync::{watch, Semaphore};

/// Bounds on client connections.
#[derive(Debug, Clone, Copy)]
pub struct HttpLimits {
    /// Time a client has to send a whole request head, counted from when the connection starts
    /// waiting for a request (a fresh connection, or a kept-alive one after its last answer).
    pub header_timeout: Duration,
    /// Connections served at once.
    pub max_connections: usize,
    /// Time a request body may go without a byte while its handler reads it.
    pub body_idle_timeout: Duration,
}

/// Serves `app` on `listener` until `shutdown` completes, then lets the requests in progress
/// finish (idle connections close at once) and returns when every connection is closed.
pub async fn serve<L>(mut listener: L, app: Router, limits: HttpLimits, shutdown: impl Future<Output = ()>)
where
    L: Listener,
{
    let idle = limits.body_idle_timeout;
    let app = app.layer(axum::middleware::map_request(move |request: axum::extract::Request| async move {
        request.map(|body| axum::body::Body::new(IdleBody::new(body, idle)))
    }));
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    // Each connection holds a receiver; closing the sender asks them to finish, and the last
    // receiver dropped tells the loop they all have.
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut shutdown = pin!(shutdown);
    loop {
        let slot = tokio::select! {
            slot = Arc::clone(&slots).acquire_owned() => slot,
            () = &mut shutdown => break,
        };
        let Ok(slot) = slot else { break };
        let (io, _) = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        let service = TowerToHyperService::new(app.clone());
        let mut stop = stop_rx.clone();
        tokio::spawn(async move {
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder.timer(TokioTimer::new()).header_read_timeout(limits.header_timeout);
            let mut connection = pin!(builder.serve_connection(TokioIo::new(io), service).with_upgrades());
            loop {
                tokio::select! {
                    result = connection.as_mut() => {
                        if let Err(error) = result {
                            tracing::debug!(error = %error, "connection ended");
                        }
                        break;
                    }
                    _ = stop.changed() => connection.as_mut().graceful_shutdown(),
                }
            }
            drop(slot);
            drop(stop);
        });
    }
    drop(listener);
    drop(stop_rx);
    let _ = stop_tx.send(true);
    stop_tx.closed().await;
}

/// A request body that fails once no bytes have arrived for `idle` while the handler waits for
/// them: a client that stops sending mid-body frees its connection instead of holding it.
pub struct IdleBody<B> {
    inner: B,
    idle: Duration,
    timer: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl<B> IdleBody<B> {
    pub fn new(inner: B, idle: Duration) -> IdleBody<B> {
        IdleBody { inner, idle, timer: None }
    }
}

impl<B> hyper::body::Body for IdleBody<B>
where
    B: hyper::body::Body + Unpin,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Data = B::Data;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<hyper::body::Frame<Self::Data>, Self::Error>>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(frame) => {
                this.timer = None;
                Poll::Ready(frame.map(|frame| frame.map_err(Into::into)))
            }
            Poll::Pending => {
                let idle = this.idle;
                let timer = this.timer.get_or_insert_with(|| Box::pin(tokio::time::sleep(idle)));
                match timer.as_mut().poll(cx) {
                    Poll::Ready(()) => {
                        let message = format!("no request body bytes arrived for {idle:?}");
                        Poll::Ready(Some(Err(Box::new(std::io::Error::new(std::io::ErrorKind::TimedOut, message)))))
                    }
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.inner.size_hint()
    }
}
