//! Failed-login counting per account and per client address, in memory (per process).
//!
//! After `max_failures` failures for an account (or `max_address_failures` from one address, higher
//! since many users may share an address) within `window`, further attempts are refused with HTTP 429 until the oldest failure leaves the window. A successful
//! login clears the account's counter (not the address's).

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub struct LoginLimiter {
    max_failures: usize,
    max_address_failures: usize,
    window: Duration,
    failures: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl LoginLimiter {
    pub fn new(max_failures: usize, max_address_failures: usize, window: Duration) -> Self {
        LoginLimiter {
            max_failures,
            max_address_failures,
            window,
            failures: Mutex::new(HashMap::new()),
        }
    }

    fn keys(email: &str, addr: &str) -> [String; 2] {
        [
            format!("account:{}", email.trim().to_lowercase()),
            format!("address:{addr}"),
        ]
    }

    /// Seconds to wait when blocked, `None` when an attempt is allowed.
    pub fn blocked(&self, email: &str, addr: &str) -> Option<u64> {
        let now = Instant::now();
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let mut wait = None;
        let [account, address] = Self::keys(email, addr);
        for (key, max) in [
            (account, self.max_failures),
            (address, self.max_address_failures),
        ] {
            if let Some(q) = map.get_mut(&key) {
                while q
                    .front()
                    .is_some_and(|t| now.duration_since(*t) > self.window)
                {
                    q.pop_front();
                }
                if q.len() >= max {
                    let oldest = *q.front().expect("non-empty");
                    let secs = self
                        .window
                        .saturating_sub(now.duration_since(oldest))
                        .as_secs()
                        + 1;
                    wait = Some(wait.map_or(secs, |w: u64| w.max(secs)));
                }
            }
        }
        wait
    }

    pub fn failed(&self, email: &str, addr: &str) {
        let now = Instant::now();
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() > 100_000 {
            map.retain(|_, q| {
                q.back()
                    .is_some_and(|t| now.duration_since(*t) <= self.window)
            });
        }
        for key in Self::keys(email, addr) {
            map.entry(key).or_default().push_back(now);
        }
    }

    pub fn succeeded(&self, email: &str, addr: &str) {
        let [account, _] = Self::keys(email, addr);
        self.failures
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&account);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_after_max_failures() {
        let l = LoginLimiter::new(3, 3, Duration::from_secs(60));
        for _ in 0..3 {
            assert!(l.blocked("a@x", "1.2.3.4").is_none());
            l.failed("a@x", "1.2.3.4");
        }
        assert!(l.blocked("A@x", "5.6.7.8").is_some(), "per account");
        assert!(l.blocked("b@x", "1.2.3.4").is_some(), "per address");
        assert!(l.blocked("b@x", "5.6.7.8").is_none());
    }
}
