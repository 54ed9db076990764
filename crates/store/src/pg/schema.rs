//! The PostgreSQL schema and its versioned migrations.
//!
//! The tables are those of the SQLite store, with PostgreSQL's types
//! (`BIGINT`, `BYTEA`, identity columns for insertion order). The version
//! is kept in `soberana_schema`; migrations run under an advisory lock so
//! that several processes opening one database at once apply each once.
//! The outbox has two more columns than SQLite's: the process that claimed
//! an envelope for delivery and until when.

use postgres::{Client, Transaction};

use crate::StoreError;

const MIGRATIONS: &[&str] = &[
    // 1: the whole schema as of SQLite version 4.
    r#"
    CREATE TABLE peers (
        party TEXT PRIMARY KEY,
        card TEXT NOT NULL,
        pinned_at BIGINT NOT NULL
    );
    CREATE TABLE proposals (
        id TEXT PRIMARY KEY,
        direction TEXT NOT NULL,
        peer TEXT NOT NULL,
        kind TEXT NOT NULL,
        state TEXT NOT NULL,
        body TEXT NOT NULL,
        created BIGINT NOT NULL,
        deadline BIGINT NOT NULL,
        updated BIGINT NOT NULL,
        verdict TEXT
    );
    CREATE INDEX proposals_by_state ON proposals(direction, state, created);
    CREATE TABLE proposal_events (
        seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        proposal_id TEXT NOT NULL REFERENCES proposals(id),
        at BIGINT NOT NULL,
        state TEXT NOT NULL,
        event TEXT NOT NULL
    );
    CREATE INDEX proposal_events_by_proposal ON proposal_events(proposal_id, seq);
    CREATE TABLE decisions (proposal_id TEXT PRIMARY KEY REFERENCES proposals(id), body TEXT NOT NULL);
    CREATE TABLE receipts (proposal_id TEXT PRIMARY KEY REFERENCES proposals(id), body TEXT NOT NULL);
    CREATE TABLE answers (proposal_id TEXT PRIMARY KEY REFERENCES proposals(id), body TEXT NOT NULL);
    CREATE TABLE disclosures (
        seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        proposal_id TEXT NOT NULL REFERENCES proposals(id),
        digest TEXT NOT NULL,
        bytes BIGINT NOT NULL,
        at BIGINT NOT NULL
    );
    CREATE TABLE outbox (
        envelope_id TEXT PRIMARY KEY,
        recipient TEXT NOT NULL,
        sequence BIGINT NOT NULL,
        kind TEXT NOT NULL,
        proposal_id TEXT NOT NULL,
        bytes BYTEA NOT NULL,
        created BIGINT NOT NULL,
        attempts BIGINT NOT NULL DEFAULT 0,
        next_attempt BIGINT NOT NULL,
        delivered_at BIGINT,
        last_error TEXT,
        refused_at BIGINT,
        claimed_by TEXT,
        claimed_until BIGINT
    );
    CREATE INDEX outbox_due ON outbox(delivered_at, next_attempt);
    CREATE INDEX outbox_by_proposal ON outbox(proposal_id);
    CREATE TABLE inbox (
        envelope_id TEXT PRIMARY KEY,
        sender TEXT NOT NULL,
        sequence BIGINT NOT NULL,
        kind TEXT NOT NULL,
        proposal_id TEXT NOT NULL,
        digest TEXT NOT NULL,
        bytes BYTEA NOT NULL,
        received_at BIGINT NOT NULL,
        log_index BIGINT,
        sealed_at BIGINT
    );
    CREATE INDEX inbox_by_sequence ON inbox(sender, sequence, sealed_at, envelope_id);
    CREATE INDEX inbox_by_proposal ON inbox(proposal_id);
    CREATE TABLE refusals (
        seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        at BIGINT NOT NULL,
        claimed_sender TEXT NOT NULL,
        digest TEXT NOT NULL,
        size BIGINT NOT NULL,
        reason TEXT NOT NULL
    );
    CREATE TABLE sequences (peer TEXT PRIMARY KEY, next BIGINT NOT NULL);
    CREATE TABLE log_leaves (idx BIGINT PRIMARY KEY, entry BYTEA NOT NULL, hash BYTEA NOT NULL);
    CREATE TABLE log_nodes (
        level BIGINT NOT NULL,
        idx BIGINT NOT NULL,
        hash BYTEA NOT NULL,
        PRIMARY KEY (level, idx)
    );
    CREATE TABLE checkpoints (size BIGINT PRIMARY KEY, note TEXT NOT NULL, at BIGINT NOT NULL);
    CREATE TABLE partner_checkpoints (
        seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        peer TEXT NOT NULL,
        size BIGINT NOT NULL,
        note TEXT NOT NULL,
        at BIGINT NOT NULL,
        status TEXT NOT NULL,
        detail TEXT NOT NULL,
        origin TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX partner_checkpoints_witness
        ON partner_checkpoints(peer, origin, status, size);
    CREATE TABLE cosignatures (
        size BIGINT NOT NULL,
        witness TEXT NOT NULL,
        line TEXT NOT NULL,
        PRIMARY KEY (size, witness)
    );
    CREATE TABLE session_messages (
        seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        proposal_id TEXT NOT NULL,
        peer TEXT NOT NULL,
        step BIGINT NOT NULL,
        part BIGINT NOT NULL,
        parts BIGINT NOT NULL,
        payload TEXT NOT NULL,
        at BIGINT NOT NULL,
        UNIQUE (proposal_id, peer, step, part)
    );
    CREATE TABLE session_usage (
        proposal_id TEXT NOT NULL,
        peer TEXT NOT NULL,
        step BIGINT NOT NULL,
        parts BIGINT NOT NULL,
        stored BIGINT NOT NULL,
        bytes BIGINT NOT NULL,
        PRIMARY KEY (proposal_id, peer, step)
    );
    CREATE TABLE desk_officers (
        id TEXT PRIMARY KEY,
        officer TEXT NOT NULL,
        password_hash TEXT NOT NULL,
        language TEXT NOT NULL,
        utc_offset_minutes BIGINT NOT NULL DEFAULT 0,
        failures BIGINT NOT NULL DEFAULT 0,
        locked_until BIGINT
    );
    CREATE TABLE desk_audit (
        seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        at BIGINT NOT NULL,
        officer TEXT NOT NULL,
        action TEXT NOT NULL,
        target TEXT NOT NULL,
        detail TEXT NOT NULL
    );
    CREATE TABLE desk_pending (
        proposal_id TEXT PRIMARY KEY,
        officer TEXT NOT NULL,
        at BIGINT NOT NULL,
        body TEXT NOT NULL
    );
    "#,
    // 2: SQLite versions 5 to 10: financial trails, an officer's time
    // zone, the bilateral agreement and its acts, previous keys, analysts'
    // verdicts on alerts, and joint investigations.
    r#"
    CREATE TABLE trails (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        body TEXT NOT NULL,
        created BIGINT NOT NULL
    );
    CREATE TABLE trail_proposals (
        proposal_id TEXT PRIMARY KEY REFERENCES proposals(id),
        trail_id BIGINT NOT NULL REFERENCES trails(id)
    );
    ALTER TABLE desk_officers ADD COLUMN time_zone TEXT NOT NULL DEFAULT '';
    CREATE TABLE agreements (
        partner TEXT PRIMARY KEY,
        status TEXT NOT NULL,
        body TEXT NOT NULL
    );
    CREATE TABLE agreement_acts (
        seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        partner TEXT NOT NULL,
        by_party TEXT NOT NULL,
        envelope_id TEXT NOT NULL,
        act TEXT NOT NULL,
        recorded_at BIGINT NOT NULL
    );
    CREATE INDEX agreement_acts_by_partner ON agreement_acts(partner, seq);
    CREATE TABLE previous_keys (
        party TEXT NOT NULL,
        card TEXT NOT NULL,
        retired_at BIGINT NOT NULL,
        accepted_until BIGINT NOT NULL
    );
    CREATE INDEX previous_keys_by_party ON previous_keys(party, retired_at);
    CREATE TABLE alert_verdicts (
        seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        incident TEXT NOT NULL,
        confirmed BOOLEAN NOT NULL,
        reason TEXT NOT NULL,
        officer TEXT NOT NULL,
        at BIGINT NOT NULL
    );
    CREATE INDEX alert_verdicts_by_incident ON alert_verdicts(incident, seq);
    CREATE TABLE cases (
        case_id TEXT PRIMARY KEY,
        proposal_id TEXT NOT NULL,
        state TEXT NOT NULL,
        updated BIGINT NOT NULL
    );
    CREATE TABLE case_events (
        seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        case_id TEXT NOT NULL,
        ours BOOLEAN NOT NULL,
        digest TEXT NOT NULL,
        event TEXT NOT NULL,
        log_index BIGINT NOT NULL,
        at BIGINT NOT NULL
    );
    CREATE INDEX case_events_by_case ON case_events(case_id, seq);
    CREATE INDEX outbox_by_recipient ON outbox(recipient, kind, delivered_at);
    "#,
    // 3: SQLite version 11: proposals by kind, for match sessions.
    r#"
    CREATE INDEX proposals_by_kind ON proposals(kind, direction, state);
    "#,
];

/// The schema version this soberana writes to PostgreSQL.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// The lock that serialises migrations across processes.
const MIGRATION_LOCK: i64 = 0x736f_6265_7261_6e62;

/// Brings the database (in the connection's search path) up to
/// [`SCHEMA_VERSION`].
pub fn migrate(client: &mut Client, location: &str) -> Result<(), StoreError> {
    let mut tx = client.transaction()?;
    migrate_to(&mut tx, location, SCHEMA_VERSION)?;
    tx.commit()?;
    Ok(())
}

/// Brings the schema in the transaction's search path up to version
/// `target` (no further) and returns the version it found; refuses a
/// schema newer than this soberana.
pub(crate) fn migrate_to(
    tx: &mut Transaction<'_>,
    location: &str,
    target: i64,
) -> Result<i64, StoreError> {
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
    tx.batch_execute("CREATE TABLE IF NOT EXISTS soberana_schema (version BIGINT NOT NULL)")?;
    let found: i64 = match tx.query_opt("SELECT version FROM soberana_schema", &[])? {
        Some(row) => row.try_get(0)?,
        None => {
            tx.execute("INSERT INTO soberana_schema (version) VALUES (0)", &[])?;
            0
        }
    };
    if found > SCHEMA_VERSION {
        return Err(StoreError::TooNew {
            path: location.to_owned(),
            found,
            supported: SCHEMA_VERSION,
        });
    }
    let target = target.min(SCHEMA_VERSION);
    for (i, sql) in MIGRATIONS
        .iter()
        .enumerate()
        .take(usize::try_from(target).unwrap_or(0))
        .skip(usize::try_from(found).unwrap_or(0))
    {
        tx.batch_execute(sql)?;
        tx.execute(
            "UPDATE soberana_schema SET version = $1",
            &[&((i + 1) as i64)],
        )?;
    }
    Ok(found)
}
