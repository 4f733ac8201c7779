//! Who may connect and who may use the HTTP API.
//!
//! Connections present a JWT signed with the hub's HMAC secret (Centrifugo's
//! connection token: `sub`, `exp`, optional `channels`; Telltale reads
//! `channels` as glob patterns of what the token may subscribe to, see
//! [`crate::permissions`], and `telltale.caps` as its capabilities). The HTTP
//! API takes a static key in `X-API-Key`, `Authorization: apikey KEY` or
//! `?api_key=`.

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::{Deserialize, Serialize};
use telltale_protocol::{Disconnect, ErrorCode, ReplyError};

/// What a verified connection may do.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Credentials {
    /// User id ("" when anonymous).
    pub user: String,
    /// Unix seconds when the connection expires, if it does.
    pub expires_at: Option<u64>,
    /// The `channels` claim: glob patterns of the channels this token may
    /// subscribe to (empty: no limit beyond the namespace rules).
    pub channels: Vec<String>,
    /// Capabilities from the `telltale.caps` claim (e.g. `ack`, `silence`).
    pub caps: Vec<String>,
    /// Whether a token was presented (`false`: an anonymous connection).
    pub token: bool,
}

impl Credentials {
    /// Time left before these credentials expire, from `now` (unix
    /// seconds); `None` when they never do. Any claim value is safe here:
    /// nothing overflows, whatever `exp` or `expire_at` said.
    pub fn time_left(&self, now: u64) -> Option<std::time::Duration> {
        self.expires_at
            .map(|at| std::time::Duration::from_secs(at.saturating_sub(now)))
    }
}

/// Why credentials were refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthError {
    /// Malformed token or bad signature: close 3500, terminal.
    Invalid,
    /// No token and anonymous connections are off: close 3501, terminal.
    Missing,
    /// `exp` is in the past: error 109, the client fetches a new token.
    Expired,
}

impl AuthError {
    /// How the connection reacts: a reply error, or a close.
    pub fn outcome(&self) -> Result<ReplyError, Disconnect> {
        match self {
            AuthError::Invalid => Err(Disconnect::INVALID_TOKEN),
            AuthError::Missing => Err(Disconnect::BAD_REQUEST),
            AuthError::Expired => Ok(ErrorCode::TokenExpired.into()),
        }
    }
}

#[derive(Deserialize)]
struct Claims {
    #[serde(default)]
    sub: String,
    #[serde(default)]
    exp: Option<u64>,
    #[serde(default)]
    expire_at: Option<u64>,
    #[serde(default)]
    channels: Vec<String>,
    /// Forbidden in connection tokens (it marks a subscription token).
    #[serde(default)]
    channel: Option<String>,
    /// Telltale's own claims: `{"telltale": {"caps": [..]}}`.
    #[serde(default)]
    telltale: TelltaleClaims,
    /// The same capabilities as a flat key, for token issuers that cannot
    /// nest objects: `{"telltale.caps": [..]}`.
    #[serde(default, rename = "telltale.caps")]
    flat_caps: Vec<String>,
}

#[derive(Default, Deserialize)]
struct TelltaleClaims {
    #[serde(default)]
    caps: Vec<String>,
}

/// Verifies connection tokens.
pub struct Authenticator {
    key: Option<DecodingKey>,
    allow_anonymous: bool,
    validation: Validation,
}

impl Authenticator {
    /// Tokens are checked against `secret`; empty tokens are accepted only
    /// with `allow_anonymous`.
    pub fn new(secret: Option<&str>, allow_anonymous: bool) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.algorithms = vec![Algorithm::HS256, Algorithm::HS384, Algorithm::HS512];
        validation.required_spec_claims.clear();
        validation.validate_nbf = true;
        validation.leeway = 0;
        Self {
            key: secret.map(|s| DecodingKey::from_secret(s.as_bytes())),
            allow_anonymous,
            validation,
        }
    }

    /// Checks a connect token.
    pub fn verify(&self, token: &str) -> Result<Credentials, AuthError> {
        if token.is_empty() {
            return match self.allow_anonymous {
                true => Ok(Credentials::default()),
                false => Err(AuthError::Missing),
            };
        }
        let key = self.key.as_ref().ok_or(AuthError::Invalid)?;
        let claims = jsonwebtoken::decode::<Claims>(token, key, &self.validation)
            .map_err(|e| match e.kind() {
                ErrorKind::ExpiredSignature => AuthError::Expired,
                _ => AuthError::Invalid,
            })?
            .claims;
        if claims.channel.is_some() {
            return Err(AuthError::Invalid);
        }
        // `expire_at` overrides `exp` (0 = never); one in the past is an
        // expired token like a past `exp`, so the client fetches a new one.
        if claims
            .expire_at
            .is_some_and(|at| at != 0 && at <= now_secs())
        {
            return Err(AuthError::Expired);
        }
        let mut caps = claims.telltale.caps;
        caps.extend(claims.flat_caps);
        caps.sort();
        caps.dedup();
        Ok(Credentials {
            user: claims.sub,
            expires_at: match claims.expire_at {
                Some(0) => None,
                Some(at) => Some(at),
                None => claims.exp,
            },
            channels: claims.channels,
            caps,
            token: true,
        })
    }
}

/// What a minted connection token says (see [`mint`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TokenClaims {
    /// The user.
    pub sub: String,
    /// Unix seconds of expiry; `None`: the token never expires.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exp: Option<u64>,
    /// Glob patterns of the channels the token may subscribe to.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub channels: Vec<String>,
    /// Telltale's claims (capabilities).
    #[serde(skip_serializing_if = "TokenCaps::is_empty")]
    pub telltale: TokenCaps,
}

/// The `telltale` claim of a minted token.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TokenCaps {
    /// Capabilities, e.g. `ack`, `silence`.
    pub caps: Vec<String>,
}

impl TokenCaps {
    fn is_empty(&self) -> bool {
        self.caps.is_empty()
    }
}

/// Signs `claims` into an HS256 connection token with `secret`, as
/// `telltale-hub token` does for operators and tests.
pub fn mint(claims: &TokenClaims, secret: &str) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(Algorithm::HS256),
        claims,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("claims of plain strings and numbers encode")
}

/// The current unix time in seconds.
pub fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
}

/// Takes the API key out of `X-API-Key`, `Authorization: apikey KEY` or the
/// `api_key` query parameter.
pub fn presented_api_key<'a>(
    headers: &'a http::HeaderMap,
    query: Option<&'a str>,
) -> Option<&'a str> {
    let header = |name| {
        headers
            .get(name)
            .and_then(|v: &http::HeaderValue| v.to_str().ok())
    };
    header("x-api-key")
        .or_else(|| {
            header("authorization").and_then(|v| {
                let (scheme, key) = v.split_once(' ')?;
                scheme.eq_ignore_ascii_case("apikey").then_some(key.trim())
            })
        })
        .or_else(|| {
            query?
                .split('&')
                .find_map(|pair| pair.strip_prefix("api_key="))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{encode, EncodingKey, Header};
    use serde_json::json;

    fn token(claims: serde_json::Value, secret: &str) -> String {
        encode(
            &Header::default(),
            &claims,
            &EncodingKey::from_secret(secret.as_bytes()),
        )
        .unwrap()
    }

    fn now() -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
    }

    #[test]
    fn valid_token_gives_user_expiry_and_channels() {
        let auth = Authenticator::new(Some("s"), false);
        let exp = now() + 60;
        let creds = auth
            .verify(&token(
                json!({"sub": "ann", "exp": exp, "channels": ["alarms"]}),
                "s",
            ))
            .unwrap();
        assert_eq!(creds.user, "ann");
        assert_eq!(creds.expires_at, Some(exp));
        assert_eq!(creds.channels, ["alarms"]);
        assert_eq!(
            auth.verify(&token(json!({"sub": "bo"}), "s"))
                .unwrap()
                .expires_at,
            None
        );
    }

    #[test]
    fn caps_come_from_the_nested_or_the_flat_claim() {
        let auth = Authenticator::new(Some("s"), true);
        let nested = auth
            .verify(&token(
                json!({"sub": "a", "telltale": {"caps": ["silence", "ack"]}}),
                "s",
            ))
            .unwrap();
        assert_eq!(nested.caps, ["ack", "silence"]);
        assert!(nested.token);
        let flat = auth
            .verify(&token(json!({"sub": "a", "telltale.caps": ["ack"]}), "s"))
            .unwrap();
        assert_eq!(flat.caps, ["ack"]);
        let anonymous = auth.verify("").unwrap();
        assert!(!anonymous.token && anonymous.caps.is_empty());
    }

    #[test]
    fn minted_tokens_verify() {
        let claims = TokenClaims {
            sub: "alice".into(),
            exp: Some(now() + 60),
            channels: vec!["metrics:*".into()],
            telltale: TokenCaps {
                caps: vec!["ack".into()],
            },
        };
        let creds = Authenticator::new(Some("s"), false)
            .verify(&mint(&claims, "s"))
            .unwrap();
        assert_eq!(
            (
                creds.user.as_str(),
                creds.expires_at,
                &creds.channels[..],
                &creds.caps[..]
            ),
            (
                "alice",
                claims.exp,
                &["metrics:*".to_string()][..],
                &["ack".to_string()][..]
            )
        );
    }

    #[test]
    fn bad_tokens_are_refused_with_the_right_outcome() {
        let auth = Authenticator::new(Some("s"), false);
        assert_eq!(
            auth.verify(&token(json!({"sub": "a"}), "wrong")),
            Err(AuthError::Invalid)
        );
        assert_eq!(auth.verify("not.a.jwt"), Err(AuthError::Invalid));
        assert_eq!(
            auth.verify(&token(json!({"sub": "a", "exp": now() - 5}), "s")),
            Err(AuthError::Expired)
        );
        assert_eq!(
            auth.verify(&token(json!({"sub": "a", "channel": "x"}), "s")),
            Err(AuthError::Invalid)
        );
        assert_eq!(auth.verify(""), Err(AuthError::Missing));
        assert!(Authenticator::new(None, true).verify("").is_ok());
        assert_eq!(
            Authenticator::new(None, true).verify("x.y.z"),
            Err(AuthError::Invalid)
        );
    }

    #[test]
    fn api_key_is_found_in_all_three_places() {
        let mut headers = http::HeaderMap::new();
        assert_eq!(
            presented_api_key(&headers, Some("a=1&api_key=k")),
            Some("k")
        );
        headers.insert("authorization", "apikey k2".parse().unwrap());
        assert_eq!(presented_api_key(&headers, None), Some("k2"));
        headers.insert("x-api-key", "k3".parse().unwrap());
        assert_eq!(presented_api_key(&headers, None), Some("k3"));
    }
}
