//! soberana-desk: the officer desk, the web UI each node serves.
//!
//! Approving authorities and liaison officers work here rather than in a
//! terminal: the inbox of partner proposals that policy sent to an officer,
//! each proposal with the reasons policy gave and its full history, the form
//! to decide it (with a second officer's confirmation when material under a
//! restrictive handling code is released), our own proposals and where they
//! stand, the proof (checkpoints, the partner's cosignatures, verifying a
//! receipt bundle), and outcome charts drawn as SVG on the server.
//!
//! Code map:
//! - [`router`] builds the whole desk as an axum `Router` over a [`Desk`];
//!   tests call it without a socket, [`serve`] puts it on one.
//! - `auth`: Argon2id password hashes, in-memory sessions, form tokens.
//! - `pages`: the session, login and assets; `lists`: inbox, decided by
//!   policy, outbox; `proposal`: one proposal, its body kind by kind in
//!   `kinds`; `proof`: checkpoints and receipts; `decide`: decisions and four eyes;
//!   `reply`: a liaison's reply to a request for more information;
//!   `finance`: a partner's financial request continued on our ledger and
//!   released (`Node::answer_continuation`); `firearms`: a partner's trace
//!   request traced on our records and released (`Node::answer_trace`);
//!   `alerts`: money-laundering incidents ranked, and analysts' verdicts;
//!   `case`: the joint investigations an officer is a member of; `case_acts`:
//!   releasing an exhibit (four eyes), opening one, members added and removed;
//!   `standing_page`: standing match arrangements with each partner;
//!   `standing`: the acts on them (propose and accept under four eyes,
//!   suspend, resume, terminate, run now); `charts`: the SVG charts;
//!   `html`: escaping and the page frame; `i18n`: Spanish and English,
//!   chosen per officer.
//!
//! Invariants:
//! - Every form carries the session's token and is refused without it; every
//!   page but the login needs a session.
//! - Every officer action is attributed and written to the audit trail in the
//!   node's store, through the node (the desk holds no store of its own); a
//!   decision additionally names its officer(s) itself.
//! - A refused request changes nothing: checks come before any write.
//! - A login attempt is counted before its password is checked, in one store
//!   write (`OfficerStore::admit_login`): however many guesses arrive at
//!   once, at most the lock-out threshold are checked.
//! - The desk never decides anything the node would not: decisions,
//!   confirmations and withdrawals are `Node::decide`, `Node::confirm` and
//!   `Node::withdraw`, which hold the roles, four eyes and the lifecycle;
//!   acts on a case are `Node::exhibit_release` (called only with two
//!   different approvers who both acted on the page), `Node::exhibit_open`,
//!   `Node::case_member_add` and `Node::case_member_remove`. The one thing
//!   the desk holds itself is a release awaiting its second approver, in
//!   memory: nothing is written or sent for it until the second approver
//!   confirms, and a restart forgets it. Acts on standing arrangements are
//!   `Node::act_on_standing` and `Node::run_standing`, as the command line
//!   calls them; proposing or accepting one waits likewise, in memory, for
//!   a second approver, after `Node::check_standing_act` judged it without
//!   writing anything.
//! - No asset comes from elsewhere: the stylesheet and script are compiled in.

mod alerts;
mod auth;
mod case;
mod case_acts;
mod case_work;
mod charts;
mod decide;
mod error;
mod evidence;
mod finance;
mod firearms;
mod html;
mod i18n;
mod kinds;
mod lists;
mod pages;
mod proof;
mod proposal;
mod reply;
mod standing;
mod standing_page;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use soberana_core::{Officer, Timestamp};
use soberana_node::{Node, Officers};
use soberana_store::{AuditEntry, OfficerAccount};

pub use auth::{HashCost, hash_password, verify_password};
pub use error::DeskError;
pub use html::escape;
pub use i18n::{ENGLISH_WORDS, Lang, english_words_in};
pub use kinds::money;

/// How a desk behaves.
#[derive(Debug, Clone)]
pub struct DeskConfig {
    /// Mark cookies `Secure` (set when the desk is served over HTTPS, or
    /// behind a proxy that terminates HTTPS).
    pub secure_cookies: bool,
    /// A session ends after this many seconds without a request.
    pub session_idle_seconds: i64,
    /// A session ends this many seconds after login, whatever happens.
    pub session_max_seconds: i64,
    /// Failed logins in a row before an account is locked.
    pub lock_after_failures: u32,
    /// How long a lock lasts.
    pub lock_seconds: i64,
    /// The largest receipt bundle the proof page takes.
    pub max_upload_bytes: usize,
    /// The language of pages shown before anyone logs in.
    pub default_language: Lang,
    /// The cost of the hash verified for unknown officer ids (match the
    /// cost officers' passwords were hashed with).
    pub hash_cost: HashCost,
}

impl Default for DeskConfig {
    fn default() -> Self {
        Self {
            secure_cookies: false,
            session_idle_seconds: 30 * 60,
            session_max_seconds: 12 * 3600,
            lock_after_failures: 5,
            lock_seconds: 15 * 60,
            max_upload_bytes: 256 * 1024,
            default_language: Lang::Es,
            hash_cost: HashCost::Standard,
        }
    }
}

/// Everything a desk request needs: the node, the live sessions and the
/// configuration. Cheap to clone.
#[derive(Clone)]
pub struct Desk {
    inner: Arc<Inner>,
}

struct Inner {
    node: Node,
    sessions: auth::Sessions,
    config: DeskConfig,
    decoy_hash: String,
    /// Exhibit releases awaiting a second approver (see `case_acts`).
    releases: std::sync::Mutex<Releases>,
    /// Acts on standing arrangements awaiting a second approver (see
    /// `standing`).
    standing: std::sync::Mutex<standing::PendingActs>,
}

/// Exhibit releases awaiting a second approver, by case and exhibit.
type Releases = std::collections::HashMap<
    (soberana_case::CaseId, soberana_case::ExhibitDigest),
    case_acts::PendingRelease,
>;

impl Desk {
    /// A desk for `node`; officers and their audit trail are the node's.
    pub fn open(node: Node, config: DeskConfig) -> Result<Self, DeskError> {
        let decoy_hash = hash_password(&auth::new_token()?, config.hash_cost)?;
        Ok(Self {
            inner: Arc::new(Inner {
                node,
                sessions: auth::Sessions::default(),
                config,
                decoy_hash,
                releases: std::sync::Mutex::default(),
                standing: std::sync::Mutex::default(),
            }),
        })
    }

    /// The node behind the desk.
    pub fn node(&self) -> &Node {
        &self.inner.node
    }

    /// Exhibit releases awaiting a second approver. A poisoned lock still
    /// holds a consistent map: every change to it is one insert or remove.
    pub(crate) fn releases(&self) -> std::sync::MutexGuard<'_, Releases> {
        self.inner
            .releases
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Acts on standing arrangements awaiting a second approver; as with
    /// releases, every change is one insert or remove.
    pub(crate) fn pending_standing(&self) -> std::sync::MutexGuard<'_, standing::PendingActs> {
        self.inner
            .standing
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The node's officers and audit trail.
    pub fn officers(&self) -> Officers<'_> {
        self.inner.node.officers()
    }

    pub(crate) fn config(&self) -> &DeskConfig {
        &self.inner.config
    }

    pub(crate) fn sessions(&self) -> &auth::Sessions {
        &self.inner.sessions
    }

    pub(crate) fn decoy_hash(&self) -> &str {
        &self.inner.decoy_hash
    }

    /// A cookie's name on this desk: one per party, so that two desks on
    /// one host (the demo) keep apart sessions.
    pub(crate) fn cookie(&self, base: &str) -> String {
        format!("{base}_{}", self.party().to_ascii_lowercase())
    }

    pub(crate) fn party(&self) -> String {
        self.inner.node.party().to_string()
    }

    /// Appends to the audit trail; a failure to audit is logged loudly but
    /// does not undo what was already done.
    pub(crate) fn audit(&self, officer: &str, action: &str, target: &str, detail: &str) {
        let entry = AuditEntry {
            at: Timestamp::now(),
            officer: officer.to_owned(),
            action: action.to_owned(),
            target: target.to_owned(),
            detail: detail.to_owned(),
        };
        if let Err(e) = self.officers().audit(entry) {
            tracing::error!(error = %e, action, "could not write the desk audit trail");
        }
    }
}

/// What `soberana officer add` records.
#[derive(Debug, Clone)]
pub struct NewOfficer {
    /// The officer.
    pub officer: Officer,
    /// Their password (hashed before it is stored).
    pub password: String,
    /// Their language.
    pub language: Lang,
    /// Their offset from UTC in minutes, for showing times when no time
    /// zone is named.
    pub utc_offset_minutes: i32,
    /// Their IANA time zone (`America/Tijuana`), followed with daylight
    /// saving; empty to use the offset alone.
    pub time_zone: String,
}

/// Adds (or replaces) an officer's account on `node`, with an audit line
/// naming who did it (`by`, e.g. the operator's login on the machine).
pub fn add_officer(
    node: &Node,
    new: NewOfficer,
    cost: HashCost,
    by: &str,
) -> Result<(), DeskError> {
    if new.officer.roles.is_empty() {
        return Err(DeskError::BadInput(
            "an officer needs at least one role".into(),
        ));
    }
    if new.officer.name.trim().is_empty() || new.officer.name.chars().count() > 120 {
        return Err(DeskError::BadInput(
            "an officer's name must have 1 to 120 characters".into(),
        ));
    }
    if !(-14 * 60..=14 * 60).contains(&new.utc_offset_minutes) {
        return Err(DeskError::BadInput(format!(
            "offset `{}` minutes is not a UTC offset; use -840 to 840",
            new.utc_offset_minutes
        )));
    }
    if !new.time_zone.is_empty() && !html::known_zone(&new.time_zone) {
        return Err(DeskError::BadInput(format!(
            "time zone `{}` is not an IANA time zone name; use e.g. America/Mexico_City, America/Tijuana or America/Phoenix",
            new.time_zone.chars().take(64).collect::<String>()
        )));
    }
    let password_hash = hash_password(&new.password, cost)?;
    node.officers().put_officer(
        OfficerAccount {
            officer: new.officer,
            password_hash,
            language: new.language.code().into(),
            utc_offset_minutes: new.utc_offset_minutes,
            time_zone: new.time_zone,
            failures: 0,
            locked_until: None,
        },
        by,
    )?;
    Ok(())
}

/// The whole desk as a router (tests call it without a socket).
pub fn router(desk: Desk) -> Router {
    let upload_limit = desk.config().max_upload_bytes;
    Router::new()
        .route("/", get(pages::home))
        .route("/login", get(pages::login_form).post(pages::login))
        .route("/logout", post(pages::logout))
        .route("/language", post(pages::language))
        .route("/inbox", get(pages::inbox))
        .route("/outbox", get(pages::outbox))
        .route("/decided", get(pages::decided))
        .route("/proposals/{id}", get(pages::proposal))
        .route("/proposals/{id}/decide", post(decide::decide))
        .route("/proposals/{id}/confirm", post(decide::confirm))
        .route("/proposals/{id}/withdraw", post(decide::withdraw))
        .route("/proposals/{id}/continuation", post(finance::answer))
        .route("/proposals/{id}/trace", post(firearms::answer))
        .route("/proposals/{id}/document", get(pages::document))
        .route("/proposals/{id}/reply", post(reply::reply))
        .route("/proposals/{id}/evidence", post(evidence::request))
        .route("/cases", get(case::cases))
        .route("/cases/{id}", get(case::case))
        .route("/cases/{id}/members", post(case_acts::member_add))
        .route("/cases/{id}/members/remove", post(case_acts::member_remove))
        .route("/cases/{id}/messages", post(case_work::message))
        .route("/cases/{id}/tasks", post(case_work::task))
        .route("/cases/{id}/tasks/{task}/done", post(case_work::task_done))
        .route(
            "/cases/{id}/exhibits/{digest}/release",
            post(case_acts::release),
        )
        .route(
            "/cases/{id}/exhibits/{digest}/confirm",
            post(case_acts::confirm),
        )
        .route(
            "/cases/{id}/exhibits/{digest}/withdraw",
            post(case_acts::withdraw),
        )
        .route("/cases/{id}/exhibits/{digest}/open", post(case_acts::open))
        .route(
            "/cases/{id}/exhibits/{digest}/consent",
            post(evidence::consent),
        )
        .route("/standing", get(standing_page::standing))
        .route("/standing/propose", post(standing::propose))
        .route("/standing/{partner}/{name}/run", post(standing::run))
        .route("/standing/{partner}/{name}/{act}", post(standing::act))
        .route("/proof", get(pages::proof))
        .route(
            "/proof/verify",
            // Room for the multipart framing around the file itself; the
            // file's own size is checked against the limit exactly.
            post(pages::verify_receipt).layer(DefaultBodyLimit::max(upload_limit + 16 * 1024)),
        )
        .route("/outcomes", get(pages::outcomes))
        .route("/alerts", get(alerts::alerts))
        .route("/alerts/verdict", post(alerts::verdict))
        .route("/charts/{name}", get(pages::chart))
        .route("/assets/desk.css", get(pages::stylesheet))
        .route("/assets/desk.js", get(pages::script))
        .route("/assets/icon.svg", get(pages::icon))
        .fallback(pages::not_found)
        .layer(axum::middleware::map_response(pages::security_headers))
        .with_state(desk)
}

/// A running desk.
pub struct RunningDesk {
    /// Where it listens.
    pub addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl RunningDesk {
    /// Stops serving.
    pub fn stop(self) {
        self.task.abort();
    }
}

/// Serves the desk on `addr` (plain HTTP: put it on loopback or behind a
/// proxy that terminates HTTPS, and set `secure_cookies`).
pub async fn serve(desk: Desk, addr: SocketAddr) -> Result<RunningDesk, DeskError> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| DeskError::Internal(format!("cannot listen on `{addr}`: {e}")))?;
    let addr = listener
        .local_addr()
        .map_err(|e| DeskError::Internal(e.to_string()))?;
    let app = router(desk);
    let task = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "the desk stopped serving");
        }
    });
    Ok(RunningDesk { addr, task })
}
