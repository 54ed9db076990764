//! The protocol interface: one requester and one responder state machine in front of both
//! PSI protocols, exchanging opaque byte messages.
//!
//! The node carries each message in a signed envelope and feeds the answer back in; nothing
//! here does I/O. Each protocol's states are typed structs (`Expect…`, in the style of rustls)
//! that are consumed by `handle`; the wrappers here only route between them, so a message can
//! never be applied to a state that does not expect it. The responder learns which protocol is
//! in use from the first message, and its disclosure policy (overlap or count only) is fixed
//! when it is created.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use crate::error::PsiError;
use crate::item::PreparedSet;
use crate::{dh, ot};

/// Which PSI protocol to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// Diffie–Hellman PSI over ristretto255: simple, slower, supports count-only disclosure.
    Dh,
    /// Oblivious PRF from OT extension (KKRT16) with cuckoo hashing: fast, discloses the
    /// overlap only.
    Ot,
}

impl Protocol {
    /// The protocol's name (`dh` or `ot`).
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Dh => "dh",
            Protocol::Ot => "ot",
        }
    }

    /// Parses `dh` or `ot`.
    pub fn from_name(name: &str) -> Option<Self> {
        match name.trim().to_ascii_lowercase().as_str() {
            "dh" => Some(Protocol::Dh),
            "ot" => Some(Protocol::Ot),
            _ => None,
        }
    }
}

impl FromStr for Protocol {
    type Err = UnknownName;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Protocol::from_name(s).ok_or_else(|| UnknownName {
            what: "protocol",
            name: s.to_owned(),
            expected: "`dh` or `ot`",
        })
    }
}

/// A protocol or disclosure name that is not one soberana knows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} `{name}`; use {expected}")]
pub struct UnknownName {
    what: &'static str,
    name: String,
    expected: &'static str,
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What the responder's policy lets the requester learn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Disclosure {
    /// Which of the requester's items the responder also holds.
    #[default]
    Intersection,
    /// Only how many of them (DH protocol only).
    CountOnly,
}

impl Disclosure {
    /// The disclosure's name (`intersection` or `count-only`).
    pub fn name(self) -> &'static str {
        match self {
            Disclosure::Intersection => "intersection",
            Disclosure::CountOnly => "count-only",
        }
    }

    pub(crate) fn to_byte(self) -> u8 {
        match self {
            Disclosure::Intersection => 0,
            Disclosure::CountOnly => 1,
        }
    }

    pub(crate) fn from_byte(b: u8) -> Option<Self> {
        match b {
            0 => Some(Disclosure::Intersection),
            1 => Some(Disclosure::CountOnly),
            _ => None,
        }
    }
}

impl FromStr for Disclosure {
    type Err = UnknownName;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "intersection" => Ok(Disclosure::Intersection),
            "count-only" => Ok(Disclosure::CountOnly),
            _ => Err(UnknownName {
                what: "disclosure",
                name: s.to_owned(),
                expected: "`intersection` or `count-only`",
            }),
        }
    }
}

impl fmt::Display for Disclosure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What the requester learns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequesterOutcome {
    /// The positions, in the requester's own input, of the items the responder also holds
    /// (every position of a duplicated item), ascending.
    Matches(Vec<usize>),
    /// The number of distinct items of the requester that the responder also holds.
    Count(usize),
}

/// What the responder learns: how many items were asked, nothing else.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ResponderSummary {
    /// The protocol that ran.
    pub protocol: Protocol,
    /// The number of distinct items the requester asked about.
    pub asked: usize,
    /// The most identifiers the requester can have tested, whether or not it followed the
    /// protocol: `asked` for `dh`, the number of OPRF evaluations (cuckoo bins) for `ot`.
    pub queries: usize,
    /// The disclosure the responder applied.
    pub disclosure: Disclosure,
}

/// The requester's state machine.
pub struct PsiRequester {
    // Boxed: the states differ a lot in size and the wrapper moves through every step.
    state: Box<RequesterState>,
}

enum RequesterState {
    Dh(dh::ExpectDhReply),
    OtBase(ot::ExpectBaseOtReply),
    OtValues(ot::ExpectOprfValues),
}

/// What the requester does after a message.
pub enum RequesterStep {
    /// Send `message` to the responder and feed its answer to `next`.
    Send {
        /// The next state.
        next: PsiRequester,
        /// The message to send.
        message: Vec<u8>,
    },
    /// The exchange is complete.
    Done(RequesterOutcome),
}

impl PsiRequester {
    /// Starts a request over `items` (each one's bytes, typically an identifier's canonical
    /// string); returns the state and the first message to send.
    pub fn start<T: AsRef<[u8]> + Sync>(
        protocol: Protocol,
        items: &[T],
    ) -> Result<(PsiRequester, Vec<u8>), PsiError> {
        let set = PreparedSet::new(items)?;
        let (state, message) = match protocol {
            Protocol::Dh => {
                let (s, m) = dh::start_requester(set);
                (RequesterState::Dh(s), m)
            }
            Protocol::Ot => {
                let (s, m) = ot::start_requester(set)?;
                (RequesterState::OtBase(s), m)
            }
        };
        Ok((
            PsiRequester {
                state: Box::new(state),
            },
            message,
        ))
    }

    /// Handles the responder's next message.
    pub fn handle(self, message: &[u8]) -> Result<RequesterStep, PsiError> {
        Ok(match *self.state {
            RequesterState::Dh(s) => RequesterStep::Done(s.handle(message)?),
            RequesterState::OtBase(s) => {
                let (next, message) = s.handle(message)?;
                RequesterStep::Send {
                    next: PsiRequester {
                        state: Box::new(RequesterState::OtValues(next)),
                    },
                    message,
                }
            }
            RequesterState::OtValues(s) => RequesterStep::Done(s.handle(message)?),
        })
    }
}

/// The responder's state machine.
pub struct PsiResponder {
    state: Box<ResponderState>,
}

enum ResponderState {
    First {
        set: PreparedSet,
        disclosure: Disclosure,
        accepted: Option<usize>,
    },
    OtMask(ot::ExpectMask),
}

/// What the responder does after a message.
pub enum ResponderStep {
    /// Send `message` and feed the requester's answer to `next`.
    Send {
        /// The next state.
        next: PsiResponder,
        /// The message to send.
        message: Vec<u8>,
    },
    /// Send `message`; the responder's part is over.
    Finish {
        /// The last message to send.
        message: Vec<u8>,
        /// What the responder learnt.
        summary: ResponderSummary,
    },
}

impl PsiResponder {
    /// A responder over its own `items`, applying `disclosure`.
    pub fn new<T: AsRef<[u8]> + Sync>(
        items: &[T],
        disclosure: Disclosure,
    ) -> Result<PsiResponder, PsiError> {
        Ok(PsiResponder {
            state: Box::new(ResponderState::First {
                set: PreparedSet::new(items)?,
                disclosure,
                accepted: None,
            }),
        })
    }

    /// A responder that answers a request about at most `accepted` identifiers: a first
    /// message stating more is refused before any evaluation ([`PsiError::MoreThanAccepted`]).
    /// With `dh` the requester then tests at most `accepted` identifiers; with `ot` at most
    /// `accepted + ⌊0.27·accepted⌋` (one per cuckoo bin), whatever it sends.
    pub fn accepting<T: AsRef<[u8]> + Sync>(
        items: &[T],
        disclosure: Disclosure,
        accepted: usize,
    ) -> Result<PsiResponder, PsiError> {
        Ok(PsiResponder {
            state: Box::new(ResponderState::First {
                set: PreparedSet::new(items)?,
                disclosure,
                accepted: Some(accepted),
            }),
        })
    }

    /// Handles the requester's next message.
    pub fn handle(self, message: &[u8]) -> Result<ResponderStep, PsiError> {
        match *self.state {
            ResponderState::First {
                set,
                disclosure,
                accepted,
            } => match message.first() {
                Some(&kind)
                    if accepted.is_some() && matches!(kind, dh::QUERY_TYPE | ot::HELLO_TYPE) =>
                {
                    // Both first messages state the requester's count right after the type
                    // and version bytes; check it before any work or answer.
                    let name = if kind == dh::QUERY_TYPE {
                        "dh query"
                    } else {
                        "ot hello"
                    };
                    let asked = crate::codec::Reader::new(name, kind, message)?.u32()? as usize;
                    let accepted = accepted.unwrap_or_default();
                    if asked > accepted {
                        return Err(PsiError::MoreThanAccepted { asked, accepted });
                    }
                    PsiResponder {
                        state: Box::new(ResponderState::First {
                            set,
                            disclosure,
                            accepted: None,
                        }),
                    }
                    .handle(message)
                }
                Some(&dh::QUERY_TYPE) => {
                    let (message, summary) =
                        dh::ExpectDhQuery::new(set, disclosure).handle(message)?;
                    Ok(ResponderStep::Finish { message, summary })
                }
                Some(&ot::HELLO_TYPE) => {
                    if disclosure == Disclosure::CountOnly {
                        return Err(PsiError::CountOnlyNeedsDh);
                    }
                    let (next, message) = ot::ExpectHello::new(set).handle(message)?;
                    Ok(ResponderStep::Send {
                        next: PsiResponder {
                            state: Box::new(ResponderState::OtMask(next)),
                        },
                        message,
                    })
                }
                Some(&found) => Err(PsiError::UnexpectedMessage {
                    expected: "dh query or ot hello",
                    found,
                }),
                None => Err(PsiError::Truncated {
                    message: "first",
                    offset: 0,
                    needed: 1,
                }),
            },
            ResponderState::OtMask(s) => {
                let (message, summary) = s.handle(message)?;
                Ok(ResponderStep::Finish { message, summary })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_names_are_explained() {
        for p in [Protocol::Dh, Protocol::Ot] {
            assert_eq!(p.name().parse::<Protocol>().unwrap(), p);
        }
        for d in [Disclosure::Intersection, Disclosure::CountOnly] {
            assert_eq!(d.to_string().parse::<Disclosure>().unwrap(), d);
            assert_eq!(Disclosure::from_byte(d.to_byte()), Some(d));
        }
        assert_eq!(Disclosure::from_byte(2), None);
        let err = "ecdh".parse::<Protocol>().unwrap_err();
        assert_eq!(err.to_string(), "unknown protocol `ecdh`; use `dh` or `ot`");
        assert!("all".parse::<Disclosure>().is_err());
    }
}
