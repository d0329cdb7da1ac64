//! The terminal's live view while a scenario runs: on a TTY, a progress bar with the phase and
//! the attack's counters; otherwise nothing (the line per scenario and the table at the end
//! are printed either way, so logs of CI runs stay plain).

use std::io::IsTerminal;
use std::sync::Arc;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use crate::dos::runner::{OnTick, Tick};
use crate::probe::Phase;

/// One scenario's bar (none when stdout is not a terminal).
pub struct Progress {
    bar: Option<ProgressBar>,
}

impl Progress {
    /// A bar for scenario `name`, whose phases last `total` together.
    pub fn start(name: &str, total: Duration) -> Progress {
        if !std::io::stdout().is_terminal() {
            return Progress { bar: None };
        }
        let bar = ProgressBar::new(u64::try_from(total.as_millis()).unwrap_or(u64::MAX));
        let style = ProgressStyle::with_template("{prefix:<21} [{bar:30}] {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
        bar.set_style(style);
        bar.set_prefix(name.to_string());
        Progress { bar: Some(bar) }
    }

    /// The callback that moves the bar, if there is one.
    pub fn on_tick(&self) -> Option<OnTick> {
        let bar = self.bar.clone()?;
        Some(Arc::new(move |t: Tick| {
            bar.set_position(t.at_ms as u64);
            bar.set_message(message(&t));
        }))
    }

    /// Removes the bar (the scenario's line is printed after it).
    pub fn finish(self) {
        if let Some(bar) = self.bar {
            bar.finish_and_clear();
        }
    }
}

/// What the bar says at `t`.
pub fn message(t: &Tick) -> String {
    let phase = match t.phase {
        Phase::Baseline => "baseline",
        Phase::Attack => "ATTACK",
        Phase::Recovery => "recovery",
    };
    format!(
        "{phase} {:.0}/{:.0} s; attack: {} open, {} connects, {} responses",
        t.at_ms / 1000.0,
        t.total_ms / 1000.0,
        t.attack.open,
        t.attack.connects,
        t.attack.responses
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dos::AttackSample;

    #[test]
    fn the_message_names_the_phase_and_the_counters() {
        let t = Tick {
            at_ms: 4200.0,
            total_ms: 10_000.0,
            phase: Phase::Attack,
            attack: AttackSample {
                at_ms: 4200.0,
                open: 12,
                connects: 340,
                responses: 5600,
            },
        };
        assert_eq!(
            message(&t),
            "ATTACK 4/10 s; attack: 12 open, 340 connects, 5600 responses"
        );
        // Not a terminal under the test harness: no bar, no callback.
        let p = Progress::start("x", Duration::from_secs(1));
        assert!(p.on_tick().is_none());
        p.finish();
    }
}
