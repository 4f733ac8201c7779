//! Grafana's webhook signature: `X-Grafana-Alerting-Signature` is the hex
//! HMAC-SHA256 of the body under the contact point's secret. When the
//! contact point also names a timestamp header (this hub reads
//! `X-Grafana-Alerting-Signature-Timestamp`), Grafana signs
//! `timestamp + ":" + body` instead, so a captured request cannot be
//! replayed with another timestamp.

use hmac::{Hmac, Mac};
use http::HeaderMap;
use sha2::Sha256;

/// The header Grafana puts the signature in (its default name).
pub const SIGNATURE_HEADER: &str = "x-grafana-alerting-signature";
/// The timestamp header this hub expects, when Grafana sends one.
pub const TIMESTAMP_HEADER: &str = "x-grafana-alerting-signature-timestamp";

/// Why a signature was refused: the 401 message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadSignature(pub String);

/// Checks the signature of `body` under `secret`, in constant time.
pub fn verify(secret: &str, headers: &HeaderMap, body: &[u8]) -> Result<(), BadSignature> {
    let header = |name| headers.get(name).and_then(|v| v.to_str().ok());
    let Some(signature) = header(SIGNATURE_HEADER) else {
        return Err(BadSignature(
            "missing X-Grafana-Alerting-Signature: this hub has a --grafana-secret, so set the \
             same secret under the contact point's HMAC signature settings"
                .into(),
        ));
    };
    let bad = || {
        BadSignature(
            "wrong X-Grafana-Alerting-Signature: the contact point's HMAC secret is not this \
             hub's --grafana-secret (or the body was changed on the way)"
                .into(),
        )
    };
    let signature = hex::decode(signature.trim()).map_err(|_| bad())?;
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    if let Some(timestamp) = header(TIMESTAMP_HEADER) {
        mac.update(timestamp.as_bytes());
        mac.update(b":");
    }
    mac.update(body);
    mac.verify_slice(&signature).map_err(|_| bad())
}

/// The signature Grafana would send for `body` (and `timestamp`): for tests
/// and for scripts that post as Grafana.
pub fn sign(secret: &str, timestamp: Option<&str>, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    if let Some(timestamp) = timestamp {
        mac.update(timestamp.as_bytes());
        mac.update(b":");
    }
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(k, v)| (http::HeaderName::from_static(k), v.parse().unwrap()))
            .collect()
    }

    #[test]
    fn a_known_vector() {
        // RFC 4231 test case 2: key "Jefe".
        assert_eq!(
            sign("Jefe", None, b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn body_and_timestamp_are_both_signed() {
        let body = br#"{"alerts":[]}"#;
        let good = sign("s3cret", None, body);
        assert_eq!(
            verify("s3cret", &headers(&[(SIGNATURE_HEADER, &good)]), body),
            Ok(())
        );
        assert!(verify("other", &headers(&[(SIGNATURE_HEADER, &good)]), body).is_err());
        assert!(verify("s3cret", &headers(&[(SIGNATURE_HEADER, &good)]), b"{}").is_err());
        assert!(verify("s3cret", &headers(&[(SIGNATURE_HEADER, "zz")]), body).is_err());
        let missing = verify("s3cret", &HeaderMap::new(), body).unwrap_err();
        assert!(missing.0.contains("missing"), "{missing:?}");

        let stamped = sign("s3cret", Some("1764547200"), body);
        assert_ne!(stamped, good);
        let with = |ts| headers(&[(SIGNATURE_HEADER, &stamped), (TIMESTAMP_HEADER, ts)]);
        assert_eq!(verify("s3cret", &with("1764547200"), body), Ok(()));
        assert!(
            verify("s3cret", &with("1764547201"), body).is_err(),
            "replayed"
        );
    }
}
