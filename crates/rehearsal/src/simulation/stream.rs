//! The stream's records: when each arrives, on which shard, with which item key, and whether the
//! scenario made it a poison or a panicking record.

use crate::scenario::Scenario;

/// One record of a shard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct StreamRecord {
    /// The sequence number (21 digits, increasing within the shard).
    pub(crate) sequence_number: u128,
    /// The item key.
    pub(crate) key: u32,
    /// When the record arrived in the stream (its ApproximateCreationDateTime), ms since the epoch.
    pub(crate) arrived_ms: i64,
    /// Fails on every attempt.
    pub(crate) poison: bool,
    /// Panics on every attempt.
    pub(crate) panics: bool,
}

impl StreamRecord {
    /// The sequence number as the stream writes it: 21 digits.
    pub(crate) fn sequence_number_text(&self) -> String {
        format!("{:021}", self.sequence_number)
    }
}

/// The first sequence number of every shard: 21 digits, like DynamoDB's.
const FIRST_SEQUENCE_NUMBER: u128 = 100_000_000_000_000_000_000;

/// The records of each shard, in arrival order. Arrivals are spread evenly over each second at the
/// rate of its traffic window; item keys are drawn in a fixed, spread-out order, and a key always
/// lives on the same shard.
pub(crate) fn generate(scenario: &Scenario, start_ms: i64) -> Vec<Vec<StreamRecord>> {
    let mut shards: Vec<Vec<StreamRecord>> = vec![Vec::new(); scenario.shards as usize];
    let mut carried = 0.0;
    let mut drawn: u64 = 0;
    for second in 0..i64::from(scenario.duration_minutes) * 60 {
        carried += scenario.rate_at(second as f64 / 60.0);
        let arrivals = carried.floor() as i64;
        carried -= arrivals as f64;
        for arrival in 0..arrivals {
            // A multiplicative step coprime with most key counts walks over every key.
            let key = ((drawn.wrapping_mul(7_919)) % u64::from(scenario.item_keys)) as u32;
            drawn += 1;
            let shard = &mut shards[(key % scenario.shards) as usize];
            shard.push(StreamRecord {
                sequence_number: FIRST_SEQUENCE_NUMBER + shard.len() as u128,
                key,
                arrived_ms: start_ms + second * 1000 + arrival * 1000 / arrivals,
                poison: false,
                panics: false,
            });
        }
    }
    let mut mark = |minute: f64, poison: bool| {
        let at_ms = start_ms + (minute * 60_000.0) as i64;
        let first = shards
            .iter_mut()
            .flat_map(|shard| shard.iter_mut())
            .filter(|record| record.arrived_ms >= at_ms)
            .min_by_key(|record| record.arrived_ms);
        if let Some(record) = first {
            if poison {
                record.poison = true;
            } else {
                record.panics = true;
            }
        }
    };
    for moment in &scenario.poison_records {
        mark(moment.at_minute, true);
    }
    for moment in &scenario.panics {
        mark(moment.at_minute, false);
    }
    shards
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arrivals_follow_the_rate_and_keys_stay_on_their_shard() {
        let scenario = Scenario::parse(
            r#"{"description": "d", "duration_minutes": 2, "shards": 3, "item_keys": 10,
                "traffic": [{"from_minute": 0, "records_per_second": 2.5}, {"from_minute": 1, "records_per_second": 0}],
                "poison_records": [{"at_minute": 0.5}]}"#,
            "t",
        )
        .unwrap();
        let shards = generate(&scenario, 1_000_000);
        let all: Vec<&StreamRecord> = shards.iter().flatten().collect();
        assert_eq!(
            all.len(),
            150,
            "2.5 per second for the first minute, nothing after"
        );
        for (index, shard) in shards.iter().enumerate() {
            assert!(shard.iter().all(|record| record.key % 3 == index as u32));
            assert!(
                shard
                    .windows(2)
                    .all(|pair| pair[0].sequence_number < pair[1].sequence_number
                        && pair[0].arrived_ms <= pair[1].arrived_ms)
            );
        }
        let poison: Vec<&&StreamRecord> = all.iter().filter(|record| record.poison).collect();
        assert_eq!(poison.len(), 1);
        assert_eq!(poison[0].arrived_ms, 1_000_000 + 30_000);
        let keys: std::collections::BTreeSet<u32> = all.iter().map(|record| record.key).collect();
        assert_eq!(keys.len(), 10, "every item key is used");
    }
}
