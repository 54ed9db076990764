//! The node's errors: each names what is wrong and, where it can, the fix.

use std::path::PathBuf;

/// Why a node could not be made, started or used.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// The node directory has no configuration.
    #[error("no node at `{0}`: run `soberana init --party XX --dir {0}` first")]
    NoNode(PathBuf),
    /// `init` was pointed at a directory that already holds a node.
    #[error("`{0}` already holds a node; choose another --dir or remove it")]
    AlreadyExists(PathBuf),
    /// `init` was given a store it cannot use.
    #[error("the store `{0}` cannot be used: {1}")]
    BadStore(String, String),
    /// The configuration file could not be read.
    #[error("bad configuration in `{path}`: {detail}")]
    Config {
        /// The file.
        path: PathBuf,
        /// What was wrong.
        detail: String,
    },
    /// The party is not in the registry of known parties.
    #[error(
        "unknown party `{0}`: known parties are {1}; add a party file under `parties/` to add one"
    )]
    UnknownParty(String, String),
    /// A key file is missing.
    #[error(
        "key file `{0}` is missing: restore it from backup, or make a new node with `soberana init`"
    )]
    MissingKey(PathBuf),
    /// A key file can be read by others.
    #[error("key file `{path}` is readable by other users (mode {mode:o}): run `chmod 600 {path}`")]
    KeyPermissions {
        /// The file.
        path: PathBuf,
        /// Its mode.
        mode: u32,
    },
    /// A key or certificate file is not valid.
    #[error("key file `{path}` is not valid: {detail}")]
    BadKey {
        /// The file.
        path: PathBuf,
        /// What was wrong.
        detail: String,
    },
    /// The listen address is taken.
    #[error(
        "cannot listen on `{addr}`: {detail}; stop the other process or set `listen` in `{config}`"
    )]
    Bind {
        /// The address.
        addr: String,
        /// The OS error.
        detail: String,
        /// The config file.
        config: PathBuf,
    },
    /// A party card is not valid.
    #[error("party card `{path}`: {detail}")]
    Card {
        /// The file.
        path: PathBuf,
        /// What was wrong.
        detail: String,
    },
    /// A proposal file is not valid.
    #[error("proposal `{path}`: {detail}")]
    Proposal {
        /// The file.
        path: PathBuf,
        /// What was wrong.
        detail: String,
    },
    /// The proposal is addressed to a party that is not pinned.
    #[error("no partner `{0}` is pinned: add its card with `soberana peer add CARD --dir …`")]
    UnknownPeer(String),
    /// No such proposal.
    #[error("no proposal `{0}` on this node")]
    NoSuchProposal(String),
    /// The proposal is not waiting for an officer's decision.
    #[error("proposal `{id}` is {state}; only proposals awaiting an officer can be decided")]
    NotAwaitingDecision {
        /// The proposal.
        id: String,
        /// Its state.
        state: String,
    },
    /// The officer named is not registered on this node.
    #[error(
        "no officer `{0}` is registered on this node: add one with `soberana officer add --dir …`"
    )]
    UnknownOfficer(String),
    /// The officer's account is disabled.
    #[error(
        "officer `{0}` is disabled on this node and cannot act: `soberana officer enable {0}` restores the account"
    )]
    DisabledOfficer(String),
    /// The officer lacks the role the act needs.
    #[error("officer `{officer}` does not hold the `{role}` role this needs")]
    MissingRole {
        /// The officer.
        officer: String,
        /// The role needed.
        role: &'static str,
    },
    /// A decision is malformed.
    #[error("{0}")]
    BadDecision(String),
    /// An officer account is malformed.
    #[error("{0}")]
    BadOfficer(String),
    /// A decision awaits a second approver, so no other is taken.
    #[error(
        "a decision by `{officer}` on proposal `{id}` awaits a second approver's confirmation; confirm or withdraw it first"
    )]
    AwaitingConfirmation {
        /// The proposal.
        id: String,
        /// Who made the decision awaiting confirmation.
        officer: String,
    },
    /// Nothing awaits confirmation on the proposal.
    #[error("no decision on proposal `{0}` awaits confirmation")]
    NothingToConfirm(String),
    /// The officer who made a decision tried to confirm it.
    #[error("`{0}` made this decision; it must be confirmed by a different approver")]
    SameOfficer(String),
    /// The constitutional layer is missing, unpinned or not the pinned one.
    #[error("{0}")]
    Constitutional(String),
    /// The policy could not be loaded.
    #[error("policy: {0}")]
    Policy(String),
    /// The node has loaded no financial transactions.
    #[error(
        "the node at `{}` holds no transactions; load some with `soberana finance ingest`",
        .0.display()
    )]
    NoFinanceLedger(PathBuf),
    /// The ledger refused or failed.
    #[error("ledger: {0}")]
    Ledger(String),
    /// A joint-investigation act or exhibit transfer was refused or failed.
    #[error("{0}")]
    Case(String),
    /// Storage failed.
    #[error("store: {0}")]
    Store(#[from] soberana_store::StoreError),
    /// An act on the bilateral agreement does not fit where it stands, or
    /// the agreement does not let a proposal cross.
    #[error("{0}")]
    Agreement(String),
    /// A key rotation cannot be made as asked.
    #[error("key rotation: {0}")]
    Keys(String),
    /// TLS setup failed.
    #[error("tls: {0}")]
    Tls(String),
    /// A report could not be made.
    #[error("report: {detail}")]
    Report {
        /// What was wrong.
        detail: String,
    },
    /// A backup could not be made, or is not whole.
    #[error("backup `{}`: {detail}", path.display())]
    Backup {
        /// The backup (or node) folder.
        path: PathBuf,
        /// What was wrong.
        detail: String,
    },
    /// Another process already serves this node folder.
    #[error(
        "the node in `{}` is already running ({holder}); stop it first, or use short commands such as `soberana show` beside it",
        dir.display()
    )]
    AlreadyRunning {
        /// The node folder.
        dir: PathBuf,
        /// What the lock file says of its holder.
        holder: String,
    },
    /// The financial ledger or a continuation cannot be used as asked.
    #[error("{0}")]
    Finance(String),
    /// A file given to the financial ledger has bad rows; nothing was loaded.
    #[error(
        "`{}` has {} bad row(s); nothing was loaded: fix them (or map the columns with --columns) and ingest again",
        file.display(),
        error.total_bad
    )]
    Ingest {
        /// The file.
        file: PathBuf,
        /// Its bad rows.
        error: soberana_finance::IngestError,
    },
    /// Firearm records or a trace answer cannot be used as asked.
    #[error("{0}")]
    Firearms(String),
    /// A file of firearm records has bad rows; nothing was held.
    #[error(
        "`{}` has {} bad row(s); nothing was loaded: fix them and hold the file again",
        file.display(),
        error.total_bad
    )]
    Records {
        /// The file.
        file: PathBuf,
        /// Its bad rows.
        error: soberana_firearms::IngestError,
    },
    /// Reading or writing a file failed.
    #[error("`{path}`: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
}

impl NodeError {
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> NodeError {
        let path = path.into();
        move |source| NodeError::Io { path, source }
    }
}
