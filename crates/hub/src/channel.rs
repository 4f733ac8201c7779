//! Channel names: what is allowed, and the error that says why not.

use telltale_protocol::{ErrorCode, ReplyError};

/// Longest channel name, bytes.
pub const MAX_CHANNEL_LENGTH: usize = 255;

/// Checks a channel name: 1–255 bytes, no whitespace or control characters.
pub fn check(channel: &str) -> Result<(), ReplyError> {
    if channel.is_empty() {
        return Err(ReplyError::with_message(
            ErrorCode::BadRequest,
            "channel is required",
        ));
    }
    let bad_char = channel.chars().any(|c| c.is_whitespace() || c.is_control());
    if channel.len() > MAX_CHANNEL_LENGTH || bad_char {
        return Err(ReplyError::with_message(
            ErrorCode::UnknownChannel,
            format!("unknown channel: names are 1–{MAX_CHANNEL_LENGTH} bytes without whitespace"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_normal_names_and_refuses_bad_ones() {
        assert!(check("metrics:web-1").is_ok());
        assert_eq!(check("").unwrap_err().code, 107);
        assert_eq!(check("a b").unwrap_err().code, 102);
        assert_eq!(check(&"x".repeat(256)).unwrap_err().code, 102);
    }
}
