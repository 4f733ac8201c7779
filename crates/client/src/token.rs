//! Where connection tokens come from: a [`TokenSource`], and the two common
//! ones, a file ([`token_file`]) and a command ([`token_command`]).
//!
//! The connection asks its source for a token when it has none, after the
//! hub answers `connect` with error 109 (token expired), and before the
//! connection expires (the `refresh` command; see `connection/refresh.rs`).
//! A file source is also read at every connect, so a token an agent rotated
//! in place is picked up without waiting for the hub to refuse the old one.
//!
//! A token is a credential: no error or log line made here contains one,
//! nor anything a token command printed on stdout.

use std::fmt;
use std::future::Future;
use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::process::{ExitStatus, Stdio};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::AsyncReadExt;

/// Future returned by a [`TokenSource`]: a fresh connection token, or why
/// there is none (a message for the user; never the token).
pub type TokenFuture = Pin<Box<dyn Future<Output = Result<String, String>> + Send>>;

/// How long a token command may run before it is killed.
pub const TOKEN_COMMAND_TIMEOUT: Duration = Duration::from_secs(10);

/// Largest token file read; a JWT is a few kilobytes at most, and a bound
/// keeps a path such as `/dev/zero` from being read forever.
const MAX_TOKEN_FILE: u64 = 64 * 1024;

/// Fetches new connection tokens (see the module docs for when).
///
/// Cheap to clone. Without a token source, an expired token is terminal
/// (error 109 at `connect`) and a connection is never refreshed, so the hub
/// closes it (3005) once its token expires.
#[derive(Clone)]
pub struct TokenSource {
    fetch: Arc<dyn Fn() -> TokenFuture + Send + Sync>,
    every_connect: bool,
    what: Arc<str>,
}

impl TokenSource {
    /// A source that runs `fetch` when a token is needed. A token already
    /// set in [`crate::Options::token`] is used first.
    pub fn new<F, Fut>(fetch: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<String, String>> + Send + 'static,
    {
        Self {
            fetch: Arc::new(move || Box::pin(fetch()) as TokenFuture),
            every_connect: false,
            what: "a function".into(),
        }
    }

    /// Asks for a token.
    pub fn fetch(&self) -> TokenFuture {
        (self.fetch)()
    }

    /// Whether the connection asks at every connect, not only when it has
    /// no valid token.
    pub fn every_connect(&self) -> bool {
        self.every_connect
    }
}

impl fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TokenSource({})", self.what)
    }
}

/// A token read from the file at `path`, again at every connect and
/// refresh, surrounding whitespace trimmed. A missing, unreadable or empty
/// file is an error naming the path, e.g. `token file /run/t: cannot read:
/// No such file or directory` (the client reports it and retries).
pub fn token_file(path: impl Into<PathBuf>) -> TokenSource {
    let path: Arc<Path> = path.into().into();
    TokenSource {
        what: format!("file {}", path.display()).into(),
        fetch: Arc::new(move || Box::pin(read_token_file(path.clone())) as TokenFuture),
        every_connect: true,
    }
}

async fn read_token_file(path: Arc<Path>) -> Result<String, String> {
    let fail = |why: &str| format!("token file {}: {why}", path.display());
    let file = tokio::fs::File::open(&path)
        .await
        .map_err(|e| fail(&format!("cannot read: {}", io_reason(&e))))?;
    let mut bytes = Vec::new();
    file.take(MAX_TOKEN_FILE + 1)
        .read_to_end(&mut bytes)
        .await
        .map_err(|e| fail(&format!("cannot read: {}", io_reason(&e))))?;
    if bytes.len() as u64 > MAX_TOKEN_FILE {
        return Err(fail(&format!(
            "larger than {} KiB; is it really a token?",
            MAX_TOKEN_FILE / 1024
        )));
    }
    let text = String::from_utf8(bytes).map_err(|_| fail("not UTF-8 text"))?;
    match text.trim() {
        "" => Err(fail("empty; write the connection token (a JWT) into it")),
        token => Ok(token.to_string()),
    }
}

/// A token printed by `command`, run with `sh -c` each time one is needed
/// (connect without a token, error 109, refresh). Its stdout, trimmed, is
/// the token; a non-zero exit, no output, or no answer within
/// [`TOKEN_COMMAND_TIMEOUT`] is an error naming the exit status and the
/// first line of stderr. Stdout never appears in an error.
pub fn token_command(command: impl Into<String>) -> TokenSource {
    let command: Arc<str> = command.into().into();
    TokenSource {
        what: format!("command {command:?}").into(),
        fetch: Arc::new(move || Box::pin(run_token_command(command.clone())) as TokenFuture),
        every_connect: false,
    }
}

async fn run_token_command(command: Arc<str>) -> Result<String, String> {
    let fail = |why: &str| format!("token command {command:?}: {why}");
    let child = tokio::process::Command::new("sh")
        .arg("-c")
        .arg(&*command)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // A timed-out or abandoned fetch (the client closed) kills it.
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| fail(&format!("cannot run sh: {}", io_reason(&e))))?;
    let output = tokio::time::timeout(TOKEN_COMMAND_TIMEOUT, child.wait_with_output())
        .await
        .map_err(|_| {
            fail(&format!(
                "printed no token within {} s; killed",
                TOKEN_COMMAND_TIMEOUT.as_secs()
            ))
        })?
        .map_err(|e| fail(&format!("cannot read its output: {}", io_reason(&e))))?;
    let stderr = first_line(&output.stderr);
    if !output.status.success() {
        return Err(fail(&format!("{}{stderr}", status_text(output.status))));
    }
    let token = std::str::from_utf8(&output.stdout)
        .map_err(|_| fail("printed something that is not UTF-8 text"))?
        .trim();
    if token.is_empty() {
        return Err(fail(&format!("printed no token (exit status 0){stderr}")));
    }
    Ok(token.to_string())
}

/// `exited with status N` or `killed by signal N`.
fn status_text(status: ExitStatus) -> String {
    if let Some(code) = status.code() {
        return format!("exited with status {code}");
    }
    #[cfg(unix)]
    if let Some(signal) = std::os::unix::process::ExitStatusExt::signal(&status) {
        return format!("killed by signal {signal}");
    }
    format!("ended with {status}")
}

/// `: <first non-empty line of stderr>`, shortened, or nothing.
fn first_line(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    let Some(line) = text.lines().map(str::trim).find(|l| !l.is_empty()) else {
        return String::new();
    };
    match line.char_indices().nth(200) {
        Some((at, _)) => format!(": {}...", &line[..at]),
        None => format!(": {line}"),
    }
}

/// The OS's words for `error`, without the ` (os error N)` suffix.
fn io_reason(error: &io::Error) -> String {
    let text = error.to_string();
    match text.rfind(" (os error ") {
        Some(at) if text.ends_with(')') => text[..at].to_string(),
        _ => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_path(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("telltale-token-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir.join(name)
    }

    #[tokio::test]
    async fn a_file_is_read_at_each_fetch_and_trimmed() {
        let path = temp_path("rotating");
        let source = token_file(&path);
        assert!(source.every_connect());
        std::fs::write(&path, "  first-token \n").unwrap();
        assert_eq!(source.fetch().await.unwrap(), "first-token");
        std::fs::write(&path, "second-token\n").unwrap();
        assert_eq!(source.fetch().await.unwrap(), "second-token");
    }

    #[tokio::test]
    async fn a_missing_or_empty_file_is_a_clear_error() {
        let path = temp_path("missing");
        let _ = std::fs::remove_file(&path);
        let err = token_file(&path).fetch().await.unwrap_err();
        assert_eq!(
            err,
            format!(
                "token file {}: cannot read: No such file or directory",
                path.display()
            )
        );
        let empty = temp_path("empty");
        std::fs::write(&empty, " \n").unwrap();
        let err = token_file(&empty).fetch().await.unwrap_err();
        assert!(
            err.starts_with(&format!("token file {}: empty", empty.display())),
            "{err}"
        );
    }

    #[tokio::test]
    async fn a_command_prints_the_token() {
        let source = token_command("printf ' tok-123\\n'");
        assert!(!source.every_connect());
        assert_eq!(source.fetch().await.unwrap(), "tok-123");
    }

    #[tokio::test]
    async fn a_failing_command_names_status_and_stderr_never_stdout() {
        // Stdout is `secret-on-stdout`, a string the command line lacks.
        let err = token_command("printf 'secret-%s' on-stdout; echo 'vault: sealed' >&2; exit 3")
            .fetch()
            .await
            .unwrap_err();
        assert!(err.contains("exited with status 3: vault: sealed"), "{err}");
        assert!(!err.contains("secret-on-stdout"), "{err}");
        let err = token_command("echo '' ; echo hmm >&2")
            .fetch()
            .await
            .unwrap_err();
        assert!(
            err.contains("printed no token (exit status 0): hmm"),
            "{err}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_hanging_command_times_out() {
        let err = token_command("sleep 60").fetch().await.unwrap_err();
        assert!(
            err.contains("printed no token within 10 s; killed"),
            "{err}"
        );
    }

    #[test]
    fn debug_names_the_source_not_a_token() {
        assert_eq!(
            format!("{:?}", token_command("vault read -field=t x")),
            "TokenSource(command \"vault read -field=t x\")"
        );
    }
}
