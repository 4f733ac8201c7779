//! `[[scrape]]`: read a Prometheus exporter (node_exporter, ...) every
//! interval and publish what it serves as samples, like the agent's own.
//!
//! Each scrape fetches the exporter's text with a timeout shorter than the
//! interval, keeps the series the `metrics` selectors pick
//! ([`crate::selector`]), and turns them into one sample
//! ([`crate::translate`]). A failed scrape (unreachable, an HTTP error, bad
//! text) is logged with the URL, once until it works again, and tried at
//! the next interval: an exporter never stops the agent.

use std::future::Future;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use telltale_protocol::payload::now_ms;
use telltale_protocol::MetricSample;
use tokio::time::{Instant, MissedTickBehavior};
use tokio_util::sync::CancellationToken;

use crate::exposition;
use crate::selector::Selector;
use crate::translate::{self, Translator};

/// Largest exporter answer read: node_exporter serves some hundred KB.
const MAX_BODY: usize = 16 * 1024 * 1024;
/// Longest time allowed for one scrape, whatever the interval.
const MAX_TIMEOUT: Duration = Duration::from_secs(10);

/// One `[[scrape]]` entry of the agent's configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScrapeSpec {
    /// The exporter's metrics URL, e.g. `http://127.0.0.1:9100/metrics`.
    pub url: String,
    /// How often it is read (at least 1s).
    #[serde(with = "humantime_serde", default = "default_interval")]
    pub interval: Duration,
    /// Source the samples go to (`metrics:<source>`); default: the agent's.
    #[serde(default)]
    pub source: Option<String>,
    /// Selectors (`name_glob` or `name_glob{label="v",label!="v"}`); a
    /// series is kept when one matches. Default: the node_exporter
    /// metrics that have a Telltale name.
    #[serde(default = "translate::default_metrics")]
    pub metrics: Vec<String>,
}

fn default_interval() -> Duration {
    Duration::from_secs(15)
}

impl ScrapeSpec {
    /// The parsed `metrics`, or the first one that is wrong.
    pub fn selectors(&self) -> Result<Vec<Selector>, String> {
        self.metrics.iter().map(|m| Selector::parse(m)).collect()
    }

    /// Checks the table, the `n`th of its file; the message starts with
    /// `scrape N "URL": ` and names the key to fix.
    pub fn check(&self, n: usize) -> Result<(), String> {
        let at = format!("scrape {n} {:?}", self.url);
        if !self.url.starts_with("http://") {
            return Err(format!(
                "{at}: url must be the exporter's http:// address, e.g. http://127.0.0.1:9100/metrics"
            ));
        }
        if self.interval < Duration::from_secs(1) {
            return Err(format!(
                "{at}: interval must be at least 1s (an exporter is not meant to be read more often)"
            ));
        }
        if self
            .source
            .as_deref()
            .is_some_and(|s| !crate::config::is_name(s))
        {
            return Err(format!(
                "{at}: source must be letters, digits, '.', '_' or '-'"
            ));
        }
        self.selectors()
            .map(drop)
            .map_err(|e| format!("{at}: metrics: {e}"))
    }

    /// The time one scrape may take: less than the interval.
    pub fn timeout(&self) -> Duration {
        (self.interval * 4 / 5).min(MAX_TIMEOUT)
    }
}

/// Why a scrape gave nothing.
#[derive(Debug, thiserror::Error)]
pub enum ScrapeError {
    /// No answer, or not a 2xx.
    #[error("{0}")]
    Fetch(String),
    /// An answer that is not the text format.
    #[error("not the Prometheus text format: {0}")]
    Format(#[from] exposition::ParseError),
}

/// One exporter, read again and again.
pub struct Scraper {
    spec: ScrapeSpec,
    selectors: Vec<Selector>,
    http: reqwest::Client,
    translator: Translator,
    start: Instant,
}

impl Scraper {
    /// A scraper for a valid `spec` (see [`ScrapeSpec::selectors`]).
    pub fn new(spec: ScrapeSpec) -> Result<Self, String> {
        let selectors = spec.selectors()?;
        let http = reqwest::Client::builder()
            .timeout(spec.timeout())
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Self {
            spec,
            selectors,
            http,
            translator: Translator::default(),
            start: Instant::now(),
        })
    }

    /// The spec it reads.
    pub fn spec(&self) -> &ScrapeSpec {
        &self.spec
    }

    /// Reads the exporter every interval until `shutdown`, handing each
    /// non-empty result to `publish` as one sample. Failures are logged
    /// with the URL, once until a scrape works again.
    pub async fn run<F, Fut>(mut self, shutdown: CancellationToken, mut publish: F)
    where
        F: FnMut(MetricSample) -> Fut,
        Fut: Future<Output = ()>,
    {
        let url = self.spec.url.clone();
        let mut ticker = tokio::time::interval(self.spec.interval);
        ticker.set_missed_tick_behavior(MissedTickBehavior::Skip);
        let mut failing: Option<String> = None;
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = ticker.tick() => {}
            }
            let result = tokio::select! {
                _ = shutdown.cancelled() => return,
                result = self.scrape() => result,
            };
            match result {
                Ok(values) => {
                    if failing.take().is_some() {
                        tracing::info!(%url, "exporter readable again");
                    }
                    if !values.is_empty() {
                        publish(MetricSample {
                            ts: now_ms(),
                            values,
                        })
                        .await;
                    }
                }
                Err(e) => {
                    let why = e.to_string();
                    if failing.as_ref() != Some(&why) {
                        tracing::warn!(
                            %url,
                            "scrape failed: {why}; retrying every {:?}",
                            self.spec.interval
                        );
                    }
                    failing = Some(why);
                }
            }
        }
    }

    /// Reads the exporter once and translates what the selectors keep.
    pub async fn scrape(&mut self) -> Result<std::collections::BTreeMap<String, f64>, ScrapeError> {
        let text = self.fetch().await?;
        // The rate's time base is when the answer came, the closest to when
        // the exporter read its counters.
        let at = self.start.elapsed().as_secs_f64();
        let series = exposition::parse(&text)?;
        let kept: Vec<_> = series
            .into_iter()
            .filter(|s| {
                self.selectors
                    .iter()
                    .any(|sel| sel.matches(&s.name, &s.labels))
            })
            .collect();
        Ok(self.translator.translate(&kept, at).values)
    }

    async fn fetch(&self) -> Result<String, ScrapeError> {
        let fail = |e: reqwest::Error| {
            ScrapeError::Fetch(if e.is_timeout() {
                format!("no answer within {:?}", self.spec.timeout())
            } else if e.is_connect() {
                "connection refused or unreachable".into()
            } else {
                e.to_string()
            })
        };
        let mut response = self
            .http
            .get(&self.spec.url)
            .header("Accept", "text/plain;version=0.0.4")
            .send()
            .await
            .map_err(fail)?;
        if !response.status().is_success() {
            return Err(ScrapeError::Fetch(format!("HTTP {}", response.status())));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(fail)? {
            body.extend_from_slice(&chunk);
            if body.len() > MAX_BODY {
                return Err(ScrapeError::Fetch(format!(
                    "answer larger than {} MiB",
                    MAX_BODY >> 20
                )));
            }
        }
        String::from_utf8(body).map_err(|_| ScrapeError::Fetch("answer is not UTF-8".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_timeout() {
        let spec: ScrapeSpec = serde_json::from_str(r#"{"url":"http://x:9100/metrics"}"#).unwrap();
        assert_eq!(spec.interval, Duration::from_secs(15));
        assert_eq!(spec.timeout(), Duration::from_secs(10));
        assert!(spec.metrics.iter().any(|m| m == "node_load1"));
        let spec = ScrapeSpec {
            interval: Duration::from_secs(1),
            ..spec
        };
        assert!(spec.timeout() < spec.interval);
    }

    #[tokio::test]
    async fn an_unreachable_exporter_is_an_error_not_a_panic() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let mut scraper = Scraper::new(ScrapeSpec {
            url: format!("http://127.0.0.1:{port}/metrics"),
            interval: Duration::from_secs(1),
            source: None,
            metrics: vec!["*".into()],
        })
        .unwrap();
        let err = scraper.scrape().await.unwrap_err();
        assert!(matches!(err, ScrapeError::Fetch(_)), "{err}");
    }
}
