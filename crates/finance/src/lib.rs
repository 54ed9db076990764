//! soberana's follow-the-money engine, with no I/O.
//!
//! Each country follows the money through its own financial-intelligence
//! data. This crate holds that data as a compact, time-ordered transaction
//! graph ([`Graph`]), traces funds forward and backward from seed accounts
//! with a documented attribution rule ([`trace`]), finds typologies of
//! money laundering ([`typology`]), and continues a trail across the border
//! by request ([`continuation`]): the requester sends only the account, the
//! amounts and the time window; the partner runs the next leg on its own
//! data and answers with totals and pseudonymous onward accounts; the
//! requester stitches that answer into its flow graph. No ledger crosses the
//! border.
//!
//! Readers and writers are generic (`std::io::Read`/`Write`): the crate opens
//! no file and no socket.

pub mod continuation;
pub mod error;
pub mod generate;
pub mod graph;
pub mod ingest;
pub mod model;
pub mod trace;
pub mod typology;

pub use error::{BadRow, ContinuationError, IngestError, ModelError, TraceError};
pub use graph::{Graph, GraphBuilder, Place, Rates};
