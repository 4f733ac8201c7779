fn main() {
    // The package root is the repository root (see Cargo.toml), so point
    // tauri-build at the capabilities kept with the shell's sources.
    let attributes =
        tauri_build::Attributes::new().capabilities_path_pattern("./src-tauri/capabilities/**/*");
    tauri_build::try_build(attributes).expect("tauri-build failed");
}
