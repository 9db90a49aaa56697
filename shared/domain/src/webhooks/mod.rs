//! Webhooks as the Standard Webhooks specification has them (the scheme Svix and others
//! implement): a per-endpoint secret `whsec_…`, and each delivery signed with HMAC-SHA256 over
//! `{webhook-id}.{webhook-timestamp}.{body}`, sent as `webhook-signature: v1,<base64>` (several,
//! space-separated, while a rotated secret still signs).

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

mod records;
pub use records::*;

use crate::clock::Timestamp;
use crate::oidc::client::{host_of, is_loopback};
use crate::secret::Randomness;
use crate::types::ParseError;

/// An endpoint's signing secret: 24 random bytes, shown to the admin once as `whsec_` and their
/// base64.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookSecret(Vec<u8>);

impl WebhookSecret {
    const PREFIX: &'static str = "whsec_";
    const BYTES: usize = 24;

    pub fn generate(random: &dyn Randomness) -> Self {
        let mut bytes = vec![0u8; Self::BYTES];
        random.fill(&mut bytes);
        Self(bytes)
    }

    /// `whsec_` and standard base64 of 24 to 64 bytes.
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let bad = || ParseError::new("invalid_webhook_secret", "not a webhook secret (whsec_…)");
        let encoded = raw.trim().strip_prefix(Self::PREFIX).ok_or_else(bad)?;
        let bytes = STANDARD.decode(encoded).map_err(|_| bad())?;
        if (Self::BYTES..=64).contains(&bytes.len()) {
            Ok(Self(bytes))
        } else {
            Err(bad())
        }
    }

    /// The secret as the admin copies it (shown once).
    pub fn expose(&self) -> String {
        format!("{}{}", Self::PREFIX, STANDARD.encode(&self.0))
    }

    /// The `v1,` signature of one delivery: `id` is the event's id (`webhook-id`), `timestamp`
    /// the delivery attempt's time in seconds (`webhook-timestamp`), `body` the exact bytes sent.
    pub fn sign(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
    }
}

impl std::fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookSecret(***)")
    }
}

/// The `webhook-signature` header of a delivery: one signature per secret that signs now (the
/// current one, and the previous one for a day after a rotation).
pub fn signature_header(
    secrets: &[&WebhookSecret],
    id: &str,
    timestamp: i64,
    body: &[u8],
) -> String {
    secrets
        .iter()
        .map(|s| s.sign(id, timestamp, body))
        .collect::<Vec<_>>()
        .join(" ")
}

/// How long after each failed attempt the next is made (the schedule Standard Webhooks
/// describes and Svix uses): 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h; after the eighth attempt
/// the delivery is failed (an admin may send it again: `recover`).
pub const RETRY_DELAYS: [Duration; 7] = [
    Duration::from_secs(5),
    Duration::from_secs(5 * 60),
    Duration::from_secs(30 * 60),
    Duration::from_secs(2 * 3600),
    Duration::from_secs(5 * 3600),
    Duration::from_secs(10 * 3600),
    Duration::from_secs(10 * 3600),
];

/// An endpoint that has failed every delivery for this long is disabled (and its admins told).
pub const DISABLE_AFTER: Duration = Duration::from_secs(5 * 24 * 3600);

/// When to try a delivery again after its `attempts`-th attempt failed at `failed_at`: the
/// schedule's delay, moved by up to a tenth either way at random so that the retries of many
/// deliveries that failed together do not come back together; `None` once every retry is spent.
pub fn next_attempt(
    attempts: u32,
    failed_at: Timestamp,
    random: &dyn Randomness,
) -> Option<Timestamp> {
    let delay = RETRY_DELAYS.get(usize::try_from(attempts).ok()?.checked_sub(1)?)?;
    let mut byte = [0u8; 1];
    random.fill(&mut byte);
    // -10 % .. +10 %, at least a second.
    let tenth = delay.as_secs_f64() / 10.0;
    let shift = (f64::from(byte[0]) / 255.0 * 2.0 - 1.0) * tenth;
    let secs = (delay.as_secs_f64() + shift).round().max(1.0);
    Some(failed_at.plus(Duration::from_secs(secs as u64)))
}

/// Whether an endpoint whose deliveries have all failed since `failing_since` is to be disabled.
pub fn is_to_be_disabled(failing_since: Timestamp, now: Timestamp) -> bool {
    now >= failing_since.plus(DISABLE_AFTER)
}

/// Where an endpoint receives deliveries: an `https` URL of at most 2,000 printable characters,
/// without user information or fragment; plain `http` only to the loopback interface, and only
/// where that is allowed (the local run). A host that is an address must be a public one;
/// names are resolved and their addresses checked at registration and at every delivery
/// ([`is_forbidden_address`]), by the adapter that connects.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct WebhookUrl(String);

impl WebhookUrl {
    pub fn parse(raw: &str, loopback_allowed: bool) -> Result<Self, ParseError> {
        let bad = |why: &str| ParseError::new("invalid_webhook_url", why.to_string());
        let raw = raw.trim();
        if raw.len() > 2000 || raw.chars().any(|c| !c.is_ascii_graphic()) {
            return Err(bad("a webhook URL is at most 2,000 printable characters"));
        }
        if raw.contains('#') {
            return Err(bad("a webhook URL has no fragment"));
        }
        let (scheme, rest) = raw
            .split_once("://")
            .ok_or_else(|| bad("a webhook URL is an absolute https URL"))?;
        let end = rest.find(['/', '?']).unwrap_or(rest.len());
        let authority = &rest[..end];
        if authority.contains('@') {
            return Err(bad("a webhook URL has no user name or password"));
        }
        let host = host_of(authority).ok_or_else(|| bad("a webhook URL names a host"))?;
        let loopback = is_loopback(host);
        match scheme {
            "https" if !loopback || loopback_allowed => {}
            "http" if loopback && loopback_allowed => {}
            "http" => return Err(bad("a webhook URL is https")),
            "https" => return Err(bad("a webhook URL may not name this machine")),
            _ => return Err(bad("a webhook URL is an https URL")),
        }
        let url = Self(raw.to_string());
        if let Some(ip) = url.address() {
            if is_forbidden_address(ip) && !(loopback && loopback_allowed) {
                return Err(bad(
                    "a webhook URL may not name a private, loopback or link-local address",
                ));
            }
        }
        Ok(url)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The host, as written (a bracketed IPv6 address keeps its brackets).
    pub fn host(&self) -> &str {
        let rest = self.0.split_once("://").map_or("", |(_, r)| r);
        let authority = &rest[..rest.find(['/', '?']).unwrap_or(rest.len())];
        host_of(authority).unwrap_or("")
    }

    /// The host when it is an address rather than a name.
    pub fn address(&self) -> Option<IpAddr> {
        let host = self.host();
        host.trim_start_matches('[')
            .trim_end_matches(']')
            .parse()
            .ok()
    }
}

/// Whether a delivery may never connect to `ip`: anything but the public internet. Loopback,
/// private and shared (carrier NAT) ranges, link-local (the cloud metadata service among them),
/// unspecified, broadcast, multicast, documentation and reserved ranges; for IPv6 also unique
/// local and link-local addresses, and IPv4 addresses carried inside IPv6 (mapped, NAT64, 6to4),
/// which are judged as the IPv4 address they carry.
pub fn is_forbidden_address(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => forbidden_v4(v4),
        IpAddr::V6(v6) => forbidden_v6(v6),
    }
}

fn forbidden_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // shared address space, RFC 6598
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || a >= 240 // reserved
}

fn forbidden_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return forbidden_v4(v4);
    }
    let s = ip.segments();
    let embedded = |hi: u16, lo: u16| Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo));
    if s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0] {
        return forbidden_v4(embedded(s[6], s[7])); // NAT64, RFC 6052
    }
    if s[0] == 0x2002 {
        return forbidden_v4(embedded(s[1], s[2])); // 6to4
    }
    ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (s[0] & 0xfe00) == 0xfc00 // unique local, fc00::/7
        || (s[0] & 0xffc0) == 0xfe80 // link-local, fe80::/10
        || (s[0] & 0xffc0) == 0xfec0 // site-local (deprecated)
        || s[0] == 0x2001 && s[1] == 0x0db8 // documentation
        || s[0..6] == [0, 0, 0, 0, 0, 0] // IPv4-compatible (deprecated) and the like
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_reads_back_and_never_shows_in_debug() {
        let secret = WebhookSecret::generate(&crate::secret::OsRandomness);
        let shown = secret.expose();
        assert!(shown.starts_with("whsec_"));
        assert_eq!(WebhookSecret::parse(&shown), Ok(secret.clone()));
        assert_eq!(format!("{secret:?}"), "WebhookSecret(***)");
        for bad in ["", "whsec_", "whsec_%%%", "sk_abc", "whsec_c2hvcnQ="] {
            assert!(WebhookSecret::parse(bad).is_err(), "{bad}");
        }
    }

    struct Byte(u8);
    impl Randomness for Byte {
        fn fill(&self, buf: &mut [u8]) {
            buf.fill(self.0);
        }
    }

    #[test]
    fn retries_follow_the_schedule_within_a_tenth_then_stop() {
        let t = Timestamp::from_unix_seconds(1_000_000);
        let at = |attempts, byte| {
            next_attempt(attempts, t, &Byte(byte)).map(|n| n.unix_seconds() - t.unix_seconds())
        };
        assert_eq!(at(0, 0), None, "no attempt made yet is no retry");
        for (made, delay) in RETRY_DELAYS.iter().enumerate() {
            let attempts = made as u32 + 1;
            let secs = delay.as_secs() as i64;
            let (low, mid, high) = (
                at(attempts, 0).unwrap(),
                at(attempts, 128).unwrap(),
                at(attempts, 255).unwrap(),
            );
            assert!(low < high || secs < 10, "jitter moves it ({attempts})");
            assert!(
                (low - secs * 9 / 10).abs() <= 1 && (high - secs * 11 / 10).abs() <= 1,
                "{low} {high} {secs}"
            );
            assert!((mid - secs).abs() <= secs / 100 + 1);
        }
        assert_eq!(at(8, 0), None, "eight attempts in all");
        assert!(!is_to_be_disabled(
            t,
            t.plus(DISABLE_AFTER - Duration::from_secs(1))
        ));
        assert!(is_to_be_disabled(t, t.plus(DISABLE_AFTER)));
    }

    #[test]
    fn only_public_addresses_may_receive_deliveries() {
        for forbidden in [
            "127.0.0.1",
            "127.1.2.3",
            "10.0.0.1",
            "172.16.5.4",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "0.1.2.3",
            "255.255.255.255",
            "224.0.0.1",
            "192.0.2.1",
            "198.18.0.1",
            "240.0.0.1",
            "::1",
            "::",
            "fc00::1",
            "fd00:ec2::254",
            "fe80::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a00:1",
            "2002:a00:1::",
            "2001:db8::1",
            "::127.0.0.1",
        ] {
            let ip: IpAddr = forbidden.parse().unwrap();
            assert!(is_forbidden_address(ip), "{forbidden} must be refused");
        }
        for public in [
            "93.184.216.34",
            "8.8.8.8",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
        ] {
            let ip: IpAddr = public.parse().unwrap();
            assert!(!is_forbidden_address(ip), "{public} is public");
        }
    }

    #[test]
    fn webhook_urls_are_https_to_the_public_internet() {
        assert!(WebhookUrl::parse("https://hooks.example.com/gatehouse?x=1", false).is_ok());
        assert_eq!(
            WebhookUrl::parse("https://[2606:4700::1111]:8443/h", false)
                .unwrap()
                .address(),
            Some("2606:4700::1111".parse().unwrap())
        );
        for bad in [
            "http://hooks.example.com/",
            "https://user:pw@hooks.example.com/",
            "https://hooks.example.com/#x",
            "https://10.1.2.3/",
            "https://169.254.169.254/latest/meta-data",
            "https://[fd00:ec2::254]/",
            "https://[::ffff:127.0.0.1]/",
            "https://localhost/",
            "http://127.0.0.1:9000/",
            "ftp://hooks.example.com/",
            "hooks.example.com",
        ] {
            assert!(WebhookUrl::parse(bad, false).is_err(), "{bad}");
        }
        // The local run may deliver to a receiver on the same machine.
        assert!(WebhookUrl::parse("http://127.0.0.1:9000/hook", true).is_ok());
        assert!(WebhookUrl::parse("http://localhost:9000/hook", true).is_ok());
        assert!(WebhookUrl::parse("http://10.0.0.1/hook", true).is_err());
    }
}
