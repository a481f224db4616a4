//! `next_page_token` / `page_token`: where the next page starts (the last id of this one), the
//! page number it continues with, and the user it was given to (Zoho binds tokens to the user).
//! Opaque to clients: lower-case hex of `p<page>:a<after>:u<user>`.

/// A decoded page token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageToken {
    /// The page the token starts.
    pub page: u32,
    /// Records after this id.
    pub after: u64,
    /// The user the token was given to.
    pub user: u64,
}

impl PageToken {
    /// The opaque text handed to clients as `next_page_token`.
    pub fn encode(&self) -> String {
        let text = format!("p{}:a{}:u{}", self.page, self.after, self.user);
        text.bytes().map(|b| format!("{b:02x}")).collect()
    }

    /// The token of `text`; `None` for anything this server did not hand out.
    pub fn decode(text: &str) -> Option<PageToken> {
        if !text.len().is_multiple_of(2) || text.len() > 160 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let bytes: Option<Vec<u8>> =
            (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok()).collect();
        let plain = String::from_utf8(bytes?).ok()?;
        let mut parts = plain.split(':');
        let page = parts.next()?.strip_prefix('p')?.parse().ok()?;
        let after = parts.next()?.strip_prefix('a')?.parse().ok()?;
        let user = parts.next()?.strip_prefix('u')?.parse().ok()?;
        if parts.next().is_some() || page < 2 {
            return None;
        }
        Some(PageToken { page, after, user })
    }
}
