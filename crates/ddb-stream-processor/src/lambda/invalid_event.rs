//! What an `InvalidEvent` says about a payload that does not parse: where it goes wrong and what was
//! expected there, never a value from it.
//!
//! serde_json's messages quote what they found (`invalid type: string "4111111111111111", expected
//! u64`, `unknown variant `…``), and a JSON path through an image passes through the keys of map
//! attributes, which are item data too (`NewImage.tags.M.alice@example.com.N`). The reason becomes
//! the invocation's `errorMessage`, which Lambda logs and `obsctl redrive` prints, so both are
//! cleaned here: the kind of value found stays (`string`, `integer`, `map`), the value does not, and
//! a map attribute's keys read `<key>`.

use serde_path_to_error::{Path, Segment};

/// The parts of a record that hold item data.
const IMAGES: [&str; 3] = ["NewImage", "OldImage", "Keys"];

/// `path` as serde_path_to_error writes it (`Records[0].dynamodb.NewImage.amount.N`), with the keys
/// of map attributes (`M`) inside an image replaced by `<key>`. Attribute names and type tags stay.
pub(crate) fn path_without_item_data(path: &Path) -> String {
    /// Where the walk is inside an image: what the next segment means.
    #[derive(Clone, Copy)]
    enum Next {
        /// Outside any image.
        Outside,
        /// A top-level attribute name.
        AttributeName,
        /// A type tag (`S`, `N`, `M`, `L`, …).
        TypeTag,
        /// A key of a map attribute: item data.
        MapKey,
        /// A position in a list attribute.
        ListIndex,
    }
    let mut text = String::new();
    let mut next = Next::Outside;
    for segment in path.iter() {
        let name = match (next, segment) {
            (Next::MapKey, Segment::Map { .. }) => {
                next = Next::TypeTag;
                "<key>".to_owned()
            }
            (Next::ListIndex, Segment::Seq { index }) => {
                next = Next::TypeTag;
                text.push_str(&format!("[{index}]"));
                continue;
            }
            (Next::AttributeName, Segment::Map { key }) => {
                next = Next::TypeTag;
                key.clone()
            }
            (Next::TypeTag, Segment::Map { key }) => {
                next = match key.as_str() {
                    "M" => Next::MapKey,
                    "L" => Next::ListIndex,
                    _ => Next::Outside,
                };
                key.clone()
            }
            (Next::Outside, Segment::Map { key }) => {
                if IMAGES.contains(&key.as_str()) {
                    next = Next::AttributeName;
                }
                key.clone()
            }
            (_, Segment::Seq { index }) => {
                text.push_str(&format!("[{index}]"));
                continue;
            }
            (_, Segment::Map { .. } | Segment::Enum { .. }) if !matches!(next, Next::Outside) => {
                next = Next::Outside;
                "<key>".to_owned()
            }
            (_, Segment::Map { key }) => key.clone(),
            (_, Segment::Enum { variant }) => variant.clone(),
            (_, Segment::Unknown) => "?".to_owned(),
        };
        if !text.is_empty() {
            text.push('.');
        }
        text.push_str(&name);
    }
    if text.is_empty() { ".".to_owned() } else { text }
}

/// serde_json's `message` without the value it quotes: `invalid type: string "…", expected u64`
/// becomes `invalid type: string, expected u64`; `unknown variant `…`, expected one of …` becomes
/// `unknown variant, expected one of …`. Messages that quote nothing (syntax errors, a missing
/// field, positions) stay as they are; inside an image (`in_image`), any other message is replaced,
/// since a deserializer's own wording may quote the value.
pub(crate) fn message_without_values(message: &str, in_image: bool) -> String {
    const QUOTING: [&str; 3] = ["invalid type: ", "invalid value: ", "unknown variant"];
    const SAFE: [&str; 5] = [
        "missing field",
        "unknown field",
        "invalid length",
        "EOF while parsing",
        "duplicate field",
    ];
    if let Some(prefix) = QUOTING.iter().find(|prefix| message.starts_with(**prefix)) {
        // The last ", expected " is serde's own: a quoted value comes before it.
        let expected_at = message
            .rfind(", expected ")
            .filter(|at| *at >= prefix.len())
            .unwrap_or(message.len());
        let found = &message[prefix.len()..expected_at];
        // The kind of value ("string", "integer", "floating point") comes before its quoted text.
        let kind = found
            .split(['"', '`'])
            .next()
            .unwrap_or_default()
            .trim_end_matches([',', ' ']);
        let expected = &message[expected_at..];
        let prefix = prefix.trim_end_matches(' ');
        return if kind.is_empty() {
            format!("{prefix}{expected}")
        } else {
            format!("{prefix} {kind}{expected}")
        };
    }
    if !in_image || SAFE.iter().any(|safe| message.starts_with(safe)) {
        return message.to_owned();
    }
    let position = message
        .rfind(" at line ")
        .map(|at| &message[at..])
        .unwrap_or_default();
    format!("the value does not fit its type tag{position}")
}

/// Whether `path` passes through an image.
pub(crate) fn is_in_image(path: &Path) -> bool {
    path.iter()
        .any(|segment| matches!(segment, Segment::Map { key } if IMAGES.contains(&key.as_str())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_values_leave_and_the_kind_and_the_expectation_stay() {
        assert_eq!(
            message_without_values(
                "invalid type: string \"4111111111111111\", expected u64 at line 1 column 40",
                false
            ),
            "invalid type: string, expected u64 at line 1 column 40"
        );
        assert_eq!(
            message_without_values(
                "invalid value: integer `4111`, expected a nonzero u8 at line 2 column 3",
                true
            ),
            "invalid value: integer, expected a nonzero u8 at line 2 column 3"
        );
        assert_eq!(
            message_without_values(
                "unknown variant `secret, expected x`, expected one of `INSERT`, `MODIFY`, `REMOVE`",
                false
            ),
            "unknown variant, expected one of `INSERT`, `MODIFY`, `REMOVE`",
            "a value that imitates the wording is still removed"
        );
        assert_eq!(
            message_without_values(
                "invalid type: map, expected a sequence at line 1 column 12",
                false
            ),
            "invalid type: map, expected a sequence at line 1 column 12"
        );
    }

    #[test]
    fn messages_that_quote_nothing_stay_and_unknown_ones_inside_an_image_are_replaced() {
        for safe in [
            "missing field `SizeBytes` at line 1 column 9",
            "EOF while parsing a string at line 1 column 80",
        ] {
            assert_eq!(message_without_values(safe, true), safe);
        }
        assert_eq!(
            message_without_values("Invalid symbol 36, offset 3. at line 1 column 70", true),
            "the value does not fit its type tag at line 1 column 70"
        );
        assert_eq!(
            message_without_values("trailing characters at line 1 column 2", false),
            "trailing characters at line 1 column 2"
        );
    }
}
