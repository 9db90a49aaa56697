//! The pages' words in English and French. A page's language comes from `?lang=` (remembered in
//! a cookie), else the browser's `Accept-Language`, else English.

use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    En,
    Fr,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Fr => "fr",
        }
    }

    pub fn parse(raw: &str) -> Option<Lang> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "en" => Some(Lang::En),
            "fr" => Some(Lang::Fr),
            _ => None,
        }
    }

    /// The same language, as the domain names it (for emails).
    pub fn language(self) -> gatehouse_domain::types::Language {
        match self {
            Lang::En => gatehouse_domain::types::Language::En,
            Lang::Fr => gatehouse_domain::types::Language::Fr,
        }
    }

    pub fn other(self) -> Lang {
        match self {
            Lang::En => Lang::Fr,
            Lang::Fr => Lang::En,
        }
    }

    /// The first of English and French the browser prefers (by `q`), English when neither.
    pub fn from_accept_language(header: &str) -> Lang {
        let mut best: Option<(f32, Lang)> = None;
        for part in header.split(',') {
            let mut pieces = part.split(';');
            let tag = pieces.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = pieces
                .find_map(|p| p.trim().strip_prefix("q=").map(str::to_owned))
                .and_then(|q| q.parse::<f32>().ok())
                .unwrap_or(1.0);
            let primary = tag.split('-').next().unwrap_or("");
            let Some(lang) = Lang::parse(primary) else {
                continue;
            };
            if q > 0.0 && best.is_none_or(|(b, _)| q > b) {
                best = Some((q, lang));
            }
        }
        best.map_or(Lang::En, |(_, l)| l)
    }

    /// Every word of the pages in this language, for templates (`t.key`).
    pub fn words(self) -> BTreeMap<&'static str, &'static str> {
        all_words()
            .map(|(key, en, fr)| (*key, if self == Lang::En { *en } else { *fr }))
            .collect()
    }

    /// One word, with `{name}` placeholders filled in.
    pub fn say(self, key: &str, args: &[(&str, &str)]) -> String {
        let text = all_words()
            .find(|(k, _, _)| *k == key)
            .map_or(key, |(_, en, fr)| if self == Lang::En { *en } else { *fr });
        args.iter().fold(text.to_string(), |text, (name, value)| {
            text.replace(&format!("{{{name}}}"), value)
        })
    }
}

/// The pages' words and the console's.
fn all_words() -> impl Iterator<Item = &'static (&'static str, &'static str, &'static str)> {
    WORDS
        .iter()
        .chain(crate::invitations::WORDS.iter())
        .chain(crate::settings::WORDS.iter())
        .chain(crate::applications::WORDS.iter())
        .chain(crate::imports::WORDS.iter())
        .chain(crate::authorize::WORDS.iter())
        .chain(crate::logout::WORDS.iter())
        .chain(crate::activity::WORDS.iter())
        .chain(crate::people::WORDS.iter())
        .chain(crate::account::WORDS.iter())
        .chain(crate::email_change::WORDS.iter())
        .chain(crate::second_step::WORDS.iter())
        .chain(crate::security::WORDS.iter())
        .chain(crate::passkeys::WORDS.iter())
}

/// (key, English, French).
const WORDS: &[(&str, &str, &str)] = &[
    ("language_name", "English", "Français"),
    ("switch_to", "Français", "English"),
    ("skip", "Skip to the form", "Aller au formulaire"),
    ("errors_title", "Please correct the following:", "Veuillez corriger ce qui suit\u{a0}:"),
    ("first_name", "First name", "Prénom"),
    ("last_name", "Last name", "Nom"),
    ("email", "Email address", "Adresse e-mail"),
    ("password", "Password", "Mot de passe"),
    ("new_password", "New password", "Nouveau mot de passe"),
    ("show_password", "Show password", "Afficher le mot de passe"),
    ("password_rules", "At least {min} characters. Any characters, spaces included; a passphrase is easiest to remember. Common passwords, your name and the organisation's name are refused.", "Au moins {min} caractères. Tous les caractères sont permis, espaces compris\u{202f}; une phrase est plus facile à retenir. Les mots de passe courants, votre nom et celui de l'organisation sont refusés."),
    ("password_count", "{n} of {min} characters", "{n} caractères sur {min}"),
    ("password_count_done", "{min} characters minimum ✓", "{min} caractères minimum ✓"),
    ("password_has_name", "This password contains your name or the organisation's: it would be refused.", "Ce mot de passe contient votre nom ou celui de l'organisation\u{a0}: il serait refusé."),
    ("identifier", "Email or identifier", "E-mail ou identifiant"),
    ("identifier_hint", "People without email sign in with their identifier, like 12345:{org}.", "Les personnes sans e-mail se connectent avec leur identifiant, par exemple 12345:{org}."),
    ("access_code", "Access code", "Code d'accès"),
    ("access_code_hint", "As your administrator gave it to you, for example K7QM-4XTP-9HW.", "Tel que votre administrateur vous l'a donné, par exemple K7QM-4XTP-9HW."),
    ("sign_up_title", "Create your account", "Créer votre compte"),
    ("invited_by", "{inviter} invited you to join {org}.", "{inviter} vous invite à rejoindre {org}."),
    ("invited", "You are invited to join {org}.", "Vous êtes invité(e) à rejoindre {org}."),
    ("confirm_registration", "Confirm your address and choose a password to join {org}.", "Confirmez votre adresse et choisissez un mot de passe pour rejoindre {org}."),
    ("as_member", "You will join as a member.", "Vous rejoindrez l'organisation en tant que membre."),
    ("as_guest", "You will join as a guest: you will see the groups you are invited to.", "Vous rejoindrez l'organisation en tant qu'invité\u{a0}: vous verrez les groupes auxquels vous êtes invité."),
    ("their_message", "Their message", "Son message"),
    ("account_email", "Your account's address: {email}", "Adresse de votre compte\u{a0}: {email}"),
    ("link_valid_until", "This link works until {date}.", "Ce lien fonctionne jusqu'au {date}."),
    ("create_account", "Create my account", "Créer mon compte"),
    ("code_title", "Sign up with an access code", "S'inscrire avec un code d'accès"),
    ("code_intro", "Your administrator gave you an access code. Enter it to see your identifier, then choose a password.", "Votre administrateur vous a remis un code d'accès. Saisissez-le pour voir votre identifiant, puis choisissez un mot de passe."),
    ("continue", "Continue", "Continuer"),
    ("your_identifier", "Your identifier", "Votre identifiant"),
    ("identifier_keep", "You will sign in with this identifier and your password. Write it down.", "Vous vous connecterez avec cet identifiant et votre mot de passe. Notez-le."),
    ("hello", "Hello {name}.", "Bonjour {name}."),
    ("join_title", "Join {org}", "Rejoindre {org}"),
    ("join_intro", "Give your address and your name. We will send you a link to confirm the address and choose your password.", "Indiquez votre adresse et votre nom. Nous vous enverrons un lien pour confirmer l'adresse et choisir votre mot de passe."),
    ("send_link", "Send me the link", "M'envoyer le lien"),
    ("check_inbox_title", "Check your inbox", "Consultez votre boîte de réception"),
    ("check_inbox", "If {email} can join, a message with a link is on its way. The link works for 24 hours.", "Si {email} peut rejoindre l'organisation, un message avec un lien est en route. Le lien fonctionne pendant 24 heures."),
    ("sign_in_title", "Sign in to {org}", "Se connecter à {org}"),
    ("sign_in", "Sign in", "Se connecter"),
    ("forgot_link", "Forgot your password?", "Mot de passe oublié\u{202f}?"),
    ("code_link", "Have an access code? Sign up with it", "Vous avez un code d'accès\u{202f}? Inscrivez-vous avec"),
    ("register_link", "New here? Register", "Nouveau\u{202f}? Inscrivez-vous"),
    ("forgot_title", "Forgot your password?", "Mot de passe oublié\u{202f}?"),
    ("forgot_intro", "Give your account's email address: we will send you a link to choose a new password. People without email ask their administrator.", "Indiquez l'adresse e-mail de votre compte\u{a0}: nous vous enverrons un lien pour choisir un nouveau mot de passe. Les personnes sans e-mail s'adressent à leur administrateur."),
    ("forgot_sent", "If an account has the address {email}, a link to choose a new password is on its way. It works for one hour.", "Si un compte a l'adresse {email}, un lien pour choisir un nouveau mot de passe est en route. Il fonctionne pendant une heure."),
    ("reset_title", "Choose a new password", "Choisir un nouveau mot de passe"),
    ("reset_submit", "Save the new password", "Enregistrer le nouveau mot de passe"),
    ("reset_done_title", "Your password is changed", "Votre mot de passe est modifié"),
    ("reset_done", "Sign in with your new password. Your other sessions have been signed out.", "Connectez-vous avec votre nouveau mot de passe. Vos autres sessions ont été fermées."),
    ("welcome_title", "You are signed in", "Vous êtes connecté(e)"),
    ("signed_in_as", "Signed in to {org} as {name} ({identifier}).", "Connecté(e) à {org} en tant que {name} ({identifier})."),
    ("sign_out", "Sign out", "Se déconnecter"),
    ("go_sign_in", "Go to the sign-in page", "Aller à la page de connexion"),
    ("go_forgot", "Ask for a new password link", "Demander un nouveau lien"),
    ("not_found_title", "Page not found", "Page introuvable"),
    ("not_found", "There is no such page here. Check the address, or start again from the link you were sent.", "Cette page n'existe pas. Vérifiez l'adresse, ou repartez du lien que vous avez reçu."),
    ("link_invalid_title", "This link is incomplete", "Ce lien est incomplet"),
    ("link_invalid", "It is not a link we know: it was probably cut or changed when it was copied. Open it from the email, or copy it whole; if it still does not work, ask {org}'s administrator for a new invitation.", "Ce n'est pas un lien que nous connaissons\u{a0}: il a sans doute été coupé ou modifié en le copiant. Ouvrez-le depuis l'e-mail, ou copiez-le en entier\u{202f}; s'il ne fonctionne toujours pas, demandez une nouvelle invitation à l'administrateur de {org}."),
    ("link_used_title", "You already have an account", "Vous avez déjà un compte"),
    ("link_used", "This invitation was accepted: its link has done its work. Sign in with your email address and your password.", "Cette invitation a été acceptée\u{a0}: son lien a servi. Connectez-vous avec votre adresse e-mail et votre mot de passe."),
    ("link_expired_title", "This link has expired", "Ce lien a expiré"),
    ("link_expired", "Ask {org}'s administrator to send you a new invitation.", "Demandez à l'administrateur de {org} de vous envoyer une nouvelle invitation."),
    ("link_revoked_title", "This invitation was withdrawn", "Cette invitation a été retirée"),
    ("link_revoked", "{org}'s administrator withdrew it. Ask them if you think this is a mistake.", "L'administrateur de {org} l'a retirée. Contactez-le si vous pensez qu'il s'agit d'une erreur."),
    ("join_invalid_title", "This invitation link is not valid", "Ce lien d'invitation n'est pas valide"),
    ("join_invalid", "{org} has turned it off or replaced it with a new one. Ask someone there for the current link.", "{org} l'a désactivé ou remplacé par un nouveau. Demandez le lien actuel à quelqu'un de l'organisation."),
    ("join_expired", "This invitation link has expired. Ask someone at {org} for the current link.", "Ce lien d'invitation a expiré. Demandez le lien actuel à quelqu'un de {org}."),
    ("join_used_up", "This invitation link has been used as many times as it may. Ask someone at {org} for a new one.", "Ce lien d'invitation a été utilisé autant de fois que permis. Demandez-en un nouveau à quelqu'un de {org}."),
    ("reset_invalid_title", "This reset link cannot be used", "Ce lien de réinitialisation ne peut pas être utilisé"),
    ("reset_invalid", "It has been used already, has expired (links work for one hour) or was copied incompletely. Ask for a new one.", "Il a déjà servi, a expiré (les liens fonctionnent une heure) ou a été mal copié. Demandez-en un nouveau."),
    ("unavailable_title", "Not available here", "Non disponible ici"),
    ("code_off", "{org} does not use access codes. Sign in, or use the link you were sent by email.", "{org} n'utilise pas de codes d'accès. Connectez-vous, ou utilisez le lien reçu par e-mail."),
    ("register_off", "{org} does not let people register themselves. Ask someone there to invite you.", "{org} ne permet pas de s'inscrire soi-même. Demandez à quelqu'un de l'organisation de vous inviter."),
    ("org_not_found", "There is no organisation {org} here. Check the address.", "Il n'y a pas d'organisation {org} ici. Vérifiez l'adresse."),
    ("form_expired_title", "This form expired", "Ce formulaire a expiré"),
    ("form_expired", "For your security, reload the page and send the form again.", "Pour votre sécurité, rechargez la page et envoyez à nouveau le formulaire."),
    ("try_again", "Try again", "Réessayer"),
    ("server_error_title", "Something went wrong", "Un problème est survenu"),
    ("server_error", "Something went wrong on our side. Nothing was changed; try again in a moment.", "Un problème est survenu de notre côté. Rien n'a été modifié\u{202f}; réessayez dans un instant."),
    ("err_required", "Fill this in.", "Veuillez remplir ce champ."),
    ("err_invalid_name", "Use up to 100 characters, without control characters.", "Utilisez au plus 100 caractères, sans caractères de contrôle."),
    ("err_invalid_email", "This is not an email address that can receive mail, like name@example.com.", "Ce n'est pas une adresse e-mail pouvant recevoir du courrier, comme nom@exemple.fr."),
    ("err_password_too_short", "Choose a password of at least {min} characters.", "Choisissez un mot de passe d'au moins {min} caractères."),
    ("err_password_too_long", "Choose a shorter password (at most 256 characters).", "Choisissez un mot de passe plus court (256 caractères au plus)."),
    ("err_password_too_common", "This password is among the most common ones; choose another.", "Ce mot de passe fait partie des plus courants\u{202f}; choisissez-en un autre."),
    ("err_password_contextual", "The password contains your name or the organisation's name; choose another.", "Le mot de passe contient votre nom ou celui de l'organisation\u{202f}; choisissez-en un autre."),
    ("err_account_deactivated", "This account is deactivated. Ask an administrator of {org} to reactivate it.", "Ce compte est désactivé. Demandez à un administrateur de {org} de le réactiver."),
    ("err_invalid_credentials", "The identifier or the password is wrong.", "L'identifiant ou le mot de passe est incorrect."),
    ("err_too_many", "Too many attempts. Try again in {seconds} seconds.", "Trop de tentatives. Réessayez dans {seconds} secondes."),
    ("err_locked", "Too many failed attempts: this account is locked. Reset the password, or ask an administrator.", "Trop de tentatives échouées\u{a0}: ce compte est bloqué. Réinitialisez le mot de passe ou contactez un administrateur."),
    ("err_invalid_access_code", "This access code is not valid. Check it with your administrator.", "Ce code d'accès n'est pas valide. Vérifiez-le auprès de votre administrateur."),
    ("err_email_domain_not_allowed", "{org} only accepts addresses at its own domains.", "{org} n'accepte que les adresses de ses propres domaines."),
    ("err_too_many_registrations", "Too many registrations from your network. Try again in {seconds} seconds.", "Trop d'inscriptions depuis votre réseau. Réessayez dans {seconds} secondes."),
    ("err_without_email_off", "{org} does not allow sign-in with an identifier.", "{org} ne permet pas la connexion avec un identifiant."),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_browser_s_preferred_language_is_chosen() {
        assert_eq!(
            Lang::from_accept_language("fr-FR,fr;q=0.9,en;q=0.8"),
            Lang::Fr
        );
        assert_eq!(
            Lang::from_accept_language("en-GB,en;q=0.9,fr;q=0.8"),
            Lang::En
        );
        assert_eq!(Lang::from_accept_language("de-DE,fr;q=0.5"), Lang::Fr);
        assert_eq!(Lang::from_accept_language("de-DE"), Lang::En);
        assert_eq!(Lang::from_accept_language("fr;q=0, en;q=0.1"), Lang::En);
        assert_eq!(Lang::from_accept_language(""), Lang::En);
    }

    #[test]
    fn every_word_exists_in_both_languages_once() {
        let mut keys = std::collections::HashSet::new();
        for (key, en, fr) in all_words() {
            assert!(keys.insert(key), "{key} twice");
            assert!(!en.is_empty() && !fr.is_empty(), "{key}");
            // Placeholders match.
            let holes = |s: &str| {
                let mut v: Vec<String> = s
                    .split('{')
                    .skip(1)
                    .filter_map(|p| p.split('}').next().map(str::to_owned))
                    .collect();
                v.sort();
                v
            };
            assert_eq!(holes(en), holes(fr), "{key}");
        }
    }

    /// As a French reader expects: a non-breaking space before `: ; ! ?` (never a plain one, never
    /// none after a word), and `que`, `de`, `le`, `la`, `ne`, `se`, `ce` elided before a vowel.
    #[test]
    fn french_words_follow_french_typography() {
        for (key, _, fr) in all_words() {
            let chars: Vec<char> = fr.chars().collect();
            for (i, c) in chars.iter().enumerate().skip(1) {
                let next = chars.get(i + 1).copied();
                let url = *c == ':' && next == Some('/');
                let placeholder = chars[i - 1] == '}' && *c == '?';
                // An identifier as people type it (`12345:{org}`), not punctuation.
                let identifier = *c == ':' && chars[i - 1].is_ascii_digit();
                if matches!(c, ':' | ';' | '!' | '?') && !url && !placeholder && !identifier {
                    assert!(
                        matches!(chars[i - 1], '\u{a0}' | '\u{202f}'),
                        "{key}: no non-breaking space before {c:?} in {fr:?}"
                    );
                }
            }
            let lower = fr.to_lowercase();
            let words: Vec<&str> = lower.split([' ', '\u{a0}', '\u{202f}']).collect();
            for pair in words.windows(2) {
                let vowel = pair[1]
                    .chars()
                    .next()
                    .is_some_and(|c| "aeiouyàâéèêîôû".contains(c));
                let elides = ["que", "de", "le", "la", "ne", "se", "ce", "jusque"];
                assert!(
                    !(vowel && elides.contains(&pair[0])),
                    "{key}: \"{} {}\" is not elided in {fr:?}",
                    pair[0],
                    pair[1]
                );
            }
        }
    }

    #[test]
    fn placeholders_are_filled() {
        assert_eq!(
            Lang::Fr.say("join_title", &[("org", "Acme")]),
            "Rejoindre Acme"
        );
    }
}
