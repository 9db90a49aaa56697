//! JSON Web Tokens as Gatehouse signs and reads them: RS256 only (RFC 7515 compact form). A
//! token is read only if its header names `RS256` and a key of the organisation's key set and
//! its signature holds under that key: `alg: none`, `HS256` (signed with the public key as an
//! HMAC secret) and every other algorithm are refused before anything else is looked at.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};

use crate::oidc::keys::{KeySet, SigningKey};

/// The `typ` of an access token (RFC 9068).
pub const ACCESS_TOKEN_TYP: &str = "at+jwt";
/// The `typ` of an ID token.
pub const ID_TOKEN_TYP: &str = "JWT";

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum JwtError {
    #[error("not a compact JWS")]
    Malformed,
    #[error("the token's algorithm is not RS256")]
    Algorithm,
    #[error("the token is not of the expected type")]
    Type,
    #[error("the token names no key of this issuer")]
    UnknownKey,
    #[error("the signature does not hold")]
    Signature,
}

/// `header.payload.signature`, signed with `key`.
pub fn sign(key: &SigningKey, typ: &str, claims: &Value) -> String {
    let header = json!({ "alg": "RS256", "typ": typ, "kid": key.kid });
    let mut token = String::with_capacity(1024);
    token.push_str(&URL_SAFE_NO_PAD.encode(header.to_string()));
    token.push('.');
    token.push_str(&URL_SAFE_NO_PAD.encode(claims.to_string()));
    let signature = key.sign(token.as_bytes());
    token.push('.');
    token.push_str(&URL_SAFE_NO_PAD.encode(signature));
    token
}

/// The claims of a token signed by a key of `keys`, with `typ` if one is asked for. Says
/// nothing of time, issuer or audience: the caller checks those.
pub fn verify(keys: &KeySet, token: &str, typ: Option<&str>) -> Result<Value, JwtError> {
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JwtError::Malformed);
    };
    let header: Value = decode_json(header)?;
    if header["alg"] != "RS256" {
        return Err(JwtError::Algorithm);
    }
    if let Some(typ) = typ {
        let given = header["typ"].as_str().unwrap_or_default();
        // RFC 9068 §4: `at+jwt` (a media type: compared case-insensitively, `application/` allowed).
        let given = given.strip_prefix("application/").unwrap_or(given);
        if !given.eq_ignore_ascii_case(typ) {
            return Err(JwtError::Type);
        }
    }
    if header.get("crit").is_some() {
        return Err(JwtError::Malformed);
    }
    let kid = header["kid"].as_str().ok_or(JwtError::UnknownKey)?;
    let key = keys.key(kid).ok_or(JwtError::UnknownKey)?;
    let signature = URL_SAFE_NO_PAD
        .decode(signature)
        .map_err(|_| JwtError::Malformed)?;
    let signed = &token[..header_len(token)];
    if !key.verifies(signed.as_bytes(), &signature) {
        return Err(JwtError::Signature);
    }
    decode_json(payload)
}

/// The length of `header.payload`.
fn header_len(token: &str) -> usize {
    token.rfind('.').unwrap_or(0)
}

fn decode_json(part: &str) -> Result<Value, JwtError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| JwtError::Malformed)?;
    let value: Value = serde_json::from_slice(&bytes).map_err(|_| JwtError::Malformed)?;
    if value.is_object() {
        Ok(value)
    } else {
        Err(JwtError::Malformed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Timestamp;
    use crate::secret::OsRandomness;
    use hmac::{Hmac, Mac};

    fn keys() -> KeySet {
        KeySet::first(&OsRandomness, Timestamp::from_unix_seconds(0)).unwrap()
    }

    fn part(v: &Value) -> String {
        URL_SAFE_NO_PAD.encode(v.to_string())
    }

    #[test]
    fn a_signed_token_reads_back_and_any_change_breaks_it() {
        let keys = keys();
        let key = keys.signing_key(Timestamp::from_unix_seconds(0)).unwrap();
        let claims = json!({"sub": "u1", "aud": "c1"});
        let token = sign(key, ACCESS_TOKEN_TYP, &claims);
        assert_eq!(
            verify(&keys, &token, Some(ACCESS_TOKEN_TYP)),
            Ok(claims.clone())
        );
        assert_eq!(
            verify(&keys, &token, Some(ID_TOKEN_TYP)),
            Err(JwtError::Type)
        );
        let (head, rest) = token.split_once('.').unwrap();
        let forged = format!(
            "{head}.{}.{}",
            part(&json!({"sub": "admin", "aud": "c1"})),
            rest.split_once('.').unwrap().1
        );
        assert_eq!(verify(&keys, &forged, None), Err(JwtError::Signature));
        // Another issuer's key set does not know the key.
        assert_eq!(
            verify(&self::keys(), &token, None),
            Err(JwtError::UnknownKey)
        );
        for broken in ["", "a.b", "a.b.c.d", &format!("{token}x")] {
            assert!(verify(&keys, broken, None).is_err(), "{broken}");
        }
    }

    #[test]
    fn alg_none_and_hs256_with_the_public_key_are_refused() {
        let keys = keys();
        let kid = keys.kids()[0].to_string();
        let claims = part(&json!({"sub": "admin"}));
        let none = format!("{}.{claims}.", part(&json!({"alg": "none", "kid": kid})));
        assert_eq!(verify(&keys, &none, None), Err(JwtError::Algorithm));
        // The classic confusion: HMAC-SHA256 keyed with the published public key.
        let header = part(&json!({"alg": "HS256", "typ": "at+jwt", "kid": kid}));
        let public = keys.jwks()["keys"][0].to_string();
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(public.as_bytes()).unwrap();
        mac.update(format!("{header}.{claims}").as_bytes());
        let hs = format!(
            "{header}.{claims}.{}",
            URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
        );
        assert_eq!(verify(&keys, &hs, None), Err(JwtError::Algorithm));
    }
}
