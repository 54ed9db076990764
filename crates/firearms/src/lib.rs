//! soberana's firearm tracing, with no I/O.
//!
//! A node that holds acquisition and disposition records (the books of
//! manufacturers, importers, distributors and dealers) answers a partner's
//! trace request on its own data: for each recovered firearm, the chain of
//! custody to the first retail sale, the time from that sale to the crime,
//! and — when the trace falls short — why (unknown manufacturer, obliterated
//! serial, no record, records stopping before a retail sale). Both sides
//! compute the same statistics from the released answers.
//!
//! # Code map
//!
//! - [`model`]: dates, transfer events, normalisation of manufacturers and
//!   serials (obliterated and missing serials recognised).
//! - [`records`]: the compact record set (40-byte rows, interned texts) and
//!   its index by (manufacturer, serial).
//! - [`ingest`]: CSV, all or nothing, every bad row named with its line and field.
//! - [`trace()`]: one firearm or a batch; [`TraceAnswer`] is what is
//!   released, parsed strictly when it comes back from a partner.
//! - [`stats`]: figures over answers, with a digest both sides can compare.
//! - `synthetic` (feature `synthetic`): the generator of realistic records
//!   and requests for tests, the demo and `soberana bench trace`;
//!   `bench` (same feature), the benchmark itself.
//!
//! Invariants: no I/O beyond generic readers and writers; a partner's
//! answer is checked against the request before use and checking never
//! panics; statistics depend only on the answers.
//!
//! ```
//! use soberana_firearms::{Completeness, TraceRequest, parse_records, trace};
//! let csv = "manufacturer,model,caliber,serial,event,date,from,to,city,state\n\
//!            Colt,AR-15,5.56,LGC123456,dealer_sale,2023-12-01,Wholesale Co,Border Guns,Nogales,AZ\n\
//!            Colt,AR-15,5.56,LGC123456,retail_sale,2024-01-09,Border Guns,\"Doe, John\",Nogales,AZ\n";
//! let records = parse_records(csv.as_bytes()).unwrap();
//! let result = trace(&records, &TraceRequest {
//!     reference: "1".into(), manufacturer: "Colt".into(), model: "AR-15".into(),
//!     caliber: "5.56".into(), serial: "LGC-123456".into(),
//!     recovered_at: "Nogales, Sonora".into(),
//!     recovered_on: soberana_firearms::Date::parse("2024-10-28"), crime_code: "weapons_offense".into(),
//! });
//! assert_eq!(result.completeness, Completeness::Complete);
//! assert_eq!(result.time_to_crime_days(), Some(293));
//! ```

#[cfg(feature = "synthetic")]
pub mod bench;
pub mod error;
pub mod ingest;
pub mod model;
pub mod proposal;
pub mod records;
pub mod stats;
#[cfg(feature = "synthetic")]
pub mod synthetic;
pub mod trace;

pub use error::{AnswerError, BadRow, FieldError, IngestError};
pub use ingest::{parse_records, read_records};
pub use model::{Date, Event, Serial, normalise_manufacturer, normalise_serial};
pub use proposal::{ANSWER_LABEL, requests_of};
pub use records::{MemoryUse, NewRecord, RecordSet, RecordSetBuilder, Transfer};
pub use stats::TraceStats;
pub use trace::{
    Completeness, Link, TraceAnswer, TraceFailure, TraceRequest, TraceResult, trace, trace_batch,
};
