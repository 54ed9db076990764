//! The continuation's contract on the wire, pure: how a trail's request
//! becomes a `FinancialIntelligence` proposal, how the partner rebuilds the
//! request from it (checking it, as partner input), and how an answer is
//! released and read back.

#![cfg_attr(not(test), warn(clippy::indexing_slicing))]

use serde::{Deserialize, Serialize};
use soberana_core::{
    AccountRef, AgencyId, FinancialIntelligence, HandlingCode, PartyCode, Proposal, ProposalBody,
    ProposalDraft, ProposalId, ProposalState, Timestamp,
};
use soberana_finance::svg::dollars;
use soberana_finance::trace::{Direction, FlowGraph, Seed, TraceOptions, trace};
use soberana_finance::{AccountId, ContinuationAnswer, ContinuationRequest, Country, Graph};
use soberana_wire::AnswerItem;

use crate::NodeError;

/// The label of the answer item that carries a continuation answer.
pub const CONTINUATION_LABEL: &str = "continuation";

fn bad(text: impl Into<String>) -> NodeError {
    NodeError::Finance(text.into())
}

/// Where a trace starts, how far it goes and when.
#[derive(Debug, Clone, Default)]
pub struct TrailStart {
    /// The account to start from (`clabe:…`, `iban:…` or `us:ROUTING:ACCOUNT`).
    pub from: String,
    /// Most hops (the trace's default when `None`).
    pub hops: Option<u8>,
    /// Only money moved within this many seconds from the start account's
    /// first transaction (its last, going backward), or from `since`.
    pub window: Option<i64>,
    /// Start of the window.
    pub since: Option<Timestamp>,
}

/// Runs a trace on `graph` as `start` says.
pub fn run_trace(
    graph: &Graph,
    home: Country,
    start: &TrailStart,
    direction: Direction,
) -> Result<FlowGraph, NodeError> {
    let account = AccountId::new(&start.from).map_err(|e| bad(e.to_string()))?;
    let mut opts = match direction {
        Direction::Forward => TraceOptions::forward(home),
        Direction::Backward => TraceOptions::backward(home),
    };
    if let Some(h) = start.hops {
        if h == 0 {
            return Err(bad("--hops must be at least 1"));
        }
        opts.max_hops = h;
    }
    let since = start.since.map(|t| t.unix_millis().div_euclid(1000));
    if let Some(s) = since {
        match direction {
            Direction::Forward => opts.from = s,
            Direction::Backward => opts.to = s,
        }
    }
    if let Some(w) = start.window {
        let a = graph.account(&account).ok_or_else(|| {
            bad(format!(
                "account `{account}` has no transactions in this ledger; check the identifier"
            ))
        })?;
        let times = graph
            .outgoing(a)
            .iter()
            .chain(graph.incoming(a))
            .map(|&t| graph.time(t));
        match direction {
            Direction::Forward => {
                let from = since.or_else(|| times.min()).unwrap_or(0);
                opts.from = from;
                opts.to = from.saturating_add(w);
            }
            Direction::Backward => {
                let to = since.or_else(|| times.max()).unwrap_or(0);
                opts.to = to;
                opts.from = to.saturating_sub(w);
            }
        }
    }
    trace(
        graph,
        &[Seed {
            account,
            amount: None,
        }],
        &opts,
    )
    .map_err(|e| bad(e.to_string()))
}

/// The numbering scheme and number of an account, as a proposal names it.
pub fn account_ref(account: &AccountId) -> AccountRef {
    let text = account.as_str();
    let (scheme, number) = if let Some(n) = text.strip_prefix("clabe:") {
        ("clabe", n)
    } else if let Some(n) = text.strip_prefix("iban:") {
        ("iban", n)
    } else if let Some(n) = text.strip_prefix("us:") {
        ("us_aba", n)
    } else {
        ("", text)
    };
    AccountRef {
        scheme: scheme.to_owned(),
        number: number.to_owned(),
        institution: String::new(),
    }
}

/// The account a proposal names, checked (a partner's input).
pub fn account_of(r: &AccountRef) -> Result<AccountId, NodeError> {
    let prefix = match r.scheme.as_str() {
        "clabe" => "clabe",
        "iban" => "iban",
        "us_aba" => "us",
        other => {
            return Err(bad(format!(
                "account scheme `{other}` is unknown; expected clabe, iban or us_aba"
            )));
        }
    };
    AccountId::new(&format!("{prefix}:{}", r.number)).map_err(|e| bad(e.to_string()))
}

/// The draft asking `peer` to continue the trail from `req`'s account.
pub fn continuation_draft(
    req: &ContinuationRequest,
    peer: PartyCode,
    agency: &AgencyId,
) -> ProposalDraft {
    ProposalDraft {
        to: peer,
        requesting_agency: agency.clone(),
        purpose: format!("Continue a financial trace that reached an account held in {peer}"),
        legal_basis: "Egmont Group principles for information exchange between FIUs".into(),
        handling: HandlingCode::H2,
        deadline: Timestamp::now().plus_seconds(14 * 86_400),
        related_to: vec![],
        body: ProposalBody::FinancialIntelligence(FinancialIntelligence {
            accounts: vec![account_ref(&req.account)],
            window_from: Timestamp::from_unix_millis(req.from.saturating_mul(1000)),
            window_to: Timestamp::from_unix_millis(req.to.saturating_mul(1000)),
            amount_minor: u64::try_from(req.value).unwrap_or(0),
            currency: "USD".into(),
            question: format!(
                "Where did these funds go after arrival (up to {} hops), and are any onward accounts already reported?",
                req.max_hops
            ),
        }),
    }
}

/// The continuation requests an incoming proposal carries, one per account,
/// rebuilt from its fields (a partner's input: checked here and again by
/// `continuation::answer`).
pub fn requests_of(proposal: &Proposal, hops: u8) -> Result<Vec<ContinuationRequest>, NodeError> {
    let ProposalBody::FinancialIntelligence(f) = &proposal.body else {
        return Err(bad(format!(
            "proposal {} is a {}, not a request to continue a financial trace",
            proposal.id,
            proposal.body.kind()
        )));
    };
    if !(f.currency.is_empty() || f.currency == "USD") {
        return Err(bad(format!(
            "the amount is in `{}`; continuation amounts are in USD cents",
            f.currency
        )));
    }
    let value = i64::try_from(f.amount_minor).map_err(|_| bad("the amount is too large"))?;
    let requester = Country::new(proposal.from.as_str()).map_err(|e| bad(e.to_string()))?;
    f.accounts
        .iter()
        .enumerate()
        .map(|(i, r)| {
            Ok(ContinuationRequest {
                request_id: request_id(proposal.id, i, f.accounts.len()),
                requester,
                account: account_of(r)?,
                value,
                tx_count: 0,
                from: f.window_from.unix_millis().div_euclid(1000),
                to: f.window_to.unix_millis().div_euclid(1000),
                max_hops: hops,
            })
        })
        .collect()
}

/// A request's id: the proposal's id, numbered when it names several
/// accounts.
pub fn request_id(id: ProposalId, i: usize, n: usize) -> String {
    if n == 1 {
        id.to_string()
    } else {
        format!("{id}.{}", i + 1)
    }
}

/// One line a person can read about an answer.
pub fn answer_summary(a: &ContinuationAnswer) -> String {
    if !a.found {
        return format!("no transactions of {} in the window", a.account);
    }
    format!(
        "{}: {} moved on through {} accounts in {} transactions, {} retained, {} withdrawn in cash ({} in border zones), {} sent abroad{}",
        a.account,
        dollars(a.moved_on),
        a.accounts_reached,
        a.transactions,
        dollars(a.retained),
        dollars(a.cash_out),
        dollars(a.cash_out_border_zone),
        dollars(a.abroad),
        if a.account_reported {
            "; the account is already reported"
        } else {
            ""
        }
    )
}

/// The items an officer releases for `answers`: each answer's JSON under
/// the label `continuation`, and one readable summary.
pub fn release_items(answers: &[ContinuationAnswer]) -> Result<Vec<AnswerItem>, NodeError> {
    let mut items = Vec::new();
    for a in answers {
        items.push(AnswerItem {
            label: CONTINUATION_LABEL.into(),
            value: serde_json::to_string(a).map_err(|e| bad(e.to_string()))?,
        });
        items.push(AnswerItem {
            label: "summary".into(),
            value: answer_summary(a),
        });
    }
    Ok(items)
}

/// A trail sent over the border: our flow and what we asked. Stored with
/// the proposals that carry it, in the same transaction.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Trail {
    /// Where it started.
    pub from: String,
    /// Our side of the flow.
    pub flow: FlowGraph,
    /// One per proposal sent.
    pub legs: Vec<TrailLeg>,
}

/// One continuation asked for.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrailLeg {
    /// The proposal that carries it.
    pub proposal: ProposalId,
    /// The request, as the partner will rebuild it.
    pub request: ContinuationRequest,
}

/// What became of one leg when stitching.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LegStatus {
    /// Stitched: the partner's answer.
    Stitched(Box<ContinuationAnswer>),
    /// Not answered yet (the proposal's state).
    Waiting(ProposalState),
    /// Answered without a usable continuation (why).
    Unusable(String),
}

/// The continuation for `leg` among a partner's released items (peer
/// input: parsed strictly, checked by stitching into `flow`).
pub(crate) fn stitch_leg(flow: &mut FlowGraph, leg: &TrailLeg, items: &[AnswerItem]) -> LegStatus {
    let parsed = items
        .iter()
        .filter(|i| i.label == CONTINUATION_LABEL)
        .map(|i| serde_json::from_str::<ContinuationAnswer>(&i.value))
        .find(|a| {
            a.as_ref()
                .is_ok_and(|a| a.request_id == leg.request.request_id)
        });
    match parsed {
        None => LegStatus::Unusable("the answer carries no continuation for it".into()),
        Some(Err(e)) => LegStatus::Unusable(format!("the continuation does not parse: {e}")),
        Some(Ok(a)) => match soberana_finance::stitch(flow, &leg.request, &a) {
            Ok(_) => LegStatus::Stitched(Box::new(a)),
            Err(e) => LegStatus::Unusable(e.to_string()),
        },
    }
}
