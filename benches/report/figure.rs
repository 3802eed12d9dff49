//! A figure of the report: one value per round (a rate, a percentile or a
//! ratio taken within the round), with the machine's load when it was
//! measured; its median (min–max), how noisy it was, and its verdict
//! against a target.
//!
//! - **Spread** (the noise indicator): `(max - min) / median` over the
//!   rounds. A quiet machine keeps it to a few percent; tens of percent
//!   say the rounds disagree and the median is a rough guide.
//! - **Load**: the 1-minute load average read just before each round's
//!   measurement, min–max over the figure's rounds. On a machine with N
//!   cores, a load well above N means other work shared the cores.
//! - **Verdict**: *met* when the median meets the target (every round,
//!   for a target that says so), else *not met*.

use std::fmt;

/// One value per round, with the load then.
#[derive(Clone, Debug, Default)]
pub struct Figure {
    /// (value, 1-minute load average) per round.
    pub rounds: Vec<(f64, f64)>,
}

impl Figure {
    /// The figure of `rounds`, NaN values (nothing measured) left out.
    pub fn new(rounds: impl IntoIterator<Item = (f64, f64)>) -> Figure {
        Figure {
            rounds: rounds.into_iter().filter(|r| r.0.is_finite()).collect(),
        }
    }

    /// (min, median, max); `None` for no rounds.
    pub fn spread(&self) -> Option<(f64, f64, f64)> {
        spread(self.rounds.iter().map(|r| r.0).collect())
    }

    /// The median.
    pub fn median(&self) -> Option<f64> {
        self.spread().map(|s| s.1)
    }

    /// `(max - min) / median`: the noise indicator.
    pub fn noise(&self) -> Option<f64> {
        let (lo, med, hi) = self.spread()?;
        (med > 0.0).then(|| (hi - lo) / med)
    }

    /// Lowest and highest load over the rounds.
    pub fn load(&self) -> Option<(f64, f64)> {
        let loads: Vec<f64> = self
            .rounds
            .iter()
            .map(|r| r.1)
            .filter(|l| l.is_finite())
            .collect();
        let (lo, _, hi) = spread(loads)?;
        Some((lo, hi))
    }

    /// "1.23× (1.01–1.40)", or "–"; three significant digits or so, so
    /// that a ratio in the hundreds reads "154× (26–170)".
    pub fn ratio(&self) -> String {
        match self.spread() {
            Some((lo, med, hi)) => {
                let digits = if med >= 100.0 {
                    0
                } else if med >= 10.0 {
                    1
                } else {
                    2
                };
                format!("{med:.digits$}× ({lo:.digits$}–{hi:.digits$})")
            }
            None => "–".to_string(),
        }
    }

    /// "12%", or "–".
    pub fn noise_text(&self) -> String {
        self.noise()
            .map_or("–".to_string(), |n| format!("{:.0}%", n * 100.0))
    }

    /// "1.2–3.4", or "–".
    pub fn load_text(&self) -> String {
        match self.load() {
            Some((lo, hi)) if (hi - lo) < 0.005 => format!("{lo:.2}"),
            Some((lo, hi)) => format!("{lo:.2}–{hi:.2}"),
            None => "–".to_string(),
        }
    }
}

/// (min, median, max) of `v`; `None` when empty.
pub fn spread(mut v: Vec<f64>) -> Option<(f64, f64, f64)> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    let median = if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    };
    Some((v[0], median, v[n - 1]))
}

/// What a figure should reach.
#[derive(Clone, Copy, Debug)]
pub enum Goal {
    /// A median of at least this ratio.
    AtLeast(f64),
    /// A median of at most this ratio.
    AtMost(f64),
    /// At least this ratio in every round.
    EveryRoundAtLeast(f64),
}

impl Goal {
    /// Whether `got` meets the goal: its median, or its every round.
    fn met_by(self, got: &Figure) -> bool {
        match self {
            Goal::AtLeast(t) => got.median().is_some_and(|m| m >= t),
            Goal::AtMost(t) => got.median().is_some_and(|m| m <= t),
            Goal::EveryRoundAtLeast(t) => got.rounds.iter().all(|r| r.0 >= t),
        }
    }
}

impl fmt::Display for Goal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Goal::AtLeast(t) => write!(f, "≥ {t}×"),
            Goal::AtMost(t) => write!(f, "≤ {t}×"),
            Goal::EveryRoundAtLeast(t) => write!(f, "≥ {t}× every round"),
        }
    }
}

/// One row of the targets table.
#[derive(Clone, Debug)]
pub struct Target {
    /// What is compared, e.g. "1P1C throughput, `Ring` ÷ ArrayQueue".
    pub what: String,
    /// Which calls the figure uses (`Calls::label` or a phrase as plain).
    pub calls: &'static str,
    /// The target, or `None` for a figure shown for context.
    pub goal: Option<Goal>,
    /// The per-round ratios.
    pub got: Figure,
}

impl Target {
    /// **met** when the figure meets the goal (`Goal::met_by`), else *not
    /// met*; "context" without a goal, "not measured" without rounds.
    pub fn verdict(&self) -> &'static str {
        match self.goal {
            None => "context",
            Some(_) if self.got.rounds.is_empty() => "not measured",
            Some(g) if g.met_by(&self.got) => "**met**",
            Some(_) => "not met",
        }
    }

    /// The target as text, "–" without one.
    pub fn goal_text(&self) -> String {
        self.goal.map_or("–".to_string(), |g| g.to_string())
    }
}
