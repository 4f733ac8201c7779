//! The server list of the settings → the hubs the app follows.
//!
//! [`sync`] makes the running hubs match the settings: it starts the new
//! and the switched-on servers, stops the removed and switched-off ones,
//! and reconnects those whose name, URL, token or CA file changed. The
//! embedded hub is one more entry (id [`EMBEDDED_ID`]); it runs only while
//! the settings want it.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use telltale_client::Options;

use crate::args::LaunchArgs;
use crate::bridge::Shared;
use crate::connection::{ConnectionPhase, ConnectionState};
use crate::embedded;
use crate::link::HubSpec;
#[cfg(test)]
use crate::settings::Settings;
use crate::settings::{
    client_options, options_with, temporary_entry, NotifyPrefs, ServerEntry, SettingsStore,
    TokenSource,
};

/// Id of the embedded hub in the server list.
pub const EMBEDDED_ID: &str = "local";
/// Name of the embedded hub.
pub const EMBEDDED_NAME: &str = "This computer";

/// The embedded hub is the default only when no server is configured: on
/// a first start (no settings file yet) given servers with `--server`, it
/// is off for the run, and the settings view shows it off.
pub fn first_start_with_servers(store: &SettingsStore, launch: &LaunchArgs) {
    if !store.path().exists() && !launch.servers.is_empty() {
        store.embedded_off_for_run();
    }
}

/// Makes the running hubs match `store`'s settings. Servers that cannot be
/// started (a token missing from the keyring, an unreadable CA file) are
/// shown failed with the reason.
pub async fn sync(shared: &Arc<Shared>, store: &SettingsStore) {
    let settings = store.current();
    let mut wanted: Vec<(String, String)> = Vec::new();
    let mut unstarted = Vec::new();
    for entry in settings.servers.iter().filter(|s| s.enabled) {
        let key = entry_key(entry, store);
        wanted.push((entry.id.clone(), key.clone()));
        if shared.link(&entry.id).is_some_and(|l| l.key() == key) {
            continue;
        }
        shared.remove(&entry.id);
        match client_options(entry, store) {
            Ok(options) => start(shared, spec(entry, options, key)),
            Err(reason) => unstarted.push(failed(entry, reason)),
        }
    }
    if settings.embedded {
        wanted.push((EMBEDDED_ID.into(), EMBEDDED_ID.into()));
        if shared.link(EMBEDDED_ID).is_none() {
            match embedded_spec().await {
                Ok(spec) => start(shared, spec),
                Err(e) => unstarted.push(embedded_failed(e)),
            }
        }
    }
    for link in shared.links() {
        if !wanted
            .iter()
            .any(|(id, key)| id == link.id() && key == link.key())
        {
            shared.remove(link.id());
        }
    }
    shared.set_unstarted(unstarted);
}

/// The hubs of the command line alone, without settings (tests): each
/// `--server`, or the embedded hub when none is given.
pub async fn start_from_args(args: LaunchArgs) -> anyhow::Result<Arc<Shared>> {
    let shared = Shared::new(NotifyPrefs::default());
    for (i, endpoint) in args.servers.iter().enumerate() {
        let entry = temporary_entry(endpoint, &args.access, i);
        let options = options_with(&entry, || match &entry.token {
            TokenSource::Fixed { value: Some(v), .. } => Ok(v.clone()),
            _ => Err("no token".into()),
        })
        .map_err(anyhow::Error::msg)?;
        let key = entry.id.clone();
        start(&shared, spec(&entry, options, key));
    }
    if args.servers.is_empty() {
        start(&shared, embedded_spec().await?);
    }
    Ok(shared)
}

fn start(shared: &Arc<Shared>, spec: HubSpec) {
    tracing::info!(server = %spec.name, "connecting");
    shared.add(spec);
}

fn spec(entry: &ServerEntry, options: Options, key: String) -> HubSpec {
    HubSpec {
        id: entry.id.clone(),
        name: entry.name.clone(),
        options,
        key,
        embedded: None,
    }
}

/// Starts the embedded hub; the spec of its entry.
async fn embedded_spec() -> anyhow::Result<HubSpec> {
    let hub = embedded::start().await?;
    Ok(HubSpec {
        id: EMBEDDED_ID.into(),
        name: EMBEDDED_NAME.into(),
        options: Options::new(&hub.url())?,
        key: EMBEDDED_ID.into(),
        embedded: Some(Arc::new(hub)),
    })
}

/// What needs a new connection when it changes. A fixed token's value
/// counts (hashed: a new token pasted into the same entry reconnects).
fn entry_key(entry: &ServerEntry, store: &SettingsStore) -> String {
    let token = match &entry.token {
        TokenSource::Fixed { .. } => {
            let mut hasher = DefaultHasher::new();
            store.token_for(entry).hash(&mut hasher);
            format!("fixed:{:x}", hasher.finish())
        }
        other => serde_json::to_string(other).unwrap_or_default(),
    };
    let ca = entry.ca_file.as_deref().unwrap_or_default();
    format!("{}\n{}\n{token}\n{ca}", entry.name, entry.url.trim())
}

fn failed(entry: &ServerEntry, reason: String) -> ConnectionState {
    ConnectionState {
        state: ConnectionPhase::Failed,
        reason: Some(reason),
        retry_in_secs: None,
        server: entry.name.clone(),
        server_id: entry.id.clone(),
    }
}

fn embedded_failed(error: anyhow::Error) -> ConnectionState {
    ConnectionState {
        state: ConnectionPhase::Failed,
        reason: Some(format!("the embedded hub cannot start: {error:#}")),
        retry_in_secs: None,
        server: EMBEDDED_NAME.into(),
        server_id: EMBEDDED_ID.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(name: &str) -> SettingsStore {
        let dir =
            std::env::temp_dir().join(format!("telltale-servers-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        SettingsStore::load_with(&dir, None)
    }

    #[test]
    fn the_embedded_hub_is_the_default_only_without_servers() {
        let launched = LaunchArgs::parse_from(["telltale", "--server", "ws://a:1/c"]).unwrap();
        let fresh = store("fresh");
        first_start_with_servers(&fresh, &launched);
        assert!(!fresh.current().embedded, "first start with --server");
        let plain = store("plain");
        first_start_with_servers(&plain, &LaunchArgs::parse_from(["telltale"]).unwrap());
        assert!(plain.current().embedded, "no server: this computer");
        let saved = store("saved");
        saved.update(Settings::default()).unwrap();
        first_start_with_servers(&saved, &launched);
        assert!(saved.current().embedded, "the saved settings decide");
    }
}
