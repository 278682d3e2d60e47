//! A per-user request budget (token bucket), so that one client in a loop cannot starve the
//! others or flood the store.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

pub struct RateLimiter {
    per_minute: f64,
    buckets: Mutex<HashMap<String, Bucket>>,
}

struct Bucket {
    tokens: f64,
    updated: Instant,
}

impl RateLimiter {
    /// Allows `per_minute` requests a minute per user on average, in bursts of as many.
    pub fn new(per_minute: u32) -> RateLimiter {
        RateLimiter {
            per_minute: f64::from(per_minute.max(1)),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one request from the user's budget; `Err(seconds)` says when one is available.
    pub fn check(&self, user: &str) -> Result<(), u64> {
        self.check_at(user, Instant::now())
    }

    fn check_at(&self, user: &str, now: Instant) -> Result<(), u64> {
        // A poisoned lock only means another request panicked mid-update; the counts are
        // still usable.
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if buckets.len() > 100_000 {
            // Forget users who have refilled completely, so the map cannot grow without end.
            let full = self.per_minute;
            let rate = self.per_minute / 60.0;
            buckets.retain(|_, b| {
                b.tokens + now.duration_since(b.updated).as_secs_f64() * rate < full
            });
        }
        let bucket = buckets.entry(user.to_string()).or_insert(Bucket {
            tokens: self.per_minute,
            updated: now,
        });
        let refill = now.duration_since(bucket.updated).as_secs_f64() * self.per_minute / 60.0;
        bucket.tokens = (bucket.tokens + refill).min(self.per_minute);
        bucket.updated = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - bucket.tokens) * 60.0 / self.per_minute).ceil() as u64)
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_user_gets_a_burst_then_a_steady_rate_and_users_are_apart() {
        let limiter = RateLimiter::new(60);
        let start = Instant::now();
        for _ in 0..60 {
            assert!(limiter.check_at("anna", start).is_ok());
        }
        assert_eq!(limiter.check_at("anna", start), Err(1));
        assert!(
            limiter.check_at("bo", start).is_ok(),
            "another user has a budget of their own"
        );
        assert!(
            limiter
                .check_at("anna", start + Duration::from_secs(1))
                .is_ok()
        );
        assert!(
            limiter
                .check_at("anna", start + Duration::from_secs(1))
                .is_err()
        );
    }
}
