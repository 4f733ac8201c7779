//! Sends the [`Outbox`] to the hub's HTTP API, oldest first, in batches.
//!
//! While the hub is unreachable (a refused connection, a timeout, a 5xx)
//! nothing is lost: the items stay queued and the sender retries with a
//! growing, jittered delay (many agents must not hammer a hub that just
//! came back all at the same instant). One log line says the hub went
//! away and one says it is back, with how much was sent: not one per try.
//!
//! A publication the hub refuses on its merits (error 106 too large, 107
//! malformed) would be refused for ever; it is dropped with a warning so it
//! cannot block the queue.

use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use serde_json::value::RawValue;
use telltale_protocol::api::{BatchCommand, BatchRequest, BatchResult, PublishRequest};
use telltale_protocol::ErrorCode;
use tokio::time::Instant;

use crate::outbox::{Item, Outbox};

/// Most publications in one request.
pub const BATCH: usize = 100;
/// Time allowed for one request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// First and longest delay between tries while the hub is away.
const RETRY: (Duration, Duration) = (Duration::from_millis(500), Duration::from_secs(30));

/// Where and how to publish.
#[derive(Clone)]
pub struct Hub {
    http: reqwest::Client,
    batch_url: String,
    key: String,
}

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the key.
        f.debug_struct("Hub")
            .field("batch_url", &self.batch_url)
            .finish()
    }
}

/// Why a send failed.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// The hub cannot be reached or failed (retry later).
    #[error("{0}")]
    Unreachable(String),
    /// The hub refused the key (retry later: it may be fixed on the hub).
    #[error("the hub refused the key (HTTP {0}): check --key against the hub's --publish-key or --api-key")]
    Refused(u16),
}

impl Hub {
    /// The hub at `base` (e.g. `http://hub:8000`), with API key `key`.
    pub fn new(base: &str, key: &str) -> Self {
        Self {
            http: reqwest::Client::builder()
                .timeout(REQUEST_TIMEOUT)
                .build()
                .expect("a client without TLS options builds"),
            batch_url: format!("{}/api/batch", base.trim_end_matches('/')),
            key: key.to_owned(),
        }
    }

    /// Sends `items` (oldest first); returns how many are done with (sent,
    /// or dropped as refused on their merits). A temporary refusal stops
    /// there: the rest is tried again later, in order.
    pub async fn send(&self, items: &[Item]) -> Result<usize, SendError> {
        let result = self.post(items).await?;
        let mut done = 0;
        for (item, reply) in items.iter().zip(&result.replies) {
            match &reply.error {
                None => {}
                Some(e) if e.temporary || e.code == ErrorCode::Internal as u32 => {
                    return match done {
                        0 => Err(SendError::Unreachable(format!("hub busy: {}", e.message))),
                        n => Ok(n),
                    };
                }
                Some(e) => tracing::warn!(
                    channel = %item.channel,
                    "the hub refused a publication, dropped: {} (code {})",
                    e.message,
                    e.code
                ),
            }
            done += 1;
        }
        Ok(done)
    }

    async fn post(&self, items: &[Item]) -> Result<BatchResult, SendError> {
        let commands = items
            .iter()
            .map(|item| BatchCommand {
                publish: Some(PublishRequest {
                    channel: item.channel.clone(),
                    data: Some(
                        RawValue::from_string(item.data.clone()).expect("queued data is JSON"),
                    ),
                    ..PublishRequest::default()
                }),
                ..BatchCommand::default()
            })
            .collect();
        let response = self
            .http
            .post(&self.batch_url)
            .header("X-API-Key", &self.key)
            .json(&BatchRequest {
                commands,
                parallel: false,
            })
            .send()
            .await
            .map_err(|e| SendError::Unreachable(describe(&e)))?;
        match response.status().as_u16() {
            200 => response
                .json()
                .await
                .map_err(|e| SendError::Unreachable(format!("unreadable answer: {e}"))),
            code @ (401 | 403) => Err(SendError::Refused(code)),
            code => Err(SendError::Unreachable(format!("HTTP {code}"))),
        }
    }
}

fn describe(e: &reqwest::Error) -> String {
    if e.is_connect() {
        "connection refused or unreachable".into()
    } else if e.is_timeout() {
        format!("no answer within {} s", REQUEST_TIMEOUT.as_secs())
    } else {
        e.to_string()
    }
}

/// Sends whatever is queued in `outbox` until `shutdown`: at once when
/// `wake` is notified (something was queued), and with a backoff while the
/// hub is away. On shutdown it tries once more to flush, bounded.
pub async fn run(
    hub: Hub,
    outbox: Arc<Mutex<Outbox>>,
    wake: Arc<Notify>,
    shutdown: CancellationToken,
) {
    let mut outage: Option<Outage> = None;
    loop {
        let delay = match flush(&hub, &outbox).await {
            Ok(sent) => {
                if let Some(outage) = outage.take() {
                    outage.end(sent, outbox.lock().dropped());
                }
                None
            }
            Err(why) => {
                let queued = outbox.lock().len();
                let outage = outage.get_or_insert_with(|| Outage::begin(&why, queued));
                Some(outage.next_delay())
            }
        };
        let wait = async {
            match delay {
                Some(delay) => tokio::time::sleep(delay).await,
                None => wake.notified().await,
            }
        };
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = wait => {}
        }
    }
    let _ = tokio::time::timeout(REQUEST_TIMEOUT, flush(&hub, &outbox)).await;
}

/// Sends batches until the queue is empty; returns how many left it.
async fn flush(hub: &Hub, outbox: &Mutex<Outbox>) -> Result<usize, SendError> {
    let mut total = 0;
    loop {
        // Not locked during the request: producers keep queueing.
        let items = outbox.lock().peek(BATCH);
        if items.is_empty() {
            return Ok(total);
        }
        let done = hub.send(&items).await?;
        if done > 0 {
            outbox.lock().sent_through(items[done - 1].seq);
        }
        total += done;
    }
}

/// An outage as the log sees it: when it began and how many tries failed.
#[derive(Debug)]
pub struct Outage {
    since: Instant,
    tries: u32,
}

impl Outage {
    /// Starts an outage now, logging it once.
    pub fn begin(why: &SendError, queued: usize) -> Self {
        tracing::warn!("hub unreachable: {why}; buffering ({queued} queued) and retrying");
        Self {
            since: Instant::now(),
            tries: 1,
        }
    }

    /// The delay before the next try (exponential, jittered, capped).
    pub fn next_delay(&mut self) -> Duration {
        self.tries += 1;
        let ceiling = RETRY.0.saturating_mul(1 << self.tries.min(8)).min(RETRY.1);
        rand::random_range(RETRY.0..=ceiling.max(RETRY.0))
    }

    /// Ends the outage, logging how long it lasted.
    pub fn end(self, sent: usize, dropped: u64) {
        tracing::info!(
            "hub reachable again after {} s; sending {sent}+ buffered publications ({dropped} samples dropped in all so far)",
            self.since.elapsed().as_secs()
        );
    }
}
