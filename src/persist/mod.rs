//! Cookie-based session persistence with HAProxy 2.6's exact wire behaviour
//! (docs/haproxy-compatibility.md §2-§11, differences in §19). Pure logic: no clock, no I/O; time
//! comes in as unix seconds.
//!
//! Flow for one exchange:
//! 1. At configuration time, [`CookiePolicy::new`] validates the backend's [`CookieSpec`]
//!    and precomputes each server's `Set-Cookie` value ([`dynamic_cookie`] gives the value
//!    of servers without an explicit one when `dynamic_key` is set).
//! 2. After `force_persist` / `ignore_persist` and use-server rules, the proxy calls
//!    [`analyse_request`] with the values of the request's `Cookie` headers. The
//!    [`RequestVerdict`] names the server the cookie chose (the request is then DIRECT),
//!    the client log flag, the cookie's dates, and the edits to apply to the `Cookie`
//!    headers before forwarding (insert+indirect removes our cookie, prefix mode strips
//!    `SRV~`).
//! 3. When the response headers arrive, the proxy computes [`is_cacheable`] and calls
//!    [`analyse_response`] with the values of the `Set-Cookie` headers. The
//!    [`ResponseVerdict`] holds the edits of those headers, the `Set-Cookie` to append
//!    after all the server's headers, whether to append `Cache-control: private` after it,
//!    and the server log flag.

pub mod appsession;
mod cache;
mod date;
mod dynamic;
mod edit;
mod failover;
mod flags;
pub mod mode;
mod policy;
mod request;
mod response;
mod scan;
mod spec;

#[cfg(test)]
mod tests;

pub use cache::is_cacheable;
pub use date::{decode_date, encode_date};
pub use dynamic::dynamic_cookie;
pub use edit::{EditAction, HeaderEdit};
pub use failover::refuses_to_move;
pub use flags::{ClientFlag, ServerFlag};
pub use mode::CookieMode;
pub use policy::CookiePolicy;
pub use request::{analyse_request, PersistOverride, RequestContext, RequestVerdict};
pub use response::{analyse_response, ResponseContext, ResponseVerdict};
pub use spec::{cookie_text_problem, CookieSpec, Problem};
