//! Bulk invitations from a spreadsheet: the template an admin downloads, asking for an upload,
//! following an import and listing past ones, and the rules each row is decided by. The import
//! itself runs in [`crate::usecase::bulk_import`].

use crate::events::ChangeEvents;
use std::time::Duration;

use crate::clock::Timestamp;
use crate::error::{Rejection, RejectionClass};
use crate::model::{Import, ImportCounts, ImportState};
use crate::permissions::Action;
use crate::ports::{FileError, Page, PageRequest, StoreError, WriteError};
use crate::secret::SessionToken;
use crate::services::Services;
use crate::types::{ImportId, OrgDomain};
use crate::usecase::session::AuthError;
use crate::usecase::{admin_of, caller_in, Along, OrgLookupError};

/// How long an upload URL works.
pub const UPLOAD_VALID_FOR: Duration = Duration::from_secs(15 * 60);
/// How long a report's download URL works.
pub const REPORT_VALID_FOR: Duration = Duration::from_secs(15 * 60);
/// The largest upload read (also the spreadsheet reader's limit).
pub const MAX_UPLOAD_BYTES: u64 = 5 * 1024 * 1024;
/// The most imports a list page holds.
pub const MAX_PAGE: usize = 100;

/// Where the file of an import is uploaded to.
pub fn upload_key(org: &OrgDomain, id: &ImportId) -> String {
    format!("uploads/{org}/{id}")
}

/// The import an upload key names, if it is one [`upload_key`] makes.
pub fn parse_upload_key(key: &str) -> Option<(OrgDomain, ImportId)> {
    let rest = key.strip_prefix("uploads/")?;
    let (org, id) = rest.split_once('/')?;
    let org = OrgDomain::parse(org).ok()?;
    let id = ImportId::parse(id).ok()?;
    (upload_key(&org, &id) == key).then_some((org, id))
}

/// Where an import's report is kept.
pub fn report_key(org: &OrgDomain, id: &ImportId) -> String {
    format!("reports/{org}/{id}.xlsx")
}

#[derive(Debug, thiserror::Error)]
pub enum ImportsError {
    #[error(transparent)]
    Org(#[from] OrgLookupError),
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error("only admins import invitations")]
    Forbidden,
    #[error("no such import")]
    NotFound,
    #[error("the cursor is not one this list handed out")]
    BadCursor,
    #[error("at most {} imports a day that send invitations (dry runs do not count); try again in {} seconds", crate::usecase::quota::IMPORTS_PER_DAY, .0.as_secs())]
    TooManyImports(std::time::Duration),
    #[error("storage failed")]
    Internal(#[source] crate::Cause),
}

impl From<FileError> for ImportsError {
    fn from(e: FileError) -> Self {
        Self::Internal(e.into())
    }
}

impl From<StoreError> for ImportsError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::BadCursor => Self::BadCursor,
            e => Self::Internal(e.into()),
        }
    }
}

impl Rejection for ImportsError {
    fn code(&self) -> &'static str {
        match self {
            Self::Org(e) => e.code(),
            Self::Auth(e) => e.code(),
            Self::Forbidden => "forbidden",
            Self::NotFound => "import_not_found",
            Self::BadCursor => "invalid_cursor",
            Self::TooManyImports(_) => "too_many_imports",
            Self::Internal(_) => "internal",
        }
    }
    fn class(&self) -> RejectionClass {
        match self {
            Self::Org(e) => e.class(),
            Self::Auth(e) => e.class(),
            Self::Forbidden => RejectionClass::Forbidden,
            Self::NotFound => RejectionClass::NotFound,
            Self::BadCursor => RejectionClass::Invalid,
            Self::TooManyImports(_) => RejectionClass::Throttled,
            Self::Internal(_) => RejectionClass::Internal,
        }
    }
    fn retry_after(&self) -> Option<std::time::Duration> {
        match self {
            Self::TooManyImports(wait) => Some(*wait),
            _ => None,
        }
    }
}

/// What the template names: the organisation as people read it, and its groups by name (rows
/// name groups as the admin knows them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateContent {
    pub org_name: String,
    pub group_names: Vec<String>,
}

/// The template's content, for an admin of the organisation.
pub async fn import_template(
    services: &Services,
    org: &OrgDomain,
    token: Option<&SessionToken>,
) -> Result<TemplateContent, ImportsError> {
    let (found, _) = admin_of(
        services,
        org,
        token,
        Action::BulkImport,
        ImportsError::Forbidden,
    )
    .await?;
    let mut group_names: Vec<String> = services
        .store
        .groups(org)
        .await?
        .into_iter()
        .map(|g| g.name.to_string())
        .collect();
    group_names.sort_by_key(|n| n.to_lowercase());
    Ok(TemplateContent {
        org_name: found.name().to_string(),
        group_names,
    })
}

/// A new import waiting for its file, and where to `PUT` it.
#[derive(Debug, Clone)]
pub struct UploadTicket {
    pub import: Import,
    pub upload_url: String,
}

/// Starts an import (admins): its record, waiting for the upload, and a URL to upload the file
/// to, valid for [`UPLOAD_VALID_FOR`]. The upload starts the import; `dry_run` only checks the
/// rows and reports.
pub async fn request_import(
    services: &Services,
    org: &OrgDomain,
    token: Option<&SessionToken>,
    dry_run: bool,
) -> Result<UploadTicket, ImportsError> {
    let along = Along { groups: &[] };
    let caller = caller_in::<ImportsError>(services, org, token, along).await?;
    if crate::permissions::decide(caller.standing(), &caller.org.settings, Action::BulkImport)
        .is_err()
    {
        return Err(ImportsError::Forbidden);
    }
    let now = services.clock.now();
    // Imports have their own budget (they are not counted against the admin's hourly one).
    if !dry_run {
        let (charge, wait) = crate::usecase::quota::import_charge(org, now);
        match services
            .store
            .record_attempts(&[charge], &ChangeEvents::none())
            .await
        {
            Ok(()) => {}
            Err(WriteError::Stale) => return Err(ImportsError::TooManyImports(wait)),
            Err(WriteError::Store(e)) => return Err(e.into()),
            Err(e) => return Err(ImportsError::Internal(e.into())),
        }
    }
    let import = Import {
        id: services.random.import_id(now),
        org: org.clone(),
        created_by: caller.actor.user_id,
        created_by_name: caller
            .user
            .as_ref()
            .map(|u| format!("{} {}", u.first_name, u.last_name)),
        created_by_email: caller.user.and_then(|u| u.email),
        created_at: now,
        upload_expires_at: now.plus(UPLOAD_VALID_FOR),
        dry_run,
        state: ImportState::WaitingUpload,
        counts: ImportCounts::default(),
        problems: Vec::new(),
        version: 0,
    };
    let upload_url = services
        .files
        .upload_url(&upload_key(org, &import.id), now, UPLOAD_VALID_FOR)
        .await?;
    match services.store.create_import(&import).await {
        Ok(()) => Ok(UploadTicket { import, upload_url }),
        Err(WriteError::Store(e)) => Err(e.into()),
        Err(e) => Err(ImportsError::Internal(e.into())),
    }
}

/// An import as it stands, with a URL to download its report once it has one.
#[derive(Debug, Clone)]
pub struct ImportView {
    pub import: Import,
    pub report_url: Option<String>,
    /// Until when `report_url` works.
    pub report_url_expires_at: Option<Timestamp>,
}

/// One import of the organisation (admins); another organisation's is not found.
pub async fn import_status(
    services: &Services,
    org: &OrgDomain,
    token: Option<&SessionToken>,
    id: &ImportId,
) -> Result<ImportView, ImportsError> {
    admin_of(
        services,
        org,
        token,
        Action::BulkImport,
        ImportsError::Forbidden,
    )
    .await?;
    let import = services
        .store
        .import(org, id)
        .await?
        .ok_or(ImportsError::NotFound)?;
    let now = services.clock.now();
    let (report_url, report_url_expires_at) = match import.state {
        ImportState::Completed { .. } => {
            let filename = format!("gatehouse-import-{}.xlsx", import.id);
            let url = services
                .files
                .download_url(&report_key(org, id), &filename, now, REPORT_VALID_FOR)
                .await?;
            (Some(url), Some(now.plus(REPORT_VALID_FOR)))
        }
        _ => (None, None),
    };
    Ok(ImportView {
        import,
        report_url,
        report_url_expires_at,
    })
}

/// The organisation's imports, newest first, a page at a time (admins).
pub async fn list_imports(
    services: &Services,
    org: &OrgDomain,
    token: Option<&SessionToken>,
    page: PageRequest,
) -> Result<Page<Import>, ImportsError> {
    admin_of(
        services,
        org,
        token,
        Action::BulkImport,
        ImportsError::Forbidden,
    )
    .await?;
    let page = PageRequest {
        limit: page.limit.clamp(1, MAX_PAGE),
        ..page
    };
    Ok(services.store.imports(org, &page).await?)
}

/// A row of an uploaded file as the spreadsheet reader found it (cells trimmed, empty = `None`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportRow {
    /// The row's number as the spreadsheet shows it.
    pub number: u32,
    pub email: Option<String>,
    pub uid: Option<String>,
    /// The identifier was a number in the file: any leading zeros are already lost.
    pub uid_was_number: bool,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    /// Group names as the admin knows them.
    pub groups: Vec<String>,
    /// Cells of text columns that held something else: (column, what it held), e.g.
    /// `("first_name", "date")`.
    pub not_text: Vec<(&'static str, &'static str)>,
    /// The row is one of the template's example rows, left in.
    pub is_example: bool,
}

/// The organisation's groups by name, lowercased (names are unique whatever their case).
pub type GroupsByName = std::collections::HashMap<String, crate::types::GroupId>;

/// Who a row invites, as one string: `email:{normalized}` or `uid:{normalized}`.
pub fn identity_of(invitee: &crate::usecase::invite::InviteeRequest) -> String {
    use crate::usecase::invite::InviteeRequest;
    match invitee {
        InviteeRequest::Email(e) => format!("email:{}", e.normalized()),
        InviteeRequest::Uid(u) => format!("uid:{}", u.normalized()),
    }
}

/// A row that will become an invitation (as a member: bulk invitations invite members only).
#[derive(Debug, Clone)]
pub struct PlannedInvitation {
    pub invitee: crate::usecase::invite::InviteeRequest,
    pub first_name: crate::types::PersonName,
    pub last_name: crate::types::PersonName,
    pub groups: Vec<crate::types::GroupId>,
}

/// What becomes of one row before anything is looked up in the store: planned, or skipped with
/// a stable code and a message for the admin's report.
#[derive(Debug, Clone)]
pub enum RowVerdict {
    Planned(PlannedInvitation),
    Skipped { code: &'static str, message: String },
}

impl RowVerdict {
    fn skipped(code: &'static str, message: impl Into<String>) -> Self {
        Self::Skipped {
            code,
            message: message.into(),
        }
    }

    pub fn code(&self) -> Option<&'static str> {
        match self {
            Self::Planned(_) => None,
            Self::Skipped { code, .. } => Some(code),
        }
    }
}

/// Decides every row by the rules that need no store read: each row names an email or an
/// identifier (not both), valid names, groups of the organisation (by name, whatever the case),
/// emails at the allowed domains, identifiers only with `sign_up_without_email` and only as
/// text, and no person twice in one file. A bad row is skipped; the others go on.
pub fn classify_rows(
    rows: &[ImportRow],
    settings: &crate::model::Settings,
    groups: &GroupsByName,
) -> Vec<(u32, RowVerdict)> {
    let mut seen = std::collections::HashMap::new();
    let mut verdicts = Vec::with_capacity(rows.len());
    for row in rows {
        let verdict = classify_row(row, settings, groups, &mut seen);
        verdicts.push((row.number, verdict));
    }
    verdicts
}

/// One row's verdict; `seen` holds who the earlier planned rows invite, by row.
fn classify_row(
    row: &ImportRow,
    settings: &crate::model::Settings,
    groups: &GroupsByName,
    seen: &mut std::collections::HashMap<String, u32>,
) -> RowVerdict {
    use crate::types::{EmailAddress, PersonName, Uid};
    use crate::usecase::invite::InviteeRequest;

    if row.is_example {
        return RowVerdict::skipped(
            "template_example",
            "an example row of the template; replace it with the people to invite",
        );
    }
    if let Some((column, held)) = row.not_text.first() {
        return RowVerdict::skipped(
            "cell_not_text",
            format!(
                "the {} cell holds a {held}, not text",
                column.replace('_', " ")
            ),
        );
    }
    let invitee = match (&row.email, &row.uid) {
        (Some(_), Some(_)) => {
            return RowVerdict::skipped("email_or_uid", "give an email or an identifier, not both")
        }
        (None, None) => {
            return RowVerdict::skipped("missing_email_or_uid", "give an email or an identifier")
        }
        (Some(raw), None) => match EmailAddress::parse(raw) {
            Err(e) => return RowVerdict::skipped("invalid_email", e.message),
            Ok(email) if !settings.allows_member_email(&email) => {
                return RowVerdict::skipped(
                    "email_domain_not_allowed",
                    "members can only be invited at the organisation's allowed email domains",
                )
            }
            Ok(email) => InviteeRequest::Email(email),
        },
        (None, Some(raw)) => {
            if !settings.sign_up_without_email {
                return RowVerdict::skipped(
                    "sign_up_without_email_disabled",
                    "identifiers need the setting sign_up_without_email",
                );
            }
            if row.uid_was_number {
                return RowVerdict::skipped(
                        "uid_not_text",
                        format!("the identifier {raw} is a number in the file, which drops leading zeros: format the column as text and type it again"),
                    );
            }
            match Uid::parse(raw) {
                Ok(uid) => InviteeRequest::Uid(uid),
                Err(e) => return RowVerdict::skipped("invalid_uid", e.message),
            }
        }
    };
    let name = |raw: &Option<String>, missing: &'static str| match raw {
        None => Err(RowVerdict::skipped(missing, "a name is required")),
        Some(raw) => {
            PersonName::parse(raw).map_err(|e| RowVerdict::skipped("invalid_name", e.message))
        }
    };
    let first_name = match name(&row.first_name, "missing_first_name") {
        Ok(n) => n,
        Err(v) => return v,
    };
    let last_name = match name(&row.last_name, "missing_last_name") {
        Ok(n) => n,
        Err(v) => return v,
    };
    let mut ids = Vec::new();
    for wanted in &row.groups {
        match groups.get(&wanted.to_lowercase()) {
            Some(id) if !ids.contains(id) => ids.push(id.clone()),
            Some(_) => {}
            None => {
                return RowVerdict::skipped(
                    "unknown_group",
                    format!("there is no group {wanted} in this organisation"),
                )
            }
        }
    }
    let identity = identity_of(&invitee);
    if let Some(first) = seen.get(&identity) {
        return RowVerdict::skipped(
            "duplicate_in_file",
            format!("the same person as row {first}"),
        );
    }
    seen.insert(identity, row.number);
    RowVerdict::Planned(PlannedInvitation {
        invitee,
        first_name,
        last_name,
        groups: ids,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Group, Settings};
    use crate::secret::{OsRandomness, Randomness};
    use crate::types::{EmailDomain, GroupName};

    fn row(number: u32, email: Option<&str>, uid: Option<&str>) -> ImportRow {
        ImportRow {
            number,
            email: email.map(str::to_string),
            uid: uid.map(str::to_string),
            first_name: Some("Ada".into()),
            last_name: Some("Lovelace".into()),
            ..ImportRow::default()
        }
    }

    fn codes(verdicts: &[(u32, RowVerdict)]) -> Vec<(u32, Option<&'static str>)> {
        verdicts.iter().map(|(n, v)| (*n, v.code())).collect()
    }

    #[test]
    fn each_bad_row_is_skipped_with_its_code_and_the_others_go_on() {
        let random: &dyn Randomness = &OsRandomness;
        let sales = Group {
            id: random.group_id(),
            name: GroupName::parse("Sales").unwrap(),
            created_at: crate::clock::Timestamp::from_unix_seconds(1),
            admins: Vec::new(),
            version: 0,
        };
        let settings = Settings {
            sign_up_without_email: true,
            allowed_email_domains: vec![EmailDomain::parse("acme.com").unwrap()],
            ..Settings::default()
        };
        let mut rows = vec![
            row(2, Some("ada@acme.com"), None),
            row(3, Some("ADA@acme.com"), None),
            row(4, Some("bob@elsewhere.org"), None),
            row(5, Some("not an address"), None),
            row(6, None, Some("E1234")),
            row(7, None, Some("e1234")),
            row(8, None, Some("12345")),
            row(9, Some("both@acme.com"), Some("E9")),
            row(10, None, None),
            row(11, None, Some("bad uid!")),
            row(12, Some("nameless@acme.com"), None),
            row(13, Some("grouped@acme.com"), None),
            row(14, Some("lost@acme.com"), None),
        ];
        rows[6].uid_was_number = true;
        rows[10].last_name = None;
        rows[11].groups = vec!["sales".into(), "SALES".into()];
        rows[12].groups = vec!["Marketing".into()];
        rows.push(row(15, Some("dated@acme.com"), None));
        rows[13].not_text = vec![("last_name", "date")];
        rows.push(row(16, Some("ada.lovelace@example.com"), None));
        rows[14].is_example = true;
        let groups: GroupsByName = [(sales.name.as_str().to_lowercase(), sales.id.clone())].into();
        let verdicts = classify_rows(&rows, &settings, &groups);
        assert_eq!(
            codes(&verdicts),
            vec![
                (2, None),
                (3, Some("duplicate_in_file")),
                (4, Some("email_domain_not_allowed")),
                (5, Some("invalid_email")),
                (6, None),
                (7, Some("duplicate_in_file")),
                (8, Some("uid_not_text")),
                (9, Some("email_or_uid")),
                (10, Some("missing_email_or_uid")),
                (11, Some("invalid_uid")),
                (12, Some("missing_last_name")),
                (13, None),
                (14, Some("unknown_group")),
                (15, Some("cell_not_text")),
                (16, Some("template_example")),
            ]
        );
        let RowVerdict::Planned(grouped) = &verdicts[11].1 else {
            panic!("row 13 is planned")
        };
        assert_eq!(
            grouped.groups,
            vec![sales.id.clone()],
            "named twice, joined once"
        );
        let RowVerdict::Skipped { message, .. } = &verdicts[1].1 else {
            panic!()
        };
        assert!(message.contains("row 2"), "{message}");
    }

    #[test]
    fn upload_keys_name_one_import_of_one_organisation() {
        let random: &dyn Randomness = &OsRandomness;
        let org = OrgDomain::parse("acme").unwrap();
        let id = random.import_id(crate::clock::Timestamp::from_unix_seconds(5));
        let key = upload_key(&org, &id);
        assert_eq!(parse_upload_key(&key), Some((org.clone(), id.clone())));
        for bad in [
            format!("reports/acme/{id}"),
            format!("uploads/acme/{id}/x"),
            format!("uploads/ACME/{id}"),
            format!("uploads/acme/../other/{id}"),
            "uploads/acme/not-an-id".to_string(),
            format!("uploads//{id}"),
            format!("/uploads/acme/{id}"),
        ] {
            assert_eq!(parse_upload_key(&bad), None, "{bad}");
        }
    }

    #[test]
    fn identifiers_need_the_setting() {
        let verdicts = classify_rows(
            &[row(2, None, Some("E1"))],
            &Settings::default(),
            &GroupsByName::new(),
        );
        assert_eq!(
            codes(&verdicts),
            vec![(2, Some("sign_up_without_email_disabled"))]
        );
    }
}
