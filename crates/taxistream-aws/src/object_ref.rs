//! An S3 object's address: parsed from `s3://` URLs and event keys, displayed safely.

/// An object's address.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
pub struct ObjectRef {
    /// The bucket.
    pub bucket: String,
    /// The key, decoded (as stored, not as URL-encoded in events).
    pub key: String,
}

/// `s3://bucket/key`, with control characters escaped (`\n`, `\u{1b}`): a key holding a line
/// break or a terminal escape cannot forge a log line or an error message.
impl std::fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "s3://{}/", self.bucket)?;
        for character in self.key.chars() {
            if character.is_control() {
                write!(f, "{}", character.escape_default())?;
            } else {
                write!(f, "{character}")?;
            }
        }
        Ok(())
    }
}

impl ObjectRef {
    /// Parses `s3://bucket/key`.
    pub fn parse_url(url: &str) -> Option<ObjectRef> {
        let (bucket, key) = url.strip_prefix("s3://")?.split_once('/')?;
        (!bucket.is_empty() && !key.is_empty()).then(|| ObjectRef {
            bucket: bucket.to_owned(),
            key: key.to_owned(),
        })
    }
}

/// A key as S3 event notifications write it: URL-encoded, with `+` for a space.
pub fn decode_event_key(encoded: &str) -> String {
    let spaced = encoded.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced)
        .decode_utf8_lossy()
        .into_owned()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn event_keys_are_url_decoded_with_plus_as_space() {
        assert_eq!(
            decode_event_key("incoming/yellow+trips%2B2025%3D01.csv"),
            "incoming/yellow trips+2025=01.csv"
        );
        assert_eq!(decode_event_key("caf%C3%A9.csv"), "café.csv");
        assert_eq!(decode_event_key("bad%zz.csv"), "bad%zz.csv");
    }

    #[test]
    fn a_key_with_control_characters_is_displayed_escaped() {
        let forged = ObjectRef {
            bucket: "bucket".to_owned(),
            key: "a\nERROR forged\u{1b}[2J.csv".to_owned(),
        };
        assert_eq!(
            forged.to_string(),
            "s3://bucket/a\\nERROR forged\\u{1b}[2J.csv"
        );
    }

    #[test]
    fn s3_urls_parse() {
        let object = ObjectRef::parse_url("s3://bucket/dir/a b.csv").unwrap();
        assert_eq!(
            (object.bucket.as_str(), object.key.as_str()),
            ("bucket", "dir/a b.csv")
        );
        assert!(ObjectRef::parse_url("s3://bucket/").is_none());
        assert!(ObjectRef::parse_url("/local/file.csv").is_none());
    }
}
