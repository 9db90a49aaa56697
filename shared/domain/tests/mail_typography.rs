//! Every email as its readers hold it to: in French, a French speaker's rules (elision, a
//! non-breaking space before `: ; ! ?`, dates written "5 décembre 2026 à 6 h 36"); in English,
//! "an" before a vowel; in HTML, a real message (its language, a title, the link as a button and
//! written out, no image, no stylesheet or script) sent in the organisation's name.

use gatehouse_domain::clock::Timestamp;
use gatehouse_domain::mail::{
    mailbox, sender_address, EmailChangeMail, InvitationMail, LinkConfirmationMail,
    PasswordResetMail, RemovedFactor, SecondFactorRemovedMail, WebhookDisabledMail,
};
use gatehouse_domain::ports::OutgoingEmail;
use gatehouse_domain::types::{EmailAddress, Language, PersonName, PersonalMessage, Role};

const LINK: &str = "https://gatehouse.example/acme/sign-up?token=abc";

/// Every message Gatehouse sends, in `language`, for an organisation called `org`, with each
/// variant (each role, a reminder and the last one, a message, asked by an admin or not).
fn every_mail(language: Language, org: &str) -> Vec<OutgoingEmail> {
    let to = EmailAddress::parse("zoe@example.com").unwrap();
    let inviter_email = EmailAddress::parse("ada@acme.example").unwrap();
    let name = PersonName::parse("Zoé").unwrap();
    let message = PersonalMessage::parse("Bienvenue\u{202f}! On t'attend.").unwrap();
    let at = Timestamp::from_unix_seconds(1_796_452_560); // 2026-12-05 06:36 UTC
    let mut mails = Vec::new();
    for role in [Role::Admin, Role::Member, Role::Guest] {
        for (reminder, last_reminder) in [
            (false, None),
            (true, Some(Timestamp::from_unix_seconds(1_798_761_600))),
            (true, None),
        ] {
            mails.push(
                InvitationMail {
                    to: &to,
                    org,
                    first_name: &name,
                    inviter: "Ada Admin".into(),
                    reply_to: Some(&inviter_email),
                    role,
                    message: Some(&message),
                    link: LINK.into(),
                    expires_at: at,
                    reminder,
                    last_reminder,
                    language,
                }
                .render()
                .unwrap(),
            );
        }
        for via_link in [true, false] {
            mails.push(
                LinkConfirmationMail {
                    to: &to,
                    via_link,
                    org,
                    first_name: &name,
                    role,
                    link: LINK.into(),
                    expires_at: at,
                    language,
                }
                .render()
                .unwrap(),
            );
        }
    }
    mails.push(
        PasswordResetMail {
            to: &to,
            org,
            first_name: &name,
            link: LINK.into(),
            expires_at: at,
            language,
        }
        .render()
        .unwrap(),
    );
    mails.push(
        WebhookDisabledMail {
            to: &to,
            org,
            first_name: &name,
            url: "https://hooks.example/in",
            failing_since: at,
            language,
        }
        .render()
        .unwrap(),
    );
    let new_email = EmailAddress::parse("zoe@new.example").unwrap();
    for notice in [false, true] {
        for by_admin in [false, true] {
            mails.push(
                EmailChangeMail {
                    to: &to,
                    notice,
                    org,
                    first_name: &name,
                    new_email: &new_email,
                    by_admin,
                    link: (!notice).then(|| LINK.to_string()),
                    expires_at: at,
                    language,
                }
                .render()
                .unwrap(),
            );
        }
    }
    for factor in [
        RemovedFactor::AuthenticatorApp,
        RemovedFactor::Passkey("Laptop"),
    ] {
        for required in [false, true] {
            mails.push(
                SecondFactorRemovedMail {
                    to: &to,
                    org,
                    first_name: &name,
                    factor,
                    required,
                    language,
                }
                .render()
                .unwrap(),
            );
        }
    }
    mails
}

/// What a reader of the HTML part sees: the tags left out, the entities read.
fn html_text(html: &str) -> String {
    let mut text = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                text.push(' ');
            }
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    text.replace("&#39;", "'")
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&nbsp;", "\u{a0}")
        .replace("&amp;", "&")
}

/// The ways `text` breaks French typography, each with where.
fn french_problems(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut problems = Vec::new();
    let around = |i: usize| -> String {
        chars[i.saturating_sub(25)..(i + 15).min(chars.len())]
            .iter()
            .collect()
    };
    for (i, &c) in chars.iter().enumerate() {
        if !matches!(c, ':' | ';' | '!' | '?') || i == 0 {
            continue;
        }
        let before = chars[i - 1];
        let next = chars.get(i + 1).copied();
        // Not punctuation of a sentence: a URL's scheme or query, a JSON key, a time, a
        // placeholder's dots.
        let technical = (c == ':' && next == Some('/'))
            || (c == '?' && before.is_alphanumeric() && next.is_some_and(|n| n.is_alphanumeric()))
            || before == '"'
            || (c == ':' && before.is_ascii_digit())
            || before == '…';
        if technical {
            continue;
        }
        if before != '\u{a0}' && before != '\u{202f}' {
            problems.push(format!(
                "no non-breaking space before {c:?}: …{}…",
                around(i)
            ));
        }
    }
    let lower = text.to_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| c.is_whitespace() || c == '\u{a0}' || c == '\u{202f}')
        .filter(|w| !w.is_empty())
        .collect();
    for pair in words.windows(2) {
        let elides = [
            "que", "de", "le", "la", "je", "me", "te", "se", "ne", "ce", "jusque",
        ];
        let starts_with_vowel = pair[1]
            .chars()
            .next()
            .is_some_and(|c| "aeiouyàâéèêëîïôûü".contains(c));
        if elides.contains(&pair[0]) && starts_with_vowel {
            problems.push(format!("not elided: \"{} {}\"", pair[0], pair[1]));
        }
    }
    problems
}

#[test]
fn french_mails_follow_french_typography() {
    for org in ["Acme", "Organisation Démo", "Écoles de Lyon"] {
        for mail in every_mail(Language::Fr, org) {
            for (part, text) in [
                ("subject", mail.subject.clone()),
                ("text", mail.text.clone()),
                ("html", html_text(&mail.html)),
            ] {
                let problems = french_problems(&text);
                assert!(
                    problems.is_empty(),
                    "{part} of {:?}: {problems:#?}\n{text}",
                    mail.subject
                );
            }
        }
    }
}

#[test]
fn the_french_checker_finds_what_it_looks_for() {
    assert_eq!(french_problems("Rappel : votre invitation").len(), 1);
    assert_eq!(french_problems("Bienvenue!").len(), 1);
    assert_eq!(french_problems("en tant que invité").len(), 1);
    assert_eq!(french_problems("un administrateur de Acme").len(), 1);
    assert!(french_problems("Rappel\u{a0}: en tant qu'invité, https://x.example/a?b=c").is_empty());
}

#[test]
fn french_dates_read_as_a_french_speaker_writes_them() {
    let invitation = every_mail(Language::Fr, "Acme").remove(1);
    assert!(
        invitation
            .text
            .contains("jusqu'au 5 décembre 2026 à 6 h 36 UTC"),
        "{}",
        invitation.text
    );
    // The last reminder is on the first of the month.
    assert!(
        invitation
            .text
            .contains("Les rappels s'arrêtent après le 1er janvier 2027 à 0 h 00 UTC"),
        "{}",
        invitation.text
    );
}

#[test]
fn english_mails_say_an_before_a_vowel_and_name_the_role_once() {
    let mails = every_mail(Language::En, "Acme");
    for mail in &mails {
        let text = format!("{} {}", mail.text, html_text(&mail.html)).to_lowercase();
        for wrong in [
            " a admin",
            " a invit",
            " a member of a ",
            " as a {",
            "as a as",
        ] {
            assert!(!text.contains(wrong), "{wrong:?} in {text}");
        }
    }
    assert!(
        mails[0].text.contains("to join Acme as an admin."),
        "{}",
        mails[0].text
    );
}

#[test]
fn reminders_say_how_to_stop_them_and_when_they_stop() {
    let mails = every_mail(Language::En, "Acme");
    let (first, reminder, last) = (&mails[0], &mails[1], &mails[2]);
    assert!(!first.text.contains("Reminders stop"), "{}", first.text);
    for mail in [reminder, last] {
        for body in [&mail.text, &html_text(&mail.html)] {
            assert!(
                body.contains("ask Ada Admin to withdraw the invitation, or let it expire"),
                "{body}"
            );
        }
    }
    assert!(
        reminder
            .text
            .contains("Reminders stop after Friday 1 January 2027, 00:00 UTC"),
        "{}",
        reminder.text
    );
    assert!(
        last.text.contains("This is the last reminder"),
        "{}",
        last.text
    );
    assert!(reminder.subject.starts_with("Reminder: "));
}

#[test]
fn every_html_mail_is_a_whole_accessible_message_in_the_organisations_name() {
    for language in [Language::En, Language::Fr] {
        for mail in every_mail(language, "Acme & Co") {
            let html = &mail.html;
            assert!(
                html.contains(&format!("<html lang=\"{}\">", language.as_str())),
                "{html}"
            );
            assert!(html.contains("<title>"), "{html}");
            assert!(
                html.contains("Acme &amp; Co"),
                "the organisation is named: {html}"
            );
            for absent in ["<img", "<style", "<script", "<link"] {
                assert!(!html.contains(absent), "{absent} in {html}");
            }
            if let Some(link) = &mail.action_link {
                // A button-styled link and the address written out for copying.
                assert_eq!(
                    html.matches(&format!("href=\"{link}\"")).count(),
                    2,
                    "{html}"
                );
                assert!(html_text(html).contains(link.as_str()), "{html}");
                assert!(mail.text.contains(link.as_str()));
            }
            assert_eq!(mail.sender_name.as_deref(), Some("Acme & Co"));
        }
    }
    let invitation = &every_mail(Language::En, "Acme")[0];
    assert_eq!(
        invitation.reply_to.as_ref().map(|r| r.as_str()),
        Some("ada@acme.example")
    );
    assert!(invitation.text.contains("A reply to it reaches Ada Admin"));
}

#[test]
fn the_sender_is_the_organisation_at_the_configured_address() {
    assert_eq!(
        sender_address("Gatehouse <no-reply@mail.example>"),
        "no-reply@mail.example"
    );
    assert_eq!(
        sender_address("no-reply@mail.example"),
        "no-reply@mail.example"
    );
    assert_eq!(
        mailbox("Acme Corp", "no-reply@mail.example"),
        "\"Acme Corp\" <no-reply@mail.example>"
    );
    assert_eq!(
        mailbox("Say \"hi\"\r\nBcc: x@evil.example", "n@m.example"),
        "\"Say \\\"hi\\\"Bcc: x@evil.example\" <n@m.example>"
    );
    // Non-ASCII names are RFC 2047 encoded words of at most 75 characters.
    let long = "Écoles et collèges de la Métropole de Lyon — direction numérique".repeat(2);
    let from = mailbox(&long, "n@m.example");
    assert!(from.ends_with(" <n@m.example>"), "{from}");
    for word in from.trim_end_matches(" <n@m.example>").split(' ') {
        assert!(
            word.starts_with("=?UTF-8?B?") && word.ends_with("?="),
            "{word}"
        );
        assert!(word.len() <= 75, "{word}");
    }
}
