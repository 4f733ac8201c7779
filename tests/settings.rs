//! The settings store against real parts: a private D-Bus session bus with
//! no Secret Service on it (tokens must fall back to the 0600 file), and a
//! real hub that refuses an expired token read from a token file.

#[path = "common/ipc.rs"]
mod ipc;
use std::fs;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Arc};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ipc::invoke;
use serde_json::{json, Value};
use tauri::test::{mock_builder, mock_context, noop_assets};
use tauri::{Listener, WebviewWindowBuilder};
use telltale::settings::{
    client_options, ServerEntry, Settings, SettingsStore, TokenSource, TokenStore,
};
use telltale::settings_commands::SETTINGS_CHANGED;
use telltale_client::{Client, Event, Events, State};
use telltale_hub::{Config, Server};
use tokio::sync::oneshot;

/// Upper bound of every wait (they normally take far less).
const WAIT: Duration = Duration::from_secs(20);
const SECRET: &str = "settings-test-secret";

/// A private session bus with nothing on it; the daemon is killed on
/// drop. Only one test here uses D-Bus, so setting the environment
/// variable races with no other test.
struct Bus(Child);

impl Bus {
    fn start() -> Bus {
        let mut daemon = Command::new("dbus-daemon")
            .args(["--session", "--nofork", "--print-address=1"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("dbus-daemon (Debian package dbus) must be installed");
        let mut address = String::new();
        BufReader::new(daemon.stdout.take().unwrap())
            .read_line(&mut address)
            .unwrap();
        std::env::set_var("DBUS_SESSION_BUS_ADDRESS", address.trim());
        Bus(daemon)
    }
}

impl Drop for Bus {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

struct Dir(PathBuf);

impl Dir {
    fn new(name: &str) -> Dir {
        let dir =
            std::env::temp_dir().join(format!("telltale-settings-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        Dir(dir)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

#[test]
fn without_a_secret_service_a_token_goes_to_the_0600_settings_file() {
    let _bus = Bus::start();
    let dir = Dir::new("no-keyring");
    // The real probe: the bus answers that nobody owns org.freedesktop.secrets.
    let store = SettingsStore::load(&dir.0);
    assert_eq!(store.token_store(), TokenStore::File);
    let settings = Settings {
        servers: vec![ServerEntry {
            id: "lab".into(),
            name: "Lab".into(),
            url: "ws://127.0.0.1:8000/connection/websocket".into(),
            token: TokenSource::Fixed {
                value: Some("tok-in-the-file".into()),
                stored: None,
            },
            enabled: true,
            ca_file: None,
            temporary: false,
        }],
        ..Settings::default()
    };
    let shown = store.update(settings).unwrap();
    assert_eq!(
        shown.servers[0].token,
        TokenSource::Fixed {
            value: None,
            stored: Some(TokenStore::File)
        }
    );
    let path = dir.0.join("settings.json");
    assert!(fs::read_to_string(&path)
        .unwrap()
        .contains("tok-in-the-file"));
    let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "{mode:o}");
    let options = client_options(&shown.servers[0], &SettingsStore::load(&dir.0)).unwrap();
    assert_eq!(options.token, "tok-in-the-file");
}

fn jwt(expires_in: i64) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let claims = json!({"sub": "u", "exp": now.saturating_add_signed(expires_in)});
    jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .unwrap()
}

/// Waits (bounded) for a state matching `want`.
async fn until(events: &mut Events, want: impl Fn(&State) -> bool) {
    let found = tokio::time::timeout(WAIT, async {
        while let Some(event) = events.recv().await {
            if matches!(&event, Event::State(s) if want(s)) {
                return true;
            }
        }
        false
    })
    .await;
    assert_eq!(found, Ok(true), "the client never reached the state");
}

#[tokio::test]
async fn a_token_file_entry_is_read_again_after_the_hub_refuses_an_expired_token() {
    let config = Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        allow_anonymous: false,
        token_secret: Some(SECRET.into()),
        collector: false,
        ..Config::default()
    };
    let server = Server::bind(config).await.unwrap();
    let url = format!("ws://{}/connection/websocket", server.local_addr());
    let (stop, stopped) = oneshot::channel::<()>();
    let hub = tokio::spawn(server.run(async move {
        let _ = stopped.await;
    }));

    let dir = Dir::new("token-file");
    let token_path = dir.0.join("token");
    fs::write(&token_path, jwt(-60)).unwrap();
    let entry = ServerEntry {
        id: "lab".into(),
        name: "Lab".into(),
        url,
        token: TokenSource::File {
            path: token_path.display().to_string(),
        },
        enabled: true,
        ca_file: None,
        temporary: false,
    };
    let store = SettingsStore::load_with(&dir.0, None);
    let options = client_options(&entry, &store)
        .unwrap()
        .backoff(Duration::from_millis(50), Duration::from_millis(500));
    let (client, mut events) = Client::new(options);
    // 109: token expired; the client will try again with a fresh read.
    until(&mut events, |s| {
        matches!(
            s,
            State::Disconnected {
                code: 109,
                reconnect: true,
                ..
            }
        )
    })
    .await;
    let fresh = dir.0.join("token.new");
    fs::write(&fresh, jwt(3600)).unwrap();
    fs::rename(&fresh, &token_path).unwrap();
    until(&mut events, State::is_connected).await;
    assert!(client.state().is_connected());
    client.close();
    let _ = stop.send(());
    tokio::time::timeout(WAIT, hub)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
}

#[test]
fn the_view_gets_and_sets_settings_over_ipc() {
    let dir = Dir::new("ipc");
    fs::write(dir.0.join("settings.json"), "{ not json").unwrap();
    let store = Arc::new(SettingsStore::load_with(&dir.0, None));
    let app = mock_builder()
        .manage(store.clone())
        .invoke_handler(tauri::generate_handler![
            telltale::settings_commands::settings_get,
            telltale::settings_commands::settings_set
        ])
        .build(mock_context(noop_assets()))
        .unwrap();
    let webview = WebviewWindowBuilder::new(&app, "main", Default::default())
        .build()
        .unwrap();
    let (changed, announced) = mpsc::channel();
    app.listen_any(SETTINGS_CHANGED, move |event| {
        let _ = changed.send(event.payload().to_owned());
    });

    let view = invoke(&webview, "settings_get", json!({})).unwrap();
    let problem = view["problem"].as_str().unwrap();
    assert!(
        problem.starts_with("Your settings file could not be read"),
        "{problem}"
    );
    assert_eq!(view["tokenStore"], "file");

    let mut settings = view["settings"].clone();
    settings["servers"] = json!([{
        "id": "lab", "name": "Lab", "url": "localhost:8000",
        "token": {"kind": "fixed", "value": "tok"}, "enabled": true
    }]);
    let refused = invoke(&webview, "settings_set", json!({ "settings": settings })).unwrap_err();
    assert_eq!(refused["problems"][0]["field"], "servers.0.url");

    settings["servers"][0]["url"] = json!("ws://127.0.0.1:8000/connection/websocket");
    settings["theme"] = json!("dark");
    let saved = invoke(&webview, "settings_set", json!({ "settings": settings })).unwrap();
    assert_eq!(
        saved["problem"],
        Value::Null,
        "a save replaces the broken file"
    );
    assert_eq!(
        saved["settings"]["servers"][0]["token"],
        json!({"kind": "fixed", "stored": "file"})
    );
    let payload = announced
        .recv_timeout(WAIT)
        .expect("settings-changed emitted");
    let payload: Value = serde_json::from_str(&payload).unwrap();
    assert_eq!(payload["theme"], "dark");
    assert!(!payload.to_string().contains("tok\""), "{payload}");
    assert_eq!(store.fixed_token("lab").unwrap(), "tok");
}
