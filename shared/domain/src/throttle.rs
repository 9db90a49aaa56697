//! Guessing is capped. Failed sign-ins and failed access-code attempts are counted per target
//! (the account identifier, the organisation's codes) and per client address (an IPv6 /64 is one
//! address). A few failures are free; after them each failure doubles the wait before the next
//! attempt (as Cognito does), up to a ceiling.
//!
//! An account's failures are counted apart by where they come from: from the addresses its owner
//! has signed in from (*familiar*, remembered for 90 days after each sign-in) and from all the
//! others. Each kind locks after 50 failures in a row until the password is reset, so the two
//! together stay within NIST SP 800-63B's 100 (§5.2.2), and guesses from strangers, however many,
//! never hold back the owner at a familiar address. The price: after an attack, the owner signing
//! in from a new address waits like the attacker, or is locked until a password reset.
//!
//! Every attempt is charged as a failure *before* the secret is checked, with a conditional
//! write, so parallel attempts cannot all slip through on the same count; a success clears the
//! target's counter.

use serde::{Deserialize, Serialize};
use std::time::Duration;

use crate::clock::Timestamp;

/// A counter of recent failures.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attempts {
    pub failures: u32,
    pub last_failure: Timestamp,
    /// No attempt is admitted before this instant.
    pub blocked_until: Timestamp,
    #[serde(default)]
    pub version: u64,
    /// For a familiarity marker: the address counts as the account's own until then.
    #[serde(default)]
    pub trusted_until: Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottlePolicy {
    /// Failures admitted without waiting.
    pub free: u32,
    /// The wait after the first failure past the free ones; doubled at each further failure.
    pub base_delay: Duration,
    pub max_delay: Duration,
    /// After this many consecutive failures, nothing is admitted until the counter is cleared.
    pub lock_after: Option<u32>,
    /// A counter untouched for this long starts again from zero.
    pub forget_after: Option<Duration>,
}

impl ThrottlePolicy {
    /// Per account (whether or not it exists, so that throttling reveals nothing), for attempts
    /// from addresses it has not signed in from.
    pub const SIGN_IN_ACCOUNT: Self = Self {
        free: 5,
        base_delay: Duration::from_secs(1),
        max_delay: Duration::from_secs(3600),
        lock_after: Some(50),
        forget_after: None,
    };
    /// Per account, for attempts from the addresses its owner has signed in from.
    pub const SIGN_IN_FAMILIAR: Self = Self {
        free: 5,
        base_delay: Duration::from_secs(1),
        max_delay: Duration::from_secs(3600),
        lock_after: Some(50),
        forget_after: None,
    };
    /// How long an address stays familiar after a sign-in from it.
    pub const FAMILIAR_FOR: Duration = Duration::from_secs(90 * 86_400);
    /// Per client address, across accounts of one organisation.
    pub const SIGN_IN_CLIENT: Self = Self {
        free: 20,
        base_delay: Duration::from_secs(1),
        max_delay: Duration::from_secs(900),
        lock_after: None,
        forget_after: Some(Duration::from_secs(3600)),
    };
    /// Per trusted network (an office's NAT, declared by the organisation's admins), across
    /// accounts: the failures of hundreds of people behind one address, not of one stranger.
    pub const SIGN_IN_TRUSTED_NETWORK: Self = Self {
        free: 500,
        base_delay: Duration::from_secs(1),
        max_delay: Duration::from_secs(900),
        lock_after: None,
        forget_after: Some(Duration::from_secs(3600)),
    };
    /// Per client address, for access codes of one organisation.
    pub const CODE_CLIENT: Self = Self {
        free: 5,
        base_delay: Duration::from_secs(2),
        max_delay: Duration::from_secs(3600),
        lock_after: None,
        forget_after: Some(Duration::from_secs(86_400)),
    };
    /// Per organisation, for its access codes from all clients together.
    pub const CODE_ORG: Self = Self {
        free: 100,
        base_delay: Duration::from_secs(1),
        max_delay: Duration::from_secs(60),
        lock_after: None,
        forget_after: Some(Duration::from_secs(3600)),
    };

    /// Per client address, for registrations (invitation link, self-registration) in one
    /// organisation: each mails a confirmation to the address given, so one client cannot
    /// make Gatehouse mail hundreds of strangers. Every registration counts, whatever became of it.
    pub const REGISTRATION_CLIENT: Self = Self {
        free: 10,
        base_delay: Duration::from_secs(60),
        max_delay: Duration::from_secs(3600),
        lock_after: None,
        forget_after: Some(Duration::from_secs(3600)),
    };

    fn delay_after(&self, failures: u32) -> Duration {
        if failures < self.free {
            return Duration::ZERO;
        }
        let doublings = (failures - self.free).min(30);
        self.base_delay
            .saturating_mul(1u32 << doublings)
            .min(self.max_delay)
    }
}

/// Why an attempt is not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Try again after this long.
    Wait(Duration),
    /// Locked until the counter is cleared (a password reset, an admin).
    Locked,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::Wait(d) => match d.as_secs().max(1) {
                1 => f.write_str("too many failed attempts; try again in 1 second"),
                n => write!(f, "too many failed attempts; try again in {n} seconds"),
            },
            Refusal::Locked => f.write_str(
                "too many failed attempts; reset the password, or ask an administrator to set a new one",
            ),
        }
    }
}

impl Refusal {
    /// For a `Retry-After` header.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Refusal::Wait(d) => Some((*d).max(Duration::from_secs(1))),
            Refusal::Locked => None,
        }
    }
}

impl Attempts {
    /// The counter as it counts now: forgotten if untouched for long enough.
    pub fn current(&self, policy: &ThrottlePolicy, now: Timestamp) -> Attempts {
        match policy.forget_after {
            Some(window) if self.failures > 0 && now >= self.last_failure.plus(window) => {
                Attempts {
                    version: self.version,
                    trusted_until: self.trusted_until,
                    ..Attempts::default()
                }
            }
            _ => self.clone(),
        }
    }

    /// Whether an attempt may be made now.
    pub fn admits(&self, policy: &ThrottlePolicy, now: Timestamp) -> Result<(), Refusal> {
        let current = self.current(policy, now);
        if policy.lock_after.is_some_and(|n| current.failures >= n) {
            return Err(Refusal::Locked);
        }
        if now < current.blocked_until {
            let wait = current.blocked_until.unix_seconds() - now.unix_seconds();
            return Err(Refusal::Wait(Duration::from_secs(
                u64::try_from(wait).unwrap_or(1),
            )));
        }
        Ok(())
    }

    /// The counter after one more failure at `now`.
    pub fn charged(&self, policy: &ThrottlePolicy, now: Timestamp) -> Attempts {
        let current = self.current(policy, now);
        let failures = current.failures.saturating_add(1);
        Attempts {
            failures,
            last_failure: now,
            blocked_until: now.plus(policy.delay_after(failures)),
            version: self.version,
            trusted_until: current.trusted_until,
        }
    }
}

impl Attempts {
    /// The counter with one failure taken back (a charged attempt that turned out right): the
    /// wait is what the remaining failures call for.
    pub fn refunded(&self, policy: &ThrottlePolicy) -> Attempts {
        let failures = self.failures.saturating_sub(1);
        Attempts {
            failures,
            last_failure: self.last_failure,
            blocked_until: self.last_failure.plus(policy.delay_after(failures)),
            version: self.version,
            trusted_until: self.trusted_until,
        }
    }
}

/// One counter: what it counts and under which policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Counter {
    pub key: String,
    pub policy: ThrottlePolicy,
}

impl Counter {
    pub fn new(key: String, policy: ThrottlePolicy) -> Self {
        Self { key, policy }
    }

    /// How long to keep the counter: until nobody needs it any more.
    pub fn keep_until(&self, attempts: &Attempts) -> Timestamp {
        let window = self
            .policy
            .forget_after
            .unwrap_or(Duration::from_secs(400 * 86_400));
        attempts
            .blocked_until
            .max(attempts.last_failure.plus(window))
            .max(attempts.trusted_until)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: i64) -> Timestamp {
        Timestamp::from_unix_seconds(s)
    }

    #[test]
    fn a_few_failures_are_free_then_waits_double() {
        let p = ThrottlePolicy::SIGN_IN_ACCOUNT;
        let mut a = Attempts::default();
        let now = at(1_000);
        for _ in 0..4 {
            assert_eq!(a.admits(&p, now), Ok(()));
            a = a.charged(&p, now);
        }
        assert_eq!(a.admits(&p, now), Ok(()), "the fifth attempt is free too");
        a = a.charged(&p, now);
        assert_eq!(
            a.admits(&p, now),
            Err(Refusal::Wait(Duration::from_secs(1)))
        );
        a = a.charged(&p, at(1_001));
        assert_eq!(
            a.admits(&p, at(1_001)),
            Err(Refusal::Wait(Duration::from_secs(2)))
        );
        a = a.charged(&p, at(1_003));
        assert_eq!(
            a.admits(&p, at(1_003)),
            Err(Refusal::Wait(Duration::from_secs(4)))
        );
        assert_eq!(a.admits(&p, at(1_007)), Ok(()));
    }

    #[test]
    fn waits_are_capped_and_accounts_lock_after_50() {
        let p = ThrottlePolicy::SIGN_IN_ACCOUNT;
        let mut a = Attempts::default();
        let mut now = at(0);
        for _ in 0..49 {
            now = now.plus(Duration::from_secs(3600));
            assert_eq!(a.admits(&p, now), Ok(()));
            a = a.charged(&p, now);
            assert!(a.blocked_until <= now.plus(p.max_delay));
        }
        now = now.plus(Duration::from_secs(3600));
        a = a.charged(&p, now);
        assert_eq!(a.failures, 50);
        assert_eq!(
            a.admits(&p, now.plus(Duration::from_secs(365 * 86_400))),
            Err(Refusal::Locked)
        );
    }

    #[test]
    fn a_refund_takes_back_one_failure_and_its_wait() {
        let p = ThrottlePolicy::CODE_CLIENT;
        let mut a = Attempts::default();
        for _ in 0..5 {
            a = a.charged(&p, at(0));
        }
        assert!(a.admits(&p, at(0)).is_err());
        let r = a.refunded(&p);
        assert_eq!(r.failures, 4);
        assert_eq!(r.admits(&p, at(0)), Ok(()));
        assert_eq!(Attempts::default().refunded(&p).failures, 0);
    }

    #[test]
    fn client_counters_are_forgotten_after_a_quiet_while() {
        let p = ThrottlePolicy::SIGN_IN_CLIENT;
        let mut a = Attempts::default();
        for _ in 0..30 {
            a = a.charged(&p, at(0));
        }
        assert!(a.admits(&p, at(10)).is_err());
        assert_eq!(a.admits(&p, at(3_600)), Ok(()));
        assert_eq!(a.charged(&p, at(3_600)).failures, 1);
    }
}
