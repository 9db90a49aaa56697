//! The admin console (third part): bulk invitations from Excel — the template, an import started
//! and its file uploaded straight to the upload URL (S3 when deployed, as the API's flow does),
//! its progress followed and its report offered — and the export of every invitation.

use axum::extract::Path;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use gatehouse_domain::model::{Import, ImportState, Org};
use gatehouse_domain::ports::PageRequest;
use gatehouse_domain::secret::SessionToken;
use gatehouse_domain::types::{ImportId, OrgDomain};
use gatehouse_domain::usecase::export::export_invitations;
use gatehouse_domain::usecase::imports::{
    import_status, import_template, list_imports, request_import,
};
use minijinja::context;
use serde::Serialize;

use crate::invitations::{refused, session};
use crate::{date_of, Form, Page, Visit, CSP};

pub(crate) const WORDS: &[(&str, &str, &str)] = &[
    ("nav_imports", "Bulk import", "Import en masse"),
    ("imports_title", "Bulk invitations from Excel", "Invitations en masse depuis Excel"),
    ("imports_intro", "Fill in the template (up to 500 people, members only, each with an email or an identifier, and group names), then upload it. Every row gets a verdict in a report.", "Remplissez le modèle (jusqu'à 500 personnes, membres uniquement, chacune avec un e-mail ou un identifiant, et des noms de groupes), puis importez-le. Chaque ligne reçoit un verdict dans un rapport."),
    ("download_template", "Download the template", "Télécharger le modèle"),
    ("dry_run", "Only check the file and report; invite nobody", "Seulement vérifier le fichier et faire le rapport\u{202f}; n'inviter personne"),
    ("start_import", "Start an import", "Commencer un import"),
    ("past_imports", "Past imports", "Imports précédents"),
    ("import_title", "Import", "Import"),
    ("choose_file", "The filled-in file (.xlsx, .xls or .ods, at most 5 MiB)", "Le fichier rempli (.xlsx, .xls ou .ods, 5 Mio au plus)"),
    ("upload", "Upload and import", "Envoyer et importer"),
    ("uploading", "Uploading…", "Envoi…"),
    ("upload_failed", "The upload failed; try again.", "L'envoi a échoué\u{202f}; réessayez."),
    ("needs_script", "Uploading needs JavaScript; without it, use the API (POST …/imports, then PUT the file).", "L'envoi nécessite JavaScript\u{202f}; sans lui, utilisez l'API (POST …/imports, puis PUT du fichier)."),
    ("import_waiting", "Waiting for the file (the upload link works until {date}).", "En attente du fichier (le lien d'envoi fonctionne jusqu'au {date})."),
    ("import_processing", "Importing: {done} of {rows} rows done. This page follows it.", "Import en cours\u{a0}: {done} lignes traitées sur {rows}. Cette page suit l'avancement."),
    ("import_completed", "Done: {rows} rows; {created} invited, {skipped} skipped, {failed} failed.", "Terminé\u{a0}: {rows} lignes\u{202f}; {created} invitées, {skipped} ignorées, {failed} en échec."),
    ("import_completed_dry", "Checked: {rows} rows; {valid} would be invited, {skipped} skipped. Nobody was invited.", "Vérifié\u{a0}: {rows} lignes\u{202f}; {valid} seraient invitées, {skipped} ignorées. Personne n'a été invité."),
    ("import_refused", "The file was refused: {reason}", "Le fichier a été refusé\u{a0}: {reason}"),
    ("download_report", "Download the report", "Télécharger le rapport"),
    ("refresh", "Refresh", "Actualiser"),
    ("import_starting", "File received; the import starts in a moment. This page follows it.", "Fichier reçu\u{202f}; l'import commence dans un instant. Cette page suit l'avancement."),
    ("import_status", "Status", "État"),
    ("import_started", "Started", "Commencé le"),
    ("problems_title", "Rows not invited, or not mailed yet", "Lignes non invitées, ou pas encore envoyées"),
    ("problems_first", "The first {n}; the report has every row.", "Les {n} premières\u{a0}; le rapport contient toutes les lignes."),
    ("problems_all", "Every row in the report has its details too.", "Le rapport détaille aussi chaque ligne."),
    ("problem_row", "Row", "Ligne"),
    ("problem_reason", "Reason", "Raison"),
    ("row_invalid_email", "The email address is not valid.", "L'adresse e-mail n'est pas valide."),
    ("row_invalid_uid", "The identifier is not valid (letters and digits, at most 64).", "L'identifiant n'est pas valide (lettres et chiffres, 64 au plus)."),
    ("row_invalid_name", "A name is not valid.", "Un nom n'est pas valide."),
    ("row_missing_first_name", "The first name is missing.", "Le prénom manque."),
    ("row_missing_last_name", "The last name is missing.", "Le nom manque."),
    ("row_missing_email_or_uid", "Neither an email nor an identifier is given.", "Ni e-mail ni identifiant n'est indiqué."),
    ("row_email_or_uid", "Give an email or an identifier, not both.", "Indiquez un e-mail ou un identifiant, pas les deux."),
    ("row_email_domain_not_allowed", "Members may be invited only at the organisation's allowed email domains.", "Les membres ne peuvent être invités qu'aux domaines d'e-mail autorisés."),
    ("row_sign_up_without_email_disabled", "Identifiers need sign-up without email, which is off.", "Les identifiants demandent l'inscription sans e-mail, qui est désactivée."),
    ("row_uid_not_text", "The identifier was typed in a number cell: its leading zeros are lost. Format the column as text.", "L'identifiant est dans une cellule numérique\u{a0}: ses zéros de tête sont perdus. Mettez la colonne au format texte."),
    ("row_cell_not_text", "A cell holds a date or true/false where text belongs.", "Une cellule contient une date ou vrai/faux là où il faut du texte."),
    ("row_unknown_group", "A group named in it does not exist.", "Un groupe indiqué n'existe pas."),
    ("row_duplicate_in_file", "The same person is on an earlier row.", "La même personne figure sur une ligne précédente."),
    ("row_already_invited", "This person is invited already.", "Cette personne est déjà invitée."),
    ("row_already_registered", "This person has an account already.", "Cette personne a déjà un compte."),
    ("row_template_example", "The template's example row.", "La ligne d'exemple du modèle."),
    ("row_mail_not_sent", "Invited, but the email is not sent yet; it is tried again automatically.", "Invitée, mais l'e-mail n'est pas encore parti\u{a0}; il est renvoyé automatiquement."),
    ("import_started_by", "Started by", "Commencé par"),
    ("import_dry", "check only", "vérification seule"),
    ("none_imports", "No import yet.", "Aucun import pour l'instant."),
    ("export_title", "Export", "Exporter"),
    ("export_intro", "Every invitation of the organisation in one Excel file, access codes of pending identifier invitations included.", "Toutes les invitations de l'organisation dans un fichier Excel, codes d'accès des invitations par identifiant en attente compris."),
    ("export", "Export all invitations", "Exporter toutes les invitations"),
];

#[derive(Serialize)]
struct ImportRow {
    id: String,
    created: String,
    by: String,
    dry_run: bool,
    status: String,
}

fn state_text(visit: &Visit, import: &Import) -> String {
    let c = &import.counts;
    match &import.state {
        ImportState::WaitingUpload => visit.say(
            "import_waiting",
            &[("date", &date_of(visit, import.upload_expires_at))],
        ),
        ImportState::Processing {
            rows, rows_done, ..
        } => visit.say(
            "import_processing",
            &[
                ("done", &rows_done.to_string()),
                ("rows", &rows.to_string()),
            ],
        ),
        ImportState::Completed { rows, .. } if import.dry_run => visit.say(
            "import_completed_dry",
            &[
                ("rows", &rows.to_string()),
                ("valid", &c.valid.to_string()),
                ("skipped", &c.skipped.to_string()),
            ],
        ),
        ImportState::Completed { rows, .. } => visit.say(
            "import_completed",
            &[
                ("rows", &rows.to_string()),
                ("created", &c.created.to_string()),
                ("skipped", &c.skipped.to_string()),
                ("failed", &c.failed.to_string()),
            ],
        ),
        ImportState::Refused { message, .. } => visit.say("import_refused", &[("reason", message)]),
    }
}

pub(crate) async fn imports_page(visit: Visit) -> Result<Response, Page> {
    Ok({
        let (domain, org) = visit.org().await?;
        let token = session(&visit, &domain).await?;
        let listed = list_imports(
            &visit.services,
            &domain,
            Some(&token),
            PageRequest {
                cursor: None,
                limit: 20,
            },
        )
        .await;
        let page = match listed {
            Ok(page) => page,
            Err(e) => return Ok(refused(&visit, &org, &e)),
        };
        let rows: Vec<ImportRow> = page
            .items
            .iter()
            .map(|i| ImportRow {
                id: i.id.to_string(),
                created: date_of(&visit, i.created_at),
                by: i.created_by_name.clone().unwrap_or_default(),
                dry_run: i.dry_run,
                status: state_text(&visit, i),
            })
            .collect();
        visit.render(
            StatusCode::OK,
            "admin_imports.html",
            org.name(),
            &visit.say("imports_title", &[]),
            context! { nav => "imports", wide => true, rows => rows },
        )
    })
}

pub(crate) async fn template_download(visit: Visit) -> Result<Response, Page> {
    Ok({
        let (domain, org) = visit.org().await?;
        let token = session(&visit, &domain).await?;
        let content = match import_template(&visit.services, &domain, Some(&token)).await {
            Ok(c) => c,
            Err(e) => return Ok(refused(&visit, &org, &e)),
        };
        match gatehouse_sheets::template(&content.org_name, &content.group_names) {
            Ok(bytes) => (
                [
                    (
                        header::CONTENT_TYPE,
                        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    ),
                    (
                        header::CONTENT_DISPOSITION,
                        "attachment; filename=\"gatehouse-invitations.xlsx\"",
                    ),
                    (header::CACHE_CONTROL, "private, no-store"),
                ],
                bytes,
            )
                .into_response(),
            Err(e) => visit.trouble(&e),
        }
    })
}

pub(crate) async fn start_import(Form { visit, fields, .. }: Form) -> Result<Response, Page> {
    Ok({
        let (domain, org) = visit.org().await?;
        let token = session(&visit, &domain).await?;
        let dry_run = fields.contains_key("dry_run");
        match request_import(&visit.services, &domain, Some(&token), dry_run).await {
            Ok(ticket) => visit.redirect(&format!(
                "/{}/admin/imports/{}",
                visit.slug, ticket.import.id
            )),
            Err(e) => refused(&visit, &org, &e),
        }
    })
}

#[derive(Serialize)]
struct ProblemRow {
    row: u32,
    reason: String,
}

/// The rows kept as skipped or not mailed, each with its reason in the page's language (its code
/// when the page has no words for it).
fn problem_rows(visit: &Visit, import: &gatehouse_domain::model::Import) -> Vec<ProblemRow> {
    import
        .problems
        .iter()
        .map(|p| {
            let key = format!("row_{}", p.code);
            let said = visit.say(&key, &[]);
            ProblemRow {
                row: p.row,
                reason: if said == key { p.code.clone() } else { said },
            }
        })
        .collect()
}

pub(crate) async fn import_page(
    visit: Visit,
    Path((_, id)): Path<(String, String)>,
) -> Result<Response, Page> {
    Ok({
        let (domain, org) = visit.org().await?;
        let token = session(&visit, &domain).await?;
        let not_found = gatehouse_domain::usecase::invitations::InvitationsError::NotFound;
        let Ok(id) = ImportId::parse(&id) else {
            return Ok(refused(&visit, &org, &not_found));
        };
        import_view(&visit, &domain, &org, &token, &id).await
    })
}

async fn import_view(
    visit: &Visit,
    domain: &OrgDomain,
    org: &Org,
    token: &SessionToken,
    id: &ImportId,
) -> Response {
    let view = match import_status(&visit.services, domain, Some(token), id).await {
        Ok(v) => v,
        Err(e) => return refused(visit, org, &e),
    };
    let import = &view.import;
    // While it waits for its file, a fresh upload URL (the first one was handed out with the
    // import; each is as good as the other until the import starts).
    // Once the page's script has sent the file, it comes back with `uploaded`: the import starts
    // in a moment, and the page follows it rather than asking for the file again.
    let uploaded = visit.param("uploaded").is_some();
    let upload_url = match import.state {
        ImportState::WaitingUpload if !uploaded => {
            let key = gatehouse_domain::usecase::imports::upload_key(domain, &import.id);
            let now = visit.services.clock.now();
            match visit
                .services
                .files
                .upload_url(
                    &key,
                    now,
                    gatehouse_domain::usecase::imports::UPLOAD_VALID_FOR,
                )
                .await
            {
                Ok(url) => Some(url),
                Err(e) => return visit.trouble(&e),
            }
        }
        _ => None,
    };
    let following = matches!(
        import.state,
        ImportState::Processing { .. } | ImportState::WaitingUpload
    );
    let mut response = visit.render(
        StatusCode::OK,
        "admin_import.html",
        org.name(),
        &visit.say("import_title", &[]),
        context! {
            nav => "imports",
            id => import.id.to_string(),
            dry_run => import.dry_run,
            status => state_text(visit, import),
            waiting => upload_url.is_some(),
            starting => uploaded && matches!(import.state, ImportState::WaitingUpload),
            processing => matches!(import.state, ImportState::Processing { .. }),
            upload_url => upload_url.clone(),
            report_url => view.report_url,
            follow => following && upload_url.is_none(),
            problems => problem_rows(visit, import),
            problems_first => {
                let kept = import.problems.len();
                let all = import.counts.skipped as usize + import.counts.failed as usize;
                if all > kept {
                    visit.say("problems_first", &[("n", &kept.to_string())])
                } else {
                    visit.say("problems_all", &[])
                }
            },
        },
    );
    // The page's script sends the file to the upload URL, wherever the files live.
    if let Some(origin) = upload_url.as_deref().and_then(origin_of) {
        let csp = format!("{CSP}; connect-src 'self' {origin}");
        if let Ok(v) = HeaderValue::from_str(&csp) {
            response.headers_mut().insert("content-security-policy", v);
        }
    }
    response
}

/// `https://host[:port]` of a URL.
fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let host = rest.split(['/', '?', '#']).next()?;
    (!host.is_empty() && (scheme == "https" || scheme == "http"))
        .then(|| format!("{scheme}://{host}"))
}

pub(crate) async fn export(Form { visit, .. }: Form) -> Result<Response, Page> {
    Ok({
        let (domain, org) = visit.org().await?;
        let token = session(&visit, &domain).await?;
        let sheet = match gatehouse_sheets::InvitationsSheet::new() {
            Ok(sheet) => sheet,
            Err(e) => return Ok(visit.trouble(&e)),
        };
        match export_invitations(&visit.services, &domain, Some(&token), Box::new(sheet)).await {
            Ok(exported) => visit.see_other(&exported.download_url),
            Err(e) => refused(&visit, &org, &e),
        }
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_upload_url_s_origin_is_its_scheme_and_host() {
        assert_eq!(
            super::origin_of("https://files.s3.eu-west-3.amazonaws.com/uploads/acme/1?X-Amz=1")
                .as_deref(),
            Some("https://files.s3.eu-west-3.amazonaws.com")
        );
        assert_eq!(
            super::origin_of("http://127.0.0.1:3000/files/uploads/x").as_deref(),
            Some("http://127.0.0.1:3000")
        );
        assert_eq!(super::origin_of("javascript:alert(1)"), None);
        assert_eq!(super::origin_of("ftp://x/y"), None);
    }
}
