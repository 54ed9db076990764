//! soberana's follow-the-money engine, with no I/O.
//!
//! Each country follows the money through its own financial-intelligence
//! data. This crate holds that data as a compact, time-ordered transaction
//! graph ([`Graph`]), traces funds forward and backward from seed accounts
//! with a documented attribution rule ([`trace()`]), finds typologies of
//! money laundering ([`typology`]), and continues a trail across the border
//! by request ([`continuation`]): the requester sends only the account, the
//! amounts and the time window; the partner runs the next leg on its own
//! data and answers with totals and pseudonymous onward accounts; the
//! requester stitches that answer into its flow graph. No ledger crosses the
//! border.
//!
//! Readers and writers are generic (`std::io::Read`/`Write`): the crate opens
//! no file and no socket.
//!
//! # Code map
//!
//! - [`model`]: countries, currencies, account identifiers (CLABE, IBAN, US
//!   routing and account, check digits verified), holders, transactions,
//!   suspicious-transaction reports.
//! - [`ingest`]: streaming CSV with column maps; all or nothing, every bad
//!   row reported with its line.
//! - [`graph`]: the columnar, time-ordered graph (44 bytes a transaction).
//! - [`trace()`]: forward and backward traces, tainted-first FIFO attribution,
//!   border marking; [`FlowGraph`] is the result, serde and JSON.
//! - [`typology`]: structuring (cash under each country's line, in every
//!   form), funnel, fan-out and fan-in against the account's own history,
//!   pass-through, round trip (up to 10 hops), scatter-gather, layering,
//!   many-to-many; alerts with evidence; scoring against known patterns.
//! - [`incident`]: alerts merged into ranked incidents with reasons;
//!   [`verdict`]: analysts' verdicts and precision over time.
//! - [`amlworld`]: the independent AMLworld-style generator the detectors
//!   are measured on; [`baseline`]: the two-rule yardstick.
//! - [`continuation`]: the cross-border request, the partner's
//!   disclosure-limited answer, stitching. The two message types travel
//!   between nodes.
//! - [`generate`]: the two-country ledger generator with planted patterns.
//! - [`svg`]: the Sankey picture of a flow.
//! - [`bench`](mod@bench): the benchmark behind `soberana bench finance`.
//!
//! Invariants: no I/O beyond the generic readers and writers; nothing from a
//! partner (a [`ContinuationRequest`] or a [`ContinuationAnswer`]) is used
//! before it is checked, and checking never panics; no account identifier of
//! the answering country is in an answer.
//!
//! ```
//! use soberana_finance::{generate, trace, Country, Seed, TraceOptions};
//! let opts = generate::GenerateOptions { transactions: 5_000, ..Default::default() };
//! let (graph, summary) = generate::build_graph(&opts).unwrap();
//! let (collector, _) = summary.scenario[0].clone();
//! let flow = trace(&graph, &[Seed { account: collector, amount: None }],
//!                  &TraceOptions::forward(Country::US)).unwrap();
//! // The structured cash went to Mexico: the trail reaches the border.
//! assert!(flow.border_nodes().any(|(_, n)| n.country == Some(Country::MX)));
//! ```

#[cfg(feature = "bench")]
pub mod amlworld;
pub mod baseline;
#[cfg(feature = "bench")]
pub mod bench;
pub mod continuation;
pub mod error;
#[cfg(feature = "bench")]
pub mod generate;
pub mod graph;
pub mod incident;
pub mod ingest;
pub mod model;
pub mod svg;
pub mod trace;
pub mod typology;
pub mod verdict;

pub use continuation::{
    ContinuationAnswer, ContinuationRequest, DisclosurePolicy, PseudonymKey, answer, requests,
    stitch,
};
pub use error::{BadRow, ContinuationError, IngestError, ModelError, TraceError};
pub use graph::{Graph, GraphBuilder, Place, Rates};
pub use model::{
    Account, AccountId, Channel, Country, Currency, Holder, HolderKind, Money, SuspiciousReport,
    Transaction, TxId, UnixTime,
};
pub use trace::{Direction, FlowGraph, Leg, NodeKind, Seed, TraceOptions, trace};
pub use typology::{Alert, Typology, TypologyConfig, scan, scan_parallel};
