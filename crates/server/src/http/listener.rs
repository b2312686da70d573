//! The HTTP listener: accepts connections and serves each with hyper (HTTP/1.1), under the
//! limits a server facing the public needs, all settings of the Server group:
//!
//! - **connections**: at most `http_max_connections` open at once, and at most
//!   `http_max_connections_per_address` from one peer address (the operator's `trusted_proxies`
//!   exempt, as every client arrives through them); a connection over either is closed at once,
//!   before a byte is read, so an idle flood from one address cannot starve the others;
//! - **slow headers**: a request's line and headers must arrive whole within
//!   `http_header_timeout_secs` of their first byte (and a new connection must send its first
//!   request within as long), else the connection is closed (slowloris);
//! - **slow bodies**: a request's body must arrive whole within `http_body_timeout_secs` of its
//!   headers, else the request is answered 408 (error 3) and the connection closed;
//! - **idle keep-alive**: a connection with no request in flight and nothing read or written for
//!   `http_keepalive_timeout_secs` after its last answer is closed.
//!
//! Each connection has one watchdog timer, set to the next moment one of these can expire (not a
//! periodic tick: thousands of idle connections cost no wake-ups). When a request's handler is
//! dropped because its client hung up, the handler's work stops with it (see
//! [`crate::uploads::prepare`]). On shutdown the listener stops accepting and lets the open
//! connections finish their requests (graceful shutdown, as `axum::serve` does).

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, Response};
use axum::response::IntoResponse;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Semaphore};
use tokio::time::Instant;
use tower::ServiceExt;

use crate::config::Config;
use crate::errors::{ApiError, Code};

/// The connection limits of [`serve`], from the configuration.
#[derive(Debug, Clone)]
pub struct ConnLimits {
    pub header_timeout: Duration,
    pub body_timeout: Duration,
    pub keepalive_timeout: Duration,
    pub max_connections: usize,
    /// 0 = no limit per address.
    pub max_per_address: usize,
    /// Peers exempt from the per-address limit (reverse proxies).
    pub trusted: Vec<ipnet::IpNet>,
}

impl ConnLimits {
    pub fn from_config(cfg: &Config) -> Self {
        let secs = |s: f32| Duration::from_secs_f32(s.max(0.001));
        ConnLimits {
            header_timeout: secs(cfg.http_header_timeout_secs),
            body_timeout: secs(cfg.http_body_timeout_secs),
            keepalive_timeout: secs(cfg.http_keepalive_timeout_secs),
            max_connections: cfg.http_max_connections.max(1),
            max_per_address: cfg.http_max_connections_per_address,
            trusted: cfg.trusted_proxies.clone(),
        }
    }
}

/// Serve `app` on `listener` until `stop` resolves, then finish the open connections' requests.
pub async fn serve<S>(
    listener: TcpListener,
    app: S,
    limits: ConnLimits,
    stop: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()>
where
    S: tower::Service<Request<Body>, Response = Response<Body>, Error = Infallible>
        + Clone
        + Send
        + Sync
        + 'static,
    S::Future: Send + 'static,
{
    let limits = Arc::new(limits);
    let global = Arc::new(Semaphore::new(limits.max_connections));
    let per_address: Arc<Mutex<HashMap<IpAddr, usize>>> = Default::default();
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut stop = std::pin::pin!(stop);
    loop {
        let (stream, peer) = tokio::select! {
            _ = &mut stop => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: pause rather than spin.
                    tracing::warn!("accepting a connection: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let Ok(permit) = global.clone().try_acquire_owned() else {
            refused("the server's connection limit (http_max_connections)");
            continue;
        };
        let exempt = limits.trusted.iter().any(|n| n.contains(&peer.ip()));
        let slot = if exempt || limits.max_per_address == 0 {
            None
        } else {
            match AddressSlot::take(&per_address, peer.ip(), limits.max_per_address) {
                Some(slot) => Some(slot),
                None => {
                    refused("the per-address connection limit (http_max_connections_per_address)");
                    continue;
                }
            }
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let limits = limits.clone();
        let stop_rx = stop_rx.clone();
        tokio::spawn(async move {
            serve_connection(stream, peer, app, &limits, stop_rx).await;
            drop((permit, slot));
        });
    }
    drop((listener, stop_rx));
    // Graceful shutdown: every connection finishes its request in flight, then closes.
    let _ = stop_tx.send(true);
    stop_tx.closed().await;
    Ok(())
}

fn refused(why: &str) {
    tracing::debug!("connection closed at once: {why}");
    metrics::counter!("faceproof_http_connections_refused_total").increment(1);
}

/// One connection's share of the per-address count, given back when dropped.
struct AddressSlot {
    map: Arc<Mutex<HashMap<IpAddr, usize>>>,
    ip: IpAddr,
}

impl AddressSlot {
    fn take(map: &Arc<Mutex<HashMap<IpAddr, usize>>>, ip: IpAddr, max: usize) -> Option<Self> {
        let mut m = map.lock().unwrap_or_else(|p| p.into_inner());
        let n = m.entry(ip).or_insert(0);
        if *n >= max {
            return None;
        }
        *n += 1;
        Some(AddressSlot {
            map: map.clone(),
            ip,
        })
    }
}

impl Drop for AddressSlot {
    fn drop(&mut self) {
        let mut m = self.map.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = m.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                m.remove(&self.ip);
            }
        }
    }
}

/// What the watchdog of one connection knows.
struct Activity {
    /// Requests whose handler is running.
    in_flight: usize,
    /// Requests handled so far.
    served: u64,
    /// The first byte of a request head not yet complete (read while no request was in flight).
    head_started: Option<Instant>,
    /// The last moment the connection did something: accepted, a handler ended, bytes written.
    last_active: Instant,
}

type Shared = Arc<Mutex<Activity>>;

fn lock(a: &Shared) -> std::sync::MutexGuard<'_, Activity> {
    a.lock().unwrap_or_else(|p| p.into_inner())
}

/// When the connection is to be closed, as things stand (`None`: a request is being handled;
/// its body has a timer of its own).
fn deadline(a: &Activity, l: &ConnLimits) -> Option<Instant> {
    if a.in_flight > 0 {
        return None;
    }
    if let Some(started) = a.head_started {
        return Some(started + l.header_timeout);
    }
    let idle = if a.served == 0 {
        l.header_timeout
    } else {
        l.keepalive_timeout
    };
    Some(a.last_active + idle)
}

async fn serve_connection<S>(
    stream: TcpStream,
    peer: SocketAddr,
    app: S,
    limits: &ConnLimits,
    mut stop: watch::Receiver<bool>,
) where
    S: tower::Service<Request<Body>, Response = Response<Body>, Error = Infallible>
        + Clone
        + Send
        + Sync
        + 'static,
    S::Future: Send + 'static,
{
    let activity: Shared = Arc::new(Mutex::new(Activity {
        in_flight: 0,
        served: 0,
        head_started: None,
        last_active: Instant::now(),
    }));
    let io = TokioIo::new(Watched {
        inner: stream,
        activity: activity.clone(),
    });
    let body_timeout = limits.body_timeout;
    let for_requests = activity.clone();
    let service = tower::service_fn(move |mut req: Request<Incoming>| {
        let app = app.clone();
        let guard = InFlight::begin(&for_requests);
        async move {
            let _guard = guard;
            req.extensions_mut().insert(ConnectInfo(peer));
            let late = Arc::new(std::sync::atomic::AtomicBool::new(false));
            let late_seen = late.clone();
            let req = req.map(|b| Body::new(TimedBody::new(b, body_timeout, late)));
            let resp = app.oneshot(req).await?;
            if late_seen.load(std::sync::atomic::Ordering::Relaxed) {
                let mut r = ApiError::new(
                    Code::RequestTimeout,
                    format!(
                        "The request body did not arrive within {} s",
                        body_timeout.as_secs_f32()
                    ),
                )
                .into_response();
                r.headers_mut().insert(
                    axum::http::header::CONNECTION,
                    axum::http::HeaderValue::from_static("close"),
                );
                return Ok::<_, Infallible>(r);
            }
            Ok(resp)
        }
    });
    let builder = Builder::new(TokioExecutor::new());
    let conn = builder.serve_connection_with_upgrades(io, TowerToHyperService::new(service));
    let mut conn = std::pin::pin!(conn);
    let mut stopping = *stop.borrow();
    if stopping {
        conn.as_mut().graceful_shutdown();
    }
    loop {
        let due = deadline(&lock(&activity), limits);
        let wake = due.unwrap_or_else(|| Instant::now() + limits.keepalive_timeout);
        tokio::select! {
            r = conn.as_mut() => {
                if let Err(e) = r {
                    tracing::trace!("connection from {peer} ended: {e}");
                }
                return;
            }
            changed = stop.changed(), if !stopping => {
                stopping = true;
                if changed.is_ok() {
                    conn.as_mut().graceful_shutdown();
                }
            }
            _ = tokio::time::sleep_until(wake) => {
                // Activity may have moved the deadline while asleep: look again.
                if deadline(&lock(&activity), limits).is_some_and(|d| d <= Instant::now()) {
                    metrics::counter!("faceproof_http_connections_timed_out_total").increment(1);
                    tracing::debug!("closing an idle or slow connection from {peer}");
                    return;
                }
            }
        }
    }
}

/// A request in flight on a connection; when dropped (answered, or abandoned by a client that
/// hung up) the connection counts as idle from then.
struct InFlight(Shared);

impl InFlight {
    fn begin(a: &Shared) -> Self {
        let mut g = lock(a);
        g.in_flight += 1;
        g.head_started = None;
        InFlight(a.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut g = lock(&self.0);
        g.in_flight -= 1;
        g.served += 1;
        g.last_active = Instant::now();
    }
}

/// The socket, telling the watchdog when bytes move.
struct Watched {
    inner: TcpStream,
    activity: Shared,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(r, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            let mut a = lock(&self.activity);
            if a.in_flight == 0 && a.head_started.is_none() {
                a.head_started = Some(Instant::now());
            }
        }
        r
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            lock(&self.activity).last_active = Instant::now();
        }
        r
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            lock(&self.activity).last_active = Instant::now();
        }
        r
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

/// A request body that must arrive whole before a deadline; past it, reading fails and `late`
/// is raised (the answer becomes 408).
struct TimedBody {
    inner: Incoming,
    sleep: Pin<Box<tokio::time::Sleep>>,
    late: Arc<std::sync::atomic::AtomicBool>,
}

impl TimedBody {
    fn new(inner: Incoming, timeout: Duration, late: Arc<std::sync::atomic::AtomicBool>) -> Self {
        TimedBody {
            inner,
            sleep: Box::pin(tokio::time::sleep(timeout)),
            late,
        }
    }
}

impl http_body::Body for TimedBody {
    type Data = bytes::Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        if let Poll::Ready(frame) = Pin::new(&mut self.inner).poll_frame(cx) {
            return Poll::Ready(frame.map(|f| f.map_err(Into::into)));
        }
        if self.sleep.as_mut().poll(cx).is_ready() {
            self.late.store(true, std::sync::atomic::Ordering::Relaxed);
            return Poll::Ready(Some(Err("the request body did not arrive in time".into())));
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> ConnLimits {
        ConnLimits {
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(60),
            keepalive_timeout: Duration::from_secs(30),
            max_connections: 10,
            max_per_address: 2,
            trusted: Vec::new(),
        }
    }

    #[test]
    fn deadlines_follow_the_connection_state() {
        let l = limits();
        let now = Instant::now();
        let mut a = Activity {
            in_flight: 0,
            served: 0,
            head_started: None,
            last_active: now,
        };
        // A new connection must send its first request within the header timeout.
        assert_eq!(deadline(&a, &l), Some(now + l.header_timeout));
        // A request being handled has no connection deadline.
        a.in_flight = 1;
        assert_eq!(deadline(&a, &l), None);
        // Kept alive after an answer: the keep-alive timeout.
        a.in_flight = 0;
        a.served = 1;
        assert_eq!(deadline(&a, &l), Some(now + l.keepalive_timeout));
        // A head under way: the header timeout from its first byte.
        a.head_started = Some(now);
        assert_eq!(deadline(&a, &l), Some(now + l.header_timeout));
    }

    #[test]
    fn address_slots_are_counted_and_given_back() {
        let map = Default::default();
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let a = AddressSlot::take(&map, ip, 2).unwrap();
        let b = AddressSlot::take(&map, ip, 2).unwrap();
        assert!(AddressSlot::take(&map, ip, 2).is_none());
        assert!(AddressSlot::take(&map, "10.0.0.2".parse().unwrap(), 2).is_some());
        drop(a);
        assert!(AddressSlot::take(&map, ip, 2).is_some());
        drop(b);
    }
}
