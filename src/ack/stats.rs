//! [`AckQueue::stats`]: a snapshot of the queue's counts.

use core::time::Duration;

use super::entry::{Phase, State};
use super::receive::UNSTAMPED;
use super::AckQueue;
use crate::stats::{self, Stats};
use crate::sync::Ordering;

impl<T> AckQueue<T> {
    /// A snapshot of counts and totals (see [`Stats`]); scans the table
    /// for the oldest delivery.
    pub fn stats(&self) -> Stats {
        let c = &self.counters;
        let laps = self.fresh.laps();
        let published = laps.count(self.fresh.tail().0);
        let taken = laps.count(self.fresh.head());
        let fresh = published.saturating_sub(taken) as usize;
        // Relaxed everywhere: statistics.
        let waiting = self.redeliver.len() + self.delayed.load(Ordering::Relaxed);
        let now = self.now();
        let mut in_flight = 0;
        // Acked while a guard still reads them: counted from the ack on.
        let mut acked_held = 0;
        let oldest = (0..self.table.len() as u32)
            .filter_map(|i| {
                let entry = self.table.get(i);
                let state = State(entry.state.load(Ordering::Relaxed));
                if state.phase() == Phase::Settled {
                    acked_held += 1;
                }
                if !matches!(state.phase(), Phase::InFlight | Phase::Extending) {
                    return None;
                }
                in_flight += 1;
                let at = entry.delivered_at.load(Ordering::Relaxed);
                if at == UNSTAMPED {
                    // Received without a clock reading: its age counts from
                    // now. Relaxed CAS: a statistic; if the entry was reused
                    // meanwhile, its new receiver stores `UNSTAMPED` (or a
                    // reading) after us or we stamp its delivery instead,
                    // both harmless to the queue.
                    let _ = entry.delivered_at.compare_exchange(
                        UNSTAMPED,
                        now,
                        Ordering::Relaxed,
                        Ordering::Relaxed,
                    );
                    return Some(0);
                }
                Some(now.saturating_sub(at))
            })
            .max()
            .map(Duration::from_nanos);
        let dead_lettered = stats::read(&c.dead_lettered);
        Stats {
            ready: fresh + waiting,
            in_flight,
            dead_letters: dead_lettered.saturating_sub(stats::read(&c.dead_taken)) as usize,
            published,
            delivered: taken.saturating_sub(stats::read(&c.drained)) + stats::read(&c.redelivered),
            redelivered: stats::read(&c.redelivered),
            acked: stats::read(&self.acked) + acked_held,
            nacked: stats::read(&c.nacked),
            expired: stats::read(&c.expired),
            dead_lettered,
            oldest_in_flight: oldest,
        }
    }
}
