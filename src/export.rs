//! Exports a queue's figures through the [`metrics`] facade (feature
//! `metrics`): gauges for its length and ages, counters for its totals,
//! histograms for its latencies, each under the label `queue` = the name
//! given to the [`Exporter`]. Whatever recorder the program installed
//! (`metrics-exporter-prometheus`, statsd, …) receives them.
//!
//! The queue keeps its own figures, lock-free, whether or not they are
//! exported; an [`Exporter`] copies them into the facade when told to
//! (on each scrape, or on a timer), so the hot path never calls the
//! facade.
//!
//! # Names
//!
//! | name | kind | what |
//! |---|---|---|
//! | `ackring_waiting` | gauge | [`Stats::waiting`] |
//! | `ackring_delayed` | gauge | [`Stats::delayed`] |
//! | `ackring_scheduled` | gauge | [`Stats::scheduled`] |
//! | `ackring_in_flight` | gauge | [`Stats::in_flight`] |
//! | `ackring_dead_letters` | gauge | [`Stats::dead_letters`] |
//! | `ackring_oldest_waiting_seconds` | gauge | [`Stats::oldest_waiting`] (0 when none) |
//! | `ackring_oldest_in_flight_seconds` | gauge | [`Stats::oldest_in_flight`] (0 when none) |
//! | `ackring_published_total` | counter | [`Stats::published`] |
//! | `ackring_delivered_total` | counter | [`Stats::delivered`] |
//! | `ackring_redelivered_total` | counter | [`Stats::redelivered`] |
//! | `ackring_acked_total` | counter | [`Stats::acked`] |
//! | `ackring_nacked_total` | counter | [`Stats::nacked`] |
//! | `ackring_expired_total` | counter | [`Stats::expired`] |
//! | `ackring_ttl_expired_total` | counter | [`Stats::ttl_expired`] |
//! | `ackring_dropped_total` | counter | [`Stats::dropped`] |
//! | `ackring_dead_lettered_total` | counter | [`Stats::dead_lettered`] |
//! | `ackring_dead_taken_total` | counter | [`Stats::dead_taken`] |
//! | `ackring_drained_total` | counter | [`Stats::drained`] |
//! | `ackring_waiting_seconds` | histogram | [`LatencySnapshot::waiting`] |
//! | `ackring_processing_seconds` | histogram | [`LatencySnapshot::processing`] |
//! | `ackring_end_to_end_seconds` | histogram | [`LatencySnapshot::end_to_end`] |
//! | `ackring_delivery_count` | histogram | [`LatencySnapshot::delivery_count`] |
//!
//! The RabbitMQ backend's figures, with the `amqp` feature
//! (`Exporter::record_amqp`): `ackring_waiting`, `ackring_consumers` and
//! `ackring_dead_letters` (gauges, from the broker),
//! `ackring_published_total`, `ackring_confirmed_total`,
//! `ackring_delivered_total`, `ackring_redelivered_total`,
//! `ackring_acked_total`, `ackring_nacked_total` and
//! `ackring_recoveries_total` (counters, counted by the handle).
//!
//! A histogram's values reach the facade as the midpoints of the queue's
//! buckets (within 1/32 of the values recorded: see
//! [`HistogramSnapshot`]), each export passing
//! on what was recorded since the last one.

use std::borrow::Cow;

use metrics::{counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram};

use crate::histogram::HistogramSnapshot;
use crate::{AckQueue, LatencySnapshot, Stats};

/// The label every figure carries: the queue's name.
pub const QUEUE_LABEL: &str = "queue";

/// Copies one queue's figures into the `metrics` facade under its name.
///
/// Keeps the latency histograms it last passed on, so that each
/// [`record_latency`](Exporter::record_latency) passes on only the values
/// recorded since.
///
/// # Examples
///
/// ```
/// use ackring::export::Exporter;
/// use ackring::AckQueue;
///
/// let q = AckQueue::builder().latency(true).build().unwrap();
/// q.try_publish(1).unwrap();
/// q.try_receive().unwrap().ack().unwrap();
/// Exporter::describe();
/// let mut exporter = Exporter::new("jobs");
/// exporter.export(&q); // into whatever recorder is installed
/// ```
#[derive(Debug)]
pub struct Exporter {
    queue: Cow<'static, str>,
    passed_on: LatencySnapshot,
}

impl Exporter {
    /// An exporter of the queue named `queue` (the label's value).
    pub fn new(queue: impl Into<Cow<'static, str>>) -> Self {
        Self {
            queue: queue.into(),
            passed_on: LatencySnapshot::default(),
        }
    }

    /// The queue's name, as its figures are labelled.
    pub fn queue(&self) -> &str {
        &self.queue
    }

    /// Describes every figure to the installed recorder (help text and
    /// unit), once per program, after installing it.
    pub fn describe() {
        use metrics::Unit::{Count, Seconds};
        for (name, help) in [
            ("ackring_waiting", "Messages a receive may take now"),
            ("ackring_delayed", "Requeued messages waiting out a delay"),
            ("ackring_scheduled", "Delayed publishes not yet due"),
            ("ackring_in_flight", "Deliveries not yet settled"),
            ("ackring_dead_letters", "Dead letters not yet taken"),
            ("ackring_consumers", "Consumers of the broker's queue"),
        ] {
            describe_gauge!(name, Count, help);
        }
        for (name, help) in [
            (
                "ackring_oldest_waiting_seconds",
                "Age of the oldest waiting message",
            ),
            (
                "ackring_oldest_in_flight_seconds",
                "Age of the oldest delivery in flight",
            ),
        ] {
            describe_gauge!(name, Seconds, help);
        }
        for (name, help) in [
            ("ackring_published_total", "Messages published"),
            (
                "ackring_confirmed_total",
                "Publishes confirmed by the broker",
            ),
            (
                "ackring_delivered_total",
                "Deliveries, first ones and redeliveries",
            ),
            ("ackring_redelivered_total", "Redeliveries"),
            ("ackring_acked_total", "Acks"),
            (
                "ackring_nacked_total",
                "Nacks, and deliveries dropped unsettled",
            ),
            ("ackring_expired_total", "Leases that expired"),
            (
                "ackring_ttl_expired_total",
                "Messages whose time to live ran out before a delivery",
            ),
            ("ackring_dropped_total", "Expired messages dropped"),
            (
                "ackring_dead_lettered_total",
                "Messages moved to the dead letters",
            ),
            ("ackring_dead_taken_total", "Dead letters taken out"),
            (
                "ackring_drained_total",
                "Messages drain took out, dead letters apart",
            ),
            ("ackring_recoveries_total", "Lost connections restored"),
        ] {
            describe_counter!(name, Count, help);
        }
        for (name, help) in [
            ("ackring_waiting_seconds", "From publish to first delivery"),
            ("ackring_processing_seconds", "From delivery to its settle"),
            ("ackring_end_to_end_seconds", "From publish to ack"),
        ] {
            describe_histogram!(name, Seconds, help);
        }
        describe_histogram!(
            "ackring_delivery_count",
            Count,
            "Deliveries each acked message took"
        );
    }

    /// Sets the gauges and counters from `stats`.
    pub fn record(&self, stats: &Stats) {
        let secs = |d: Option<core::time::Duration>| d.map_or(0.0, |d| d.as_secs_f64());
        for (name, value) in [
            ("ackring_waiting", stats.waiting as f64),
            ("ackring_delayed", stats.delayed as f64),
            ("ackring_scheduled", stats.scheduled as f64),
            ("ackring_in_flight", stats.in_flight as f64),
            ("ackring_dead_letters", stats.dead_letters as f64),
            ("ackring_oldest_waiting_seconds", secs(stats.oldest_waiting)),
            (
                "ackring_oldest_in_flight_seconds",
                secs(stats.oldest_in_flight),
            ),
        ] {
            self.gauge(name, value);
        }
        for (name, value) in [
            ("ackring_published_total", stats.published),
            ("ackring_delivered_total", stats.delivered),
            ("ackring_redelivered_total", stats.redelivered),
            ("ackring_acked_total", stats.acked),
            ("ackring_nacked_total", stats.nacked),
            ("ackring_expired_total", stats.expired),
            ("ackring_ttl_expired_total", stats.ttl_expired),
            ("ackring_dropped_total", stats.dropped),
            ("ackring_dead_lettered_total", stats.dead_lettered),
            ("ackring_dead_taken_total", stats.dead_taken),
            ("ackring_drained_total", stats.drained),
        ] {
            self.counter(name, value);
        }
    }

    /// Passes on to the histograms the values recorded since the last
    /// call: `latency` is a later snapshot of the same queue.
    pub fn record_latency(&mut self, latency: &LatencySnapshot) {
        let new = latency.since(&self.passed_on);
        let secs = |ns: u64| ns as f64 / 1e9;
        self.histogram("ackring_waiting_seconds", &new.waiting, secs);
        self.histogram("ackring_processing_seconds", &new.processing, secs);
        self.histogram("ackring_end_to_end_seconds", &new.end_to_end, secs);
        self.histogram("ackring_delivery_count", &new.delivery_count, |n| n as f64);
        self.passed_on = latency.clone();
    }

    /// [`record`](Exporter::record) of the queue's [`stats`](AckQueue::stats),
    /// and [`record_latency`](Exporter::record_latency) if it records
    /// latency.
    pub fn export<T>(&mut self, queue: &AckQueue<T>) {
        self.record(&queue.stats());
        if let Some(latency) = queue.latency() {
            self.record_latency(&latency);
        }
    }

    /// Sets the figures of a RabbitMQ queue: what this handle counted
    /// ([`AmqpQueue::stats`](crate::amqp::AmqpQueue::stats)) and, if
    /// given, what the broker said of the queue
    /// ([`AmqpQueue::broker_figures`](crate::amqp::AmqpQueue::broker_figures)).
    #[cfg(feature = "amqp")]
    pub fn record_amqp(
        &self,
        stats: &crate::amqp::AmqpStats,
        broker: Option<&crate::amqp::BrokerFigures>,
    ) {
        if let Some(broker) = broker {
            self.gauge("ackring_waiting", f64::from(broker.waiting));
            self.gauge("ackring_consumers", f64::from(broker.consumers));
            self.gauge("ackring_dead_letters", f64::from(broker.dead_letters));
        }
        for (name, value) in [
            ("ackring_published_total", stats.published),
            ("ackring_confirmed_total", stats.confirmed),
            ("ackring_delivered_total", stats.delivered),
            ("ackring_redelivered_total", stats.redelivered),
            ("ackring_acked_total", stats.acked),
            ("ackring_nacked_total", stats.nacked),
            ("ackring_recoveries_total", stats.recoveries),
        ] {
            self.counter(name, value);
        }
    }

    fn gauge(&self, name: &'static str, value: f64) {
        gauge!(name, QUEUE_LABEL => self.queue.clone()).set(value);
    }

    fn counter(&self, name: &'static str, value: u64) {
        counter!(name, QUEUE_LABEL => self.queue.clone()).absolute(value);
    }

    fn histogram(&self, name: &'static str, h: &HistogramSnapshot, unit: impl Fn(u64) -> f64) {
        if h.is_empty() {
            return;
        }
        let handle = histogram!(name, QUEUE_LABEL => self.queue.clone());
        for (value, count) in h.buckets() {
            handle.record_many(unit(value), usize::try_from(count).unwrap_or(usize::MAX));
        }
    }
}
