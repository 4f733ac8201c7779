//! Fixed tokens in the OS keyring: the Secret Service over D-Bus (GNOME
//! Keyring, KWallet), through the `keyring` crate.
//!
//! A keyring may be absent (no Secret Service on the session bus, no
//! session bus at all), or locked with an unlock prompt nobody answers: so
//! every call runs on its own thread and is abandoned after
//! [`KEYRING_TIMEOUT`], and the settings store then keeps the token in the
//! 0600 settings file instead. A token never appears in an error.

use std::sync::mpsc;
use std::time::Duration;

/// The keyring's service name of every Telltale token.
pub const SERVICE: &str = "telltale";

/// How long one keyring call may take before it counts as not answering.
pub const KEYRING_TIMEOUT: Duration = Duration::from_secs(3);

/// Where secrets can be kept, by user name (`server:<id>`).
pub trait SecretStore: Send + Sync {
    /// The secret of `user`, `None` when there is none.
    fn get(&self, user: &str) -> Result<Option<String>, String>;
    /// Stores `secret` for `user`, replacing any previous one.
    fn set(&self, user: &str, secret: &str) -> Result<(), String>;
    /// Forgets the secret of `user` (no error when there is none).
    fn delete(&self, user: &str) -> Result<(), String>;
}

/// The keyring user name of a server's token.
pub fn token_user(server_id: &str) -> String {
    format!("server:{server_id}")
}

/// The OS keyring, once it answered a probe.
#[derive(Debug)]
pub struct Keyring;

impl Keyring {
    /// The keyring if one answers within [`KEYRING_TIMEOUT`]: a lookup of
    /// an entry that need not exist succeeds or finds nothing.
    pub fn probe() -> Option<Keyring> {
        match bounded(|| entry("probe")?.get_password().map(|_| ())) {
            Ok(Ok(())) | Ok(Err(keyring::Error::NoEntry)) => Some(Keyring),
            Ok(Err(e)) => {
                tracing::info!(error = %e, "no keyring answers; tokens go to the settings file");
                None
            }
            Err(why) => {
                tracing::info!(%why, "no keyring answers; tokens go to the settings file");
                None
            }
        }
    }
}

impl SecretStore for Keyring {
    fn get(&self, user: &str) -> Result<Option<String>, String> {
        let user = user.to_owned();
        match bounded(move || entry(&user)?.get_password())? {
            Ok(secret) => Ok(Some(secret)),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(format!("the keyring refused: {e}")),
        }
    }

    fn set(&self, user: &str, secret: &str) -> Result<(), String> {
        let (user, secret) = (user.to_owned(), secret.to_owned());
        bounded(move || entry(&user)?.set_password(&secret))?
            .map_err(|e| format!("the keyring refused: {e}"))
    }

    fn delete(&self, user: &str) -> Result<(), String> {
        let user = user.to_owned();
        match bounded(move || entry(&user)?.delete_credential())? {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(format!("the keyring refused: {e}")),
        }
    }
}

fn entry(user: &str) -> keyring::Result<keyring::Entry> {
    keyring::Entry::new(SERVICE, user)
}

/// Runs `call` on a thread of its own and waits at most
/// [`KEYRING_TIMEOUT`]; a call that does not answer is left to finish (or
/// hang) on its own.
fn bounded<T: Send + 'static>(call: impl FnOnce() -> T + Send + 'static) -> Result<T, String> {
    let (done, answer) = mpsc::sync_channel(1);
    std::thread::Builder::new()
        .name("keyring".into())
        .spawn(move || {
            let _ = done.send(call());
        })
        .map_err(|e| format!("cannot start a thread for the keyring: {e}"))?;
    answer.recv_timeout(KEYRING_TIMEOUT).map_err(|_| {
        format!(
            "the keyring did not answer within {} s",
            KEYRING_TIMEOUT.as_secs()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_call_that_hangs_is_abandoned() {
        let err = bounded(|| std::thread::sleep(KEYRING_TIMEOUT * 3)).unwrap_err();
        assert!(err.contains("did not answer within 3 s"), "{err}");
    }

    #[test]
    fn users_are_per_server() {
        assert_eq!(token_user("lab-1"), "server:lab-1");
    }
}
