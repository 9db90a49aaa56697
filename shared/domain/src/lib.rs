//! Gatehouse's domain: the types that parse, the rules, the use cases and the ports they need.
//!
//! Nothing here knows AWS, HTTP or a database. Time and randomness come in through ports
//! ([`clock::Clock`], [`secret::Randomness`]) so the rules can be tested at any instant.

pub mod access_code;
pub mod challenge;
pub mod clock;
pub mod error;
pub mod events;
pub mod lifecycle;
pub mod mail;
pub mod metrics;
pub mod model;
pub mod oidc;
pub mod passkey;
pub mod password;
pub mod permissions;
pub mod ports;
pub mod secret;
pub mod services;
pub mod throttle;
pub mod totp;
pub mod types;
pub mod usecase;
pub mod views;
pub mod webhooks;

pub use error::{Cause, Chain, Rejection, RejectionClass};
pub use services::{Config, Services};
