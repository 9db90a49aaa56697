//! What the forms share: problems shown beside fields and in a summary, the fields read, refusals in words, dates and roles in the page's language.

use std::collections::HashMap;

use gatehouse_domain::error::Rejection;
use gatehouse_domain::model::Org;
use gatehouse_domain::types::{EmailAddress, InviteeRole, PersonName};
use serde::Serialize;

use crate::*;

#[derive(Serialize)]
pub(crate) struct Link {
    pub(crate) href: String,
    pub(crate) label: String,
}

#[derive(Serialize)]
pub(crate) struct SummaryItem {
    pub(crate) field: Option<&'static str>,
    pub(crate) text: String,
}

/// Field errors of a form: shown at their fields and, linked, in a summary at the top.
#[derive(Default)]
pub(crate) struct Problems {
    pub(crate) fields: Vec<(&'static str, String)>,
    pub(crate) general: Vec<String>,
}

impl Problems {
    pub(crate) fn at(&mut self, field: &'static str, text: String) {
        self.fields.push((field, text));
    }
    pub(crate) fn is_empty(&self) -> bool {
        self.fields.is_empty() && self.general.is_empty()
    }
    pub(crate) fn errors(&self) -> HashMap<&'static str, String> {
        self.fields.iter().cloned().collect()
    }
    pub(crate) fn summary(&self) -> Vec<SummaryItem> {
        self.general
            .iter()
            .map(|text| SummaryItem {
                field: None,
                text: text.clone(),
            })
            .chain(self.fields.iter().map(|(field, text)| SummaryItem {
                field: Some(field),
                text: text.clone(),
            }))
            .collect()
    }
}

pub(crate) fn name_field(
    visit: &Visit,
    problems: &mut Problems,
    fields: &HashMap<String, String>,
    field: &'static str,
) -> Option<PersonName> {
    let raw = fields.get(field).map(|s| s.trim()).unwrap_or("");
    if raw.is_empty() {
        problems.at(field, visit.say("err_required", &[]));
        return None;
    }
    match PersonName::parse(raw) {
        Ok(name) => Some(name),
        Err(_) => {
            problems.at(field, visit.say("err_invalid_name", &[]));
            None
        }
    }
}

pub(crate) fn email_field(
    visit: &Visit,
    problems: &mut Problems,
    fields: &HashMap<String, String>,
) -> Option<EmailAddress> {
    let raw = fields.get("email").map(|s| s.trim()).unwrap_or("");
    if raw.is_empty() {
        problems.at("email", visit.say("err_required", &[]));
        return None;
    }
    match EmailAddress::parse(raw) {
        Ok(email) => Some(email),
        Err(_) => {
            problems.at("email", visit.say("err_invalid_email", &[]));
            None
        }
    }
}

pub(crate) fn seconds(wait: Option<std::time::Duration>) -> String {
    wait.map_or(1, |d| d.as_secs().max(1)).to_string()
}

/// What a refused password, sign-in or code says on a page, in the page's language.
pub(crate) fn refusal_text(visit: &Visit, org: &Org, e: &dyn Rejection) -> String {
    let min = org.settings.password_min_length.to_string();
    match e.code() {
        "password_too_short" => visit.say("err_password_too_short", &[("min", &min)]),
        "password_too_long" => visit.say("err_password_too_long", &[]),
        "password_too_common" => visit.say("err_password_too_common", &[]),
        "password_contextual" => visit.say("err_password_contextual", &[]),
        "invalid_credentials" => visit.say("err_invalid_credentials", &[]),
        "account_deactivated" => visit.say("err_account_deactivated", &[("org", org.name())]),
        "too_many_attempts" if e.retry_after().is_none() => visit.say("err_locked", &[]),
        "too_many_attempts" => visit.say("err_too_many", &[("seconds", &seconds(e.retry_after()))]),
        "too_many_registrations" => visit.say(
            "err_too_many_registrations",
            &[("seconds", &seconds(e.retry_after()))],
        ),
        "invalid_access_code" => visit.say("err_invalid_access_code", &[]),
        "email_domain_not_allowed" => {
            visit.say("err_email_domain_not_allowed", &[("org", org.name())])
        }
        "sign_up_without_email_disabled" => {
            visit.say("err_without_email_off", &[("org", org.name())])
        }
        _ => e.detail(),
    }
}

pub(crate) fn is_password_problem(code: &str) -> bool {
    code.starts_with("password_")
}

pub(crate) fn role_text(visit: &Visit, role: InviteeRole) -> String {
    match role {
        InviteeRole::Member => visit.say("as_member", &[]),
        InviteeRole::Guest => visit.say("as_guest", &[]),
    }
}

/// The date a link stops working, as people read it.
pub(crate) fn date_of(visit: &Visit, at: gatehouse_domain::clock::Timestamp) -> String {
    let rfc = at.to_rfc3339();
    let (date, time) = rfc.split_once('T').unwrap_or((&rfc, ""));
    let time = time.get(..5).unwrap_or("");
    match visit.lang {
        Lang::En => format!("{date} {time} UTC"),
        Lang::Fr => format!("{date} à {time} UTC"),
    }
}
