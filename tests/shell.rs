//! The shell's commands over Tauri's IPC (mock runtime, no window), against
//! a real hub over loopback: names, arguments and results as the UI sees them.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tauri::ipc::{CallbackFn, InvokeBody};
use tauri::test::{get_ipc_response, mock_builder, mock_context, noop_assets, INVOKE_KEY};
use tauri::webview::InvokeRequest;
use tauri::WebviewWindowBuilder;
use telltale::settings::Settings;
use telltale_hub::{Config, Node, Server};

fn start_hub() -> (SocketAddr, Node) {
    tauri::async_runtime::block_on(async {
        let config = Config {
            listen: "127.0.0.1:0".parse().unwrap(),
            allow_anonymous: true,
            anonymous_ack: true,
            ..Config::default()
        };
        let server = Server::bind(config).await.unwrap();
        let addr = server.local_addr();
        let node = server.node().clone();
        tauri::async_runtime::spawn(server.run(std::future::pending()));
        (addr, node)
    })
}

fn invoke(
    webview: &tauri::WebviewWindow<tauri::test::MockRuntime>,
    cmd: &str,
    args: Value,
) -> Result<Value, Value> {
    let request = InvokeRequest {
        cmd: cmd.into(),
        callback: CallbackFn(0),
        error: CallbackFn(1),
        url: "tauri://localhost".parse().unwrap(),
        body: InvokeBody::Json(args),
        headers: Default::default(),
        invoke_key: INVOKE_KEY.to_string(),
    };
    get_ipc_response(webview, request).map(|body| body.deserialize::<Value>().unwrap())
}

#[test]
fn commands_answer_from_the_hub() {
    let (addr, node) = start_hub();
    let alarm = json!({"id": "h/disk", "source": "h", "severity": "critical", "state": "firing", "title": "Disk", "ts": 1});
    let data = serde_json::value::to_raw_value(&alarm).unwrap();
    tauri::async_runtime::block_on(node.publish("alarms", data, Default::default())).unwrap();

    let url = format!("ws://{addr}/connection/websocket");
    let settings = Settings::parse_from(["telltale", "--server", url.as_str()]).unwrap();
    let shared = tauri::async_runtime::block_on(telltale::bridge::start(settings)).unwrap();
    let app = telltale::run_app(mock_builder(), shared.clone())
        .build(mock_context(noop_assets()))
        .unwrap();
    // The mock runtime never runs its event loop, so `setup` does not run:
    // start the bridge as setup would.
    telltale::bridge::spawn(app.handle().clone(), shared);
    let webview = WebviewWindowBuilder::new(&app, "main", Default::default())
        .build()
        .unwrap();

    let deadline = Instant::now() + Duration::from_secs(10);
    let state = loop {
        let state = invoke(&webview, "connection_state", json!({})).unwrap();
        if state["state"] == "live" || Instant::now() > deadline {
            break state;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(state["state"], "live", "{state}");
    assert_eq!(state["server"], url);

    let active = invoke(&webview, "alarms_active", json!({})).unwrap();
    assert_eq!(active[0]["id"], "h/disk", "{active}");

    let acked = invoke(&webview, "alarms_ack", json!({"id": "h/disk"})).unwrap();
    assert_eq!(acked["state"], "acknowledged", "{acked}");
    assert!(
        acked["by"].as_str().unwrap().contains('@'),
        "acked as user@host: {acked}"
    );

    let missing = invoke(&webview, "alarms_ack", json!({"id": "nope"})).unwrap_err();
    assert!(
        missing
            .as_str()
            .unwrap()
            .starts_with("cannot acknowledge nope"),
        "{missing}"
    );

    let catalog = invoke(&webview, "catalog", json!({})).unwrap();
    assert!(catalog["sources"].is_array(), "{catalog}");
}
