//! The Telltale web UI at `/` (`--web`): the files Vite builds into
//! `ui/dist` (`index.html`, hashed files under `assets/`), carried in the
//! binary, so a browser can watch the hub's graphs and alarms. The page
//! connects back to this hub's `/connection/websocket`, whose Origin check
//! accepts a page served by the hub itself.
//!
//! Release builds embed the files at compile time (rust-embed); debug
//! builds read them from `ui/dist` at run time, so rebuilding the UI shows
//! without compiling the hub again. A build without `ui/dist` still
//! compiles (with no files); `--web` then refuses to start and says how to
//! build the UI.
//!
//! Every answer here is for a browser: security headers on all of them
//! (the page may load its own files and open a WebSocket to this hub,
//! nothing else, and may not be framed), long caching for Vite's hashed
//! files, revalidation by ETag for the rest, and gzip or brotli for text.
//! These layers sit on the web routes only: the WebSocket, `/api` and
//! `/metrics` are answered as before.

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use tower_http::compression::predicate::{Predicate, SizeAbove};
use tower_http::compression::CompressionLayer;

use crate::node::Node;
use crate::Config;

/// `ui/dist` as Vite builds it. `TELLTALE_UI_DIST` comes from build.rs.
#[derive(rust_embed::RustEmbed)]
#[folder = "$TELLTALE_UI_DIST"]
#[allow_missing = true]
struct Dist;

/// What to run when the binary has no UI.
pub const BUILD_THE_UI: &str =
    "build the UI with `npm --prefix ui ci && npm --prefix ui run build`, \
     then rebuild telltale-hub (`cargo build -p telltale-hub`, or `make hub`)";

/// The page itself.
const INDEX: &str = "index.html";

/// Where Vite puts the files whose names carry a hash of their content.
const HASHED_DIR: &str = "assets/";

/// A year, and never revalidated: a new build has new names.
const CACHE_HASHED: &str = "public, max-age=31536000, immutable";

/// Kept, but checked with the ETag before each use: the name stays the same
/// from one build to the next.
const CACHE_UNHASHED: &str = "no-cache";

/// Whether this binary carries the UI; the error says what to do.
pub fn check_built() -> Result<(), String> {
    match Dist::get(INDEX) {
        Some(_) => Ok(()),
        None => Err(not_built_message()),
    }
}

fn not_built_message() -> String {
    // Debug builds read the files at run time, release builds carry them.
    let missing = if cfg!(debug_assertions) {
        concat!(env!("TELLTALE_UI_DIST"), "/index.html does not exist")
    } else {
        "ui/dist/index.html did not exist when it was compiled"
    };
    format!("--web: this telltale-hub has no web UI ({missing}): {BUILD_THE_UI}")
}

/// The routes for the page: with `--web`, `/` and every file of the UI;
/// without, `/` answers 404 saying how to turn it on.
pub fn routes(config: &Config) -> Router<Node> {
    if !config.web {
        return Router::new().route("/", get(off));
    }
    // Text only: fonts and images are compressed already, and a short body
    // gains nothing.
    let compression = CompressionLayer::new()
        .gzip(true)
        .br(true)
        .compress_when(SizeAbove::default().and(is_text_response));
    Router::new()
        .route("/", get(serve))
        .route("/{*path}", get(serve))
        .layer(compression)
        .layer(axum::middleware::from_fn_with_state(
            config.tls_cert.is_some(),
            secure,
        ))
}

/// `GET /` without `--web`.
async fn off(State(node): State<Node>) -> Response {
    node.local().metrics.web_request("not_found");
    let message = "the web UI is off: start telltale-hub with --web (TELLTALE_HUB_WEB=true, \
                   or web = true in the --config file) to watch this hub in a browser here\n";
    (StatusCode::NOT_FOUND, message).into_response()
}

/// One file of the UI, or 304 when the browser's copy is current.
async fn serve(State(node): State<Node>, uri: Uri, headers: HeaderMap) -> Response {
    let metrics = &node.local().metrics;
    let Some(name) = file_name(uri.path()) else {
        metrics.web_request("not_found");
        return not_found(uri.path());
    };
    let Some(file) = Dist::get(&name) else {
        metrics.web_request("not_found");
        if name == INDEX {
            // A debug build whose ui/dist went away, or the embedded hub
            // of a build without the UI: say so instead of a bare 404.
            return (StatusCode::NOT_FOUND, format!("{}\n", not_built_message())).into_response();
        }
        return not_found(uri.path());
    };
    let content_type = content_type(&name);
    let etag = etag(&file.metadata.sha256_hash());
    let cache = if name.starts_with(HASHED_DIR) {
        CACHE_HASHED
    } else {
        CACHE_UNHASHED
    };
    let mut response = if matches(&headers, &etag) {
        metrics.web_request("not_modified");
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        metrics.web_request("served");
        let mut response = axum::body::Body::from(file.data).into_response();
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        response
    };
    let out = response.headers_mut();
    out.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    out.insert(
        header::ETAG,
        HeaderValue::from_str(&etag).expect("hex is a valid header"),
    );
    if is_text(content_type) {
        // Set here, not only by the compression layer, so that a 304
        // carries it too (its empty body is never compressed).
        out.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    }
    response
}

fn not_found(path: &str) -> Response {
    let message = format!("{path} is not a file of the web UI; the page is at /\n");
    (StatusCode::NOT_FOUND, message).into_response()
}

/// The file a request path names, or `None` for anything that is not a
/// plain relative name: segments of letters, digits, `.`, `_` and `-`,
/// none empty or starting with a dot. That is every name Vite writes, and
/// it leaves nothing that could leave `ui/dist` (`..`, encoded or not, a
/// backslash, an absolute path, a dot file).
fn file_name(path: &str) -> Option<String> {
    let relative = path.strip_prefix('/')?;
    if relative.is_empty() {
        return Some(INDEX.to_owned());
    }
    let plain = |segment: &str| {
        !segment.is_empty()
            && !segment.starts_with('.')
            && (segment.bytes())
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    };
    relative.split('/').all(plain).then(|| relative.to_owned())
}

/// A weak ETag from the file's SHA-256: weak because the compression layer
/// may send other bytes for the same file (gzip, brotli), and a strong tag
/// promises the same bytes.
fn etag(sha256: &[u8; 32]) -> String {
    format!("W/\"{}\"", hex::encode(&sha256[..16]))
}

/// Whether `If-None-Match` names `etag` (weak comparison, `*` for any).
fn matches(headers: &HeaderMap, etag: &str) -> bool {
    let opaque = |tag: &str| tag.trim().trim_start_matches("W/").to_owned();
    let ours = opaque(etag);
    (headers.get_all(header::IF_NONE_MATCH).iter())
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|tag| tag.trim() == "*" || opaque(tag) == ours)
}

/// The `Content-Type` of every kind of file Vite writes; anything else is
/// `application/octet-stream`, which `nosniff` keeps from being run.
pub fn content_type(name: &str) -> &'static str {
    let extension = name.rsplit_once('.').map_or("", |(_, e)| e);
    match extension.to_ascii_lowercase().as_str() {
        "html" | "htm" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json",
        "webmanifest" => "application/manifest+json",
        "txt" => "text/plain; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "avif" => "image/avif",
        "ico" => "image/x-icon",
        "woff" => "font/woff",
        "woff2" => "font/woff2",
        "ttf" => "font/ttf",
        "otf" => "font/otf",
        "wasm" => "application/wasm",
        _ => "application/octet-stream",
    }
}

/// Types worth compressing: text, and the formats that are text underneath.
fn is_text(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or("").trim();
    essence.starts_with("text/")
        || matches!(
            essence,
            "application/json" | "application/manifest+json" | "image/svg+xml" | "application/wasm"
        )
}

fn is_text_response(
    _: StatusCode,
    _: axum::http::Version,
    headers: &HeaderMap,
    _: &axum::http::Extensions,
) -> bool {
    (headers.get(header::CONTENT_TYPE))
        .and_then(|value| value.to_str().ok())
        .is_some_and(is_text)
}

/// Adds the security headers to every answer of the web routes.
async fn secure(State(tls): State<bool>, request: Request, next: Next) -> Response {
    let host = (request.headers().get(header::HOST))
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    let policy = content_security_policy(host.as_deref(), tls);
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_str(&policy).expect("checked host names are valid in a header"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}

/// What the page may do: load its own scripts, styles (inline styles too:
/// the UI and uPlot set `style` attributes), images and fonts; open a
/// WebSocket to this hub; nothing else, and no framing. `'self'` covers
/// `ws:`/`wss:` to the same host in current browsers; the explicit URL is
/// for those that read CSP level 2, where it does not. `host` is only
/// written when it is a plain `host[:port]`.
pub fn content_security_policy(host: Option<&str>, tls: bool) -> String {
    let websocket = host
        .filter(|host| crate::host::hostname(host).is_some())
        .map(|host| format!(" {}://{host}", if tls { "wss" } else { "ws" }))
        .unwrap_or_default();
    format!(
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
         img-src 'self' data:; font-src 'self' data:; connect-src 'self'{websocket}; \
         object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_relative_names_are_files() {
        assert_eq!(file_name("/").as_deref(), Some("index.html"));
        assert_eq!(
            file_name("/assets/index-Dal6OWUM.js").as_deref(),
            Some("assets/index-Dal6OWUM.js")
        );
        for path in [
            "/../Cargo.toml",
            "/assets/../index.html",
            "/assets/%2e%2e/index.html",
            "/%2e%2e/%2e%2e/etc/passwd",
            "/assets/..%2fsecret",
            "/assets\\..\\index.html",
            "//etc/passwd",
            "/assets/",
            "/.env",
            "/assets/./x.js",
            "relative",
        ] {
            assert_eq!(file_name(path), None, "{path}");
        }
    }

    #[test]
    fn if_none_match_compares_weakly_and_takes_lists() {
        let tag = etag(&[7; 32]);
        let with = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::IF_NONE_MATCH, value.parse().unwrap());
            headers
        };
        let strong = tag.trim_start_matches("W/");
        assert!(matches(&with(&tag), &tag));
        assert!(matches(&with(strong), &tag));
        assert!(matches(&with(&format!("\"other\", {tag}")), &tag));
        assert!(matches(&with("*"), &tag));
        assert!(!matches(&with("\"other\""), &tag));
        assert!(!matches(&HeaderMap::new(), &tag));
    }

    #[test]
    fn every_kind_vite_writes_has_its_type() {
        assert_eq!(content_type("index.html"), "text/html; charset=utf-8");
        assert_eq!(content_type("a/b-1.js"), "text/javascript; charset=utf-8");
        assert_eq!(content_type("a/b-1.CSS"), "text/css; charset=utf-8");
        assert_eq!(content_type("a/b-1.js.map"), "application/json");
        assert_eq!(content_type("logo.svg"), "image/svg+xml");
        assert_eq!(content_type("favicon.ico"), "image/x-icon");
        assert_eq!(content_type("f.woff2"), "font/woff2");
        assert_eq!(content_type("README"), "application/octet-stream");
        assert!(is_text("text/javascript; charset=utf-8"));
        assert!(is_text("image/svg+xml"));
        assert!(!is_text("font/woff2"));
        assert!(!is_text("image/png"));
    }

    #[test]
    fn the_policy_names_the_hub_only_when_the_host_is_plain() {
        let plain = content_security_policy(Some("127.0.0.1:8000"), false);
        assert!(
            plain.contains("connect-src 'self' ws://127.0.0.1:8000;"),
            "{plain}"
        );
        assert!(plain.contains("frame-ancestors 'none'"), "{plain}");
        let tls = content_security_policy(Some("hub.example:443"), true);
        assert!(
            tls.contains("connect-src 'self' wss://hub.example:443;"),
            "{tls}"
        );
        let odd = content_security_policy(Some("evil; script-src *"), false);
        assert!(odd.contains("connect-src 'self';"), "{odd}");
        assert!(!odd.contains("evil"), "{odd}");
    }

    #[test]
    fn the_missing_ui_message_says_what_to_run() {
        let message = not_built_message();
        assert!(message.contains("npm --prefix ui ci && npm --prefix ui run build"));
        assert!(message.contains("rebuild telltale-hub"));
    }
}
