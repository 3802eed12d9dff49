//! The batch calls: a run of positions claimed with one CAS on a cursor,
//! filled or emptied in order.

use super::Ring;

impl<T> Ring<T> {
    /// Moves as many items as fit from the front of `items` into the ring,
    /// in order, with one claim on the producers' cursor; returns how many
    /// moved (none on a closed ring). The rest stay in `items`.
    ///
    /// # Examples
    ///
    /// ```
    /// let ring = ackring::Ring::new(3);
    /// let mut items = vec![1, 2, 3, 4, 5];
    /// assert_eq!(ring.try_push_batch(&mut items), 3);
    /// assert_eq!(items, [4, 5]);
    /// ```
    pub fn try_push_batch(&self, items: &mut Vec<T>) -> usize {
        let want = items.len().min(self.capacity());
        if want == 0 {
            return 0;
        }
        let Ok(run) = self.core.claim_push_run::<true>(want as u64) else {
            return 0;
        };
        self.core.publish_run(run, items);
        self.after_push(run.len as usize);
        run.len as usize
    }

    /// Appends up to `max` of the oldest items to `out`, in order, with one
    /// claim on the consumers' cursor; returns how many moved.
    ///
    /// Reserves room in `out` for `max` items first (before taking any), so
    /// give it that much capacity up front to keep the call allocation-free.
    ///
    /// # Examples
    ///
    /// ```
    /// let ring = ackring::Ring::new(8);
    /// let mut items = vec![1, 2, 3];
    /// ring.try_push_batch(&mut items);
    /// let mut out = Vec::with_capacity(8);
    /// assert_eq!(ring.try_pop_batch(&mut out, 2), 2);
    /// assert_eq!(out, [1, 2]);
    /// ```
    pub fn try_pop_batch(&self, out: &mut Vec<T>, max: usize) -> usize {
        let want = max.min(self.capacity());
        if want == 0 {
            return 0;
        }
        // No allocation (or allocation failure) may happen after we claim.
        out.reserve(want);
        let Ok(run) = self.core.claim_pop_run::<true>(want as u64, |_, n| n) else {
            return 0;
        };
        self.core.take_run(run, out);
        self.after_pop(run.len as usize);
        run.len as usize
    }
}
