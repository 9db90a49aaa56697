//! One run over an import's rows: classify, save in batches, mail, report.

use super::*;

/// One row on its way: what the report will say of it, and the invitation it made.
struct RowState {
    line: ReportLine,
    /// To mail: the invitation as saved and its link.
    to_mail: Option<(Invitation, SecretToken)>,
}

pub(super) struct Run<'a> {
    pub(super) services: &'a Services,
    pub(super) sheets: &'a dyn Spreadsheets,
    pub(super) org: Org,
    pub(super) inviter: Option<String>,
    pub(super) inviter_email: Option<crate::types::EmailAddress>,
    /// As this worker last wrote it.
    pub(super) import: Import,
    pub(super) now: Timestamp,
}

impl Run<'_> {
    pub(super) async fn rows(
        &mut self,
        rows: &[ImportRow],
        groups: &GroupsByName,
        held: &HashMap<String, Claim>,
    ) -> Result<Ran, RunError> {
        let verdicts = classify_rows(rows, &self.org.settings, groups);
        let mut states: Vec<RowState> = Vec::with_capacity(rows.len());
        // Rows to invite now, and rows this import invited on an earlier delivery.
        let mut new: Vec<(usize, PlannedInvitation, InvitationId)> = Vec::new();
        let mut earlier: Vec<(usize, InvitationId)> = Vec::new();
        for (row, (_, verdict)) in rows.iter().zip(verdicts) {
            let index = states.len();
            let mut state = RowState {
                line: line_of(row),
                to_mail: None,
            };
            match verdict {
                RowVerdict::Skipped { code, message } => skip(&mut state.line, code, message),
                RowVerdict::Planned(planned) => {
                    let identity = identity_of(&planned.invitee);
                    let row_id = row_invitation_id(&self.import, &identity);
                    match held.get(&identity).unwrap_or(&Claim::Free) {
                        Claim::Account(_) => skip(
                            &mut state.line,
                            "already_registered",
                            "this person already has an account here",
                        ),
                        Claim::Invitation { id, .. } if *id == row_id => {
                            earlier.push((index, row_id))
                        }
                        Claim::Invitation { expires_at, .. } if *expires_at > self.now => skip(
                            &mut state.line,
                            "already_invited",
                            "this person already has a pending invitation here",
                        ),
                        _ if self.import.dry_run => {
                            state.line.result = RowResult::Valid;
                            state.line.message = "would be invited".into();
                        }
                        _ => new.push((index, planned, row_id)),
                    }
                }
            }
            states.push(state);
        }
        if !earlier.is_empty() {
            self.resume(&mut states, &earlier).await?;
        }
        self.create(&mut states, new).await?;
        self.mail_and_finish(states).await
    }

    /// The invitations an earlier delivery saved: already mailed, or mailed now.
    async fn resume(
        &mut self,
        states: &mut [RowState],
        earlier: &[(usize, InvitationId)],
    ) -> Result<(), RunError> {
        let services = self.services;
        let ids: Vec<InvitationId> = earlier.iter().map(|(_, id)| id.clone()).collect();
        let found = services
            .store
            .look_up(
                &self.org.domain,
                &Lookup {
                    invitations: ids,
                    ..Lookup::default()
                },
            )
            .await?;
        for ((index, _), invitation) in earlier.iter().zip(found.invitations) {
            let state = &mut states[*index];
            let Some(invitation) = invitation else {
                skip(
                    &mut state.line,
                    "already_invited",
                    "this person already has a pending invitation here",
                );
                continue;
            };
            if invitation.delivery != Delivery::Queued
                || invitation.state != InvitationState::Pending
            {
                self.invited(state, &invitation, None);
                continue;
            }
            // Saved, not mailed: mailed now with the link it was saved with (kept sealed), which
            // costs no write; one that cannot be opened (sealed under another key) gets a new
            // link, its old one never having been seen.
            if let Some(token) = invitation
                .lifecycle
                .sealed_token
                .as_ref()
                .and_then(|s| services.access_codes.open_link_token(s))
            {
                state.to_mail = Some((invitation, token));
                continue;
            }
            let token = SecretToken::generate(services.random.as_ref());
            let mut renewed = invitation.clone();
            if let Invitee::Email { token_hash, .. } = &mut renewed.invitee {
                *token_hash = token.hash();
            }
            renewed.lifecycle.sealed_token = Some(invite::seal(services, &token));
            match services
                .store
                .update_invitation(&renewed, &invitation, &ChangeEvents::none())
                .await
            {
                Ok(()) => {
                    renewed.version += 1;
                    state.to_mail = Some((renewed, token));
                }
                Err(WriteError::Stale) => self.invited(state, &invitation, None),
                Err(e) => return Err(RunError::Store(e.into())),
            }
        }
        Ok(())
    }

    /// Saves the new invitations, [`INVITATIONS_PER_WRITE`] at a time with the import's progress.
    async fn create(
        &mut self,
        states: &mut [RowState],
        new: Vec<(usize, PlannedInvitation, InvitationId)>,
    ) -> Result<(), RunError> {
        let services = self.services;
        let ttl = self.org.settings.invitation_ttl();
        let mut pending = new.into_iter().peekable();
        while pending.peek().is_some() {
            let chunk: Vec<_> = pending.by_ref().take(INVITATIONS_PER_WRITE).collect();
            let mut made = Vec::with_capacity(chunk.len());
            for (index, planned, id) in chunk {
                let (invitee, token, code) = match planned.invitee {
                    InviteeRequest::Email(email) => {
                        let token = SecretToken::generate(services.random.as_ref());
                        let invitee = Invitee::Email {
                            email,
                            token_hash: token.hash(),
                        };
                        (invitee, Some(token), None)
                    }
                    InviteeRequest::Uid(uid) => {
                        let code = AccessCode::generate(services.random.as_ref());
                        let invitee = Invitee::Uid {
                            uid,
                            access_code: services
                                .access_codes
                                .seal(&code, services.random.as_ref()),
                            code_hash: services.access_codes.lookup_hash(&code),
                        };
                        (invitee, None, Some(code))
                    }
                };
                let invitation = Invitation {
                    id,
                    org: self.org.domain.clone(),
                    delivery: if token.is_some() {
                        Delivery::Queued
                    } else {
                        Delivery::Manual
                    },
                    invitee,
                    role: InviteeRole::Member,
                    first_name: planned.first_name,
                    last_name: planned.last_name,
                    groups: planned.groups,
                    message: self.org.settings.invitation_message.clone(),
                    invited_by: Some(self.import.created_by.clone()),
                    created_at: self.now,
                    expires_at: self.now.plus(ttl),
                    state: InvitationState::Pending,
                    lifecycle: Lifecycle {
                        inviter_name: self.inviter.clone(),
                        inviter_email: self.inviter_email.clone(),
                        language: self.org.settings.language,
                        ..Lifecycle::for_new(
                            self.now,
                            Some(self.import.created_by.clone()),
                            token.as_ref().map(|t| invite::seal(services, t)),
                            if token.is_some() {
                                reminder_times(&self.org.settings, self.now, self.now.plus(ttl))
                            } else {
                                Vec::new()
                            },
                        )
                    },
                    version: 0,
                };
                made.push((index, invitation, token, code));
            }
            let invitations: Vec<Invitation> = made.iter().map(|(_, i, _, _)| i.clone()).collect();
            let next = self.step(states);
            let mut events = ChangeEvents::new(&*services.random, self.now);
            for invitation in &invitations {
                let by = invitation.invited_by.as_ref();
                events.invitation(EventType::InvitationCreated, by, invitation);
            }
            let outcomes = services
                .store
                .create_invitations(
                    &invitations,
                    ImportProgress {
                        import: &next,
                        read_version: self.import.version,
                    },
                    &events,
                )
                .await
                .map_err(write_failed)?;
            self.import = next;
            for ((index, invitation, token, code), outcome) in made.into_iter().zip(outcomes) {
                let state = &mut states[index];
                match outcome {
                    Ok(()) => match token {
                        Some(token) => state.to_mail = Some((invitation, token)),
                        None => self.invited(state, &invitation, code),
                    },
                    Err(WriteError::EmailTaken | WriteError::UidTaken) => skip(
                        &mut state.line,
                        "already_invited",
                        "this person was invited or registered meanwhile",
                    ),
                    Err(e) => {
                        tracing::warn!(import = %self.import.id, row = state.line.row, cause = %crate::Chain(&e), "an import row was not saved");
                        skip(
                            &mut state.line,
                            "not_saved",
                            "the invitation could not be saved; upload the row again",
                        );
                    }
                }
            }
        }
        Ok(())
    }

    /// Mails the saved invitations and records their delivery, [`DELIVERIES_PER_WRITE`] at a
    /// time; then keeps the report and completes the import (with the last deliveries).
    async fn mail_and_finish(&mut self, mut states: Vec<RowState>) -> Result<Ran, RunError> {
        let services = self.services;
        let to_mail: Vec<usize> = (0..states.len())
            .filter(|i| states[*i].to_mail.is_some())
            .collect();
        let chunks: Vec<&[usize]> = to_mail.chunks(DELIVERIES_PER_WRITE).collect();
        if chunks.is_empty() {
            self.save_report(&states).await?;
            let next = self.finished(&states);
            let mut events = ChangeEvents::new(&*services.random, self.now);
            events.import_finished(&next);
            services
                .store
                .update_import(
                    ImportProgress {
                        import: &next,
                        read_version: self.import.version,
                    },
                    &events,
                )
                .await
                .map_err(write_failed)?;
            self.count_finished(&next);
            return Ok(Ran::Finished(next));
        }
        let last = chunks.len() - 1;
        for (n, chunk) in chunks.into_iter().enumerate() {
            let mails: Vec<Option<OutgoingEmail>> =
                chunk
                    .iter()
                    .map(|i| {
                        let (invitation, token) = states[*i].to_mail.as_ref()?;
                        invite::email_of(services, &self.org, invitation, token, false)
                    .map_err(|e| tracing::error!(cause = %crate::Chain(&e), "an invitation email did not render"))
                    .ok()
                    })
                    .collect();
            let sent = send_all(services.mailer.clone(), mails).await;
            let mut changes = Vec::new();
            for (i, ok) in chunk.iter().zip(sent) {
                let state = &mut states[*i];
                let Some((mut invitation, _)) = state.to_mail.take() else {
                    continue;
                };
                if ok {
                    let before = invitation.clone();
                    invitation.mark_sent(self.now);
                    changes.push(DeliveryChange {
                        before,
                        after: invitation.clone(),
                    });
                    self.invited(state, &invitation, None);
                } else {
                    state.line.result = RowResult::Queued;
                    state.line.code = Some("mail_not_sent");
                    state.line.message =
                        "invited, but the email could not be sent yet; it is tried again automatically"
                            .into();
                }
            }
            let next = if n == last {
                self.save_report(&states).await?;
                self.finished(&states)
            } else {
                self.step(&states)
            };
            if !changes.is_empty() || n == last {
                let mut events = ChangeEvents::new(&*services.random, self.now);
                for change in &changes {
                    let by = change.after.invited_by.as_ref();
                    events.invitation(EventType::InvitationSent, by, &change.after);
                }
                if n == last {
                    events.import_finished(&next);
                }
                crate::usecase::sent_record::recording_sent(|| {
                    services.store.record_deliveries(
                        &changes,
                        ImportProgress {
                            import: &next,
                            read_version: self.import.version,
                        },
                        &events,
                    )
                })
                .await
                .map_err(write_failed)?;
                if n == last {
                    self.count_finished(&next);
                }
                self.import = next;
            }
        }
        Ok(Ran::Finished(self.import.clone()))
    }

    async fn save_report(&self, states: &[RowState]) -> Result<(), RunError> {
        let lines: Vec<ReportLine> = states.iter().map(|s| s.line.clone()).collect();
        let bytes = self
            .sheets
            .report(self.org.name(), &lines)
            .map_err(RunError::Files)?;
        self.services
            .files
            .write(
                &report_key(&self.org.domain, &self.import.id),
                bytes,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            )
            .await?;
        Ok(())
    }

    /// Marks a row invited (for an identifier, with its access code).
    fn invited(&self, state: &mut RowState, invitation: &Invitation, code: Option<AccessCode>) {
        state.line.result = RowResult::Created;
        state.line.code = None;
        match &invitation.invitee {
            Invitee::Email { .. } => {
                state.line.message = match invitation.delivery {
                    Delivery::Sent => "invited; the invitation email was sent".into(),
                    _ => "invited".into(),
                }
            }
            Invitee::Uid {
                uid, access_code, ..
            } => {
                let code = code.or_else(|| self.services.access_codes.open(access_code));
                state.line.sign_in = Some(format!("{uid}:{}", invitation.org));
                state.line.access_code = code.map(|c| c.grouped());
                state.line.message = "invited; hand over the access code".into();
            }
        }
    }

    /// The import as the next write leaves it: its counts and rows done so far (rows whose
    /// outcome is final), its lease renewed.
    fn step(&self, states: &[RowState]) -> Import {
        let mut next = self.import.clone();
        next.version += 1;
        next.counts = tally(states);
        let done = next.counts.created + next.counts.failed + next.counts.skipped;
        let renewed = self.services.clock.now().plus(LEASE);
        if let ImportState::Processing {
            rows_done,
            lease_until,
            ..
        } = &mut next.state
        {
            *rows_done = done;
            *lease_until = renewed;
        }
        next
    }

    /// The finished import's rows, counted once: only the delivery whose write completed the
    /// import (a conditional write, so one of any at once) gets here.
    fn count_finished(&self, import: &Import) {
        use crate::metrics::Metric;
        let metrics = &self.services.metrics;
        let counts = &import.counts;
        metrics.count(Metric::ImportRowsCreated, u64::from(counts.created));
        metrics.count(Metric::ImportRowsSkipped, u64::from(counts.skipped));
        metrics.count(Metric::ImportRowsFailed, u64::from(counts.failed));
        metrics.count(
            Metric::InvitationsCreated,
            u64::from(counts.created) + u64::from(counts.failed),
        );
    }

    fn finished(&self, states: &[RowState]) -> Import {
        let mut next = self.step(states);
        let rows = match self.import.state {
            ImportState::Processing { rows, .. } => rows,
            _ => 0,
        };
        next.state = ImportState::Completed {
            finished_at: self.services.clock.now(),
            rows,
        };
        next.problems = states
            .iter()
            .filter(|s| matches!(s.line.result, RowResult::Skipped | RowResult::Queued))
            .take(crate::model::ROW_PROBLEMS_KEPT)
            .map(|s| crate::model::RowProblem {
                row: s.line.row,
                code: s.line.code.unwrap_or("skipped").to_string(),
                failed: s.line.result == RowResult::Queued,
            })
            .collect();
        next
    }
}

/// The counts the rows' results make.
fn tally(states: &[RowState]) -> ImportCounts {
    let of = |result: RowResult| count(states.iter().filter(|s| s.line.result == result).count());
    let skipped = of(RowResult::Skipped);
    ImportCounts {
        valid: count(states.len()) - skipped,
        created: of(RowResult::Created),
        failed: of(RowResult::Queued),
        skipped,
    }
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn line_of(row: &ImportRow) -> ReportLine {
    ReportLine {
        row: row.number,
        email: row.email.clone(),
        uid: row.uid.clone(),
        first_name: row.first_name.clone(),
        last_name: row.last_name.clone(),
        result: RowResult::Pending,
        code: None,
        message: String::new(),
        sign_in: None,
        access_code: None,
    }
}

fn skip(line: &mut ReportLine, code: &'static str, message: impl Into<String>) {
    line.result = RowResult::Skipped;
    line.code = Some(code);
    line.message = message.into();
}

/// Sends the mails, [`MAILS_IN_FLIGHT`] at a time; answers which went out (`None`: not sent).
async fn send_all(
    mailer: Arc<dyn crate::ports::Mailer>,
    mails: Vec<Option<OutgoingEmail>>,
) -> Vec<bool> {
    let total = mails.len();
    let gate = Arc::new(tokio::sync::Semaphore::new(MAILS_IN_FLIGHT));
    let mut tasks = tokio::task::JoinSet::new();
    for (i, mail) in mails.into_iter().enumerate() {
        let Some(mail) = mail else { continue };
        let (mailer, gate) = (mailer.clone(), gate.clone());
        tasks.spawn(async move {
            let _permit = gate.acquire_owned().await;
            let sent = mailer.send(&mail).await;
            if let Err(e) = &sent {
                tracing::warn!(cause = %crate::Chain(e), "an import's invitation email was not sent; left queued");
            }
            (i, sent.is_ok())
        });
    }
    let mut sent = Vec::new();
    while let Some(done) = tasks.join_next().await {
        if let Ok(done) = done {
            sent.push(done);
        }
    }
    let mut out = vec![false; total];
    for (i, ok) in sent {
        out[i] = ok;
    }
    out
}
