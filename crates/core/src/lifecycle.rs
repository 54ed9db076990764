//! The life of a proposal, as an explicit state machine.
//!
//! Both nodes keep a record of each proposal: the proposer's ("outgoing")
//! and the receiver's ("incoming"). Every change of state goes through
//! [`ProposalState::apply`], which refuses any transition the protocol does
//! not allow — a decision on a proposal already decided, an answer to a
//! proposal never accepted — so the store can never hold an impossible
//! history.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::Outcome;

/// Whether a proposal is ours (sent) or a partner's (received).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// We proposed it.
    Outgoing,
    /// A partner proposed it to us.
    Incoming,
}

impl Direction {
    /// The direction's name.
    pub fn as_str(&self) -> &'static str {
        match self {
            Direction::Outgoing => "outgoing",
            Direction::Incoming => "incoming",
        }
    }
}

/// Where a proposal stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProposalState {
    /// Outgoing: written to the outbox, not yet delivered.
    Queued,
    /// Outgoing: the partner's node accepted the envelope.
    Delivered,
    /// Incoming: received and not yet decided by policy.
    Received,
    /// Incoming: policy sent it to an officer.
    AwaitingOfficer,
    /// Accepted, with or without conditions.
    Accepted,
    /// Refused.
    Refused,
    /// The receiver asked for more information.
    MoreInformationNeeded,
    /// A notification whose receipt has been given (incoming) or received
    /// (outgoing).
    Acknowledged,
    /// Accepted and answered: what was released has been disclosed.
    Answered,
}

impl ProposalState {
    /// The state's name.
    pub fn as_str(&self) -> &'static str {
        match self {
            ProposalState::Queued => "queued",
            ProposalState::Delivered => "delivered",
            ProposalState::Received => "received",
            ProposalState::AwaitingOfficer => "awaiting_officer",
            ProposalState::Accepted => "accepted",
            ProposalState::Refused => "refused",
            ProposalState::MoreInformationNeeded => "more_information_needed",
            ProposalState::Acknowledged => "acknowledged",
            ProposalState::Answered => "answered",
        }
    }

    /// Parses a state's name.
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "queued" => ProposalState::Queued,
            "delivered" => ProposalState::Delivered,
            "received" => ProposalState::Received,
            "awaiting_officer" => ProposalState::AwaitingOfficer,
            "accepted" => ProposalState::Accepted,
            "refused" => ProposalState::Refused,
            "more_information_needed" => ProposalState::MoreInformationNeeded,
            "acknowledged" => ProposalState::Acknowledged,
            "answered" => ProposalState::Answered,
            _ => return None,
        })
    }

    /// The state a proposal starts in.
    pub fn initial(direction: Direction) -> Self {
        match direction {
            Direction::Outgoing => ProposalState::Queued,
            Direction::Incoming => ProposalState::Received,
        }
    }

    /// Whether nothing more can happen to the proposal.
    pub fn is_final(&self) -> bool {
        matches!(
            self,
            ProposalState::Refused
                | ProposalState::Acknowledged
                | ProposalState::Answered
                | ProposalState::MoreInformationNeeded
        )
    }

    /// Whether an officer may decide it now.
    pub fn awaits_decision(&self) -> bool {
        matches!(self, ProposalState::AwaitingOfficer)
    }

    /// The state after `event`, or why the event is not allowed now.
    pub fn apply(
        self,
        direction: Direction,
        event: &LifecycleEvent,
    ) -> Result<ProposalState, TransitionError> {
        use Direction::{Incoming, Outgoing};
        use LifecycleEvent as E;
        use ProposalState as S;
        let next = match (direction, self, event) {
            (Outgoing, S::Queued, E::Delivered) => S::Delivered,
            // A decision can overtake the delivery confirmation when the
            // partner answers before our outbox records the delivery.
            (Outgoing, S::Queued | S::Delivered, E::Decided(outcome)) => decided(outcome),
            (Outgoing, S::Queued | S::Delivered, E::Acknowledged) => S::Acknowledged,
            (Outgoing, S::Accepted, E::Answered) => S::Answered,
            (Incoming, S::Received, E::ReviewRequired) => S::AwaitingOfficer,
            (Incoming, S::Received | S::AwaitingOfficer, E::Decided(outcome)) => decided(outcome),
            (Incoming, S::Received, E::Acknowledged) => S::Acknowledged,
            (Incoming, S::Accepted, E::Answered) => S::Answered,
            _ => {
                return Err(TransitionError {
                    direction,
                    from: self,
                    event: event.name(),
                });
            }
        };
        Ok(next)
    }
}

fn decided(outcome: &Outcome) -> ProposalState {
    match outcome {
        Outcome::Accepted | Outcome::AcceptedWithConditions { .. } => ProposalState::Accepted,
        Outcome::Refused => ProposalState::Refused,
        Outcome::MoreInformationNeeded { .. } => ProposalState::MoreInformationNeeded,
    }
}

impl fmt::Display for ProposalState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Something that happens to a proposal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LifecycleEvent {
    /// The partner's node accepted our envelope.
    Delivered,
    /// Policy could not settle it: an officer must decide.
    ReviewRequired,
    /// It was decided.
    Decided(Outcome),
    /// A receipt was given or received.
    Acknowledged,
    /// What was released has been disclosed.
    Answered,
}

impl LifecycleEvent {
    fn name(&self) -> &'static str {
        match self {
            LifecycleEvent::Delivered => "delivery",
            LifecycleEvent::ReviewRequired => "review",
            LifecycleEvent::Decided(_) => "decision",
            LifecycleEvent::Acknowledged => "receipt",
            LifecycleEvent::Answered => "answer",
        }
    }
}

/// A transition the lifecycle does not allow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a {event} is not allowed for an {} proposal that is {from}", direction.as_str())]
pub struct TransitionError {
    /// The proposal's direction.
    pub direction: Direction,
    /// Its state.
    pub from: ProposalState,
    /// The refused event.
    pub event: &'static str,
}

#[cfg(test)]
mod tests {
    use super::*;
    use Direction::*;
    use LifecycleEvent as E;
    use ProposalState as S;

    #[test]
    fn allowed_paths_reach_their_ends() {
        let cases: &[(Direction, &[E], S)] = &[
            (
                Outgoing,
                &[E::Delivered, E::Decided(Outcome::Accepted), E::Answered],
                S::Answered,
            ),
            (
                Outgoing,
                &[E::Delivered, E::Decided(Outcome::Refused)],
                S::Refused,
            ),
            (Outgoing, &[E::Delivered, E::Acknowledged], S::Acknowledged),
            (Outgoing, &[E::Decided(Outcome::Refused)], S::Refused),
            (Incoming, &[E::Decided(Outcome::Refused)], S::Refused),
            (
                Incoming,
                &[
                    E::ReviewRequired,
                    E::Decided(Outcome::Accepted),
                    E::Answered,
                ],
                S::Answered,
            ),
            (Incoming, &[E::Acknowledged], S::Acknowledged),
        ];
        for (direction, events, end) in cases {
            let mut state = S::initial(*direction);
            for event in *events {
                state = state.apply(*direction, event).unwrap();
            }
            assert_eq!(state, *end, "{direction:?} {events:?}");
        }
    }

    #[test]
    fn impossible_transitions_are_refused() {
        let refused: &[(Direction, S, E)] = &[
            (Incoming, S::Refused, E::Decided(Outcome::Accepted)),
            (Incoming, S::Accepted, E::Decided(Outcome::Refused)),
            (Incoming, S::Received, E::Answered),
            (Incoming, S::AwaitingOfficer, E::Answered),
            (Incoming, S::Received, E::Delivered),
            (Outgoing, S::Queued, E::ReviewRequired),
            (Outgoing, S::Refused, E::Answered),
            (Outgoing, S::Answered, E::Decided(Outcome::Accepted)),
        ];
        for (direction, from, event) in refused {
            let err = from.apply(*direction, event).unwrap_err();
            assert_eq!(err.from, *from);
        }
    }

    #[test]
    fn state_names_round_trip() {
        for s in [
            S::Queued,
            S::Delivered,
            S::Received,
            S::AwaitingOfficer,
            S::Accepted,
            S::Refused,
            S::MoreInformationNeeded,
            S::Acknowledged,
            S::Answered,
        ] {
            assert_eq!(S::parse(s.as_str()), Some(s));
        }
    }
}
