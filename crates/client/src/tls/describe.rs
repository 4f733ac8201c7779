//! Handshake failures as one sentence: what is wrong with the hub's
//! certificate and what to do about it.
//!
//! The sentence becomes the `Disconnected` reason, an app's status line and
//! `telltale-tail`'s stderr, read by someone who did not write the TLS
//! setup, so it names the host, the dates or names involved and the fix,
//! never a `{:?}` dump of rustls' error.

use std::io;
use std::time::{Duration, SystemTime};

use rustls::pki_types::UnixTime;
use rustls::CertificateError;

/// Describes a failed TLS handshake with `host`: a certificate problem in
/// words, or `TLS handshake with HOST failed: ...` for anything else.
pub(crate) fn describe_tls_error(host: &str, err: &io::Error) -> String {
    let rustls_error = err
        .get_ref()
        .and_then(|e| e.downcast_ref::<rustls::Error>());
    match rustls_error {
        Some(invalid @ rustls::Error::InvalidCertificate(cert)) => describe_certificate(host, cert)
            .unwrap_or_else(|| format!("TLS handshake with {host} failed: {invalid}")),
        Some(invalid @ rustls::Error::InvalidMessage(_)) => format!(
            "TLS handshake with {host} failed: the server does not speak TLS on this port \
             ({invalid}); is it serving ws:// rather than wss://?"
        ),
        Some(other) => format!("TLS handshake with {host} failed: {other}"),
        None => format!("TLS handshake with {host} failed: {err}"),
    }
}

/// The sentence for a certificate error, when there is a better one than
/// rustls' own.
fn describe_certificate(host: &str, error: &CertificateError) -> Option<String> {
    let cert = format!("certificate for {host}");
    let sentence = match error {
        CertificateError::ExpiredContext { time, not_after } => format!(
            "{cert} expired on {} (now {}); renew it on the hub",
            utc(*not_after),
            utc(*time)
        ),
        CertificateError::Expired => format!("{cert} has expired; renew it on the hub"),
        CertificateError::NotValidYetContext { time, not_before } => format!(
            "{cert} is not valid before {} (now {}); check this machine's clock and the \
             certificate's dates",
            utc(*not_before),
            utc(*time)
        ),
        CertificateError::NotValidYet => format!(
            "{cert} is not valid yet; check this machine's clock and the certificate's dates"
        ),
        CertificateError::NotValidForNameContext { presented, .. } => wrong_name(host, presented),
        CertificateError::NotValidForName => format!(
            "certificate is not for \"{host}\"; connect with a name it lists, or reissue it \
             for \"{host}\""
        ),
        CertificateError::UnknownIssuer => format!(
            "{cert} is signed by an authority this machine does not trust; pass --ca-file \
             with the hub's CA certificate (or the certificate itself if it is self-signed)"
        ),
        CertificateError::Revoked => {
            format!("{cert} has been revoked; the hub needs a new certificate")
        }
        CertificateError::BadEncoding => format!("{cert} is malformed; reissue it"),
        CertificateError::UnhandledCriticalExtension => format!(
            "{cert} has a critical extension this client does not understand; reissue it \
             without it"
        ),
        CertificateError::InvalidPurpose | CertificateError::InvalidPurposeContext { .. } => {
            format!(
                "{cert} is not meant for a TLS server (its extended key usage lacks \
                 serverAuth); reissue it for server authentication"
            )
        }
        CertificateError::UnsupportedSignatureAlgorithmContext { .. }
        | CertificateError::UnsupportedSignatureAlgorithmForPublicKeyContext { .. } => format!(
            "{cert} is signed with an algorithm this client does not support; reissue it \
             with ECDSA, Ed25519 or RSA and SHA-256 or better"
        ),
        CertificateError::BadSignature => format!(
            "{cert} does not carry a valid signature of its issuer; the hub's certificate \
             chain is broken (wrong intermediate or CA file?)"
        ),
        _ => return None,
    };
    Some(sentence)
}

/// `certificate is for "a", "b", not "host"; ...`.
fn wrong_name(host: &str, presented: &[String]) -> String {
    let names: Vec<String> = presented
        .iter()
        .map(|name| format!("\"{}\"", plain_name(name)))
        .collect();
    let is_for = if names.is_empty() {
        "certificate names no host".to_string()
    } else {
        format!("certificate is for {}", names.join(", "))
    };
    format!("{is_for}, not \"{host}\"; connect with a name it lists, or reissue it for \"{host}\"")
}

/// A subject name as webpki presents it (`DnsName("a.example")`,
/// `IpAddress(10.0.0.1)`), without the wrapping.
fn plain_name(presented: &str) -> &str {
    for (prefix, suffix) in [("DnsName(\"", "\")"), ("IpAddress(", ")")] {
        if let Some(name) = presented
            .strip_prefix(prefix)
            .and_then(|rest| rest.strip_suffix(suffix))
        {
            return name;
        }
    }
    presented
}

/// `2026-11-01 12:00 UTC`.
fn utc(time: UnixTime) -> String {
    let at = SystemTime::UNIX_EPOCH + Duration::from_secs(time.as_secs());
    let rfc3339 = humantime::format_rfc3339_seconds(at).to_string(); // 2026-11-01T12:00:00Z
    match (rfc3339.get(..10), rfc3339.get(11..16)) {
        (Some(date), Some(hour_minute)) => format!("{date} {hour_minute} UTC"),
        _ => rfc3339,
    }
}

#[cfg(test)]
mod tests {

    use super::*;

    fn io_error(error: rustls::Error) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidData, error)
    }

    fn certificate_error(error: CertificateError) -> String {
        describe_tls_error(
            "hub.example",
            &io_error(rustls::Error::InvalidCertificate(error)),
        )
    }

    #[test]
    fn expired_names_both_dates_and_the_fix() {
        let text = certificate_error(CertificateError::ExpiredContext {
            time: UnixTime::since_unix_epoch(Duration::from_secs(1_795_953_600)),
            not_after: UnixTime::since_unix_epoch(Duration::from_secs(1_793_534_400)),
        });
        assert_eq!(
            text,
            "certificate for hub.example expired on 2026-11-01 12:00 UTC \
             (now 2026-11-29 12:00 UTC); renew it on the hub"
        );
    }

    #[test]
    fn wrong_name_names_both_names() {
        let text = certificate_error(CertificateError::NotValidForNameContext {
            expected: rustls::pki_types::ServerName::try_from("hub.example")
                .unwrap()
                .to_owned(),
            presented: vec![
                "DnsName(\"other.example\")".into(),
                "IpAddress(10.0.0.1)".into(),
            ],
        });
        assert!(
            text.starts_with(
                "certificate is for \"other.example\", \"10.0.0.1\", not \"hub.example\""
            ),
            "{text}"
        );
    }

    #[test]
    fn unknown_issuer_says_to_pass_a_ca_file() {
        let text = certificate_error(CertificateError::UnknownIssuer);
        assert!(
            text.contains("signed by an authority this machine does not trust")
                && text.contains("--ca-file")
                && text.contains("self-signed"),
            "{text}"
        );
    }

    #[test]
    fn other_errors_fall_back_to_rustls_words() {
        let text = certificate_error(CertificateError::UnhandledCriticalExtension);
        assert!(
            text.starts_with("certificate for hub.example has a critical extension"),
            "{text}"
        );
        let text = certificate_error(CertificateError::ApplicationVerificationFailure);
        assert!(
            text.starts_with("TLS handshake with hub.example failed: invalid peer certificate"),
            "{text}"
        );
        let text = describe_tls_error(
            "hub.example",
            &io_error(rustls::Error::AlertReceived(
                rustls::AlertDescription::HandshakeFailure,
            )),
        );
        assert!(
            text.starts_with("TLS handshake with hub.example failed: received fatal alert"),
            "{text}"
        );
        let text = describe_tls_error(
            "hub.example",
            &io::Error::new(io::ErrorKind::UnexpectedEof, "tls handshake eof"),
        );
        assert_eq!(
            text,
            "TLS handshake with hub.example failed: tls handshake eof"
        );
    }
}
