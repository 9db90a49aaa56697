//! Quotas on the mail people can make Gatehouse send in the organisation's name: invitations
//! (and resends) per inviter per hour, and per invited address (or identifier) per day, whoever
//! asks. Each is a counter of the current window (the clock hour, the UTC day), charged in the
//! same write as the invitation, on condition that it is below its cap: past a cap nothing is
//! written or mailed, and the answer is `429 too_many_invitations` with the wait until the
//! window ends. Parallel requests cannot slip under a cap together, and a quota costs no extra
//! round trip. The caps are organisation settings.

use std::time::Duration;

use crate::clock::Timestamp;
use crate::model::Settings;
use crate::ports::AttemptsChange;
use crate::types::{OrgDomain, UserId};
use crate::usecase::guard::hashed;

const HOUR: Duration = Duration::from_secs(3600);
const DAY: Duration = Duration::from_secs(86_400);

/// One quota: `cap` uses in each window of `window`.
struct Quota {
    key: String,
    cap: u32,
    window: Duration,
}

impl Quota {
    fn window_len(&self) -> i64 {
        i64::try_from(self.window.as_secs()).unwrap_or(i64::MAX)
    }

    fn window_index(&self, now: Timestamp) -> i64 {
        now.unix_seconds().div_euclid(self.window_len())
    }

    /// One use, as a conditional addition to the window's counter: it fails once the counter
    /// holds `cap` uses.
    fn charge(&self, now: Timestamp) -> AttemptsChange {
        AttemptsChange::Count {
            key: format!("{}#{}", self.key, self.window_index(now)),
            at: now,
            cap: self.cap,
            keep_until: now.plus(self.window),
        }
    }

    /// How long until the current window ends.
    fn rest_of_window(&self, now: Timestamp) -> Duration {
        let ends = (self.window_index(now) + 1).saturating_mul(self.window_len());
        Duration::from_secs(u64::try_from(ends - now.unix_seconds()).unwrap_or(1).max(1))
    }
}

/// Imports that mail (not dry runs) an organisation may start in a UTC day: 20 files of at most
/// 500 rows, 10,000 invitations, beside the admins' `admin_invitations_per_hour`.
pub const IMPORTS_PER_DAY: u32 = 20;

/// The charge of one import that mails, and the wait to answer if it is spent.
pub(crate) fn import_charge(org: &OrgDomain, now: Timestamp) -> (AttemptsChange, Duration) {
    let quota = Quota {
        key: format!("imports#{org}"),
        cap: IMPORTS_PER_DAY,
        window: DAY,
    };
    (quota.charge(now), quota.rest_of_window(now))
}

/// The charges of one invitation (or resend), for the write that makes it, and the wait to
/// answer if the write says one of them is spent.
pub(crate) struct InvitationQuota {
    quotas: [Quota; 2],
    now: Timestamp,
}

impl InvitationQuota {
    /// `address`: the invited email (normalised) or identifier.
    pub(crate) fn new(
        org: &OrgDomain,
        settings: &Settings,
        inviter: &UserId,
        inviter_is_admin: bool,
        address: &str,
        now: Timestamp,
    ) -> Self {
        let per_inviter = Quota {
            key: format!("invite-by#{org}#{inviter}"),
            cap: if inviter_is_admin {
                settings.admin_invitations_per_hour
            } else {
                settings.invitations_per_hour
            }
            .max(1),
            window: HOUR,
        };
        let per_address = Quota {
            key: format!("invite-to#{org}#{}", hashed(address)),
            cap: settings.invitations_per_address_per_day.max(1),
            window: DAY,
        };
        Self {
            quotas: [per_inviter, per_address],
            now,
        }
    }

    pub(crate) fn charges(&self) -> Vec<AttemptsChange> {
        self.quotas.iter().map(|q| q.charge(self.now)).collect()
    }

    /// The wait after the write said charge `index` is spent.
    pub(crate) fn wait(&self, index: usize) -> Duration {
        self.quotas
            .get(index)
            .map_or(HOUR, |q| q.rest_of_window(self.now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_ends_at_the_next_clock_hour_or_utc_day() {
        let at = Timestamp::from_unix_seconds(7_200 + 600);
        let quota = InvitationQuota::new(
            &OrgDomain::parse("acme").unwrap(),
            &Settings::default(),
            &UserId::parse("0190f5a8b6c37d4e8f9a0b1c2d3e4f50").unwrap(),
            false,
            "ada@example.com",
            at,
        );
        assert_eq!(quota.wait(0), Duration::from_secs(3_000));
        assert_eq!(quota.wait(1), Duration::from_secs(86_400 - 7_800));
        let charges = quota.charges();
        let AttemptsChange::Count { key, cap, .. } = &charges[0] else {
            panic!("{charges:?}");
        };
        assert!(
            key.starts_with("invite-by#acme#") && key.ends_with("#2"),
            "{key}"
        );
        assert_eq!(*cap, Settings::DEFAULT_INVITATIONS_PER_HOUR);
        let AttemptsChange::Count { key, cap, .. } = &charges[1] else {
            panic!("{charges:?}");
        };
        assert!(
            key.starts_with("invite-to#acme#") && key.ends_with("#0"),
            "{key}"
        );
        assert!(!key.contains("ada"), "the address is not stored: {key}");
        assert_eq!(*cap, Settings::DEFAULT_INVITATIONS_PER_ADDRESS_PER_DAY);
    }
}
