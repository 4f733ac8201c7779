//! Start at login: turning it on writes an XDG autostart entry that
//! launches `telltale --hidden`, turning it off removes it (mock runtime,
//! real files in a home dir of the test's own).

use std::fs;
use std::path::PathBuf;

use tauri::test::{mock_builder, mock_context, noop_assets};
use telltale::window::{autostart_enabled, autostart_plugin, set_autostart, HIDDEN_ARG};

fn entries(dir: &PathBuf) -> Vec<PathBuf> {
    match fs::read_dir(dir) {
        Ok(list) => list.map(|e| e.unwrap().path()).collect(),
        Err(_) => Vec::new(),
    }
}

#[test]
fn start_at_login_adds_and_removes_an_entry_that_starts_hidden() {
    let home = std::env::temp_dir().join(format!("telltale-autostart-{}", std::process::id()));
    let _ = fs::remove_dir_all(&home);
    fs::create_dir_all(&home).unwrap();
    // auto-launch writes to $HOME/.config/autostart (not $XDG_CONFIG_HOME).
    // The only test in this binary: nothing else reads the variable.
    std::env::set_var("HOME", &home);
    let app = mock_builder()
        .plugin(autostart_plugin())
        .build(mock_context(noop_assets()))
        .unwrap();
    let app = app.handle();
    let autostart = home.join(".config/autostart");
    assert!(!autostart_enabled(app));

    set_autostart(app, true).unwrap();
    let files = entries(&autostart);
    assert_eq!(files.len(), 1, "{files:?}");
    let entry = fs::read_to_string(&files[0]).unwrap();
    let exec = entry
        .lines()
        .find(|l| l.starts_with("Exec="))
        .expect("an Exec= line");
    assert!(exec.ends_with(HIDDEN_ARG), "{exec}");
    assert!(autostart_enabled(app));

    set_autostart(app, false).unwrap();
    assert_eq!(entries(&autostart), Vec::<PathBuf>::new());
    assert!(!autostart_enabled(app));
    // Off when already off is fine.
    set_autostart(app, false).unwrap();
    let _ = fs::remove_dir_all(&home);
}
