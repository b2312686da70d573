//! The process's stop flag: set once, on SIGTERM or Ctrl-C (see [`crate::app::shutdown`]). The
//! HTTP server stops accepting on it, workers stop claiming new jobs, readiness answers 503; what
//! then happens within `shutdown_timeout_secs` is `crate::ops::drain`'s business.

use tokio::sync::watch;

pub struct Lifecycle {
    stop: watch::Sender<bool>,
}

impl Default for Lifecycle {
    fn default() -> Self {
        Lifecycle {
            stop: watch::Sender::new(false),
        }
    }
}

impl Lifecycle {
    /// Begin stopping (idempotent).
    pub fn stop(&self) {
        self.stop.send_replace(true);
    }

    pub fn is_stopping(&self) -> bool {
        *self.stop.borrow()
    }

    /// Resolves once stopping has begun (at once if it already has).
    pub async fn stopping(&self) {
        let mut rx = self.stop.subscribe();
        let _ = rx.wait_for(|s| *s).await;
    }
}
