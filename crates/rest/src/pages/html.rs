//! The HTML of the invitation pages: one function per page, every interpolated value
//! escaped with [`escape`]. Plain HTML with a little inline CSS and no script, so the
//! pages work without JavaScript and under a `default-src 'none'` policy.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};

/// Seconds before the success page sends the browser on to the login URL.
pub(crate) const REDIRECT_SECONDS: u32 = 5;

/// The one style sheet: readable on small screens, light and dark, with a visible focus
/// ring on everything that can take focus.
const STYLE: &str = "\
:root{color-scheme:light dark;font-family:system-ui,-apple-system,\"Segoe UI\",Roboto,sans-serif;line-height:1.5}\
body{margin:0;padding:1rem}\
main{max-width:30rem;margin:2rem auto;padding:1.5rem;border:1px solid #8888;border-radius:.5rem}\
h1{font-size:1.5rem;line-height:1.25;margin:0 0 1rem}\
label{display:block;font-weight:600;margin-top:1.25rem}\
input{display:block;box-sizing:border-box;width:100%;font:inherit;padding:.5rem;margin-top:.25rem;\
border:1px solid #767676;border-radius:.25rem}\
input[aria-invalid=true]{border:2px solid #c01c28}\
.hint{margin:.25rem 0 0;font-size:.95rem}\
.error{color:#c01c28;font-weight:600;margin:.25rem 0 0}\
.alert{border-left:4px solid #c01c28;padding:.25rem 1rem}\
.status{border-left:4px solid #26a269;padding:.25rem 1rem}\
button{display:block;width:100%;margin-top:1.5rem;font:inherit;font-weight:600;padding:.65rem 1rem;\
border:0;border-radius:.25rem;background:#1a5fb4;color:#fff;cursor:pointer}\
button:hover{background:#1c4f94}\
a{color:#1a5fb4}\
:focus-visible{outline:3px solid #e66100;outline-offset:2px}\
@media (prefers-color-scheme:dark){.error{color:#ff7b86}a{color:#99c1f1}}";

/// Escapes text for HTML content and quoted attribute values.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A whole document around `main` (already escaped HTML).
fn layout(title: &str, refresh_to: Option<&str>, main: &str) -> String {
    let refresh = refresh_to.map_or_else(String::new, |url| {
        format!("<meta http-equiv=\"refresh\" content=\"{REDIRECT_SECONDS};url={}\">\n", escape(url))
    });
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"robots\" content=\"noindex\">\n{refresh}<title>{} · Roster</title>\n\
         <style>{STYLE}</style>\n</head>\n<body>\n<main>\n{main}</main>\n</body>\n</html>\n",
        escape(title)
    )
}

/// Which field of the form a message is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Field {
    /// The new password.
    Password,
    /// Its confirmation.
    Confirm,
}

impl Field {
    fn id(self) -> &'static str {
        match self {
            Self::Password => "password",
            Self::Confirm => "password_confirm",
        }
    }
}

/// What the acceptance form shows.
#[derive(Clone, Debug)]
pub(crate) struct Form<'a> {
    /// The organization's name.
    pub(crate) org_name: &'a str,
    /// The invitee's email.
    pub(crate) email: &'a str,
    /// When the link stops working.
    pub(crate) expires_at: DateTime<Utc>,
    /// The CSRF token of the hidden field (the cookie's value).
    pub(crate) csrf: &'a str,
    /// The password policy's minimum length.
    pub(crate) password_min: usize,
    /// What is wrong with the last submission, and with which field.
    pub(crate) error: Option<(Field, String)>,
}

/// One password input with its label, hint and error, linked by `aria-describedby`.
fn password_input(out: &mut String, field: Field, label: &str, hint: Option<&str>, form: &Form<'_>) {
    let id = field.id();
    let error = form.error.as_ref().filter(|(f, _)| *f == field).map(|(_, message)| message);
    let mut described_by = Vec::new();
    let _ = writeln!(out, "<label for=\"{id}\">{}</label>", escape(label));
    if let Some(hint) = hint {
        let _ = writeln!(out, "<p class=\"hint\" id=\"{id}-hint\">{}</p>", escape(hint));
        described_by.push(format!("{id}-hint"));
    }
    if error.is_some() {
        described_by.push(format!("{id}-error"));
    }
    let _ = write!(
        out,
        "<input type=\"password\" name=\"{id}\" id=\"{id}\" autocomplete=\"new-password\" required minlength=\"{}\"",
        form.password_min
    );
    if !described_by.is_empty() {
        let _ = write!(out, " aria-describedby=\"{}\"", described_by.join(" "));
    }
    if error.is_some() {
        out.push_str(" aria-invalid=\"true\" autofocus");
    }
    out.push_str(">\n");
    if let Some(message) = error {
        let _ = writeln!(out, "<p class=\"error\" id=\"{id}-error\" role=\"alert\">{}</p>", escape(message));
    }
}

/// The acceptance form: "Join {org}", the email, a new password twice.
pub(crate) fn form(form: &Form<'_>) -> String {
    let (org, email) = (escape(form.org_name), escape(form.email));
    let mut main = format!(
        "<h1>Join {org}</h1>\n<p>You have been invited to join {org} as <strong>{email}</strong>. \
         Choose a password to activate your account.</p>\n<form method=\"post\">\n\
         <input type=\"hidden\" name=\"csrf\" value=\"{}\">\n\
         <input type=\"hidden\" name=\"username\" value=\"{email}\" autocomplete=\"username\">\n",
        escape(form.csrf)
    );
    let hint = format!("At least {} characters, and not your email address.", form.password_min);
    password_input(&mut main, Field::Password, "Choose a password", Some(&hint), form);
    password_input(&mut main, Field::Confirm, "Confirm the password", None, form);
    let _ = write!(
        main,
        "<button type=\"submit\">Set password and join</button>\n</form>\n\
         <p class=\"hint\">This invitation expires on {} UTC.</p>\n",
        form.expires_at.format("%Y-%m-%d at %H:%M")
    );
    layout(&format!("Join {}", form.org_name), None, &main)
}

/// Why the page cannot show the form.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Trouble {
    /// The token is unknown, malformed or replaced by a resend.
    Invalid,
    /// The invitation expired.
    Expired,
    /// The invitation was revoked.
    Revoked,
    /// The invitation was already accepted.
    Accepted,
    /// The CSRF cookie and field do not match.
    FormExpired,
    /// The submission is not a readable form.
    BadForm,
    /// Something failed on the server.
    Internal,
}

impl Trouble {
    /// The page's title and heading, and what it says.
    fn text(self) -> (&'static str, &'static str) {
        match self {
            Self::Invalid => (
                "Invitation link not valid",
                "This invitation link is not valid. Check that you opened the whole link from the \
                 email; if you received a newer invitation, use its link instead.",
            ),
            Self::Expired => {
                ("Invitation expired", "This invitation has expired. Ask the person who invited you to send a new one.")
            }
            Self::Revoked => (
                "Invitation withdrawn",
                "This invitation was revoked and can no longer be used. Ask the person who invited \
                 you if you still need an account.",
            ),
            Self::Accepted => (
                "Invitation already accepted",
                "This invitation was already accepted, so the link no longer works. Sign in with the \
                 password you chose.",
            ),
            Self::FormExpired => (
                "Form expired",
                "This form has expired, reload the page and try again. The page needs a cookie to \
                 protect the form: if this keeps happening, allow cookies for this site.",
            ),
            Self::BadForm => ("Form not readable", "The form could not be read. Reload the page and try again."),
            Self::Internal => (
                "Something went wrong",
                "Something went wrong on our side and nothing was changed. Try again in a moment.",
            ),
        }
    }
}

/// A page explaining why the invitation cannot be used (or the form not taken), with a
/// link to reload the form when that could help.
pub(crate) fn trouble(trouble: Trouble, reload: Option<&str>) -> String {
    let (title, message) = trouble.text();
    let mut main = format!(
        "<h1>{}</h1>\n<div class=\"alert\" role=\"alert\">\n<p>{}</p>\n</div>\n",
        escape(title),
        escape(message)
    );
    if let Some(href) = reload {
        let _ = writeln!(main, "<p><a href=\"{}\">Reload the page</a></p>", escape(href));
    }
    layout(title, None, &main)
}

/// The account is active: where to sign in, and an automatic move there after a few
/// seconds when a login URL is known.
pub(crate) fn success(email: &str, login_url: Option<&str>) -> String {
    let mut main = format!(
        "<div class=\"status\" role=\"status\">\n<h1>Your account is ready</h1>\n\
         <p>You can now sign in as <strong>{}</strong> with the password you chose.</p>\n</div>\n",
        escape(email)
    );
    if let Some(url) = login_url {
        let _ = write!(
            main,
            "<p><a href=\"{}\">Continue to sign in</a></p>\n\
             <p class=\"hint\">You will be taken there in {REDIRECT_SECONDS} seconds.</p>\n",
            escape(url)
        );
    }
    layout("Your account is ready", login_url, &main)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(error: Option<(Field, String)>) -> String {
        form(&Form {
            org_name: "Acme <Labs> & \"Co\"",
            email: "ada@example.com",
            expires_at: DateTime::UNIX_EPOCH,
            csrf: "abc123",
            password_min: 12,
            error,
        })
    }

    #[test]
    fn everything_interpolated_is_escaped() {
        assert_eq!(escape(r#"<a href="x">'&'</a>"#), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
        let page = sample(None);
        assert!(page.contains("<h1>Join Acme &lt;Labs&gt; &amp; &quot;Co&quot;</h1>"), "{page}");
        assert!(!page.contains("<Labs>"));
        let page = success("a@example.com", Some("https://x.example/login?a=1&b=\"2\""));
        assert!(page.contains("content=\"5;url=https://x.example/login?a=1&amp;b=&quot;2&quot;\""), "{page}");
        assert!(page.contains("href=\"https://x.example/login?a=1&amp;b=&quot;2&quot;\""), "{page}");
    }

    #[test]
    fn the_form_labels_its_fields_and_links_their_messages() {
        let page = sample(None);
        assert!(page.starts_with("<!DOCTYPE html>\n<html lang=\"en\">"));
        assert!(page.contains("<label for=\"password\">Choose a password</label>"));
        assert!(page.contains(
            "<input type=\"password\" name=\"password\" id=\"password\" autocomplete=\"new-password\" required \
             minlength=\"12\" aria-describedby=\"password-hint\">"
        ));
        assert!(page.contains("<label for=\"password_confirm\">"));
        assert!(page.contains("<input type=\"hidden\" name=\"csrf\" value=\"abc123\">"));
        assert!(page.contains("<button type=\"submit\">Set password and join</button>"));
        assert!(!page.contains("role=\"alert\""));
        assert!(!page.contains("<script"));

        let page = sample(Some((Field::Confirm, "The passwords do not match.".into())));
        assert!(page.contains("aria-describedby=\"password_confirm-error\" aria-invalid=\"true\" autofocus>"));
        assert!(page.contains("<p class=\"error\" id=\"password_confirm-error\" role=\"alert\">The passwords"));
    }

    #[test]
    fn each_trouble_has_its_own_message() {
        let texts: std::collections::HashSet<_> = [
            Trouble::Invalid,
            Trouble::Expired,
            Trouble::Revoked,
            Trouble::Accepted,
            Trouble::FormExpired,
            Trouble::BadForm,
            Trouble::Internal,
        ]
        .into_iter()
        .map(|t| trouble(t, None))
        .collect();
        assert_eq!(texts.len(), 7);
        let page = trouble(Trouble::Expired, None);
        assert!(page.contains("role=\"alert\"") && page.contains("has expired"));
        assert!(trouble(Trouble::FormExpired, Some("/invite/rsi_x")).contains("<a href=\"/invite/rsi_x\">"));
    }

    #[test]
    fn success_without_a_login_url_does_not_redirect() {
        let page = success("a@example.com", None);
        assert!(page.contains("role=\"status\"") && page.contains("Your account is ready"));
        assert!(!page.contains("http-equiv") && !page.contains("Continue to sign in"));
    }
}
