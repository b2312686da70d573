//! Failed-login counting per (account, client address) pair, in memory (per process).
//!
//! Keying on the pair means an attacker guessing a victim's password from one address locks out
//! only that pair: the victim signing in from their own address, and the other people behind the
//! attacker's NAT, are not affected. After `max_failures` failures of a pair the pair waits
//! `backoff`, doubling with every further failure up to `backoff_max`; a success clears the pair,
//! and a pair's count is forgotten `window` after its last failure.
//!
//! An optional ceiling per address (`max_address_failures`, 0 = off) refuses every account from an
//! address that failed that often within `window` — it stops credential stuffing from one host at
//! the price of locking out a shared NAT, so it is the operator's choice.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub struct LoginLimits {
    pub max_failures: u32,
    pub max_address_failures: u32,
    pub window: Duration,
    pub backoff: Duration,
    pub backoff_max: Duration,
}

#[derive(Default)]
struct Failures {
    count: u32,
    last: Option<Instant>,
    blocked_until: Option<Instant>,
}

pub struct LoginLimiter {
    limits: LoginLimits,
    pairs: Mutex<HashMap<(String, String), Failures>>,
    addresses: Mutex<HashMap<String, Failures>>,
}

fn account_key(email: &str) -> String {
    email.trim().to_lowercase()
}

impl LoginLimiter {
    pub fn new(limits: LoginLimits) -> Self {
        LoginLimiter {
            limits,
            pairs: Mutex::new(HashMap::new()),
            addresses: Mutex::new(HashMap::new()),
        }
    }

    fn wait_of(f: &Failures, now: Instant) -> Option<u64> {
        let until = f.blocked_until?;
        (until > now).then(|| until.duration_since(now).as_secs_f64().ceil().max(1.0) as u64)
    }

    /// Seconds to wait when blocked, `None` when an attempt is allowed.
    pub fn blocked(&self, email: &str, addr: &str) -> Option<u64> {
        let now = Instant::now();
        let pair = self
            .pairs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&(account_key(email), addr.to_string()))
            .and_then(|f| Self::wait_of(f, now));
        let address = self
            .addresses
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(addr)
            .and_then(|f| Self::wait_of(f, now));
        pair.max(address)
    }

    /// Count one failure; `window` after the previous failure the count starts again.
    fn count(&self, f: &mut Failures, now: Instant) {
        if f.last
            .is_some_and(|t| now.duration_since(t) > self.limits.window)
        {
            *f = Failures::default();
        }
        f.count += 1;
        f.last = Some(now);
    }

    pub fn failed(&self, email: &str, addr: &str) {
        let now = Instant::now();
        let l = &self.limits;
        {
            let mut pairs = self.pairs.lock().unwrap_or_else(|e| e.into_inner());
            Self::forget_old(&mut *pairs, now, l.window.max(l.backoff_max));
            let f = pairs
                .entry((account_key(email), addr.to_string()))
                .or_default();
            self.count(f, now);
            if f.count >= l.max_failures {
                let doublings = (f.count - l.max_failures).min(20);
                let wait = l.backoff.saturating_mul(1 << doublings).min(l.backoff_max);
                f.blocked_until = Some(now + wait);
            }
        }
        if l.max_address_failures > 0 {
            let mut addresses = self.addresses.lock().unwrap_or_else(|e| e.into_inner());
            Self::forget_old(&mut *addresses, now, l.window);
            let f = addresses.entry(addr.to_string()).or_default();
            self.count(f, now);
            if f.count >= l.max_address_failures {
                f.blocked_until = Some(now + l.window);
            }
        }
    }

    pub fn succeeded(&self, email: &str, addr: &str) {
        self.pairs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&(account_key(email), addr.to_string()));
    }

    /// Bound the memory an attacker can make us hold: entries idle for `keep` go.
    fn forget_old<K: std::hash::Hash + Eq>(
        map: &mut HashMap<K, Failures>,
        now: Instant,
        keep: Duration,
    ) {
        if map.len() > 100_000 {
            map.retain(|_, f| f.last.is_some_and(|t| now.duration_since(t) <= keep));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(max_address_failures: u32) -> LoginLimiter {
        LoginLimiter::new(LoginLimits {
            max_failures: 3,
            max_address_failures,
            window: Duration::from_secs(60),
            backoff: Duration::from_secs(10),
            backoff_max: Duration::from_secs(100),
        })
    }

    #[test]
    fn blocks_the_pair_only() {
        let l = limiter(0);
        for _ in 0..3 {
            assert!(l.blocked("a@x", "1.2.3.4").is_none());
            l.failed("a@x", "1.2.3.4");
        }
        assert!(l.blocked("A@x", "1.2.3.4").is_some(), "same pair, any case");
        assert!(
            l.blocked("a@x", "5.6.7.8").is_none(),
            "the victim elsewhere"
        );
        assert!(
            l.blocked("b@x", "1.2.3.4").is_none(),
            "others behind the NAT"
        );
    }

    #[test]
    fn backs_off_exponentially_up_to_the_cap() {
        let l = limiter(0);
        let waits: Vec<u64> = (0..7)
            .map(|_| {
                l.failed("a@x", "1.2.3.4");
                l.blocked("a@x", "1.2.3.4").unwrap_or(0)
            })
            .collect();
        assert_eq!(waits, [0, 0, 10, 20, 40, 80, 100]);
        l.succeeded("a@x", "1.2.3.4");
        assert!(l.blocked("a@x", "1.2.3.4").is_none());
    }

    #[test]
    fn address_ceiling_is_opt_in() {
        let l = limiter(4);
        for i in 0..4 {
            l.failed(&format!("user{i}@x"), "1.2.3.4");
        }
        assert!(l.blocked("new@x", "1.2.3.4").is_some());
        assert!(l.blocked("new@x", "5.6.7.8").is_none());
    }
}
