//! The rise/fall state machine of one server's health checks, a port of HAProxy 2.6's
//! `check->health` counter (`set_server_check_status()`, `check_notify_*()` in
//! `src/check.c`).
//!
//! `health` runs from 0 to `rise + fall - 1`; the server is up from `rise` on. A server
//! starts at `rise` — up, but one failure takes it down, as in HAProxy ("up, but will fall
//! down at first failure") — and a first success lifts it to the top, from where `fall`
//! consecutive failures are needed. From down, `rise` consecutive successes bring it up.
//! A conditional pass (404 with `disable_on_404`) counts as a success but puts the server
//! in NOLB: persistent clients only.

use crate::pool::Health;

/// The outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckResult {
    Passed,
    /// HAProxy CHK_RES_CONDPASS: answered 404 with `disable_on_404`.
    ConditionallyPassed,
    Failed,
}

#[derive(Debug, Clone)]
pub struct Tracker {
    rise: u32,
    fall: u32,
    health: u32,
    state: Health,
}

impl Tracker {
    pub fn new(rise: u32, fall: u32) -> Self {
        let (rise, fall) = (rise.max(1), fall.max(1));
        Tracker {
            rise,
            fall,
            health: rise,
            state: Health::Up,
        }
    }

    pub fn state(&self) -> Health {
        self.state
    }

    /// Feeds one result; returns the new state when it changed.
    pub fn record(&mut self, result: CheckResult) -> Option<Health> {
        let top = self.rise + self.fall - 1;
        match result {
            CheckResult::Failed => {
                if self.health > 0 {
                    self.health -= 1;
                    if self.health < self.rise {
                        self.health = 0;
                    }
                }
            }
            CheckResult::Passed | CheckResult::ConditionallyPassed => {
                if self.health < top {
                    self.health += 1;
                    if self.health >= self.rise {
                        self.health = top;
                    }
                }
            }
        }
        let next = if self.health == 0 || self.health < self.rise {
            Health::Down
        } else if result == CheckResult::ConditionallyPassed {
            Health::Nolb
        } else if result == CheckResult::Passed {
            Health::Up
        } else {
            // A failure that did not take the server down leaves it as it was.
            self.state
        };
        (next != self.state).then(|| {
            self.state = next;
            next
        })
    }
}

#[cfg(test)]
mod tests {
    use super::CheckResult::*;
    use super::*;

    fn run(t: &mut Tracker, results: &[CheckResult]) -> Vec<Option<Health>> {
        results.iter().map(|r| t.record(*r)).collect()
    }

    #[test]
    fn a_fresh_server_falls_at_the_first_failure() {
        let mut t = Tracker::new(2, 3);
        assert_eq!(t.record(Failed), Some(Health::Down));
    }

    #[test]
    fn after_a_success_it_takes_fall_failures_to_go_down() {
        let mut t = Tracker::new(2, 3);
        assert_eq!(t.record(Passed), None);
        assert_eq!(
            run(&mut t, &[Failed, Failed, Failed]),
            [None, None, Some(Health::Down)]
        );
    }

    #[test]
    fn it_takes_rise_successes_to_come_back() {
        let mut t = Tracker::new(2, 3);
        t.record(Failed);
        assert_eq!(run(&mut t, &[Passed, Passed]), [None, Some(Health::Up)]);
        // Back at the top: fall failures again.
        assert_eq!(
            run(&mut t, &[Failed, Failed, Failed]),
            [None, None, Some(Health::Down)]
        );
    }

    #[test]
    fn a_success_in_between_resets_the_count() {
        let mut t = Tracker::new(2, 3);
        t.record(Passed);
        assert_eq!(
            run(&mut t, &[Failed, Failed, Passed, Failed, Failed, Failed]),
            [None, None, None, None, None, Some(Health::Down)]
        );
    }

    #[test]
    fn conditional_pass_is_nolb_and_a_pass_lifts_it() {
        let mut t = Tracker::new(2, 3);
        assert_eq!(t.record(ConditionallyPassed), Some(Health::Nolb));
        assert_eq!(t.record(ConditionallyPassed), None);
        assert_eq!(t.record(Passed), Some(Health::Up));
        // From down, 404s count toward rise and come up in NOLB.
        let mut d = Tracker::new(2, 3);
        d.record(Failed);
        assert_eq!(
            run(&mut d, &[ConditionallyPassed, ConditionallyPassed]),
            [None, Some(Health::Nolb)]
        );
        assert_eq!(
            run(&mut d, &[Failed, Failed, Failed]),
            [None, None, Some(Health::Down)]
        );
    }

    #[test]
    fn rise_and_fall_of_one() {
        let mut t = Tracker::new(1, 1);
        assert_eq!(
            run(&mut t, &[Failed, Passed, Failed, Failed, Passed]),
            [
                Some(Health::Down),
                Some(Health::Up),
                Some(Health::Down),
                None,
                Some(Health::Up)
            ]
        );
        let mut z = Tracker::new(0, 0);
        assert_eq!(
            z.record(Failed),
            Some(Health::Down),
            "zeros are treated as one"
        );
    }
}
