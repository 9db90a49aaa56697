//! Time, passed into the rules. [`SystemClock`] is the only place that reads the system clock.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::time::Duration;

/// Seconds since the Unix epoch, UTC.
#[derive(
    Debug, Default, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Timestamp(i64);

impl Timestamp {
    pub const fn from_unix_seconds(seconds: i64) -> Self {
        Self(seconds)
    }

    pub const fn unix_seconds(self) -> i64 {
        self.0
    }

    pub fn plus(self, duration: Duration) -> Self {
        let secs = i64::try_from(duration.as_secs()).unwrap_or(i64::MAX);
        Self(self.0.saturating_add(secs))
    }

    pub fn minus(self, duration: Duration) -> Self {
        let secs = i64::try_from(duration.as_secs()).unwrap_or(i64::MAX);
        Self(self.0.saturating_sub(secs))
    }

    /// An instant written in RFC 3339 (`2026-12-05T09:00:00Z`, any offset; fractions of a
    /// second dropped).
    pub fn parse_rfc3339(raw: &str) -> Option<Self> {
        time::OffsetDateTime::parse(raw.trim(), &time::format_description::well_known::Rfc3339)
            .ok()
            .map(|t| Self(t.unix_timestamp()))
    }

    /// RFC 3339 text, as the HTTP API shows instants.
    pub fn to_rfc3339(self) -> String {
        time::OffsetDateTime::from_unix_timestamp(self.0)
            .ok()
            .and_then(|t| {
                t.format(&time::format_description::well_known::Rfc3339)
                    .ok()
            })
            .unwrap_or_else(|| self.0.to_string())
    }
}

impl Timestamp {
    /// The instant as people read it in an English email: `Monday 21 December 2026, 14:05 UTC`.
    pub fn to_human_english(self) -> String {
        const DAYS: [&str; 7] = [
            "Monday",
            "Tuesday",
            "Wednesday",
            "Thursday",
            "Friday",
            "Saturday",
            "Sunday",
        ];
        const MONTHS: [&str; 12] = [
            "January",
            "February",
            "March",
            "April",
            "May",
            "June",
            "July",
            "August",
            "September",
            "October",
            "November",
            "December",
        ];
        match time::OffsetDateTime::from_unix_timestamp(self.0) {
            Ok(t) => format!(
                "{} {} {} {}, {:02}:{:02} UTC",
                DAYS[usize::from(t.weekday().number_days_from_monday())],
                t.day(),
                MONTHS[usize::from(u8::from(t.month()) - 1)],
                t.year(),
                t.hour(),
                t.minute()
            ),
            Err(_) => self.to_rfc3339(),
        }
    }
}

impl Timestamp {
    /// As French readers write it: "5 décembre 2026 à 6 h 36 UTC", the first of a month "1er".
    pub fn to_human_french(self) -> String {
        const MONTHS: [&str; 12] = [
            "janvier",
            "février",
            "mars",
            "avril",
            "mai",
            "juin",
            "juillet",
            "août",
            "septembre",
            "octobre",
            "novembre",
            "décembre",
        ];
        match time::OffsetDateTime::from_unix_timestamp(self.0) {
            Ok(t) => format!(
                "{}{} {} {} à {} h {:02} UTC",
                t.day(),
                if t.day() == 1 { "er" } else { "" },
                MONTHS[usize::from(u8::from(t.month()) - 1)],
                t.year(),
                t.hour(),
                t.minute()
            ),
            Err(_) => self.to_rfc3339(),
        }
    }

    /// In `language`.
    pub fn to_human(self, language: crate::types::Language) -> String {
        match language {
            crate::types::Language::En => self.to_human_english(),
            crate::types::Language::Fr => self.to_human_french(),
        }
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

pub trait Clock: Send + Sync {
    fn now(&self) -> Timestamp;
}

/// The production clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[allow(clippy::disallowed_methods)] // the one sanctioned read of the system clock
    fn now(&self) -> Timestamp {
        let since_epoch = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        Timestamp(i64::try_from(since_epoch.as_secs()).unwrap_or(i64::MAX))
    }
}

/// A clock that stands still until moved; for tests and simulations.
#[derive(Debug)]
pub struct FixedClock(std::sync::atomic::AtomicI64);

impl FixedClock {
    pub fn at(t: Timestamp) -> Self {
        Self(std::sync::atomic::AtomicI64::new(t.0))
    }

    pub fn advance(&self, by: Duration) {
        let secs = i64::try_from(by.as_secs()).unwrap_or(i64::MAX);
        self.0.fetch_add(secs, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Clock for FixedClock {
    fn now(&self) -> Timestamp {
        Timestamp(self.0.load(std::sync::atomic::Ordering::SeqCst))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_print_as_rfc3339() {
        assert_eq!(
            Timestamp::from_unix_seconds(1_700_000_000).to_rfc3339(),
            "2023-11-14T22:13:20Z"
        );
    }

    #[test]
    fn fixed_clock_moves_only_when_advanced() {
        let clock = FixedClock::at(Timestamp::from_unix_seconds(10));
        assert_eq!(clock.now().unix_seconds(), 10);
        clock.advance(Duration::from_secs(5));
        assert_eq!(clock.now().unix_seconds(), 15);
    }
}

#[cfg(test)]
mod human_tests {
    use super::Timestamp;

    #[test]
    fn instants_read_as_english_dates() {
        // 2026-12-21T14:05:09Z was a Monday.
        assert_eq!(
            Timestamp::from_unix_seconds(1_797_861_909).to_human_english(),
            "Monday 21 December 2026, 14:05 UTC"
        );
        assert_eq!(
            Timestamp::from_unix_seconds(0).to_human_english(),
            "Thursday 1 January 1970, 00:00 UTC"
        );
    }
}
