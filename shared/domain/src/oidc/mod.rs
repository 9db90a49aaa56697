//! Handing people over to the platform: Gatehouse as an OpenID Connect provider, one issuer per
//! organisation (`$GATEHOUSE_PUBLIC_URL/{org}`).

pub mod claims;
pub mod client;
pub mod grant;
pub mod jwt;
pub mod keys;
pub mod ports;

pub use client::{Client, ClientKind, RedirectUri};
pub use ports::{ClientStore, GrantStore};
