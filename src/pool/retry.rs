//! What to do after a failed connection attempt: retry the same server, redispatch to
//! another one, or give up. A pure port of HAProxy's `back_handle_st_cer()` and
//! `stream_choose_redispatch()` (reference 2.4), with the 2.6-stable fixes: `retries n`
//! allows n+1 attempts (bc6b23813) and no turnaround delay when redispatching to another
//! server (406efb96d).

use std::time::Duration;

/// Everything the decision depends on.
#[derive(Debug, Clone, Copy)]
pub struct RetryInput {
    /// Failed connection attempts so far, including the one that just failed (1-based).
    pub failures: u32,
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
    if input.failures > input.retries {
        return RetryAction::GiveUp;
    }
    let k = input.failures as i64;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> RetryInput {
        RetryInput {
            failures: 1,
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
            .map(|failures| after_connect_failure(&RetryInput { failures, ..input }))
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

    /// OBS-13: retries 3 + `option redispatch`, cookie to a dead server: three attempts on
    /// it, one second apart, then the fourth on another server at once.
    #[test]
    fn default_redispatch_happens_on_the_last_retry() {
        assert_eq!(
            run(base()),
            vec![SAME_1S, SAME_1S, REDISPATCH_NOW, RetryAction::GiveUp]
        );
    }

    /// OBS-13 without redispatch: four attempts, then 503.
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

    /// OBS-14: `option redispatch 1` redispatches after the first failure, no wait.
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

    /// `retries 0` with redispatch: immediate 503 (OBS-14).
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

    /// OBS-14: only one active server left: the turnaround applies even on redispatch.
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
}
