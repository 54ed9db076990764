//! Hit/no-hit checks of identifiers between two countries' nodes without disclosing the lists:
//! identifier parsing and normalisation, and private set intersection (PSI).
//!
//! A requester asks "do you have anything on these?" about phone numbers, accounts, firearm
//! serials, plates or e-mail addresses; the responder answers so that the requester learns only
//! which of its identifiers the responder also holds (or only how many, when the responder's
//! policy says so), and the responder learns only how many were asked. Security is
//! semi-honest: each node follows the protocol, and the transcript reveals nothing more.
//!
//! - [`Identifier`] parses each kind to one canonical string; [`read_identifiers`] reads a
//!   list and reports every bad line; [`IdentifierSet`] folds duplicates.
//! - [`PsiRequester`] and [`PsiResponder`] are sans-I/O state machines: byte messages in, byte
//!   messages out. The node carries the messages (in signed envelopes) between them.
//! - Two protocols sit behind them ([`Protocol`]): `dh`, Diffie–Hellman PSI over ristretto255
//!   (the reference, and the only one that can disclose a count only), and `ot`, an oblivious
//!   PRF from OT extension with cuckoo hashing (KKRT16), fast enough for 2^20 × 2^20.
//! - [`bench::run`] measures either protocol over a loopback TCP socket.
//!
//! # What each side learns
//!
//! | | `dh` | `ot` |
//! |---|---|---|
//! | the responder | `n_req` | `n_req` |
//! | the requester, following the protocol | which of its items match (or only how many, count-only), and `n_resp` | which of its items match, and `n_resp` |
//! | the most identifiers a requester can test, whatever it sends | `n_req` | `n_req + ⌊0.27·n_req⌋` (one per cuckoo bin; exactly `n_req` for `n_req ≤ 3`) |
//!
//! The last row is what an acceptance is worth against a requester that does not follow the
//! protocol: in `ot` each cuckoo bin is one evaluation of the oblivious PRF, and nothing stops
//! a requester from putting a different guess in every bin, empty ones included. The bin count
//! therefore follows the stated count with no additive slack. A responder made with
//! [`PsiResponder::accepting`] refuses a first message stating more than the accepted count
//! before it evaluates anything ([`PsiError::MoreThanAccepted`]), and
//! [`ResponderSummary::queries`] reports the bound that applied. Where the accepted count must
//! be exact, use `dh`.
//!
//! # Messages
//!
//! Every message starts with a type byte and the version byte (1); fields are little-endian;
//! the reader refuses anything short, long or out of range with a [`PsiError`].
//!
//! | protocol | message | direction | size in bytes |
//! |---|---|---|---|
//! | dh | query `0x11` | requester → responder | 6 + 32·n_req |
//! | dh | reply `0x12` | responder → requester | 11 + 32·n_req + 32·n_resp |
//! | ot | hello `0x21` | requester → responder | 74 |
//! | ot | base reply `0x22` | responder → requester | 16,418 |
//! | ot | mask `0x23` | requester → responder | 2 + 4096·⌈bins/64⌉, bins = n_req + ⌊0.27·n_req⌋ (≈ 81 per item) |
//! | ot | values `0x24` | responder → requester | 7 + 3·n_resp·w, w = 6 to 12 (11 at 2^20) |
//!
//! (`n_req`, `n_resp`: distinct items of each side.) At 2^20 × 2^20 the `ot` exchange is
//! about 81 MiB one way and 33 MiB the other; a transport must allow messages that large.
//!
//! ```
//! use soberana_psi::{Disclosure, Protocol, PsiRequester, PsiResponder, RequesterOutcome,
//!                    RequesterStep, ResponderStep};
//!
//! let ours = ["phone:+525512345678", "phone:+12025550143"];
//! let theirs = ["phone:+12025550143", "phone:+442079460958"];
//! let (mut requester, mut to_responder) = PsiRequester::start(Protocol::Ot, &ours).unwrap();
//! let mut responder = Some(PsiResponder::new(&theirs, Disclosure::Intersection).unwrap());
//! let outcome = loop {
//!     // In a node, each message travels inside a signed envelope.
//!     let step = responder.take().expect("responder still running").handle(&to_responder);
//!     let to_requester = match step.unwrap() {
//!         ResponderStep::Send { next, message } => { responder = Some(next); message }
//!         ResponderStep::Finish { message, summary } => { assert_eq!(summary.asked, 2); message }
//!     };
//!     match requester.handle(&to_requester).unwrap() {
//!         RequesterStep::Send { next, message } => { requester = next; to_responder = message; }
//!         RequesterStep::Done(outcome) => break outcome,
//!     }
//! };
//! assert_eq!(outcome, RequesterOutcome::Matches(vec![1]));
//! ```

#[cfg(feature = "bench")]
pub mod bench;
mod codec;
mod dh;
mod error;
mod ident;
mod item;
mod ot;
mod protocol;
mod set;

pub use dh::{ExpectDhQuery, ExpectDhReply};
pub use error::{IdentifierError, PsiError};
pub use ident::{Identifier, IdentifierKind, ParseOptions, PhoneCountry};
pub use ot::{ExpectBaseOtReply, ExpectHello, ExpectMask, ExpectOprfValues};
pub use protocol::{
    Disclosure, Protocol, PsiRequester, PsiResponder, RequesterOutcome, RequesterStep,
    ResponderStep, ResponderSummary, UnknownName,
};
pub use set::{IdentifierSet, LineError, ReadError, ReadOptions, read_identifiers};

/// The largest set either party accepts (2^24 distinct items), which also bounds what a peer's
/// count fields can make a party allocate.
pub const MAX_SET_SIZE: usize = 1 << 24;
