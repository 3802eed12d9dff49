//! No heap allocation in the batch calls after `build()` when the caller's
//! vectors have room: batch receive (try and waiting forms), batch ack and
//! batch nack of guards and of tags, failures reported included. A
//! counting global allocator (`tests/common/counting.rs`) counts the test
//! thread's allocations only.

use std::time::Duration;

use ackring::{AckError, AckQueue, Delivery, ManualClock, Tag};

mod common;
use common::counting::{allocations, Counting};

#[global_allocator]
static GLOBAL: Counting = Counting;

const MAX_IN_FLIGHT: usize = 4;

/// The batch calls, asked for more than the prefetch limit allows, with a
/// `Vec` of room for `max_in_flight` deliveries only (all a batch can
/// take), and an error `Vec` of room for the failures of a batch.
#[test]
fn batch_calls_do_not_allocate_when_the_vectors_have_room() {
    let clock = ManualClock::new();
    let q = AckQueue::<u64>::builder()
        .capacity(16)
        .max_in_flight(MAX_IN_FLIGHT)
        .lease(Duration::from_secs(5))
        .max_deliveries(3)
        .clock(clock.clone())
        .build()
        .unwrap();
    let other = AckQueue::<u64>::builder().build().unwrap();
    other.try_publish(0).unwrap();
    let foreign = other.try_receive().unwrap().detach();
    let mut out: Vec<Delivery<'_, u64>> = Vec::with_capacity(MAX_IN_FLIGHT);
    let mut again: Vec<Delivery<'_, u64>> = Vec::with_capacity(MAX_IN_FLIGHT);
    let mut tags: Vec<Tag> = Vec::with_capacity(MAX_IN_FLIGHT + 2);
    let mut errors: Vec<(usize, AckError)> = Vec::with_capacity(MAX_IN_FLIGHT + 2);
    let before = allocations();
    let (mut acked, mut sum) = (0, 0);
    for i in 0..500_u64 {
        for k in 0..6 {
            q.try_publish(i * 6 + k).unwrap();
        }
        let n = q.try_receive_batch(16, &mut out);
        assert_eq!(n, MAX_IN_FLIGHT);
        sum += out.iter().map(|d| **d).sum::<u64>();
        match i % 4 {
            0 => acked += q.ack_batch(out.drain(..), &mut errors),
            1 => {
                // Requeued, then taken again with the waiting form.
                q.nack_batch(out.drain(..), true, &mut errors);
                let n = q
                    .receive_batch_timeout(16, &mut out, Duration::from_secs(1))
                    .unwrap();
                assert_eq!(n, MAX_IN_FLIGHT);
                acked += q.ack_batch(out.drain(..), &mut errors);
            }
            2 => {
                // By tag, with a double and a foreign tag in the middle.
                tags.extend(out.drain(..).map(Delivery::detach));
                tags.insert(1, tags[0]);
                tags.insert(2, foreign);
                acked += q.ack_batch(tags.drain(..), &mut errors);
                assert_eq!(
                    errors[..],
                    [(1, AckError::AlreadySettled), (2, AckError::ForeignTag)]
                );
                errors.clear();
            }
            _ => {
                // Dead letters, and a lease that expires: the stale guard
                // is reported.
                q.nack_batch(out.drain(..1), false, &mut errors);
                clock.advance(Duration::from_secs(6));
                assert_eq!(q.requeue_expired(), MAX_IN_FLIGHT - 1);
                let n = q.receive_batch(16, &mut again).unwrap();
                assert_eq!(n, MAX_IN_FLIGHT, "the three requeued and a fresh one");
                assert_eq!(q.ack_batch(out.drain(..), &mut errors), 0);
                assert_eq!(
                    errors[..],
                    [
                        (0, AckError::Stale),
                        (1, AckError::Stale),
                        (2, AckError::Stale)
                    ]
                );
                errors.clear();
                acked += q.ack_batch(again.drain(..), &mut errors);
                while let Some(dead) = q.try_receive_dead_letter() {
                    sum += dead.into_inner();
                }
            }
        }
        assert!(errors.is_empty(), "{errors:?}");
        while q.try_receive_batch(16, &mut out) > 0 {
            sum += out.iter().map(|d| **d).sum::<u64>();
            acked += q.ack_batch(out.drain(..), &mut errors);
        }
    }
    let after = allocations();
    assert_eq!(after - before, 0, "allocations in the batch calls");
    assert!(sum > 0 && acked > 0);
    assert_eq!(q.settled_below().get(), q.stats().published);
}
