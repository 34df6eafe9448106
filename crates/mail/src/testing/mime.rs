//! Just enough MIME to read what the sink received: headers, the leaves of nested
//! multiparts, and the `7bit`/`8bit`/`quoted-printable`/`base64` transfer encodings.

use base64::Engine as _;

/// A message the sink accepted: its envelope and its data as sent (dot-unstuffed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceivedMessage {
    /// The envelope sender (`MAIL FROM`).
    pub mail_from: String,
    /// The envelope recipients (`RCPT TO`).
    pub rcpt_to: Vec<String>,
    /// The message: headers, blank line, body, with CRLF line ends.
    pub data: String,
}

/// A leaf MIME part, decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Part {
    /// Its media type, lowercase, without parameters (`text/plain`).
    pub media_type: String,
    /// Its `Content-Transfer-Encoding` as sent, lowercase (`7bit` when absent).
    pub transfer_encoding: String,
    /// Its content, transfer encoding undone (read as UTF-8).
    pub body: String,
}

impl ReceivedMessage {
    pub(crate) fn new(mail_from: String, rcpt_to: Vec<String>, data: String) -> Self {
        Self { mail_from, rcpt_to, data }
    }

    /// The first top-level header of that name (case-insensitive), unfolded.
    pub fn header(&self, name: &str) -> Option<String> {
        header(split_head(&self.data).0, name)
    }

    /// The leaf parts in order (the whole message as one part when it is not multipart).
    pub fn parts(&self) -> Vec<Part> {
        let mut parts = Vec::new();
        leaves(&self.data, &mut parts);
        parts
    }

    /// The decoded body of the first part of this media type (`text/plain`, `text/html`).
    pub fn body(&self, media_type: &str) -> Option<String> {
        self.parts().into_iter().find(|p| p.media_type.eq_ignore_ascii_case(media_type)).map(|p| p.body)
    }

    /// The decoded plain-text body.
    pub fn text(&self) -> Option<String> {
        self.body("text/plain")
    }

    /// The decoded HTML body.
    pub fn html(&self) -> Option<String> {
        self.body("text/html")
    }

    /// The invitation link of the plain-text body (see [`find_invite_link`]).
    pub fn invite_link(&self) -> Option<String> {
        self.text().as_deref().and_then(find_invite_link)
    }
}

/// The first `http(s)` URL in `text` whose path holds `/invite/`.
pub fn find_invite_link(text: &str) -> Option<String> {
    let ends_url = |c: char| c.is_whitespace() || matches!(c, '<' | '>' | '"' | '\'');
    let mut rest = text;
    while let Some(start) = rest.find("http") {
        let candidate = &rest[start..];
        let end = candidate.find(ends_url).unwrap_or(candidate.len());
        let url = candidate[..end].trim_end_matches(['.', ',', ';', ')']);
        if (url.starts_with("https://") || url.starts_with("http://")) && url.contains("/invite/") {
            return Some(url.to_owned());
        }
        rest = &candidate[4..];
    }
    None
}

/// Headers and body, split at the first blank line.
fn split_head(entity: &str) -> (&str, &str) {
    entity.split_once("\r\n\r\n").or_else(|| entity.split_once("\n\n")).unwrap_or((entity, ""))
}

fn header(head: &str, name: &str) -> Option<String> {
    let mut unfolded: Vec<String> = Vec::new();
    for line in head.lines() {
        match unfolded.last_mut() {
            Some(last) if line.starts_with([' ', '\t']) => {
                last.push(' ');
                last.push_str(line.trim());
            }
            _ => unfolded.push(line.to_owned()),
        }
    }
    unfolded.into_iter().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.trim().eq_ignore_ascii_case(name).then(|| value.trim().to_owned())
    })
}

/// `param` of a header value like `multipart/alternative; boundary="x"`.
fn parameter(value: &str, param: &str) -> Option<String> {
    value.split(';').skip(1).find_map(|pair| {
        let (key, val) = pair.split_once('=')?;
        key.trim().eq_ignore_ascii_case(param).then(|| val.trim().trim_matches('"').to_owned())
    })
}

fn leaves(entity: &str, out: &mut Vec<Part>) {
    let (head, body) = split_head(entity);
    let content_type = header(head, "Content-Type").unwrap_or_else(|| "text/plain".to_owned());
    let media_type = content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    if media_type.starts_with("multipart/")
        && let Some(boundary) = parameter(&content_type, "boundary")
    {
        let delimiter = format!("--{boundary}");
        // The preamble comes before the first delimiter; the epilogue after `--boundary--`.
        for chunk in body.split(delimiter.as_str()).skip(1) {
            if chunk.starts_with("--") {
                break;
            }
            let chunk = chunk.strip_prefix("\r\n").or_else(|| chunk.strip_prefix('\n')).unwrap_or(chunk);
            // The CRLF before a delimiter belongs to the delimiter.
            let chunk = chunk.strip_suffix("\r\n").or_else(|| chunk.strip_suffix('\n')).unwrap_or(chunk);
            leaves(chunk, out);
        }
        return;
    }
    let transfer_encoding = header(head, "Content-Transfer-Encoding")
        .map_or_else(|| "7bit".to_owned(), |value| value.trim().to_ascii_lowercase());
    let decoded = match transfer_encoding.as_str() {
        "quoted-printable" => quoted_printable(body),
        "base64" => {
            let compact: String = body.chars().filter(|c| !c.is_whitespace()).collect();
            base64::engine::general_purpose::STANDARD.decode(compact).unwrap_or_default()
        }
        _ => body.as_bytes().to_vec(),
    };
    out.push(Part { media_type, transfer_encoding, body: String::from_utf8_lossy(&decoded).into_owned() });
}

/// Undoes quoted-printable (RFC 2045 6.7): `=XX` escapes and `=` soft line breaks.
fn quoted_printable(encoded: &str) -> Vec<u8> {
    let bytes = encoded.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'=' if bytes[i + 1..].starts_with(b"\r\n") => i += 3,
            b'=' if bytes[i + 1..].starts_with(b"\n") => i += 2,
            b'=' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok().and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(byte) => {
                        out.push(byte);
                        i += 3;
                    }
                    None => {
                        out.push(b'=');
                        i += 1;
                    }
                }
            }
            byte => {
                out.push(byte);
                i += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_printable_soft_breaks_and_escapes_are_undone() {
        assert_eq!(quoted_printable("caf=C3=A9 ab=\r\ncd =3D end="), "café abcd = end=".as_bytes());
    }

    #[test]
    fn the_invite_link_is_found_among_other_links() {
        let text = "Home: https://roster.example/ \nAccept: <https://roster.example/invite/abc_DEF-1>.\n";
        assert_eq!(find_invite_link(text).as_deref(), Some("https://roster.example/invite/abc_DEF-1"));
        assert_eq!(find_invite_link("http://x.example/invite/t."), Some("http://x.example/invite/t".into()));
        assert_eq!(find_invite_link("no link here https://x.example/login"), None);
    }

    #[test]
    fn nested_multiparts_are_read_leaf_by_leaf() {
        let data = "Subject: Hi\r\n there\r\nContent-Type: multipart/mixed; boundary=\"outer\"\r\n\r\n\
                    preamble\r\n--outer\r\nContent-Type: multipart/alternative; boundary=inner\r\n\r\n\
                    --inner\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n\
                    a=3Db\r\n--inner\r\nContent-Type: text/html\r\nContent-Transfer-Encoding: base64\r\n\r\n\
                    PHA+aGk8L3A+\r\n--inner--\r\n--outer--\r\nepilogue\r\n";
        let message = ReceivedMessage::new("a@x".into(), vec!["b@x".into()], data.into());
        assert_eq!(message.header("subject").as_deref(), Some("Hi there"));
        assert_eq!(message.text().as_deref(), Some("a=b"));
        assert_eq!(message.html().as_deref(), Some("<p>hi</p>"));
        assert_eq!(message.parts().len(), 2);
    }
}
