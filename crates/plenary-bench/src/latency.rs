//! Send-to-receipt latency without tagging the text: a typist registers the
//! clock each of its updates ends at; a receiver takes one sample per
//! registered clock its view of that typist moves past.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use yrs::StateVector;

/// Send times of every typist, keyed by its client id.
#[derive(Debug, Default)]
pub(crate) struct Registry {
    typists: HashMap<u64, Mutex<Vec<(u32, Instant)>>>,
}

/// What one receiver has seen of each typist.
#[derive(Debug, Default)]
pub(crate) struct Seen {
    clocks: HashMap<u64, u32>,
    /// Latencies in microseconds.
    pub samples: Vec<u32>,
}

impl Registry {
    pub(crate) fn new(typist_ids: impl IntoIterator<Item = u64>) -> Self {
        Registry {
            typists: typist_ids
                .into_iter()
                .map(|id| (id, Mutex::new(Vec::new())))
                .collect(),
        }
    }

    /// Whether no typist is registered (then nothing received needs accounting).
    pub(crate) fn is_empty(&self) -> bool {
        self.typists.is_empty()
    }

    /// Records that `client` sent an update ending at `end_clock` at `at`. Clocks only grow.
    pub(crate) fn sent(&self, client: u64, end_clock: u32, at: Instant) {
        if let Some(list) = self.typists.get(&client) {
            list.lock()
                .unwrap_or_else(|p| p.into_inner())
                .push((end_clock, at));
        }
    }

    /// Accounts an update received at `now` whose state vector is `sv`.
    /// `sample` is false for a sync step 2 (history, not a live edit).
    pub(crate) fn received(
        &self,
        seen: &mut Seen,
        me: Option<u64>,
        sv: &StateVector,
        now: Instant,
        sample: bool,
    ) {
        for (client, &clock) in sv.iter() {
            let id = client.get();
            if Some(id) == me {
                continue;
            }
            let Some(list) = self.typists.get(&id) else {
                continue;
            };
            let last = seen.clocks.entry(id).or_insert(0);
            if clock <= *last {
                continue;
            }
            if sample {
                let list = list.lock().unwrap_or_else(|p| p.into_inner());
                let from = list.partition_point(|(c, _)| *c <= *last);
                let to = list.partition_point(|(c, _)| *c <= clock);
                for (_, sent) in list.get(from..to).unwrap_or_default() {
                    let micros = now.saturating_duration_since(*sent).as_micros();
                    seen.samples.push(u32::try_from(micros).unwrap_or(u32::MAX));
                }
            }
            *last = clock;
        }
    }
}

/// Percentiles of a set of samples (microseconds), nearest-rank.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct Percentiles {
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub mean_ms: f64,
}

pub(crate) fn percentiles(samples: &mut [u32]) -> Percentiles {
    if samples.is_empty() {
        return Percentiles::default();
    }
    samples.sort_unstable();
    let at = |q: f64| {
        let rank = ((q * samples.len() as f64).ceil() as usize).clamp(1, samples.len());
        f64::from(samples[rank - 1]) / 1000.0
    };
    let sum: f64 = samples.iter().map(|s| f64::from(*s)).sum();
    Percentiles {
        p50_ms: at(0.50),
        p95_ms: at(0.95),
        p99_ms: at(0.99),
        max_ms: at(1.0),
        mean_ms: sum / samples.len() as f64 / 1000.0,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::time::Duration;

    use yrs::block::ClientID;

    use super::*;

    #[test]
    fn a_merged_update_yields_one_sample_per_registered_send() {
        let reg = Registry::new([7]);
        let t0 = Instant::now();
        reg.sent(7, 3, t0);
        reg.sent(7, 5, t0 + Duration::from_millis(10));
        reg.sent(7, 9, t0 + Duration::from_millis(20));
        let mut seen = Seen::default();
        let mut sv = StateVector::default();
        sv.set_max(ClientID::new(7), 5);
        reg.received(
            &mut seen,
            Some(1),
            &sv,
            t0 + Duration::from_millis(30),
            true,
        );
        assert_eq!(seen.samples, vec![30_000, 20_000]);
        // The same clocks again (an echo) count nothing; the typist's own echo neither.
        reg.received(
            &mut seen,
            Some(1),
            &sv,
            t0 + Duration::from_millis(40),
            true,
        );
        reg.received(&mut Seen::default(), Some(7), &sv, t0, true);
        assert_eq!(seen.samples.len(), 2);
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let mut s: Vec<u32> = (1..=100).map(|i| i * 1000).collect();
        let p = percentiles(&mut s);
        assert_eq!((p.p50_ms, p.p99_ms, p.max_ms), (50.0, 99.0, 100.0));
    }
}
