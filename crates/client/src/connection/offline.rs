//! Commands while there is no session: waiting out a backoff delay, in a
//! terminal state, or while dialing and fetching a token.

use std::future::Future;

use tokio::time::{sleep_until, Instant};

use super::{After, Cmd, Connection, End};
use crate::{code, Error, Event};

/// What a command means while there is no session.
pub(super) enum Offline {
    /// Connect now.
    Go,
    Close,
    Exit,
}

impl Connection {
    /// (or forever when `None`). `terminal` fails calls instead of queueing.
    pub(super) async fn offline(
        &mut self,
        until: Option<Instant>,
        terminal: Option<&Error>,
    ) -> Offline {
        loop {
            let command = match until {
                Some(at) => tokio::select! {
                    command = self.commands.recv() => command,
                    _ = sleep_until(at) => return Offline::Go,
                },
                None => self.commands.recv().await,
            };
            if let Some(outcome) = self.on_offline_command(command, terminal) {
                return outcome;
            }
        }
    }

    fn on_offline_command(
        &mut self,
        command: Option<Cmd>,
        terminal: Option<&Error>,
    ) -> Option<Offline> {
        let Some(command) = command else {
            return Some(Offline::Exit);
        };
        match command {
            Cmd::Subscribe(channel) => {
                self.subs.add(&channel);
            }
            Cmd::Unsubscribe(channel) => self.unsubscribed(&channel),
            Cmd::Call(request) => match terminal {
                Some(error) => {
                    let _ = request.reply.send(Err(error.clone()));
                }
                None => self.calls.queue(*request),
            },
            Cmd::SetToken(token) => self.token = token,
            Cmd::Reconnect => {
                self.backoff.reset();
                self.attempts = 0;
                return Some(Offline::Go);
            }
            Cmd::Close => return Some(Offline::Close),
        }
        None
    }

    fn unsubscribed(&mut self, channel: &str) {
        if self.subs.remove(channel) {
            self.events.send(Event::Unsubscribed {
                channel: channel.to_string(),
                code: 0,
                reason: "unsubscribe called".into(),
            });
        }
    }

    /// Runs `work` while serving commands, bounded by `deadline`.
    pub(super) async fn offline_until<F: Future>(
        &mut self,
        deadline: Instant,
        work: F,
        what: &str,
    ) -> Result<F::Output, End> {
        tokio::pin!(work);
        loop {
            let command = tokio::select! {
                output = &mut work => return Ok(output),
                _ = sleep_until(deadline) => {
                    return Err(End::transport(format!(
                        "connect timeout: {what} took longer than {:?}",
                        self.options.connect_timeout
                    )))
                }
                command = self.commands.recv() => command,
            };
            let command = match command {
                Some(Cmd::Reconnect) => continue, // already connecting
                other => other,
            };
            match self.on_offline_command(command, None) {
                Some(Offline::Close) => {
                    return Err(End::new(
                        code::CLOSE_CALLED,
                        "disconnect called",
                        After::Close,
                    ))
                }
                Some(Offline::Exit) => {
                    return Err(End::new(code::CLOSE_CALLED, "client dropped", After::Exit))
                }
                Some(Offline::Go) | None => {}
            }
        }
    }
}
