//! Time-based one-time passwords (RFC 6238 over RFC 4226's HOTP) as authenticator apps make
//! them: HMAC-SHA1, 6 digits, 30-second steps. A code is accepted for the step it was made in
//! and the one on either side (a phone's clock a little off), and each step once: the step a
//! code was accepted for is recorded, and no code of that step or an earlier one counts again.
//! Recovery codes stand in for the app once each.

use hmac::{Hmac, Mac};
use sha1::Sha1;
use subtle::ConstantTimeEq;

use crate::clock::Timestamp;
use crate::secret::Randomness;

/// The length of one step.
pub const STEP_SECONDS: i64 = 30;
/// Digits in a code.
pub const DIGITS: usize = 6;
/// Bytes of a secret: 160 bits, as RFC 4226 recommends for HMAC-SHA1.
pub const SECRET_BYTES: usize = 20;
/// Recovery codes made at enrolment.
pub const RECOVERY_CODES: usize = 10;

/// The shared secret of a person's authenticator app. Never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct TotpSecret([u8; SECRET_BYTES]);

impl std::fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpSecret(…)")
    }
}

impl TotpSecret {
    pub fn generate(random: &dyn Randomness) -> Self {
        let mut bytes = [0u8; SECRET_BYTES];
        random.fill(&mut bytes);
        Self(bytes)
    }

    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        bytes.try_into().ok().map(Self)
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// As apps take it typed in: RFC 4648 base32, no padding (32 letters for 20 bytes).
    pub fn base32(&self) -> String {
        base32(&self.0)
    }

    /// The `otpauth://totp/…` URI an app reads from the QR code: the label `issuer:account`,
    /// the secret, the issuer again, and the parameters spelled out.
    pub fn otpauth_uri(&self, issuer: &str, account: &str) -> String {
        let label = format!("{}:{}", uri_component(issuer), uri_component(account));
        format!(
            "otpauth://totp/{label}?secret={}&issuer={}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECONDS}",
            self.base32(),
            uri_component(issuer),
        )
    }

    /// The code of one step (RFC 4226 §5.3: dynamic truncation, 6 decimal digits).
    pub fn code_at(&self, step: u64) -> String {
        let mut mac = <Hmac<Sha1> as Mac>::new_from_slice(&self.0).expect("HMAC takes any key");
        mac.update(&step.to_be_bytes());
        let hash = mac.finalize().into_bytes();
        let offset = usize::from(hash[19] & 0x0f);
        let binary = u32::from_be_bytes([
            hash[offset] & 0x7f,
            hash[offset + 1],
            hash[offset + 2],
            hash[offset + 3],
        ]);
        format!("{:06}", binary % 1_000_000)
    }

    /// The step `code` belongs to, when it is the code of the step of `now` or of one either side
    /// and that step is later than `last_used` (the step of the last code accepted): a code is
    /// good once. Spaces in what was typed are ignored; comparisons take the same time whatever
    /// matches.
    pub fn accepts(&self, code: &str, now: Timestamp, last_used: Option<u64>) -> Option<u64> {
        let typed: String = code.chars().filter(|c| !c.is_whitespace()).collect();
        if typed.len() != DIGITS || !typed.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let current = step_of(now);
        let mut found = None;
        for step in [current.saturating_sub(1), current, current + 1] {
            let same: bool = self.code_at(step).as_bytes().ct_eq(typed.as_bytes()).into();
            if same && last_used.is_none_or(|last| step > last) && found.is_none() {
                found = Some(step);
            }
        }
        found
    }
}

/// The step `at` falls in.
pub fn step_of(at: Timestamp) -> u64 {
    u64::try_from(at.unix_seconds().max(0) / STEP_SECONDS).unwrap_or(0)
}

/// RFC 4648 base32 without padding.
fn base32(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for &byte in bytes {
        buffer = (buffer << 8) | u32::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(ALPHABET[((buffer >> bits) & 31) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(ALPHABET[((buffer << (5 - bits)) & 31) as usize]));
    }
    out
}

/// Percent-encoding of everything but unreserved characters (RFC 3986).
fn uri_component(text: &str) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The QR code of `text` as an SVG image (drawn here; no outside service sees the secret).
pub fn qr_svg(text: &str) -> String {
    match qrcode::QrCode::with_error_correction_level(text, qrcode::EcLevel::M) {
        Ok(code) => code
            .render::<qrcode::render::svg::Color<'_>>()
            .min_dimensions(200, 200)
            .quiet_zone(true)
            .build(),
        // Longer than a QR code holds: the app takes the key typed in instead.
        Err(_) => String::new(),
    }
}

/// One recovery code, as the person copies it: 10 letters and digits in two groups, from an
/// alphabet without look-alikes (0/O, 1/I/L): about 50 bits.
pub fn recovery_code(random: &dyn Randomness) -> String {
    const ALPHABET: &[u8; 31] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";
    let mut letters = String::with_capacity(10);
    while letters.len() < 10 {
        let mut byte = [0u8; 1];
        random.fill(&mut byte);
        // 248 = 8 × 31: the bytes above would favour the first letters.
        if byte[0] < 248 {
            letters.push(char::from(ALPHABET[usize::from(byte[0] % 31)]));
        }
    }
    format!("{}-{}", &letters[..5], &letters[5..])
}

/// A recovery code as kept: typed any case, with or without its dash.
pub fn normalized_recovery_code(typed: &str) -> String {
    typed
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base32_is_rfc_4648() {
        // RFC 4648 §10, without padding.
        for (input, expected) in [
            ("", ""),
            ("f", "MY"),
            ("fo", "MZXQ"),
            ("foo", "MZXW6"),
            ("foob", "MZXW6YQ"),
            ("fooba", "MZXW6YTB"),
            ("foobar", "MZXW6YTBOI"),
        ] {
            assert_eq!(base32(input.as_bytes()), expected);
        }
    }

    #[test]
    fn the_rfc_6238_sha1_vectors() {
        // RFC 6238 appendix B (8 digits there; the last 6 of each are ours).
        let secret = TotpSecret::from_bytes(b"12345678901234567890").unwrap();
        for (time, eight) in [
            (59, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
        ] {
            let step = step_of(Timestamp::from_unix_seconds(time));
            assert_eq!(secret.code_at(step), &eight[2..], "at {time}");
        }
    }

    #[test]
    fn a_code_counts_in_its_step_and_either_side_once() {
        let secret = TotpSecret::from_bytes(b"12345678901234567890").unwrap();
        let now = Timestamp::from_unix_seconds(1_111_111_111);
        let step = step_of(now);
        let code = secret.code_at(step);
        assert_eq!(secret.accepts(&code, now, None), Some(step));
        assert_eq!(
            secret.accepts(&format!("{} {}", &code[..3], &code[3..]), now, None),
            Some(step)
        );
        // Once used, never again; nor an earlier step's.
        assert_eq!(secret.accepts(&code, now, Some(step)), None);
        assert_eq!(
            secret.accepts(&secret.code_at(step - 1), now, Some(step)),
            None
        );
        // A step either side, not two.
        assert_eq!(
            secret.accepts(&secret.code_at(step + 1), now, None),
            Some(step + 1)
        );
        assert_eq!(secret.accepts(&secret.code_at(step + 2), now, None), None);
        assert_eq!(secret.accepts(&secret.code_at(step - 2), now, None), None);
        for wrong in ["", "12345", "1234567", "abcdef"] {
            assert_eq!(secret.accepts(wrong, now, None), None, "{wrong:?}");
        }
    }

    #[test]
    fn the_qr_code_is_an_svg_image() {
        let secret = TotpSecret::generate(&crate::secret::OsRandomness);
        let svg = qr_svg(&secret.otpauth_uri("Acme", "ada@acme.example"));
        assert!(svg.contains("<svg") && svg.contains("</svg>"), "{svg}");
        assert!(svg.contains("<path"), "{svg}");
        // Nothing of the secret is in it as text.
        assert!(!svg.contains(&secret.base32()));
    }

    #[test]
    fn recovery_codes_read_alike_however_typed() {
        let code = recovery_code(&crate::secret::OsRandomness);
        assert_eq!(code.len(), 11);
        assert_eq!(
            normalized_recovery_code(&code.to_lowercase()),
            normalized_recovery_code(&code.replace('-', ""))
        );
    }
}
