//! Faster JSON parsers for the event, measured before adopting one: serde_json (what the template
//! uses), simd-json and sonic-rs (both deserialize with serde into the same `aws_lambda_events`
//! types), and borrowed parsing (serde_json into types that borrow their strings from the payload
//! instead of copying them; images as borrowed attribute maps).
//!
//! - **parse**: the 10,000-record order event parsed and dropped, with each parser;
//! - **end to end**: the AWS documentation's loop (`bare` of the other benchmarks: parse, decode
//!   every image, respond) with each drop-in parser; borrowed parsing has no end-to-end figure, since the engine and
//!   processors take owned records.
//!
//! Every parser must give the same event: the benchmark first checks that each result serializes
//! to the same JSON as serde_json's. Timing alternates the variants round by round (the order
//! rotating), so a slower minute of the machine hits every variant alike; the figures are medians
//! of [`ROUNDS`] rounds, with the range.
//!
//! Run: `cargo bench -p ddb-stream-processor --bench parsers`. BENCHMARKS.md records the numbers
//! and why none of them was adopted.

mod support;

use std::borrow::Cow;
use std::collections::HashMap;
use std::hint::black_box;
use std::time::Instant;

use aws_lambda_events::event::dynamodb::Event;
use support::variants::bare_parsed_by;
use support::{OrderDecoder, order_event, runtime};

/// Rounds of every variant.
const ROUNDS: usize = 31;

/// A parser of the whole event into `aws_lambda_events`' types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Parser {
    SerdeJson,
    SimdJson,
    SonicRs,
}

impl Parser {
    const ALL: [Parser; 3] = [Parser::SerdeJson, Parser::SimdJson, Parser::SonicRs];

    fn name(self) -> &'static str {
        match self {
            Parser::SerdeJson => "serde_json",
            Parser::SimdJson => "simd-json",
            Parser::SonicRs => "sonic-rs",
        }
    }

    fn parse(self, payload: &[u8]) -> Event {
        match self {
            Parser::SerdeJson => serde_json::from_slice(payload).expect("serde_json parses the event"),
            // simd-json parses in place: it needs a copy it may overwrite (the copy is timed too,
            // since the handler only has the payload as given).
            Parser::SimdJson => {
                let mut copy = payload.to_vec();
                simd_json::serde::from_slice(&mut copy).expect("simd-json parses the event")
            }
            Parser::SonicRs => sonic_rs::from_slice(payload).expect("sonic-rs parses the event"),
        }
    }
}

/// A DynamoDB attribute value that borrows its strings from the payload when they need no
/// unescaping.
#[derive(serde::Deserialize)]
#[allow(dead_code, clippy::upper_case_acronyms)] // parsed, not read; DynamoDB's own tag names
enum BorrowedValue<'a> {
    #[serde(borrow)]
    S(Cow<'a, str>),
    #[serde(borrow)]
    N(Cow<'a, str>),
    #[serde(borrow)]
    B(Cow<'a, str>),
    BOOL(bool),
    NULL(bool),
    #[serde(borrow)]
    M(HashMap<Cow<'a, str>, BorrowedValue<'a>>),
    #[serde(borrow)]
    L(Vec<BorrowedValue<'a>>),
    #[serde(borrow)]
    SS(Vec<Cow<'a, str>>),
    #[serde(borrow)]
    NS(Vec<Cow<'a, str>>),
    #[serde(borrow)]
    BS(Vec<Cow<'a, str>>),
}

type BorrowedItem<'a> = HashMap<Cow<'a, str>, BorrowedValue<'a>>;

/// The stream record, borrowed.
#[derive(serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
#[allow(dead_code)]
struct BorrowedChange<'a> {
    approximate_creation_date_time: Option<f64>,
    #[serde(borrow)]
    keys: BorrowedItem<'a>,
    #[serde(borrow, default)]
    new_image: Option<BorrowedItem<'a>>,
    #[serde(borrow, default)]
    old_image: Option<BorrowedItem<'a>>,
    #[serde(borrow)]
    sequence_number: Option<Cow<'a, str>>,
    size_bytes: i64,
    #[serde(borrow)]
    stream_view_type: Option<Cow<'a, str>>,
}

/// The event record, borrowed.
#[derive(serde::Deserialize)]
#[allow(dead_code)]
struct BorrowedRecord<'a> {
    #[serde(borrow, rename = "eventID")]
    event_id: Cow<'a, str>,
    #[serde(borrow, rename = "eventName")]
    event_name: Cow<'a, str>,
    #[serde(borrow, rename = "eventVersion")]
    event_version: Option<Cow<'a, str>>,
    #[serde(borrow, rename = "eventSource")]
    event_source: Option<Cow<'a, str>>,
    #[serde(borrow, rename = "awsRegion")]
    aws_region: Cow<'a, str>,
    #[serde(borrow, rename = "eventSourceARN")]
    event_source_arn: Option<Cow<'a, str>>,
    #[serde(borrow)]
    dynamodb: BorrowedChange<'a>,
}

/// The event, borrowed.
#[derive(serde::Deserialize)]
struct BorrowedEvent<'a> {
    #[serde(borrow, rename = "Records")]
    records: Vec<BorrowedRecord<'a>>,
}

/// One measured variant.
#[derive(Debug, Clone, Copy)]
enum Measured {
    Parse(Parser),
    ParseBorrowed,
    Bare(Parser),
}

impl Measured {
    fn label(self) -> String {
        match self {
            Measured::Parse(parser) => format!("parse, {}", parser.name()),
            Measured::ParseBorrowed => "parse, serde_json borrowed".to_owned(),
            Measured::Bare(parser) => format!("end to end (bare), {}", parser.name()),
        }
    }
}

fn main() {
    let runtime = runtime();
    let payload = order_event(10_000, 10_000);
    let reference = serde_json::to_value(Parser::SerdeJson.parse(&payload)).expect("serialisable");
    for parser in Parser::ALL {
        let parsed = serde_json::to_value(parser.parse(&payload)).expect("serialisable");
        assert!(
            parsed == reference,
            "{} parses the event differently",
            parser.name()
        );
    }
    let borrowed: BorrowedEvent =
        serde_json::from_slice(&payload).expect("the borrowed types parse the event");
    assert_eq!(borrowed.records.len(), 10_000);
    drop(borrowed);

    let variants: Vec<Measured> = Parser::ALL
        .into_iter()
        .map(Measured::Parse)
        .chain([Measured::ParseBorrowed])
        .chain(Parser::ALL.into_iter().map(Measured::Bare))
        .collect();
    let mut times: Vec<Vec<f64>> = vec![Vec::with_capacity(ROUNDS); variants.len()];
    for round in 0..ROUNDS + 2 {
        for offset in 0..variants.len() {
            let which = (round + offset) % variants.len();
            let started = Instant::now();
            match variants[which] {
                Measured::Parse(parser) => drop(black_box(parser.parse(black_box(&payload)))),
                Measured::ParseBorrowed => {
                    let event: BorrowedEvent = serde_json::from_slice(black_box(&payload)).expect("parses");
                    drop(black_box(event));
                }
                Measured::Bare(parser) => {
                    let parse = |payload: &[u8]| parser.parse(payload);
                    black_box(runtime.block_on(bare_parsed_by(parse, black_box(&payload), &OrderDecoder)));
                }
            }
            // The first two rounds warm up.
            if round >= 2 {
                times[which].push(started.elapsed().as_secs_f64() * 1e3);
            }
        }
    }
    let medians: Vec<f64> = times
        .iter_mut()
        .map(|times| {
            times.sort_by(f64::total_cmp);
            times[times.len() / 2]
        })
        .collect();
    println!(
        "the {:.1} MB, 10,000-record event; {ROUNDS} rounds; every parser gives the same event",
        payload.len() as f64 / 1e6
    );
    println!("| variant | median | min – max | against serde_json |");
    println!("|---|---|---|---|");
    for (index, variant) in variants.iter().enumerate() {
        let baseline = match variant {
            Measured::Parse(_) | Measured::ParseBorrowed => medians[0],
            Measured::Bare(_) => medians[variants.len() - Parser::ALL.len()],
        };
        println!(
            "| {} | {:.2} ms | {:.2} – {:.2} ms | {:+.1} % |",
            variant.label(),
            medians[index],
            times[index][0],
            times[index][times[index].len() - 1],
            (medians[index] / baseline - 1.0) * 100.0
        );
    }
}
