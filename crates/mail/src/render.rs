//! The templates: what each [`Mail`] says, as a subject, a plain-text body and an HTML
//! body. Every field is escaped in the HTML; links become clickable only when they are
//! `http(s)` URLs, so stored data can never inject markup or a `javascript:` link.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use roster_domain::outbox::Mail;

/// A mail ready to send or show.
#[derive(Clone, PartialEq, Eq)]
pub struct Rendered {
    /// The subject line (one line: control characters become spaces).
    pub subject: String,
    /// The plain-text body.
    pub text: String,
    /// The HTML body: one self-contained document, inline styles, no external resources.
    pub html: String,
}

impl std::fmt::Debug for Rendered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The bodies carry links and passwords: only the subject may reach a log.
        f.debug_struct("Rendered").field("subject", &self.subject).finish_non_exhaustive()
    }
}

/// Renders a mail.
pub fn render(mail: &Mail) -> Rendered {
    match mail {
        Mail::Invitation { org_name, inviter, accept_url, expires_at } => {
            invitation(org_name, inviter, accept_url, *expires_at)
        }
        Mail::Credentials { org_name, login_url, email, username, password } => {
            credentials(org_name, login_url, email, username, password)
        }
    }
}

fn invitation(org: &str, inviter: &str, accept_url: &str, expires_at: DateTime<Utc>) -> Rendered {
    let expiry = human_utc(expires_at);
    let subject = one_line(&format!("You are invited to join {org}"));
    // An API key invites in the organization's own name: no "Acme invited you to join Acme".
    let by_org = inviter == org;
    let invited =
        if by_org { format!("You are invited to join {org}") } else { format!("{inviter} invited you to join {org}") };
    let invited = full_stop(&invited);
    let text = format!(
        "Hello,\n\
         \n\
         {invited}\n\
         \n\
         To accept, open this link and choose your password:\n\
         \n\
         {accept_url}\n\
         \n\
         The link works until {expiry}, and only once.\n\
         If you did not expect this invitation, you can ignore this email.\n"
    );
    let mut body = String::new();
    let org_html = format!("<strong>{}</strong>", esc(org.trim_end_matches('.')));
    let invited_html = if by_org {
        format!("You are invited to join {org_html}.")
    } else {
        format!("<strong>{}</strong> invited you to join {org_html}.", esc(inviter))
    };
    paragraph(&mut body, &invited_html);
    paragraph(&mut body, "To accept, open this link and choose your password:");
    button(&mut body, accept_url, "Accept the invitation");
    paragraph(&mut body, &format!("Or copy this address into your browser:<br>{}", esc(accept_url)));
    small(
        &mut body,
        &format!(
            "The link works until {}, and only once. If you did not expect this invitation, you can ignore this email.",
            esc(&expiry)
        ),
    );
    Rendered { html: document(&subject, &body), subject, text }
}

fn credentials(org: &str, login_url: &str, email: &str, username: &str, password: &str) -> Rendered {
    let subject = one_line(&format!("Your account at {org}"));
    let text = format!(
        "Hello,\n\
         \n\
         An account at {org} was created for you.\n\
         \n\
         Sign in at: {login_url}\n\
         Email:      {email}\n\
         Username:   {username}\n\
         Password:   {password}\n\
         \n\
         Keep this password to yourself, and delete this email once you have signed in.\n"
    );
    let mut body = String::new();
    paragraph(&mut body, &format!("An account at <strong>{}</strong> was created for you.", esc(org)));
    body.push_str("<table role=\"presentation\" style=\"border-collapse:collapse;margin:0 0 16px\">");
    for (label, value) in [("Email", email), ("Username", username), ("Password", password)] {
        let _ = write!(
            body,
            "<tr><td style=\"padding:4px 16px 4px 0;color:#555\">{label}</td>\
             <td style=\"padding:4px 0;font-family:monospace;font-size:15px\">{}</td></tr>",
            esc(value)
        );
    }
    body.push_str("</table>");
    button(&mut body, login_url, "Sign in");
    paragraph(&mut body, &format!("Or copy this address into your browser:<br>{}", esc(login_url)));
    small(&mut body, "Keep this password to yourself, and delete this email once you have signed in.");
    Rendered { html: document(&subject, &body), subject, text }
}

/// The sentence with a full stop, unless it already ends a sentence ("Acme Inc.").
fn full_stop(sentence: &str) -> String {
    if sentence.ends_with(['.', '!', '?']) { sentence.to_owned() } else { format!("{sentence}.") }
}

/// "14 March 2031 at 09:30 UTC".
fn human_utc(at: DateTime<Utc>) -> String {
    at.format("%-d %B %Y at %H:%M UTC").to_string()
}

/// HTML-escapes text for element content and double- or single-quoted attributes.
fn esc(s: &str) -> String {
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

/// A header must stay one line, whatever the stored data holds.
fn one_line(s: &str) -> String {
    s.chars().map(|c| if c.is_control() { ' ' } else { c }).collect()
}

fn is_web_link(url: &str) -> bool {
    let lower = url.to_ascii_lowercase();
    lower.starts_with("https://") || lower.starts_with("http://")
}

fn paragraph(out: &mut String, inner_html: &str) {
    let _ = write!(out, "<p style=\"margin:0 0 16px\">{inner_html}</p>");
}

fn small(out: &mut String, inner_html: &str) {
    let _ = write!(out, "<p style=\"margin:24px 0 0;font-size:13px;color:#666\">{inner_html}</p>");
}

fn button(out: &mut String, url: &str, label: &str) {
    if !is_web_link(url) {
        return;
    }
    let _ = write!(
        out,
        "<p style=\"margin:0 0 16px\"><a href=\"{}\" style=\"display:inline-block;padding:10px 18px;\
         background:#1d4ed8;color:#ffffff;text-decoration:none;border-radius:4px;font-weight:bold\">{}</a></p>",
        esc(url),
        esc(label)
    );
}

fn document(subject: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n\
         <html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width\"><title>{}</title></head>\n\
         <body style=\"margin:0;padding:24px;background:#f4f4f5\">\
         <div style=\"max-width:560px;margin:0 auto;padding:24px;background:#ffffff;border-radius:6px;\
         font-family:Arial,Helvetica,sans-serif;font-size:15px;line-height:1.5;color:#18181b\">\n\
         <p style=\"margin:0 0 16px\">Hello,</p>{body}</div></body></html>\n",
        esc(subject)
    )
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn invitation_mail(org: &str, url: &str) -> Mail {
        Mail::Invitation {
            org_name: org.into(),
            inviter: "Ada <ada@acme.example>".into(),
            accept_url: url.into(),
            expires_at: Utc.with_ymd_and_hms(2031, 3, 14, 9, 30, 0).unwrap(),
        }
    }

    fn credentials_mail() -> Mail {
        Mail::Credentials {
            org_name: "Acme & Sons".into(),
            login_url: "https://acme.example/login?next=/home&x=1".into(),
            email: "bob@acme.example".into(),
            username: "bob".into(),
            password: "p<a>ss\"w'rd&1".into(),
        }
    }

    #[test]
    fn an_invitation_names_the_org_the_inviter_the_expiry_and_the_link_in_both_bodies() {
        let url = "https://roster.example/invite/tok_abc123";
        let r = render(&invitation_mail("Acme", url));
        assert_eq!(r.subject, "You are invited to join Acme");
        for body in [&r.text, &r.html] {
            assert!(body.contains("Acme"), "{body}");
            assert!(body.contains("14 March 2031 at 09:30 UTC"), "{body}");
        }
        assert!(r.text.contains("Ada <ada@acme.example> invited you"));
        assert!(r.html.contains("Ada &lt;ada@acme.example&gt;"));
        assert!(r.text.lines().any(|line| line == url), "the link stands on its own line");
        assert!(r.html.contains(&format!("href=\"{url}\"")));
    }

    #[test]
    fn an_organization_inviting_in_its_own_name_is_named_once_and_sentences_end_once() {
        let mail = Mail::Invitation {
            org_name: "Acme Inc.".into(),
            inviter: "Acme Inc.".into(),
            accept_url: "https://roster.example/invite/tok".into(),
            expires_at: Utc.with_ymd_and_hms(2031, 3, 14, 9, 30, 0).unwrap(),
        };
        let r = render(&mail);
        assert!(r.text.contains("You are invited to join Acme Inc.\n"), "{}", r.text);
        assert!(!r.text.contains("Acme Inc.."), "{}", r.text);
        assert!(r.html.contains("You are invited to join <strong>Acme Inc</strong>."), "{}", r.html);
    }

    #[test]
    fn credentials_carry_the_login_url_and_every_credential_in_both_bodies() {
        let r = render(&credentials_mail());
        assert_eq!(r.subject, "Your account at Acme & Sons");
        assert!(r.text.contains("Sign in at: https://acme.example/login?next=/home&x=1"));
        assert!(r.text.contains("Password:   p<a>ss\"w'rd&1"));
        assert!(r.text.contains("Email:      bob@acme.example"));
        assert!(r.text.contains("Username:   bob"));
        assert!(r.html.contains("href=\"https://acme.example/login?next=/home&amp;x=1\""));
        assert!(r.html.contains("p&lt;a&gt;ss&quot;w&#39;rd&amp;1"));
        assert!(r.html.contains("bob@acme.example"));
    }

    #[test]
    fn every_field_is_escaped_in_the_html() {
        let hostile = "<script>alert('x')</script>\"&";
        let r = render(&Mail::Invitation {
            org_name: hostile.into(),
            inviter: hostile.into(),
            accept_url: "https://x.example/invite/a\"><img src=x onerror=alert(1)>".into(),
            expires_at: Utc.with_ymd_and_hms(2031, 1, 1, 0, 0, 0).unwrap(),
        });
        assert!(!r.html.contains("<script"), "{}", r.html);
        assert!(!r.html.contains("<img"), "{}", r.html);
        assert!(!r.html.contains("alert('x')"), "{}", r.html);
        assert!(r.html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&quot;&amp;"));
        let r = render(&credentials_mail());
        assert!(!r.html.contains("p<a>"));
    }

    #[test]
    fn only_web_links_become_clickable() {
        let r = render(&invitation_mail("Acme", "javascript:alert(1)"));
        assert!(!r.html.contains("href="), "{}", r.html);
        assert!(r.html.contains("javascript:alert(1)"), "the address is still shown as text");
    }

    #[test]
    fn the_subject_stays_on_one_line() {
        let r = render(&invitation_mail("Acme\r\nBcc: victim@example.com", "https://x.example/invite/t"));
        assert_eq!(r.subject, "You are invited to join Acme  Bcc: victim@example.com");
    }

    #[test]
    fn the_debug_form_shows_only_the_subject() {
        let r = render(&credentials_mail());
        let debug = format!("{r:?}");
        assert!(debug.contains("Your account at Acme & Sons"));
        assert!(!debug.contains("p<a>ss"));
    }
}
