//! Where the web UI's files are (`ui/dist`, built by Vite), for
//! `src/web.rs`, and when to embed them again.
//!
//! rust-embed takes the folder from `TELLTALE_UI_DIST`, an absolute path
//! without `..`: in debug builds it reads the files from there at run time
//! and refuses any whose real path is not under it, which a path with `..`
//! never is.
//!
//! Release builds embed the files, so they must be compiled again when the
//! UI is built again. rustc already tracks each embedded file, but not a
//! folder that appears: while `ui/dist` is missing, the whole `ui` folder is
//! watched (a few hundred files), so building the UI is noticed.

use std::path::PathBuf;

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let ui = manifest
        .parent()
        .and_then(|crates| crates.parent())
        .expect("crates/hub sits two levels below the workspace")
        .join("ui");
    let dist = ui.join("dist");
    println!("cargo:rustc-env=TELLTALE_UI_DIST={}", dist.display());
    println!("cargo:rerun-if-changed=build.rs");
    // Debug builds read the files at run time: nothing to rebuild for.
    if std::env::var_os("CARGO_CFG_DEBUG_ASSERTIONS").is_some() {
        return;
    }
    let watched = if dist.is_dir() { &dist } else { &ui };
    println!("cargo:rerun-if-changed={}", watched.display());
}
