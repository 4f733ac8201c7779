//! Frames carry one or more JSON objects separated by `\n`.
//!
//! centrifuge-js sends `connect` and its `subscribe`s in one frame and the
//! server may join several replies and pushes into one frame, so both sides
//! split on newlines. Every object must therefore be on a single line.

/// Splits a frame into its non-empty lines (a trailing `\n` is allowed).
pub fn lines(frame: &str) -> impl Iterator<Item = &str> {
    frame
        .split('\n')
        .map(|line| line.trim_end_matches('\r'))
        .filter(|line| !line.trim().is_empty())
}

/// Makes a JSON value safe to embed on one line: returns it unchanged when it
/// has no raw newline, otherwise re-serializes it compactly.
///
/// Returns an error when `json` is not valid JSON.
pub fn single_line(json: &str) -> Result<std::borrow::Cow<'_, str>, serde_json::Error> {
    if !json.contains(['\n', '\r']) {
        return Ok(std::borrow::Cow::Borrowed(json));
    }
    let value: serde_json::Value = serde_json::from_str(json)?;
    Ok(std::borrow::Cow::Owned(serde_json::to_string(&value)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_batched_frames_and_ignores_trailing_newline() {
        let frame = "{\"id\":1}\n{\"id\":2}\n";
        assert_eq!(
            lines(frame).collect::<Vec<_>>(),
            ["{\"id\":1}", "{\"id\":2}"]
        );
    }

    #[test]
    fn compacts_multiline_json_only_when_needed() {
        assert!(matches!(
            single_line("{\"a\":1}").unwrap(),
            std::borrow::Cow::Borrowed(_)
        ));
        assert_eq!(single_line("{\n \"a\": 1\n}").unwrap(), "{\"a\":1}");
        assert!(single_line("{\n").is_err());
    }
}
