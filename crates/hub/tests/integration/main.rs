//! Integration tests: a real hub on 127.0.0.1 (port 0), real WebSockets.
//!
//! One test binary with modules, so the suite links once.

mod support;

mod hostile;

mod alert_webhooks;
mod alertmanager_real;
mod auth;
mod bad_input;
mod binary;
mod cluster;
mod delivery;
mod failover;
mod lifecycle;
mod permissions;
mod publish_key;
mod recovery;
mod redis_server;
mod rpc;
mod rules;
mod silent;
mod tls;
mod web;
