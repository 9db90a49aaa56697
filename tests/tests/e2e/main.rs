//! The end-to-end suites, one test binary: each module drives the whole bundle as API Gateway
//! drives the functions, most on both backends (the embedded store and DynamoDB on moto). One
//! binary links the bundle once instead of once per suite (disk and link time); the suites that
//! set process environment variables (`cold_start_wiring`) or time retries against injected
//! faults (`faults`) keep binaries of their own. Run one suite with
//! `cargo test -p gatehouse-e2e --test e2e <module>::`.

mod abuse;
mod accounts;
mod clients;
mod delegation;
mod dynamo_conformance;
mod dynamo_requests;
mod edge;
mod email_change;
mod email_invitations;
mod erasure;
mod event_stream;
mod events;
mod export;
mod idempotency;
mod imports;
mod invitation_caps;
mod invitation_link;
mod languages;
mod lifecycle;
mod mail_events;
mod metrics;
mod mfa_pages;
mod mfa_sign_in;
mod names;
mod office;
mod oidc_flow;
mod page_forms;
mod page_redirects;
mod pages;
mod passkeys;
mod passwords;
mod people_pages;
mod second_factor;
mod sign_in_load;
mod webhook_failures;
mod webhooks;
mod without_email;
