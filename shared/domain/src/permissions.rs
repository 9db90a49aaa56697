//! Who may do what in an organisation: every permission decision, in one place.
//!
//! Admins may do everything. Anyone else may only invite by email, and only when the
//! organisation delegates it: with `members_can_invite` a member invites members or guests
//! (into no group they do not administer); with `group_admins_can_invite` a group admin invites
//! members or guests into groups they administer, and no others. Guests never invite, and
//! invitees are members or guests, so nobody grants a role above their own. A delegated inviter
//! may resend or revoke their own invitations while they may still invite; only admins invite by
//! identifier (and so see access codes), import, export, change settings, manage groups, group
//! admins and the invitation link, or touch others' invitations.

use crate::model::Settings;
use crate::types::{GroupId, InviteeRole, Role};

/// Who is asking, as far as permissions go.
#[derive(Debug, Clone, Copy)]
pub struct Standing<'a> {
    pub role: Role,
    /// The groups they administer (group admins; empty for everyone else).
    pub administers: &'a [GroupId],
}

/// What they ask to do.
#[derive(Debug, Clone, Copy)]
pub enum Action<'a> {
    InviteByEmail {
        role: InviteeRole,
        groups: &'a [GroupId],
    },
    InviteByUid,
    BulkImport,
    Export,
    ChangeSettings,
    SeeAccessCode,
    /// `own`: the invitation is one they sent.
    Revoke {
        own: bool,
    },
    Resend {
        own: bool,
    },
    ManageLink,
    ManageGroups,
    /// List and read the organisation's invitations and imports.
    SeeInvitations,
    /// List users, rename others, set passwords of users without email, change roles, deactivate
    /// and erase accounts.
    ManageUsers,
    /// Add people to a group, or take them out, after they signed up: admins, and a group's own
    /// admins when the organisation lets group admins invite.
    ManageMembers {
        group: &'a GroupId,
    },
    /// Register, change and remove the applications people sign in to (OpenID Connect clients).
    ManageClients,
    /// Read the organisation's event log (its audit trail).
    ReadEvents,
    /// Register, change and remove webhooks, and see their deliveries.
    ManageWebhooks,
}

/// Why not: each with a stable code a front end can act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The organisation lets only admins invite (the front end hides its "+Invite" button).
    #[error("only administrators can invite people to this organisation")]
    OnlyAdminsCanInvite,
    /// A group named is not one the inviter administers (or a group admin named none).
    #[error("you can invite only into groups you administer")]
    GroupNotAdministered,
    /// Reserved for admins.
    #[error("only administrators can do this")]
    AdminsOnly,
}

impl Refusal {
    pub fn code(self) -> &'static str {
        match self {
            Self::OnlyAdminsCanInvite => "only_admins_can_invite",
            Self::GroupNotAdministered => "group_not_administered",
            Self::AdminsOnly => "forbidden",
        }
    }
}

/// Whether they may invite anyone at all (what a page shows them: the Invite form, or not).
pub fn may_invite(who: Standing<'_>, settings: &Settings) -> bool {
    who.role == Role::Admin
        || (settings.members_can_invite && who.role == Role::Member)
        || (settings.group_admins_can_invite && !who.administers.is_empty())
}

/// Allowed, or the exact refusal. Every use case asks here (through `admin_of` or directly).
pub fn decide(who: Standing<'_>, settings: &Settings, action: Action<'_>) -> Result<(), Refusal> {
    if who.role == Role::Admin {
        return Ok(());
    }
    let as_member = settings.members_can_invite && who.role == Role::Member;
    let as_group_admin = settings.group_admins_can_invite && !who.administers.is_empty();
    match action {
        Action::InviteByEmail { role: _, groups } => {
            if !as_member && !as_group_admin {
                return Err(Refusal::OnlyAdminsCanInvite);
            }
            if groups.iter().any(|g| !who.administers.contains(g)) {
                return Err(Refusal::GroupNotAdministered);
            }
            // A group admin who may not invite as a member invites into their groups.
            if groups.is_empty() && !as_member {
                return Err(Refusal::GroupNotAdministered);
            }
            Ok(())
        }
        Action::ManageMembers { group } => {
            if as_group_admin && who.administers.contains(group) {
                Ok(())
            } else {
                Err(Refusal::AdminsOnly)
            }
        }
        Action::Revoke { own } | Action::Resend { own } => match (own, as_member || as_group_admin)
        {
            (true, true) => Ok(()),
            (true, false) => Err(Refusal::OnlyAdminsCanInvite),
            (false, _) => Err(Refusal::AdminsOnly),
        },
        Action::InviteByUid
        | Action::BulkImport
        | Action::Export
        | Action::ChangeSettings
        | Action::SeeAccessCode
        | Action::ManageLink
        | Action::ManageGroups
        | Action::SeeInvitations
        | Action::ManageUsers
        | Action::ManageClients
        | Action::ReadEvents
        | Action::ManageWebhooks => Err(Refusal::AdminsOnly),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The whole table, written out: role (admin, group admin, member, guest) × delegation
    /// settings (members_can_invite, group_admins_can_invite: off/off, on/off, off/on, on/on) ×
    /// action → allowed ("ok") or the refusal's code. A group admin here is a member who
    /// administers group A (not B).
    /// Someone may invite exactly when some invitation by email is allowed to them.
    #[test]
    fn may_invite_is_whether_some_invitation_is_allowed() {
        let a = GroupId::parse("0190f5a8b6c37d4e8f9a0b1c2d3e4f50").unwrap();
        let administers = [a.clone()];
        for role in [Role::Admin, Role::Member, Role::Guest] {
            for admins_of in [&administers[..], &[]] {
                for (members, group_admins) in
                    [(false, false), (true, false), (false, true), (true, true)]
                {
                    let settings = Settings {
                        members_can_invite: members,
                        group_admins_can_invite: group_admins,
                        ..Settings::default()
                    };
                    let who = Standing {
                        role,
                        administers: admins_of,
                    };
                    let some_allowed = [&[][..], &administers[..]].iter().any(|groups| {
                        decide(
                            who,
                            &settings,
                            Action::InviteByEmail {
                                role: InviteeRole::Guest,
                                groups,
                            },
                        )
                        .is_ok()
                    });
                    assert_eq!(
                        may_invite(who, &settings),
                        some_allowed,
                        "{role:?} {admins_of:?} {members} {group_admins}"
                    );
                }
            }
        }
    }

    #[test]
    fn every_role_setting_and_action_has_its_answer() {
        let a = GroupId::parse("0190f5a8b6c37d4e8f9a0b1c2d3e4f50").unwrap();
        let b = GroupId::parse("0190f5a8b6c37d4e8f9a0b1c2d3e4f51").unwrap();
        let in_a = [a.clone()];
        let in_b = [b.clone()];
        let none: [GroupId; 0] = [];
        let actions: Vec<(&str, Action)> = vec![
            (
                "invite member",
                Action::InviteByEmail {
                    role: InviteeRole::Member,
                    groups: &none,
                },
            ),
            (
                "invite guest",
                Action::InviteByEmail {
                    role: InviteeRole::Guest,
                    groups: &none,
                },
            ),
            (
                "invite member into A",
                Action::InviteByEmail {
                    role: InviteeRole::Member,
                    groups: &in_a,
                },
            ),
            (
                "invite guest into A",
                Action::InviteByEmail {
                    role: InviteeRole::Guest,
                    groups: &in_a,
                },
            ),
            (
                "invite into B (not administered)",
                Action::InviteByEmail {
                    role: InviteeRole::Member,
                    groups: &in_b,
                },
            ),
            ("invite by uid", Action::InviteByUid),
            ("bulk import", Action::BulkImport),
            ("export", Action::Export),
            ("change settings", Action::ChangeSettings),
            ("see an access code", Action::SeeAccessCode),
            ("revoke own", Action::Revoke { own: true }),
            ("revoke another's", Action::Revoke { own: false }),
            ("resend own", Action::Resend { own: true }),
            ("resend another's", Action::Resend { own: false }),
            ("manage the link", Action::ManageLink),
            ("manage groups", Action::ManageGroups),
            ("see invitations", Action::SeeInvitations),
            ("manage users", Action::ManageUsers),
            ("manage clients", Action::ManageClients),
            ("read events", Action::ReadEvents),
            ("manage webhooks", Action::ManageWebhooks),
            ("manage A's members", Action::ManageMembers { group: &a }),
            ("manage B's members", Action::ManageMembers { group: &b }),
        ];
        let administers_a = [a.clone()];
        let roles: [(&str, Standing); 4] = [
            (
                "admin",
                Standing {
                    role: Role::Admin,
                    administers: &[],
                },
            ),
            (
                "group admin",
                Standing {
                    role: Role::Member,
                    administers: &administers_a,
                },
            ),
            (
                "member",
                Standing {
                    role: Role::Member,
                    administers: &[],
                },
            ),
            (
                "guest",
                Standing {
                    role: Role::Guest,
                    administers: &[],
                },
            ),
        ];
        const OK: &str = "ok";
        const OFF: &str = "only_admins_can_invite";
        const GROUP: &str = "group_not_administered";
        const ADM: &str = "forbidden";
        // Per action, per role (admin, group admin, member, guest), per setting
        // (off/off, members on, group admins on, both on).
        let expected: [(&str, [[&str; 4]; 4]); 23] = [
            (
                "invite member",
                [
                    [OK, OK, OK, OK],
                    [OFF, OK, GROUP, OK],
                    [OFF, OK, OFF, OK],
                    [OFF, OFF, OFF, OFF],
                ],
            ),
            (
                "invite guest",
                [
                    [OK, OK, OK, OK],
                    [OFF, OK, GROUP, OK],
                    [OFF, OK, OFF, OK],
                    [OFF, OFF, OFF, OFF],
                ],
            ),
            (
                "invite member into A",
                [
                    [OK, OK, OK, OK],
                    [OFF, OK, OK, OK],
                    [OFF, GROUP, OFF, GROUP],
                    [OFF, OFF, OFF, OFF],
                ],
            ),
            (
                "invite guest into A",
                [
                    [OK, OK, OK, OK],
                    [OFF, OK, OK, OK],
                    [OFF, GROUP, OFF, GROUP],
                    [OFF, OFF, OFF, OFF],
                ],
            ),
            (
                "invite into B (not administered)",
                [
                    [OK, OK, OK, OK],
                    [OFF, GROUP, GROUP, GROUP],
                    [OFF, GROUP, OFF, GROUP],
                    [OFF, OFF, OFF, OFF],
                ],
            ),
            ("invite by uid", admins_only()),
            ("bulk import", admins_only()),
            ("export", admins_only()),
            ("change settings", admins_only()),
            ("see an access code", admins_only()),
            (
                "revoke own",
                [
                    [OK, OK, OK, OK],
                    [OFF, OK, OK, OK],
                    [OFF, OK, OFF, OK],
                    [OFF, OFF, OFF, OFF],
                ],
            ),
            ("revoke another's", admins_only()),
            (
                "resend own",
                [
                    [OK, OK, OK, OK],
                    [OFF, OK, OK, OK],
                    [OFF, OK, OFF, OK],
                    [OFF, OFF, OFF, OFF],
                ],
            ),
            ("resend another's", admins_only()),
            ("manage the link", admins_only()),
            ("manage groups", admins_only()),
            ("see invitations", admins_only()),
            ("manage users", admins_only()),
            ("manage clients", admins_only()),
            ("read events", admins_only()),
            ("manage webhooks", admins_only()),
            (
                "manage A's members",
                [
                    [OK, OK, OK, OK],
                    [ADM, ADM, OK, OK],
                    [ADM, ADM, ADM, ADM],
                    [ADM, ADM, ADM, ADM],
                ],
            ),
            ("manage B's members", admins_only()),
        ];
        fn admins_only() -> [[&'static str; 4]; 4] {
            [[OK; 4], [ADM; 4], [ADM; 4], [ADM; 4]]
        }
        let settings_cases = [(false, false), (true, false), (false, true), (true, true)];
        assert_eq!(actions.len(), expected.len());
        let mut checked = 0;
        for ((name, action), (expected_name, rows)) in actions.iter().zip(expected.iter()) {
            assert_eq!(name, expected_name);
            for ((role_name, who), row) in roles.iter().zip(rows.iter()) {
                for ((members, group_admins), want) in settings_cases.iter().zip(row.iter()) {
                    let settings = Settings {
                        members_can_invite: *members,
                        group_admins_can_invite: *group_admins,
                        ..Settings::default()
                    };
                    let got = match decide(*who, &settings, *action) {
                        Ok(()) => "ok",
                        Err(r) => r.code(),
                    };
                    assert_eq!(
                        got, *want,
                        "{role_name} / {name} / members_can_invite={members} group_admins_can_invite={group_admins}"
                    );
                    checked += 1;
                }
            }
        }
        assert_eq!(checked, 23 * 4 * 4);
    }

    #[test]
    fn a_group_admin_inviting_into_several_groups_needs_each() {
        let a = GroupId::parse("0190f5a8b6c37d4e8f9a0b1c2d3e4f50").unwrap();
        let b = GroupId::parse("0190f5a8b6c37d4e8f9a0b1c2d3e4f51").unwrap();
        let settings = Settings {
            group_admins_can_invite: true,
            ..Settings::default()
        };
        let invite = |groups: &[GroupId], administers: &[GroupId]| {
            decide(
                Standing {
                    role: Role::Member,
                    administers,
                },
                &settings,
                Action::InviteByEmail {
                    role: InviteeRole::Member,
                    groups,
                },
            )
        };
        let both = [a.clone(), b.clone()];
        assert_eq!(invite(&both, &both), Ok(()));
        assert_eq!(
            invite(&both, std::slice::from_ref(&a)),
            Err(Refusal::GroupNotAdministered)
        );
    }
}
