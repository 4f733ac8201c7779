//! What the client tells the application: typed events.

use serde::Serialize;
use telltale_protocol::command::StreamPosition;
use telltale_protocol::{Alarm, MetricSample, RawJson, ALARMS_CHANNEL, METRICS_PREFIX};

use crate::{Error, State};

/// One thing that happened, in the order it happened.
#[derive(Debug, Clone)]
pub enum Event {
    /// The connection state changed.
    State(State),
    /// A subscription is active (after a connect or a reconnect).
    Subscribed {
        /// Channel.
        channel: String,
        /// The client asked to recover from a known position.
        was_recovering: bool,
        /// Every missed publication was recovered; they follow as
        /// [`Event::Publication`]s, in order.
        recovered: bool,
        /// The stream position after the reply, when the channel is positioned.
        position: Option<StreamPosition>,
    },
    /// Recovery failed: publications were missed and cannot be replayed
    /// (history expired, hub restarted with a new epoch). The application
    /// must reload its state, e.g. call `alarms.active` for alarms.
    Gap {
        /// Channel.
        channel: String,
        /// The last position the client had seen, if any.
        last_seen: Option<StreamPosition>,
        /// Where the stream is now; live publications continue from here.
        now: StreamPosition,
    },
    /// A subscription ended: by [`crate::Client::unsubscribe`] (code 0), an
    /// `unsubscribe` push from the server, or a subscribe error (its code).
    Unsubscribed {
        /// Channel.
        channel: String,
        /// Code: 0, the server's unsubscribe code, or an error code.
        code: u32,
        /// Why.
        reason: String,
    },
    /// A publication, live or recovered; each offset is delivered once.
    Publication(Publication),
    /// The application read events too slowly and this many metric
    /// publications were dropped since the previous `Lagged`. Alarm and all
    /// other events are never dropped.
    Lagged {
        /// Number of dropped metric publications.
        dropped: u64,
    },
    /// A problem that did not end the connection, e.g. a temporary
    /// subscribe error that will be retried, or a failing token source.
    Error(Error),
}

/// A publication on a channel.
#[derive(Debug, Clone, Serialize)]
pub struct Publication {
    /// Channel.
    pub channel: String,
    /// Position in the channel's stream (0 when the channel is not positioned).
    pub offset: u64,
    /// The published data, as sent.
    pub data: RawJson,
    /// The data decoded as a Telltale payload, when it is one.
    #[serde(skip)]
    pub payload: Payload,
}

/// A publication's data, decoded by channel.
#[derive(Debug, Clone, PartialEq)]
pub enum Payload {
    /// `metrics:<source>` data that is a [`MetricSample`].
    Metric(MetricSample),
    /// `alarms` data that is an [`Alarm`]. Boxed: an alarm (labels, links) is many
    /// times a sample's size, and metrics are most publications.
    Alarm(Box<Alarm>),
    /// Anything else: see [`Publication::data`].
    Raw,
}

impl Publication {
    /// A publication with its payload decoded from `data` by channel name.
    pub fn new(channel: String, offset: u64, data: RawJson) -> Self {
        let payload = decode(&channel, &data);
        Self {
            channel,
            offset,
            data,
            payload,
        }
    }

    /// Whether this publication may be dropped when the consumer lags
    /// (metric samples only; alarms and other channels never are).
    pub fn is_droppable(&self) -> bool {
        self.channel.starts_with(METRICS_PREFIX)
    }
}

fn decode(channel: &str, data: &RawJson) -> Payload {
    if channel == ALARMS_CHANNEL {
        if let Ok(alarm) = serde_json::from_str(data.get()) {
            return Payload::Alarm(alarm);
        }
    } else if channel.starts_with(METRICS_PREFIX) {
        if let Ok(sample) = serde_json::from_str(data.get()) {
            return Payload::Metric(sample);
        }
    }
    Payload::Raw
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(json: &str) -> RawJson {
        serde_json::value::RawValue::from_string(json.into()).unwrap()
    }

    #[test]
    fn decodes_by_channel_and_falls_back_to_raw() {
        let metric = Publication::new(
            "metrics:h".into(),
            1,
            raw(r#"{"ts":1,"values":{"cpu.total":12.5}}"#),
        );
        assert!(matches!(metric.payload, Payload::Metric(ref s) if s.values["cpu.total"] == 12.5));
        assert!(metric.is_droppable());
        let alarm = Publication::new(
            "alarms".into(),
            2,
            raw(
                r#"{"id":"h/cpu","source":"h","severity":"warning","state":"firing","title":"CPU","ts":1}"#,
            ),
        );
        assert!(matches!(alarm.payload, Payload::Alarm(ref a) if a.id == "h/cpu"));
        assert!(!alarm.is_droppable());
        let odd = Publication::new("alarms".into(), 3, raw(r#"{"text":"hi"}"#));
        assert_eq!(odd.payload, Payload::Raw);
        assert_eq!(
            serde_json::to_string(&odd).unwrap(),
            r#"{"channel":"alarms","offset":3,"data":{"text":"hi"}}"#
        );
    }
}
