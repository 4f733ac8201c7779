//! A minimal HTTP/1.1 client for the hub's API on 127.0.0.1: keep-alive,
//! `Content-Length` or chunked responses, every exchange under a time limit.

use std::time::Duration;

use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::TcpStream;

/// Longest status line + headers accepted.
const MAX_HEAD: usize = 16 << 10;
/// Longest response body accepted.
const MAX_BODY: usize = 8 << 20;

/// A response.
#[derive(Debug)]
pub struct Response {
    /// HTTP status.
    pub status: u16,
    /// The body.
    pub body: Vec<u8>,
}

impl Response {
    /// `result.<field>` of a JSON API answer, as an unsigned integer.
    pub fn result_u64(&self, field: &str) -> Option<u64> {
        let v: serde_json::Value = serde_json::from_slice(&self.body).ok()?;
        v.get("result")?.get(field)?.as_u64()
    }

    /// The `error` object of a JSON API answer, if any.
    pub fn api_error(&self) -> Option<String> {
        let v: serde_json::Value = serde_json::from_slice(&self.body).ok()?;
        v.get("error").map(|e| e.to_string())
    }
}

/// What went wrong with one exchange.
#[derive(Debug)]
pub struct Failure {
    /// What happened.
    pub message: String,
    /// Whether the request may have reached the server (the response was
    /// lost, not the request).
    pub ambiguous: bool,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// A keep-alive connection to the hub's HTTP side.
pub struct Client {
    port: u16,
    key: Option<String>,
    timeout: Duration,
    conn: Option<BufReader<TcpStream>>,
}

impl Client {
    /// A client of 127.0.0.1:`port` sending `key` as `X-API-Key`.
    pub fn new(port: u16, key: Option<String>, timeout: Duration) -> Self {
        Client {
            port,
            key,
            timeout,
            conn: None,
        }
    }

    /// `POST path` with a JSON body.
    pub async fn post(&mut self, path: &str, body: &[u8]) -> Result<Response, Failure> {
        let head = request_head(path, self.key.as_deref(), body.len(), self.port);
        // A kept-alive connection the server has closed in the meantime
        // fails before any answer: retry once on a fresh one.
        for attempt in 0..2 {
            let reused = self.conn.is_some();
            if !reused {
                let tcp = tokio::time::timeout(
                    self.timeout,
                    TcpStream::connect(("127.0.0.1", self.port)),
                )
                .await
                .map_err(|_| unambiguous("connect timed out"))?
                .map_err(|e| unambiguous(&format!("connect: {e}")))?;
                let _ = tcp.set_nodelay(true);
                self.conn = Some(BufReader::new(tcp));
            }
            let conn = self.conn.as_mut().expect("connection just set");
            // Err((answer started, message)); a failed write counts as an
            // answer not started: the server has not taken the request.
            let exchange = async {
                let stream = conn.get_mut();
                stream
                    .write_all(head.as_bytes())
                    .await
                    .map_err(|e| (false, format!("write: {e}")))?;
                stream
                    .write_all(body)
                    .await
                    .map_err(|e| (false, format!("write: {e}")))?;
                read_response(conn).await
            };
            match tokio::time::timeout(self.timeout, exchange).await {
                Ok(Ok((response, keep))) => {
                    if !keep {
                        self.conn = None;
                    }
                    return Ok(response);
                }
                Ok(Err((started, message))) => {
                    self.conn = None;
                    if reused && attempt == 0 && !started {
                        continue;
                    }
                    return Err(Failure {
                        message,
                        ambiguous: true,
                    });
                }
                Err(_) => {
                    self.conn = None;
                    return Err(Failure {
                        message: format!("no answer within {:?}", self.timeout),
                        ambiguous: true,
                    });
                }
            }
        }
        Err(unambiguous("connection closed twice before an answer"))
    }
}

/// Sends one request with a body on a fresh connection while reading the
/// answer, so a server that answers before reading the body (and closes) is
/// still heard. Returns the status, or what happened instead.
pub async fn post_once(
    port: u16,
    path: &str,
    key: Option<&str>,
    body: &[u8],
    timeout: Duration,
) -> Result<u16, String> {
    let exchange = async {
        let tcp = TcpStream::connect(("127.0.0.1", port))
            .await
            .map_err(|e| format!("connect: {e}"))?;
        let (read, mut write) = tcp.into_split();
        let head = request_head(path, key, body.len(), port);
        let send = async {
            if write.write_all(head.as_bytes()).await.is_ok() {
                let _ = write.write_all(body).await;
            }
            // Keep the write half open until the answer is in.
            std::future::pending::<()>().await
        };
        let mut reader = BufReader::new(read);
        tokio::select! {
            answer = read_response(&mut reader) => answer
                .map(|(r, _)| r.status)
                .map_err(|(_, e)| classify(&e)),
            () = send => unreachable!("pending never resolves"),
        }
    };
    match tokio::time::timeout(timeout, exchange).await {
        Ok(result) => result,
        Err(_) => Err("timeout".into()),
    }
}

/// Short names for how a connection ended without an answer.
fn classify(error: &str) -> String {
    if error.contains("reset") {
        "reset".into()
    } else if error.contains("closed") || error.contains("eof") {
        "closed without an answer".into()
    } else {
        error.to_owned()
    }
}

fn unambiguous(message: &str) -> Failure {
    Failure {
        message: message.to_owned(),
        ambiguous: false,
    }
}

fn request_head(path: &str, key: Option<&str>, len: usize, port: u16) -> String {
    let key = key
        .map(|k| format!("X-API-Key: {k}\r\n"))
        .unwrap_or_default();
    format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n{key}Content-Length: {len}\r\n\r\n"
    )
}

/// Reads one response. Returns it and whether the connection may be kept;
/// errors say whether any byte of the answer had arrived.
async fn read_response<R>(conn: &mut BufReader<R>) -> Result<(Response, bool), (bool, String)>
where
    R: tokio::io::AsyncRead + Unpin,
{
    let mut line = String::new();
    let n = conn
        .read_line(&mut line)
        .await
        .map_err(|e| (false, format!("read: {e}")))?;
    if n == 0 {
        return Err((false, "connection closed before an answer".into()));
    }
    let status: u16 = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| (true, format!("bad status line {line:?}")))?;
    let mut head = line.len();
    let mut length: Option<usize> = None;
    let mut chunked = false;
    let mut keep = true;
    loop {
        line.clear();
        let n = conn
            .read_line(&mut line)
            .await
            .map_err(|e| (true, format!("read headers: {e}")))?;
        head += n;
        if n == 0 || head > MAX_HEAD {
            return Err((true, "truncated or oversized headers".into()));
        }
        let trimmed = line.trim_end();
        if trimmed.is_empty() {
            break;
        }
        let Some((name, value)) = trimmed.split_once(':') else {
            continue;
        };
        let (name, value) = (name.trim().to_ascii_lowercase(), value.trim());
        match name.as_str() {
            "content-length" => length = value.parse().ok(),
            "transfer-encoding" => chunked = value.eq_ignore_ascii_case("chunked"),
            "connection" => keep = !value.eq_ignore_ascii_case("close"),
            _ => {}
        }
    }
    let mut body = Vec::new();
    if chunked {
        loop {
            line.clear();
            conn.read_line(&mut line)
                .await
                .map_err(|e| (true, format!("read chunk: {e}")))?;
            let size = usize::from_str_radix(line.trim().split(';').next().unwrap_or(""), 16)
                .map_err(|_| (true, format!("bad chunk size {line:?}")))?;
            if body.len() + size > MAX_BODY {
                return Err((true, "oversized body".into()));
            }
            let at = body.len();
            body.resize(at + size, 0);
            conn.read_exact(&mut body[at..])
                .await
                .map_err(|e| (true, format!("read chunk: {e}")))?;
            line.clear();
            conn.read_line(&mut line)
                .await
                .map_err(|e| (true, format!("read chunk end: {e}")))?;
            if size == 0 {
                break;
            }
        }
    } else if let Some(length) = length {
        if length > MAX_BODY {
            return Err((true, "oversized body".into()));
        }
        body.resize(length, 0);
        conn.read_exact(&mut body)
            .await
            .map_err(|e| (true, format!("read body: {e}")))?;
    } else {
        (&mut *conn)
            .take(MAX_BODY as u64)
            .read_to_end(&mut body)
            .await
            .map_err(|e| (true, format!("read body: {e}")))?;
        keep = false;
    }
    Ok((Response { status, body }, keep))
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn parse(raw: &'static [u8]) -> Result<(Response, bool), (bool, String)> {
        let mut reader = BufReader::new(raw);
        read_response(&mut reader).await
    }

    #[tokio::test]
    async fn reads_sized_chunked_and_closing_answers() {
        let (r, keep) = parse(b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello")
            .await
            .unwrap();
        assert_eq!(
            (r.status, r.body.as_slice(), keep),
            (200, &b"hello"[..], true)
        );
        let (r, _) = parse(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n")
            .await
            .unwrap();
        assert_eq!(r.body, b"abcde");
        let (r, keep) =
            parse(b"HTTP/1.1 401 Unauthorized\r\nconnection: close\r\ncontent-length: 0\r\n\r\n")
                .await
                .unwrap();
        assert_eq!((r.status, keep), (401, false));
        let err = parse(b"").await.unwrap_err();
        assert!(!err.0, "{err:?}");
    }

    #[test]
    fn api_fields() {
        let r = Response {
            status: 200,
            body: br#"{"result":{"offset":42,"epoch":"e"}}"#.to_vec(),
        };
        assert_eq!(r.result_u64("offset"), Some(42));
        assert_eq!(r.api_error(), None);
        let r = Response {
            status: 200,
            body: br#"{"error":{"code":107,"message":"bad"}}"#.to_vec(),
        };
        assert!(r.api_error().unwrap().contains("107"));
    }
}
