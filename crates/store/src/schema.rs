//! The schema and its versioned migrations.
//!
//! Each migration is applied once, in order, inside a transaction, and the
//! version is recorded in SQLite's `user_version`. A store written by a newer
//! soberana is refused rather than misread.

use rusqlite::Connection;

use crate::StoreError;

const MIGRATIONS: &[&str] = &[
    // 1: the spine.
    r#"
    CREATE TABLE peers (
        party TEXT PRIMARY KEY,
        card TEXT NOT NULL,
        pinned_at INTEGER NOT NULL
    );
    CREATE TABLE proposals (
        id TEXT PRIMARY KEY,
        direction TEXT NOT NULL,
        peer TEXT NOT NULL,
        kind TEXT NOT NULL,
        state TEXT NOT NULL,
        body TEXT NOT NULL,
        created INTEGER NOT NULL,
        deadline INTEGER NOT NULL,
        updated INTEGER NOT NULL,
        verdict TEXT
    );
    CREATE INDEX proposals_by_state ON proposals(direction, state, created);
    CREATE TABLE proposal_events (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        proposal_id TEXT NOT NULL REFERENCES proposals(id),
        at INTEGER NOT NULL,
        state TEXT NOT NULL,
        event TEXT NOT NULL
    );
    CREATE INDEX proposal_events_by_proposal ON proposal_events(proposal_id, seq);
    CREATE TABLE decisions (proposal_id TEXT PRIMARY KEY REFERENCES proposals(id), body TEXT NOT NULL);
    CREATE TABLE receipts (proposal_id TEXT PRIMARY KEY REFERENCES proposals(id), body TEXT NOT NULL);
    CREATE TABLE answers (proposal_id TEXT PRIMARY KEY REFERENCES proposals(id), body TEXT NOT NULL);
    CREATE TABLE disclosures (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        proposal_id TEXT NOT NULL REFERENCES proposals(id),
        digest TEXT NOT NULL,
        bytes INTEGER NOT NULL,
        at INTEGER NOT NULL
    );
    CREATE TABLE outbox (
        envelope_id TEXT PRIMARY KEY,
        recipient TEXT NOT NULL,
        sequence INTEGER NOT NULL,
        kind TEXT NOT NULL,
        proposal_id TEXT NOT NULL,
        bytes BLOB NOT NULL,
        created INTEGER NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt INTEGER NOT NULL,
        delivered_at INTEGER,
        last_error TEXT
    );
    CREATE INDEX outbox_due ON outbox(delivered_at, next_attempt);
    CREATE TABLE inbox (
        envelope_id TEXT PRIMARY KEY,
        sender TEXT NOT NULL,
        sequence INTEGER NOT NULL,
        kind TEXT NOT NULL,
        proposal_id TEXT NOT NULL,
        digest TEXT NOT NULL,
        bytes BLOB NOT NULL,
        received_at INTEGER NOT NULL
    );
    CREATE TABLE refusals (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        at INTEGER NOT NULL,
        claimed_sender TEXT NOT NULL,
        digest TEXT NOT NULL,
        size INTEGER NOT NULL,
        reason TEXT NOT NULL
    );
    CREATE TABLE sequences (peer TEXT PRIMARY KEY, next INTEGER NOT NULL);
    CREATE TABLE log_leaves (idx INTEGER PRIMARY KEY, entry BLOB NOT NULL, hash BLOB NOT NULL);
    CREATE TABLE log_nodes (
        level INTEGER NOT NULL,
        idx INTEGER NOT NULL,
        hash BLOB NOT NULL,
        PRIMARY KEY (level, idx)
    ) WITHOUT ROWID;
    CREATE TABLE checkpoints (size INTEGER PRIMARY KEY, note TEXT NOT NULL, at INTEGER NOT NULL);
    CREATE TABLE partner_checkpoints (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        peer TEXT NOT NULL,
        size INTEGER NOT NULL,
        note TEXT NOT NULL,
        at INTEGER NOT NULL,
        status TEXT NOT NULL,
        detail TEXT NOT NULL
    );
    "#,
    // 2: witnessing, receipts and protocol sessions.
    r#"
    CREATE TABLE cosignatures (
        size INTEGER NOT NULL,
        witness TEXT NOT NULL,
        line TEXT NOT NULL,
        PRIMARY KEY (size, witness)
    );
    ALTER TABLE partner_checkpoints ADD COLUMN origin TEXT NOT NULL DEFAULT '';
    ALTER TABLE inbox ADD COLUMN log_index INTEGER;
    CREATE TABLE session_messages (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        proposal_id TEXT NOT NULL,
        peer TEXT NOT NULL,
        step INTEGER NOT NULL,
        part INTEGER NOT NULL,
        parts INTEGER NOT NULL,
        payload TEXT NOT NULL,
        at INTEGER NOT NULL,
        UNIQUE (proposal_id, peer, step, part)
    );
    "#,
    // 3: the officer desk: accounts, audit trail, decisions awaiting a
    // second officer.
    r#"
    CREATE TABLE desk_officers (
        id TEXT PRIMARY KEY,
        officer TEXT NOT NULL,
        password_hash TEXT NOT NULL,
        language TEXT NOT NULL,
        utc_offset_minutes INTEGER NOT NULL DEFAULT 0,
        failures INTEGER NOT NULL DEFAULT 0,
        locked_until INTEGER
    );
    CREATE TABLE desk_audit (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        at INTEGER NOT NULL,
        officer TEXT NOT NULL,
        action TEXT NOT NULL,
        target TEXT NOT NULL,
        detail TEXT NOT NULL
    );
    CREATE TABLE desk_pending (
        proposal_id TEXT PRIMARY KEY,
        officer TEXT NOT NULL,
        at INTEGER NOT NULL,
        body TEXT NOT NULL
    );
    "#,
    // 4: the witness reads its state for a partner log inside the
    // transaction of every checkpoint it judges.
    r#"
    CREATE INDEX partner_checkpoints_witness
        ON partner_checkpoints(peer, origin, status, size);
    -- Envelopes a partner refused for good are kept, marked, not retried.
    ALTER TABLE outbox ADD COLUMN refused_at INTEGER;
    -- A sender's sequence numbers are checked for reuse, and its header
    -- times against its numbering (the index covers both checks).
    ALTER TABLE inbox ADD COLUMN sealed_at INTEGER;
    CREATE INDEX inbox_by_sequence ON inbox(sender, sequence, sealed_at, envelope_id);
    -- What each step of a protocol session holds, so quotas and readiness
    -- are read without reading the parts.
    CREATE TABLE session_usage (
        proposal_id TEXT NOT NULL,
        peer TEXT NOT NULL,
        step INTEGER NOT NULL,
        parts INTEGER NOT NULL,
        stored INTEGER NOT NULL,
        bytes INTEGER NOT NULL,
        PRIMARY KEY (proposal_id, peer, step)
    ) WITHOUT ROWID;
    "#,
    // 5: financial trails, written with the continuation requests that
    // carry them (`trails.rs`).
    r#"
    CREATE TABLE trails (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        body TEXT NOT NULL,
        created INTEGER NOT NULL
    );
    CREATE TABLE trail_proposals (
        proposal_id TEXT PRIMARY KEY REFERENCES proposals(id),
        trail_id INTEGER NOT NULL REFERENCES trails(id)
    ) WITHOUT ROWID;
    "#,
    // 6: an officer's time zone by its IANA name (`America/Tijuana`), so
    // the desk follows daylight saving; empty keeps the fixed offset.
    r#"
    ALTER TABLE desk_officers ADD COLUMN time_zone TEXT NOT NULL DEFAULT '';
    "#,
    // 7: the bilateral agreement with each partner and every act on it.
    r#"
    CREATE TABLE agreements (
        partner TEXT PRIMARY KEY,
        status TEXT NOT NULL,
        body TEXT NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE agreement_acts (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        partner TEXT NOT NULL,
        by_party TEXT NOT NULL,
        envelope_id TEXT NOT NULL,
        act TEXT NOT NULL,
        recorded_at INTEGER NOT NULL
    );
    CREATE INDEX agreement_acts_by_partner ON agreement_acts(partner, seq);
    "#,
    // 8: keys a party signed with before its current one (rotation).
    r#"
    CREATE TABLE previous_keys (
        party TEXT NOT NULL,
        card TEXT NOT NULL,
        retired_at INTEGER NOT NULL,
        accepted_until INTEGER NOT NULL
    );
    CREATE INDEX previous_keys_by_party ON previous_keys(party, retired_at);
    "#,
    // 9: analysts' verdicts on money-laundering alerts, append only; the
    // latest verdict on an incident is the one that counts.
    r#"
    CREATE TABLE alert_verdicts (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        incident TEXT NOT NULL,
        confirmed INTEGER NOT NULL,
        reason TEXT NOT NULL,
        officer TEXT NOT NULL,
        at INTEGER NOT NULL
    );
    CREATE INDEX alert_verdicts_by_incident ON alert_verdicts(incident, seq);
    "#,
    // 10: joint investigations. A case is kept as its state (the `case`
    // crate's `Case`, JSON) beside the custody events that made it, ours and
    // the partner's, each with the log entry that records it.
    r#"
    CREATE TABLE cases (
        case_id TEXT PRIMARY KEY,
        proposal_id TEXT NOT NULL,
        state TEXT NOT NULL,
        updated INTEGER NOT NULL
    );
    CREATE TABLE case_events (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        case_id TEXT NOT NULL,
        ours INTEGER NOT NULL,
        digest TEXT NOT NULL,
        event TEXT NOT NULL,
        log_index INTEGER NOT NULL,
        at INTEGER NOT NULL
    );
    CREATE INDEX case_events_by_case ON case_events(case_id, seq);
    "#,
    // 11: match sessions look up their few proposals by kind on every
    // envelope taken in, not every accepted proposal.
    r#"
    CREATE INDEX proposals_by_kind ON proposals(kind, direction, state);
    "#,
    // 12: the outbox's due read holds a proposal back while an act on the
    // agreement with its partner is undelivered; asked for every proposal
    // listed, that question walked every undelivered envelope.
    r#"
    CREATE INDEX outbox_agreement_acts_waiting ON outbox(recipient)
        WHERE kind = 'agreement' AND delivered_at IS NULL;
    "#,
    // 13: fewer pages written per change. A proposal's events are numbered
    // as before (rows are never deleted, so the next number is still one
    // past the largest) without AUTOINCREMENT's counter, a row of its own
    // rewritten on every event; a decision is kept in one b-tree by its
    // proposal, not a table plus an index on the proposal.
    r#"
    CREATE TABLE proposal_events_renumbered (
        seq INTEGER PRIMARY KEY,
        proposal_id TEXT NOT NULL REFERENCES proposals(id),
        at INTEGER NOT NULL,
        state TEXT NOT NULL,
        event TEXT NOT NULL
    );
    INSERT INTO proposal_events_renumbered (seq, proposal_id, at, state, event)
        SELECT seq, proposal_id, at, state, event FROM proposal_events ORDER BY seq;
    DROP TABLE proposal_events;
    ALTER TABLE proposal_events_renumbered RENAME TO proposal_events;
    CREATE INDEX proposal_events_by_proposal ON proposal_events(proposal_id, seq);
    DELETE FROM sqlite_sequence WHERE name = 'proposal_events';
    CREATE TABLE decisions_by_proposal (
        proposal_id TEXT PRIMARY KEY REFERENCES proposals(id),
        body TEXT NOT NULL
    ) WITHOUT ROWID;
    INSERT INTO decisions_by_proposal (proposal_id, body)
        SELECT proposal_id, body FROM decisions;
    DROP TABLE decisions;
    ALTER TABLE decisions_by_proposal RENAME TO decisions;
    "#,
];

/// The schema version this soberana writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Brings the database up to [`SCHEMA_VERSION`].
pub fn migrate(conn: &mut Connection, path: &str) -> Result<(), StoreError> {
    let found: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if found > SCHEMA_VERSION {
        return Err(StoreError::TooNew {
            path: path.to_owned(),
            found,
            supported: SCHEMA_VERSION,
        });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        tx.commit()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A store written before migration 13 keeps its events (numbered
    /// on from where they stopped) and decisions.
    #[test]
    fn events_and_decisions_survive_the_rebuild() -> Result<(), StoreError> {
        let mut conn = Connection::open_in_memory()?;
        for sql in MIGRATIONS.iter().take(12) {
            conn.execute_batch(sql)?;
        }
        conn.pragma_update(None, "user_version", 12)?;
        conn.execute_batch(
            "INSERT INTO proposals (id, direction, peer, kind, state, body, created, deadline, updated)
                 VALUES ('p1', 'incoming', 'US', 'seizure_report', 'accepted', '{}', 1, 2, 3);
             INSERT INTO proposal_events (proposal_id, at, state, event) VALUES ('p1', 1, 'received', 'a');
             INSERT INTO proposal_events (proposal_id, at, state, event) VALUES ('p1', 2, 'accepted', 'b');
             INSERT INTO decisions (proposal_id, body) VALUES ('p1', '{\"d\":1}');",
        )?;
        migrate(&mut conn, "test")?;
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        assert_eq!(version, SCHEMA_VERSION);
        conn.execute(
            "INSERT INTO proposal_events (proposal_id, at, state, event) VALUES ('p1', 3, 'accepted', 'c')",
            [],
        )?;
        let events: Vec<(i64, String)> = conn
            .prepare(
                "SELECT seq, event FROM proposal_events WHERE proposal_id = 'p1' ORDER BY seq",
            )?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        assert_eq!(
            events,
            vec![(1, "a".into()), (2, "b".into()), (3, "c".into())]
        );
        let body: String = conn.query_row(
            "SELECT body FROM decisions WHERE proposal_id = 'p1'",
            [],
            |r| r.get(0),
        )?;
        assert_eq!(body, "{\"d\":1}");
        // Still one decision per proposal.
        assert!(
            conn.execute(
                "INSERT INTO decisions (proposal_id, body) VALUES ('p1', '{}')",
                []
            )
            .is_err()
        );
        Ok(())
    }
}
