//! The Go peer (bench/gorilla-hub, the classic gorilla/websocket chat hub):
//! built with Debian's Go and gorilla/websocket in GOPATH mode when its
//! binary is missing or older than its source, so that a run always measures
//! the source in the checkout.

use std::path::Path;
use std::time::SystemTime;

use crate::cli::Args;

/// Where Debian's golang-github-gorilla-websocket-dev puts the package.
pub const DEBIAN_GOPATH: &str = "/usr/share/gocode";

/// The fix for a missing Go toolchain or package.
const INSTALL_HINT: &str = "run scripts/install-deps.sh (it installs Debian's golang-go and \
                            golang-github-gorilla-websocket-dev)";

/// Builds `--gorilla-hub` from `--gorilla-source` unless it is newer than
/// every file of the source directory.
pub async fn ensure_built(args: &Args) -> Result<(), String> {
    let source = &args.gorilla_source;
    let binary = &args.gorilla_hub;
    let newest_source = newest_mtime(source).map_err(|e| {
        format!(
            "cannot read the Go peer's source {} (from {}): {e}",
            source.display(),
            std::env::current_dir()
                .map(|d| d.display().to_string())
                .unwrap_or_else(|e| format!("an unreadable working directory: {e}"))
        )
    })?;
    let built = std::fs::metadata(binary).and_then(|m| m.modified()).ok();
    if built.is_some_and(|b| b >= newest_source) {
        return Ok(());
    }
    if !crate::runnable(&args.go) {
        return Err(format!(
            "{} not found, needed to build the Go peer: {INSTALL_HINT}, or pass --go",
            args.go.display()
        ));
    }
    if !Path::new(DEBIAN_GOPATH)
        .join("src/github.com/gorilla/websocket")
        .is_dir()
    {
        return Err(format!(
            "{DEBIAN_GOPATH}/src/github.com/gorilla/websocket missing: {INSTALL_HINT}"
        ));
    }
    let out_dir = binary
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(".".as_ref());
    std::fs::create_dir_all(out_dir)
        .map_err(|e| format!("cannot create {}: {e}", out_dir.display()))?;
    eprintln!(
        "building the Go peer: {} from {}",
        binary.display(),
        source.display()
    );
    let mut go = tokio::process::Command::new(&args.go);
    go.arg("build")
        .arg("-o")
        .arg(absolute(binary))
        .arg(".")
        .current_dir(source)
        .env("GOPATH", DEBIAN_GOPATH)
        .env("GO111MODULE", "off")
        .kill_on_drop(true);
    // Go wants a build cache; without HOME (some CI shells) keep it next to
    // the binary.
    if std::env::var_os("GOCACHE").is_none() && std::env::var_os("HOME").is_none() {
        go.env("GOCACHE", absolute(&out_dir.join("go-cache")));
    }
    let output = tokio::time::timeout(std::time::Duration::from_secs(300), go.output())
        .await
        .map_err(|_| "`go build` of the Go peer took more than 5 minutes".to_owned())?
        .map_err(|e| format!("cannot run {}: {e}", args.go.display()))?;
    if !output.status.success() {
        return Err(format!(
            "`go build` of {} failed ({}): {}; if a package is missing, {INSTALL_HINT}",
            source.display(),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    Ok(())
}

/// The latest modification time of the files directly in `dir` (a file
/// that disappears while it is read, such as an editor's, is skipped).
fn newest_mtime(dir: &Path) -> std::io::Result<SystemTime> {
    let mut newest = SystemTime::UNIX_EPOCH;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let meta = match entry.metadata() {
            Ok(meta) => meta,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => {
                return Err(std::io::Error::new(
                    e.kind(),
                    format!("{}: {e}", entry.path().display()),
                ))
            }
        };
        if meta.is_file() {
            newest = newest.max(meta.modified()?);
        }
    }
    Ok(newest)
}

fn absolute(path: &Path) -> std::path::PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_owned())
}
