//! What to do after a failed attempt: retry the same server, redispatch to another one, or
//! give up.
//!
//! - [`after_connect_failure`]: the connection could not be made. A pure port of
//!   HAProxy's `back_handle_st_cer()` and `stream_choose_redispatch()`
//!   (docs/haproxy-compatibility.md §12), with the 2.6-stable fixes: `retries n` allows n+1
//!   attempts (bc6b23813) and no turnaround delay when redispatching to another server
//!   (406efb96d).
//! - [`after_proxy_failure`]: the connection was made, then the exchange failed. tether's
//!   own rule (HAProxy needs `retry-on conn-failure empty-response` for part of it): a
//!   safe request that got no response byte yet moves to another server.
//!
//! Both share one budget: a request reaches the backends at most `1 + retries` times, and
//! never again because the *client* side failed.

use std::time::Duration;

/// Everything the decision depends on.
#[derive(Debug, Clone, Copy)]
pub struct RetryInput {
    /// Attempts so far, including the one that just failed (1-based). HAProxy counts
    /// connection failures only; tether also counts an attempt lost on a stale pooled
    /// connection, so that "the last retry" is still the last one the budget allows.
    pub attempts: u32,
    /// The backend's `retries`.
    pub retries: u32,
    /// HAProxy `redispatch_after`: 0 = off, n > 0 = every n-th retry, n < 0 = the
    /// |n|-th retry from the end (`true` in the config is -1: the last retry).
    pub redispatch_after: i32,
    /// A matching `force_persist` rule: never redispatch.
    pub force_persist: bool,
    /// The server is in maint or down (HAProxy `cur_state < SRV_ST_RUNNING`).
    pub server_stopped: bool,
    /// The request was persisted (HAProxy `SF_DIRECT`).
    pub direct: bool,
    /// Active servers that may take new clients (HAProxy `srv_act`).
    pub usable_active: usize,
    /// The algorithm is of the round-robin kind (roundrobin, static-rr, random): another
    /// server is as good as this one.
    pub round_robin_kind: bool,
    /// The failure happened on a reused (pooled) connection: no turnaround delay.
    pub reused_connection: bool,
    /// `timeouts.connect`: the turnaround delay is `min(connect, 1s)`.
    pub connect_timeout: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryAction {
    /// No retry left: answer 503.
    GiveUp,
    /// Try again after `wait`; on another server (chosen by the balancer, avoiding the
    /// failed one) when `redispatch` is set, else on the same one.
    Retry { redispatch: bool, wait: Duration },
}

/// HAProxy's decision after a failed connection attempt.
pub fn after_connect_failure(input: &RetryInput) -> RetryAction {
    if input.attempts > input.retries {
        return RetryAction::GiveUp;
    }
    let k = input.attempts as i64;
    let after = input.redispatch_after as i64;
    let on_schedule = if after > 0 {
        k % after == 0
    } else if after < 0 {
        let period = input.retries as i64 + 1 + after;
        period > 0 && k % period == 0
    } else {
        false
    };
    let redispatch = after != 0
        && !input.force_persist
        && (input.server_stopped
            || on_schedule
            || (!input.direct && input.usable_active > 1 && input.round_robin_kind));
    // Only wait when the next attempt is likely to hit the same server again.
    let same_server_likely = !redispatch || input.usable_active <= 1;
    let wait = if same_server_likely && !input.reused_connection {
        input.connect_timeout.min(Duration::from_secs(1))
    } else {
        Duration::ZERO
    };
    RetryAction::Retry { redispatch, wait }
}

/// Which side of the proxy an error came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailedSide {
    /// The client: it closed, reset, or was too slow. Never a reason to try again.
    Client,
    /// The server, or the connection to it.
    Server,
    /// tether or Pingora itself (a filter failed, an answer could not be reconciled): the
    /// same failure would follow the request to any server.
    Proxy,
}

/// Everything the decision after a failed exchange depends on.
#[derive(Debug, Clone, Copy)]
pub struct ProxyFailure {
    pub side: FailedSide,
    /// The server did not answer within `timeouts.server`: it is slow, not gone, and
    /// sending the request elsewhere would multiply the load at the worst moment (HAProxy
    /// does not retry on a response timeout either).
    pub server_timed_out: bool,
    /// The client's request (body included) has been received whole. A request whose
    /// body is still coming would make the next attempt wait on the same client.
    pub request_complete: bool,
    /// A matching `force_persist` rule: the request never leaves its server.
    pub force_persist: bool,
    /// Attempts so far, including the one that just failed (1-based).
    pub attempts: u32,
    /// The backend's `retries`.
    pub retries: u32,
    /// GET, HEAD, OPTIONS or TRACE (RFC 9110 §9.2.1): sending it twice changes nothing.
    pub safe_method: bool,
    /// PUT and DELETE too (RFC 9110 §9.2.2).
    pub idempotent_method: bool,
    /// A response byte already reached the client, or the request body was not kept for
    /// a replay: the request cannot be sent again.
    pub committed: bool,
    /// The failed exchange ran on a reused (pooled) connection.
    pub reused_connection: bool,
    /// A failure on a reused connection was already retried on the same server.
    pub stale_retry_done: bool,
    /// Pingora's own verdict for an idempotent request (its errors on reused connections
    /// are retryable: the server may have closed the idle connection as we wrote).
    pub pingora_retry: bool,
}

/// What to do after a failed exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProxyRetry {
    /// Answer with an error (or, when the client left, nothing).
    GiveUp,
    /// The same server on a fresh connection: the pooled one was probably closed by the
    /// server while idle. Not a retry in HAProxy's log (HAProxy never sees these).
    FreshConnection,
    /// Another server, counted as a retry and a redispatch.
    OtherServer,
}

/// tether's rule after a failed exchange (docs/haproxy-compatibility.md §12.3). Nothing is
/// sent again when the client or tether itself caused the failure, when the server only
/// timed out, when a response byte already reached the client, while the client is still
/// sending its body, or when the attempts budget (`1 + retries`) is spent. Otherwise:
/// - a failed reused (pooled) connection is retried once on the same server on a fresh
///   connection, for safe requests, and for idempotent ones when Pingora deems the error a
///   stale connection;
/// - a safe request is then sent to another server (not with `force_persist`).
pub fn after_proxy_failure(f: &ProxyFailure) -> ProxyRetry {
    let final_failure = f.side != FailedSide::Server
        || f.server_timed_out
        || !f.request_complete
        || f.committed
        || f.attempts > f.retries;
    if final_failure {
        return ProxyRetry::GiveUp;
    }
    let stale = f.reused_connection && !f.stale_retry_done;
    if stale && (f.safe_method || (f.idempotent_method && f.pingora_retry)) {
        ProxyRetry::FreshConnection
    } else if f.safe_method && !f.force_persist {
        ProxyRetry::OtherServer
    } else {
        ProxyRetry::GiveUp
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> RetryInput {
        RetryInput {
            attempts: 1,
            retries: 3,
            redispatch_after: -1,
            force_persist: false,
            server_stopped: false,
            direct: true,
            usable_active: 2,
            round_robin_kind: true,
            reused_connection: false,
            connect_timeout: Duration::from_secs(5),
        }
    }

    fn run(input: RetryInput) -> Vec<RetryAction> {
        (1..=input.retries + 1)
            .map(|attempts| after_connect_failure(&RetryInput { attempts, ..input }))
            .collect()
    }

    const SAME_1S: RetryAction = RetryAction::Retry {
        redispatch: false,
        wait: Duration::from_secs(1),
    };
    const REDISPATCH_NOW: RetryAction = RetryAction::Retry {
        redispatch: true,
        wait: Duration::ZERO,
    };

    /// Seen on HAProxy 2.6.12: retries 3 + `option redispatch`, cookie to a dead server: three
    /// attempts on it, one second apart, then the fourth on another server at once.
    #[test]
    fn default_redispatch_happens_on_the_last_retry() {
        assert_eq!(
            run(base()),
            vec![SAME_1S, SAME_1S, REDISPATCH_NOW, RetryAction::GiveUp]
        );
    }

    /// Seen on HAProxy 2.6.12, without redispatch: four attempts, then 503.
    #[test]
    fn without_redispatch_all_attempts_go_to_the_same_server() {
        let input = RetryInput {
            redispatch_after: 0,
            ..base()
        };
        assert_eq!(
            run(input),
            vec![SAME_1S, SAME_1S, SAME_1S, RetryAction::GiveUp]
        );
    }

    /// Seen on HAProxy 2.6.12: `option redispatch 1` redispatches after the first failure, no wait.
    #[test]
    fn interval_one_redispatches_every_time() {
        let input = RetryInput {
            redispatch_after: 1,
            ..base()
        };
        assert_eq!(after_connect_failure(&input), REDISPATCH_NOW);
    }

    #[test]
    fn interval_two_redispatches_every_second_retry() {
        let input = RetryInput {
            redispatch_after: 2,
            ..base()
        };
        assert_eq!(
            run(input),
            vec![SAME_1S, REDISPATCH_NOW, SAME_1S, RetryAction::GiveUp]
        );
    }

    /// `retries 0` with redispatch: immediate 503 (seen on HAProxy 2.6.12).
    #[test]
    fn zero_retries_gives_up_at_once() {
        let input = RetryInput {
            retries: 0,
            ..base()
        };
        assert_eq!(after_connect_failure(&input), RetryAction::GiveUp);
    }

    /// A server known to be down or in maintenance is left at the first failure.
    #[test]
    fn stopped_server_redispatches_at_once() {
        let input = RetryInput {
            server_stopped: true,
            ..base()
        };
        assert_eq!(after_connect_failure(&input), REDISPATCH_NOW);
    }

    /// Seen on HAProxy 2.6.12: only one active server left: the turnaround applies even on
    /// redispatch.
    #[test]
    fn single_active_server_still_waits_when_redispatching() {
        let input = RetryInput {
            server_stopped: true,
            usable_active: 1,
            ..base()
        };
        assert_eq!(
            after_connect_failure(&input),
            RetryAction::Retry {
                redispatch: true,
                wait: Duration::from_secs(1)
            }
        );
    }

    #[test]
    fn force_persist_never_redispatches() {
        let input = RetryInput {
            force_persist: true,
            server_stopped: true,
            ..base()
        };
        assert_eq!(
            run(input),
            vec![SAME_1S, SAME_1S, SAME_1S, RetryAction::GiveUp]
        );
    }

    /// A non-persistent request under round robin does not care which server it gets.
    #[test]
    fn load_balanced_request_under_round_robin_redispatches_at_once() {
        let input = RetryInput {
            direct: false,
            ..base()
        };
        assert_eq!(after_connect_failure(&input), REDISPATCH_NOW);
        let leastconn = RetryInput {
            round_robin_kind: false,
            ..input
        };
        assert_eq!(after_connect_failure(&leastconn), SAME_1S);
    }

    #[test]
    fn turnaround_is_capped_by_the_connect_timeout() {
        let input = RetryInput {
            redispatch_after: 0,
            connect_timeout: Duration::from_millis(200),
            ..base()
        };
        assert_eq!(
            after_connect_failure(&input),
            RetryAction::Retry {
                redispatch: false,
                wait: Duration::from_millis(200)
            }
        );
    }

    #[test]
    fn reused_connection_failure_retries_without_waiting() {
        let input = RetryInput {
            redispatch_after: 0,
            reused_connection: true,
            ..base()
        };
        assert_eq!(
            after_connect_failure(&input),
            RetryAction::Retry {
                redispatch: false,
                wait: Duration::ZERO
            }
        );
    }

    /// A negative interval larger than the retry count never divides by zero.
    #[test]
    fn oversized_negative_interval_is_harmless() {
        let input = RetryInput {
            redispatch_after: -10,
            ..base()
        };
        assert_eq!(
            run(input),
            vec![SAME_1S, SAME_1S, SAME_1S, RetryAction::GiveUp]
        );
    }

    /// An attempt lost on a stale pooled connection uses up the same budget, and the
    /// redispatch "on the last retry" still comes on the last attempt allowed: a dead
    /// server found through its pooled connection first (attempt 1), then refusing
    /// connections (attempts 2 and 3), is left for attempt 4.
    #[test]
    fn connect_retries_share_the_attempts_budget() {
        let after_stale = |attempts| after_connect_failure(&RetryInput { attempts, ..base() });
        assert_eq!(
            [after_stale(2), after_stale(3), after_stale(4)],
            [SAME_1S, REDISPATCH_NOW, RetryAction::GiveUp]
        );
    }

    fn failure() -> ProxyFailure {
        ProxyFailure {
            side: FailedSide::Server,
            server_timed_out: false,
            request_complete: true,
            force_persist: false,
            attempts: 1,
            retries: 3,
            safe_method: true,
            idempotent_method: true,
            committed: false,
            reused_connection: false,
            stale_retry_done: false,
            pingora_retry: false,
        }
    }

    #[test]
    fn safe_request_without_an_answer_moves_to_another_server() {
        assert_eq!(after_proxy_failure(&failure()), ProxyRetry::OtherServer);
    }

    #[test]
    fn failed_pooled_connection_is_retried_once_on_the_same_server() {
        let f = ProxyFailure {
            reused_connection: true,
            ..failure()
        };
        assert_eq!(after_proxy_failure(&f), ProxyRetry::FreshConnection);
        let again = ProxyFailure {
            stale_retry_done: true,
            attempts: 2,
            ..f
        };
        assert_eq!(after_proxy_failure(&again), ProxyRetry::OtherServer);
    }

    /// A client that hangs up (or stalls) never makes the request go out again: this is
    /// what kept a client from multiplying its load on the backends.
    #[test]
    fn client_side_failures_are_never_retried() {
        for reused in [false, true] {
            let f = ProxyFailure {
                side: FailedSide::Client,
                reused_connection: reused,
                pingora_retry: true,
                ..failure()
            };
            assert_eq!(after_proxy_failure(&f), ProxyRetry::GiveUp);
        }
    }

    #[test]
    fn the_budget_is_one_plus_retries_attempts() {
        let outcomes: Vec<ProxyRetry> = (1..=5)
            .map(|attempts| {
                after_proxy_failure(&ProxyFailure {
                    attempts,
                    ..failure()
                })
            })
            .collect();
        assert_eq!(
            outcomes,
            [
                ProxyRetry::OtherServer,
                ProxyRetry::OtherServer,
                ProxyRetry::OtherServer,
                ProxyRetry::GiveUp,
                ProxyRetry::GiveUp
            ]
        );
        let none = ProxyFailure {
            retries: 0,
            ..failure()
        };
        assert_eq!(after_proxy_failure(&none), ProxyRetry::GiveUp);
    }

    #[test]
    fn a_started_response_or_a_lost_body_cannot_be_replayed() {
        let f = ProxyFailure {
            committed: true,
            ..failure()
        };
        assert_eq!(after_proxy_failure(&f), ProxyRetry::GiveUp);
    }

    #[test]
    fn other_methods_follow_pingoras_verdict_when_idempotent() {
        let put = ProxyFailure {
            safe_method: false,
            ..failure()
        };
        assert_eq!(after_proxy_failure(&put), ProxyRetry::GiveUp);
        let stale_put = ProxyFailure {
            pingora_retry: true,
            reused_connection: true,
            ..put
        };
        assert_eq!(after_proxy_failure(&stale_put), ProxyRetry::FreshConnection);
        let post = ProxyFailure {
            idempotent_method: false,
            ..stale_put
        };
        assert_eq!(after_proxy_failure(&post), ProxyRetry::GiveUp);
    }

    /// A slow server is not retried elsewhere: with `timeouts.server: 30s` a 40 s request
    /// would otherwise run on four servers.
    #[test]
    fn a_server_timeout_is_final() {
        let f = ProxyFailure {
            server_timed_out: true,
            ..failure()
        };
        assert_eq!(after_proxy_failure(&f), ProxyRetry::GiveUp);
    }

    /// A client still sending its body (slowly) would stall every attempt: the client,
    /// not the server, would multiply the request.
    #[test]
    fn nothing_is_retried_while_the_body_is_still_coming() {
        let f = ProxyFailure {
            request_complete: false,
            ..failure()
        };
        assert_eq!(after_proxy_failure(&f), ProxyRetry::GiveUp);
    }

    /// A failure of tether itself would follow the request anywhere.
    #[test]
    fn proxy_side_failures_are_final() {
        let f = ProxyFailure {
            side: FailedSide::Proxy,
            ..failure()
        };
        assert_eq!(after_proxy_failure(&f), ProxyRetry::GiveUp);
    }

    /// `force_persist`: a stale pooled connection is retried on the same server, but the
    /// request is never sent to another one.
    #[test]
    fn force_persist_never_leaves_the_server() {
        let f = ProxyFailure {
            force_persist: true,
            ..failure()
        };
        assert_eq!(after_proxy_failure(&f), ProxyRetry::GiveUp);
        let stale = ProxyFailure {
            reused_connection: true,
            ..f
        };
        assert_eq!(after_proxy_failure(&stale), ProxyRetry::FreshConnection);
    }

    /// The fresh-connection retry of an idempotent request happens once.
    #[test]
    fn idempotent_stale_retry_happens_once() {
        let put = ProxyFailure {
            safe_method: false,
            reused_connection: true,
            pingora_retry: true,
            ..failure()
        };
        assert_eq!(after_proxy_failure(&put), ProxyRetry::FreshConnection);
        let again = ProxyFailure {
            stale_retry_done: true,
            attempts: 2,
            ..put
        };
        assert_eq!(after_proxy_failure(&again), ProxyRetry::GiveUp);
    }
}
