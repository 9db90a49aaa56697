//! Admitting an attempt at a secret (a password, an access code) past the failure counters.

use crate::events::ChangeEvents;
use sha2::{Digest, Sha256};
use std::time::Duration;

use crate::clock::Timestamp;
use crate::ports::{AttemptsChange, StoreError, WriteError};
use crate::services::Services;
use crate::throttle::{Attempts, Counter, Refusal};

/// Where a request comes from (the client's IP address, as API Gateway saw it). An IPv6 client
/// is its /64: one subscriber is usually handed a whole /64, so counting single IPv6 addresses
/// would give anyone 2^64 fresh clients.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientAddress(String);

impl ClientAddress {
    pub fn new(address: &str) -> Self {
        let trimmed = address.trim();
        if let Ok(ip) = trimmed.parse::<std::net::IpAddr>() {
            return Self::from_ip(ip);
        }
        let kept: String = trimmed.chars().take(64).collect();
        Self(if kept.is_empty() {
            "unknown".into()
        } else {
            kept
        })
    }

    pub fn from_ip(ip: std::net::IpAddr) -> Self {
        use std::net::{IpAddr, Ipv6Addr};
        match ip {
            IpAddr::V4(v4) => Self(v4.to_string()),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Self(v4.to_string()),
                None => {
                    let prefix = u128::from(v6) & !((1u128 << 64) - 1);
                    Self(format!("{}/64", Ipv6Addr::from(prefix)))
                }
            },
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The address (an IPv6 client's /64 as its first address), if it is one.
    pub fn ip(&self) -> Option<std::net::IpAddr> {
        self.0.split('/').next().and_then(|a| a.parse().ok())
    }
}

/// A counter key that names a target without storing it: its SHA-256.
pub(crate) fn hashed(target: &str) -> String {
    hex::encode(Sha256::digest(target.as_bytes()))
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum AdmitError {
    #[error("too many attempts")]
    Refused(Refusal),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// How often an attempt re-reads counters that changed under it before giving up. Only counters
/// past their free allowance are replaced from what was read (and so can lose races); within it,
/// charges are additions that never do.
const ADMIT_TRIES: u32 = 16;

/// Charges one failure to every counter, unless one of them refuses the attempt. The charge is
/// made before the secret is checked, so parallel attempts are counted one by one; a success
/// clears the target's counter afterwards ([`clear`]) or takes its own charge back ([`refund`]).
/// Within a counter's free allowance the charge is an addition (no wait follows it), so people
/// sharing an address never make each other fail; past it, the counter is replaced from what
/// was read, with its doubled wait, on condition that it did not change meanwhile.
/// Answers each counter as charged, for [`refund`].
pub(crate) async fn admit(
    services: &Services,
    counters: &[Counter],
) -> Result<Vec<Attempts>, AdmitError> {
    admit_as_read(services, counters, None).await
}

/// [`admit`], deciding first from counters the caller has just read (in the same order), so that
/// the read could share a round trip with the caller's other reads.
pub(crate) async fn admit_as_read(
    services: &Services,
    counters: &[Counter],
    mut just_read: Option<Vec<Option<Attempts>>>,
) -> Result<Vec<Attempts>, AdmitError> {
    let keys: Vec<String> = counters.iter().map(|c| c.key.clone()).collect();
    for attempt in 0..ADMIT_TRIES {
        if attempt > 0 {
            // Lost a race for the counter: back off a random while, so that racers spread out.
            let mut byte = [0u8; 1];
            services.random.fill(&mut byte);
            let ceiling = 5u64 << attempt.min(5);
            tokio::time::sleep(Duration::from_millis(1 + u64::from(byte[0]) % ceiling)).await;
        }
        let read = match just_read.take().filter(|r| r.len() == keys.len()) {
            Some(read) => read,
            None => services.store.attempts(&keys).await?,
        };
        let now = services.clock.now();
        let mut refusal: Option<Refusal> = None;
        for (counter, attempts) in counters.iter().zip(&read) {
            if let Err(r) = attempts
                .clone()
                .unwrap_or_default()
                .admits(&counter.policy, now)
            {
                refusal = Some(match (refusal, r) {
                    (Some(Refusal::Locked), _) | (_, Refusal::Locked) => Refusal::Locked,
                    (Some(Refusal::Wait(a)), Refusal::Wait(b)) => Refusal::Wait(a.max(b)),
                    (None, r) => r,
                });
            }
        }
        if let Some(r) = refusal {
            return Err(AdmitError::Refused(r));
        }
        let (changes, charged): (Vec<AttemptsChange>, Vec<Attempts>) = counters
            .iter()
            .zip(read)
            .map(|(counter, attempts)| charge(counter, attempts, now))
            .unzip();
        match services
            .store
            .record_attempts(&changes, &ChangeEvents::none())
            .await
        {
            Ok(()) => return Ok(charged),
            Err(WriteError::Stale) => continue,
            Err(WriteError::Store(e)) => return Err(e.into()),
            Err(e) => return Err(StoreError::Unavailable(e.into()).into()),
        }
    }
    // Heavy contention on a counter past its allowance: refuse rather than let attempts through
    // uncounted.
    Err(AdmitError::Refused(Refusal::Wait(Duration::from_secs(1))))
}

/// The change that charges one failure to a counter read as `read`, and the counter after it.
fn charge(counter: &Counter, read: Option<Attempts>, now: Timestamp) -> (AttemptsChange, Attempts) {
    let before = read.clone().unwrap_or_default();
    let next = before.charged(&counter.policy, now);
    let forgotten = before.current(&counter.policy, now) != before;
    let keep_until = counter.keep_until(&next);
    if !forgotten && next.failures < counter.policy.free {
        let change = AttemptsChange::Charge {
            key: counter.key.clone(),
            at: now,
            free: counter.policy.free,
            keep_until,
        };
        return (change, next);
    }
    let change = AttemptsChange::Replace {
        key: counter.key.clone(),
        read: read.as_ref().map(|a| a.version),
        next: next.clone(),
        keep_until,
    };
    let stored = Attempts {
        version: read.as_ref().map_or(0, |a| a.version + 1),
        ..next
    };
    (change, stored)
}

/// The refund of a charge made within the counter's free allowance: a subtraction that can join
/// another write. `None` past the allowance, where [`refund`] replaces the counter instead.
pub(crate) fn quick_refund(counter: &Counter, charged: &Attempts) -> Option<AttemptsChange> {
    (charged.failures < counter.policy.free).then(|| AttemptsChange::Refund {
        key: counter.key.clone(),
    })
}

/// [`refund`] for several counters: the quick refunds in one write, the others one by one.
pub(crate) async fn refund_all(services: &Services, counters: &[Counter], charged: &[Attempts]) {
    let pairs: Vec<(&Counter, &Attempts)> = counters.iter().zip(charged).collect();
    let quick: Vec<AttemptsChange> = pairs
        .iter()
        .filter_map(|(counter, charge)| quick_refund(counter, charge))
        .collect();
    let together = quick.len() > 1
        && services
            .store
            .record_attempts(&quick, &ChangeEvents::none())
            .await
            .is_ok();
    for (counter, charge) in pairs {
        if together && quick_refund(counter, charge).is_some() {
            continue;
        }
        refund(services, counter, charge).await;
    }
}

/// Forgets a counter after a success. A failure only leaves the counter as charged.
pub(crate) async fn clear(services: &Services, counter: &Counter) {
    if let Err(e) = services.store.clear_attempts(&counter.key).await {
        tracing::warn!(cause = %crate::Chain(&e), "a failure counter was not cleared after a success");
    }
}

/// Takes back the failure [`admit`] charged to `counter`, after the attempt turned out right.
/// Unlike [`clear`], it leaves every other failure counted: a right guess must not wipe the
/// wrong ones (an attacker holding one valid code could otherwise reset a shared counter).
/// Within the free allowance it is a subtraction that cannot lose a race; past it, the counter
/// is replaced with the wait its remaining failures call for (best effort under contention).
pub(crate) async fn refund(services: &Services, counter: &Counter, charged: &Attempts) {
    if let Some(change) = quick_refund(counter, charged) {
        match services
            .store
            .record_attempts(&[change], &ChangeEvents::none())
            .await
        {
            // Stale: the counter has no failure left to take back (it was cleared meanwhile).
            Ok(()) | Err(WriteError::Stale) => {}
            Err(e) => {
                tracing::warn!(cause = %crate::Chain(&e), "a failure counter was not refunded")
            }
        }
        return;
    }
    // First from the state the charge stored; re-read only if it changed since.
    let mut known = Some(charged.clone());
    for _ in 0..4 {
        let read = match known.take() {
            Some(a) => Some(a),
            None => match services
                .store
                .attempts(std::slice::from_ref(&counter.key))
                .await
            {
                Ok(mut r) => r.pop().flatten(),
                Err(e) => {
                    tracing::warn!(cause = %crate::Chain(&e), "a failure counter was not refunded");
                    return;
                }
            },
        };
        let Some(attempts) = read.filter(|a| a.failures > 0) else {
            return;
        };
        let next = attempts.refunded(&counter.policy);
        let change = AttemptsChange::Replace {
            key: counter.key.clone(),
            read: Some(attempts.version),
            keep_until: counter.keep_until(&next),
            next,
        };
        match services
            .store
            .record_attempts(&[change], &ChangeEvents::none())
            .await
        {
            Ok(()) => return,
            Err(WriteError::Stale) => continue,
            Err(e) => {
                tracing::warn!(cause = %crate::Chain(&e), "a failure counter was not refunded");
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ClientAddress;

    #[test]
    fn an_ipv6_client_is_its_slash_64() {
        let a = ClientAddress::new("2001:db8:1:2:aaaa:bbbb:cccc:dddd");
        let b = ClientAddress::new("2001:db8:1:2::1");
        assert_eq!(a, b);
        assert_eq!(a.as_str(), "2001:db8:1:2::/64");
        assert_ne!(a, ClientAddress::new("2001:db8:1:3::1"));
    }

    #[test]
    fn ipv4_clients_and_mapped_ones_are_themselves() {
        assert_eq!(ClientAddress::new(" 192.0.2.7 ").as_str(), "192.0.2.7");
        assert_eq!(ClientAddress::new("::ffff:192.0.2.7").as_str(), "192.0.2.7");
        assert_ne!(
            ClientAddress::new("192.0.2.7"),
            ClientAddress::new("192.0.2.8")
        );
        assert_eq!(ClientAddress::new("").as_str(), "unknown");
    }
}
