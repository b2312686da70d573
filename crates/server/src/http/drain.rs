//! Answering errors to clients that are still uploading.
//!
//! A handler may refuse a request (no token, another company's folder, a role that may not
//! enrol) before reading its body. If the server then closed the connection with a multi-megabyte
//! upload still in flight, most clients would report a broken pipe instead of the error. This
//! layer keeps a handle on the request body; when the answer is an error and the body was not
//! read to its end, it reads and discards the rest (at most `max_request_bytes`, within a time
//! limit) before the answer goes out.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use http_body::Frame;

use crate::app::AppState;

/// The request body, shared between the handler (which reads through it) and this layer.
struct Shared(Arc<Mutex<Option<Body>>>);

impl HttpBody for Shared {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let mut slot = self.0.lock().unwrap_or_else(|e| e.into_inner());
        match slot.as_mut() {
            Some(body) => Pin::new(body).poll_frame(cx),
            None => Poll::Ready(None),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.0
            .lock()
            .map(|b| b.as_ref().is_none_or(|b| b.is_end_stream()))
            .unwrap_or(true)
    }
}

/// Poll the shared body once (without holding the lock across an await).
async fn next_frame(shared: &Arc<Mutex<Option<Body>>>) -> Option<Result<usize, axum::Error>> {
    std::future::poll_fn(|cx| {
        let mut slot = shared.lock().unwrap_or_else(|e| e.into_inner());
        match slot.as_mut() {
            None => Poll::Ready(None),
            Some(body) => match Pin::new(body).poll_frame(cx) {
                Poll::Pending => Poll::Pending,
                Poll::Ready(None) => Poll::Ready(None),
                Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e))),
                Poll::Ready(Some(Ok(frame))) => {
                    Poll::Ready(Some(Ok(frame.data_ref().map(|d| d.len()).unwrap_or(0))))
                }
            },
        }
    })
    .await
}

pub async fn drain_unread_body_on_error(
    State(st): State<AppState>,
    req: Request,
    next: Next,
) -> Response {
    let (parts, body) = req.into_parts();
    let shared = Arc::new(Mutex::new(Some(body)));
    let req = Request::from_parts(parts, Body::new(Shared(shared.clone())));
    let response = next.run(req).await;
    let unread = shared
        .lock()
        .map(|b| b.as_ref().is_some_and(|b| !b.is_end_stream()))
        .unwrap_or(false);
    if response.status().is_client_error() && unread {
        let limit = st.cfg.max_request_bytes;
        let drain = async {
            let mut seen = 0usize;
            while let Some(Ok(n)) = next_frame(&shared).await {
                seen += n;
                if seen > limit {
                    break;
                }
            }
        };
        let _ = tokio::time::timeout(Duration::from_secs(30), drain).await;
    }
    response
}
