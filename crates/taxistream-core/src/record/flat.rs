//! The fast path of decoding: the flat objects this encoder writes, read without serde_json.
//! It reads the same members as serde_json would, or declines (tested against it).

use super::Member;
use std::borrow::Cow;

/// The fast path for the records this encoder writes: a flat object of strings without escapes,
/// numbers, booleans and nulls. `None` for anything else, which `parsed_object` then handles.
pub(super) fn flat_object(bytes: &[u8]) -> Option<Vec<Member<'_>>> {
    let text = std::str::from_utf8(bytes).ok()?;
    let mut scanner = Scanner { text, position: 0 };
    scanner.expect(b'{')?;
    let mut members = Vec::with_capacity(24);
    if scanner.peek()? == b'}' {
        scanner.position += 1;
    } else {
        loop {
            let key = scanner.string()?;
            scanner.expect(b':')?;
            let value = match scanner.peek()? {
                b'"' => Some(Cow::Borrowed(scanner.string()?)),
                b'n' => scanner.literal("null").map(|_| None)?,
                b't' => Some(Cow::Borrowed(scanner.literal("true")?)),
                b'f' => Some(Cow::Borrowed(scanner.literal("false")?)),
                _ => Some(Cow::Borrowed(scanner.number()?)),
            };
            members.push((Cow::Borrowed(key), value));
            match scanner.peek()? {
                b',' => scanner.position += 1,
                b'}' => {
                    scanner.position += 1;
                    break;
                }
                _ => return None,
            }
        }
    }
    scanner.peek().is_none().then_some(members)
}

/// A cursor over a record's text for [`flat_object`].
struct Scanner<'a> {
    text: &'a str,
    position: usize,
}

impl<'a> Scanner<'a> {
    /// The next byte that is not JSON white space (the cursor stops on it).
    fn peek(&mut self) -> Option<u8> {
        let bytes = self.text.as_bytes();
        while let Some(&byte) = bytes.get(self.position) {
            if !matches!(byte, b' ' | b'\t' | b'\n' | b'\r') {
                return Some(byte);
            }
            self.position += 1;
        }
        None
    }

    fn expect(&mut self, wanted: u8) -> Option<()> {
        (self.peek()? == wanted).then(|| self.position += 1)
    }

    /// A string without escapes or control characters, returned without its quotes.
    fn string(&mut self) -> Option<&'a str> {
        self.expect(b'"')?;
        let start = self.position;
        let length = self.text.as_bytes()[start..]
            .iter()
            .position(|&byte| byte == b'"' || byte == b'\\' || byte < 0x20)?;
        let end = start + length;
        (self.text.as_bytes()[end] == b'"').then_some(())?;
        self.position = end + 1;
        self.text.get(start..end)
    }

    fn literal(&mut self, word: &'static str) -> Option<&'a str> {
        let rest = self.text.get(self.position..)?;
        rest.starts_with(word).then_some(())?;
        self.position += word.len();
        self.text.get(self.position - word.len()..self.position)
    }

    /// A number as JSON writes it: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`.
    fn number(&mut self) -> Option<&'a str> {
        let bytes = self.text.as_bytes();
        let start = self.position;
        let mut at = start;
        let digits = |at: &mut usize| {
            let from = *at;
            while bytes.get(*at).is_some_and(u8::is_ascii_digit) {
                *at += 1;
            }
            *at > from
        };
        if bytes.get(at) == Some(&b'-') {
            at += 1;
        }
        if bytes.get(at) == Some(&b'0') {
            at += 1;
        } else if !digits(&mut at) {
            return None;
        }
        if bytes.get(at) == Some(&b'.') {
            at += 1;
            digits(&mut at).then_some(())?;
        }
        if matches!(bytes.get(at), Some(b'e' | b'E')) {
            at += 1;
            if matches!(bytes.get(at), Some(b'+' | b'-')) {
                at += 1;
            }
            digits(&mut at).then_some(())?;
        }
        self.position = at;
        self.text.get(start..at)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::record::decode::parsed_object;

    fn both_paths(text: &str) -> (Option<Vec<Member<'_>>>, Option<Vec<Member<'_>>>) {
        (
            flat_object(text.as_bytes()),
            parsed_object(text.as_bytes()).ok(),
        )
    }

    #[test]
    fn the_fast_path_reads_what_serde_json_reads_or_steps_aside() {
        let accepted = [
            r#"{}"#,
            r#" { "a" : 1 , "b":"x y", "c": null, "d": true, "e": -0.5e-3 } "#,
            "{\"k\":\"é ü \u{7f}\",\"k\":\"again\"}",
        ];
        for text in accepted {
            let (fast, slow) = both_paths(text);
            assert!(fast.is_some(), "{text}");
            assert_eq!(fast, slow, "{text}");
        }
        let declined = [
            r#"{"a":"x\"y"}"#,
            r#"{"a":[1]}"#,
            r#"{"a":01}"#,
            r#"{"a":1.}"#,
            r#"{"a":1}x"#,
            r#"{"a":nul}"#,
            r#"{"a" 1}"#,
            r#"{"a":1,}"#,
            "",
            "[1]",
            "\u{feff}{}",
        ];
        for text in declined {
            assert_eq!(flat_object(text.as_bytes()), None, "{text}");
        }
    }

    proptest::proptest! {
        #[test]
        fn fast_and_serde_paths_agree(
            members in proptest::collection::vec(
                ("[a-z\\\\\" ]{0,6}", "[0-9a-z\\\\\" .eE+-]{0,8}", 0u8..4),
                0..6,
            ),
            space in "[ \t\r\n]{0,2}",
        ) {
            let mut text = format!("{space}{{");
            for (index, (key, value, kind)) in members.iter().enumerate() {
                if index > 0 {
                    text.push_str(&format!("{space},"));
                }
                let value = match kind {
                    0 => format!("\"{value}\""),
                    1 => "null".to_owned(),
                    2 => value.clone(),
                    _ => "true".to_owned(),
                };
                text.push_str(&format!("\"{key}\"{space}:{space}{value}"));
            }
            text.push_str(&format!("}}{space}"));
            let (fast, slow) = both_paths(&text);
            if fast.is_some() {
                proptest::prop_assert_eq!(fast, slow, "{}", text);
            }
        }
    }
}
