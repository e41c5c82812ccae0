//! Shared test support: include with `mod common;` from a test file.
//!
//! * [`http`]: raw synchronous HTTP/1.1 client (exact bytes, timeouts).
//! * [`ports`]: free loopback ports and readiness polling.
//! * [`haproxy`]: a real HAProxy under test, with its runtime API.
//!
//! The echo origin server is `tether_echo`.

// Each test binary uses a different subset of these helpers.
#![allow(dead_code)]

pub mod haproxy;
pub mod http;
pub mod pair;
pub mod ports;
pub mod tether;

/// Returns early from a differential test when HAProxy is missing and
/// `TETHER_SKIP_HAPROXY=1` says so (without that variable a missing HAProxy fails).
#[allow(unused_macros)]
macro_rules! skip_without_haproxy {
    () => {
        if !$crate::common::haproxy::Haproxy::available() {
            eprintln!("haproxy not installed: differential test skipped");
            return;
        }
    };
}
#[allow(unused_imports)]
pub(crate) use skip_without_haproxy;
pub mod admin;
pub mod rig;
