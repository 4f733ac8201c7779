//! telltale-client against a real hub over loopback (port 0), through a TCP
//! proxy that can cut the link. Every wait is bounded (`support::WAIT`);
//! timings are short configured intervals (hub ping 1 s, allowance 1 s),
//! never assertions of speed.

mod calls;
mod delivery;
mod failover;
mod proxy;
mod reconnect;
mod refresh;
mod restart;
mod support;
mod tail;
mod tls;
mod watchdog;
