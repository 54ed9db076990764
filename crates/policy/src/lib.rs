//! soberana's sovereignty policy: the only crate that knows Cedar.
//!
//! Every incoming proposal is decided here before any officer sees it, by two
//! layers of [Cedar](https://www.cedarpolicy.com) policy checked in strict
//! mode against one schema ([`SCHEMA`]):
//!
//! * the **constitutional** layer — `forbid` policies only, one file per
//!   party (`constitutional/MX.cedar`), pinned by digest in configuration.
//!   Mexico's says: no foreign military or armed personnel on Mexican
//!   territory (Art. 76 fr. III: only the Senate could admit foreign troops),
//!   no foreign use of force there (wherever it is launched from), each task
//!   on Mexican territory carried out by Mexico's own agencies, and none
//!   under another party's command. Because forbid overrides permit in
//!   Cedar, nothing an operator writes can weaken it;
//! * the **operational** layer — what is accepted automatically, what goes
//!   to an officer, and on which conditions (`@decision`, `@condition`).
//!
//! Decisions fail closed: a policy that errors, an incomplete proposal, a
//! related proposal not supplied, or the absence of any permit all refuse.
//! Every decision carries the digest of the whole policy set.
//!
//! ```
//! use soberana_core::{PartyCode, Registry};
//! use soberana_policy::{PolicyEngine, pin, shipped_constitutional, shipped_operational};
//!
//! let mx = PartyCode::new("MX").unwrap();
//! let constitutional = shipped_constitutional(mx).unwrap();
//! let pinned = pin(constitutional.bytes());
//! let engine = PolicyEngine::load(
//!     mx,
//!     &Registry::default(),
//!     Some(&constitutional),
//!     &pinned,
//!     &shipped_operational(),
//! )
//! .unwrap();
//! assert_eq!(engine.constitutional_digest(), pinned);
//! ```

mod digest;
mod engine;
mod error;
mod explain;
mod layers;
mod prose;
mod tasks;

pub mod bench;

pub use bench::shipped_registry;
pub use digest::{PolicyDigest, pin};
pub use engine::{
    DecisionReason, EvalReport, PlaceView, PolicyDecision, PolicyEngine, SCHEMA, TaskView, Verdict,
    schema,
};
pub use error::PolicyError;
pub use explain::{CheckReport, PolicyDescription, check};
pub use layers::{
    Disposition, Layer, PolicyFile, PolicyMeta, read_constitutional, shipped_constitutional,
    shipped_operational,
};
pub use prose::{ProsePassage, ProseScanner};
pub use soberana_territory::{Geography, PlaceError, Resolution, Zone};
