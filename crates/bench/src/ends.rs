//! How a run's subscribers and publisher ended: the same account for the
//! closed loop (fan-out, sweep) and the open loop, and the report's notes on
//! it, written in one place.

/// Subscribers that ended before the run did, and what the publisher met.
/// The crowd fills the subscribers' part when stopped; the run adds the
/// publishers' once they are collected.
#[derive(Debug, Default)]
pub struct Ends {
    /// Subscribers the server closed with 3008 "slow".
    pub slow_closes: usize,
    /// Subscribers that ended otherwise before the end.
    pub other_ends: usize,
    /// Examples of early ends, 3008 closes included (the first few).
    pub examples: Vec<String>,
    /// Error replies to publish commands.
    pub publish_errors: u64,
    /// The first publish error, or how a publisher's connection ended early.
    pub publisher_problem: Option<String>,
}

/// Which loop a run was: it decides what a 3008 close means.
#[derive(Clone, Copy, Debug)]
pub enum Loop {
    /// The closed loop: the hub runs with a client queue large enough that
    /// no bench subscriber is slow, so a 3008 is a failure.
    Closed,
    /// The open loop: servers run with their defaults and the ramp goes
    /// past what they sustain, so closes are part of what it measures.
    Open,
}

impl Ends {
    /// Notes on subscribers that ended early (`what`: "telltale-hub
    /// fan-out"); none when every one stayed to the end.
    pub fn subscriber_notes(&self, what: &str, run: Loop) -> Vec<String> {
        let mut notes = Vec::new();
        match run {
            Loop::Closed => {
                if self.slow_closes > 0 {
                    notes.push(format!(
                        "{what}: FAILURE: {} subscribers were closed with 3008 (slow)",
                        self.slow_closes
                    ));
                }
                if self.other_ends > 0 {
                    notes.push(format!(
                        "{what}: {} subscribers ended early, e.g. {}",
                        self.other_ends,
                        self.examples.join("; ")
                    ));
                }
            }
            Loop::Open => {
                if self.slow_closes > 0 || self.other_ends > 0 {
                    notes.push(format!(
                        "{what}: the server closed or lost {} subscribers ({} with 3008) during the ramp, \
                         e.g. {} (they count as not delivered from then on)",
                        self.slow_closes + self.other_ends,
                        self.slow_closes,
                        self.examples.join("; ")
                    ));
                }
            }
        }
        notes
    }

    /// The note on the publisher's error replies and early end, if any. Kept
    /// apart from [`Ends::subscriber_notes`] because the closed loop lists
    /// lost and repeated deliveries between the two.
    pub fn publisher_note(&self, what: &str) -> Option<String> {
        (self.publish_errors > 0 || self.publisher_problem.is_some()).then(|| {
            format!(
                "{what}: publisher: {} error replies; {}",
                self.publish_errors,
                self.publisher_problem.as_deref().unwrap_or("")
            )
        })
    }
}
