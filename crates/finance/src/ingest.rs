//! Streaming CSV ingest of holders, accounts, transactions and
//! suspicious-transaction reports.
//!
//! Each table has a column map (a serde struct naming the CSV header of
//! every field, with the standard names as defaults), so that a country can
//! load its own exports without renaming columns. Rows are read one at a
//! time into a reused buffer, so a file of millions of rows never sits in
//! memory as text. Every bad row is reported with its line number and the
//! reason; the result is all-or-nothing: if any row is bad, the caller gets
//! the list and nothing else (and a [`GraphBuilder`] is rolled back to where
//! it was).
//!
//! Duplicate transaction ids are not detected here: that needs a set of
//! every id seen (gigabytes at a hundred million rows); the store's primary
//! key catches them when the rows are inserted.

use std::io::Read;

use serde::{Deserialize, Serialize};

use crate::error::{BadRow, IngestError, ModelError};
use crate::graph::GraphBuilder;
use crate::model::{
    Account, AccountId, Channel, Country, Currency, Holder, HolderKind, Money, SuspiciousReport,
    Transaction, TxId, UnixTime,
};

/// At most this many bad rows are kept in an [`IngestError`]; the rest are
/// only counted, so that a wholly wrong file of millions of rows cannot
/// exhaust memory with error messages.
pub const MAX_REPORTED_BAD_ROWS: usize = 1000;

/// Header names of the transaction table.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TransactionColumns {
    /// Transaction identifier, an unsigned integer (`tx_id`).
    pub tx_id: String,
    /// UTC time, `2025-11-03T14:05:09Z` (`time`).
    pub time: String,
    /// Decimal amount, non-negative (`amount`).
    pub amount: String,
    /// ISO 4217 code (`currency`).
    pub currency: String,
    /// Channel name, e.g. `cash_deposit` (`channel`).
    pub channel: String,
    /// Sending account, empty for cash deposits and off-ramps (`from_account`).
    pub from_account: String,
    /// Receiving account, empty for cash withdrawals (`to_account`).
    pub to_account: String,
    /// Country where it was carried out (`country`).
    pub country: String,
    /// Branch, ATM or agent code, may be empty (`branch`).
    pub branch: String,
    /// `1`/`true` if the place is in a border zone, `0`/`false`/empty if not (`border_zone`).
    pub border_zone: String,
}

impl Default for TransactionColumns {
    fn default() -> Self {
        TransactionColumns {
            tx_id: "tx_id".into(),
            time: "time".into(),
            amount: "amount".into(),
            currency: "currency".into(),
            channel: "channel".into(),
            from_account: "from_account".into(),
            to_account: "to_account".into(),
            country: "country".into(),
            branch: "branch".into(),
            border_zone: "border_zone".into(),
        }
    }
}

impl TransactionColumns {
    fn headers(&self) -> [&str; 10] {
        [
            &self.tx_id,
            &self.time,
            &self.amount,
            &self.currency,
            &self.channel,
            &self.from_account,
            &self.to_account,
            &self.country,
            &self.branch,
            &self.border_zone,
        ]
    }
}

/// Header names of the account table.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AccountColumns {
    /// Account identifier (`account`).
    pub account: String,
    /// Institution (`institution`).
    pub institution: String,
    /// Holder identifier (`holder_id`).
    pub holder_id: String,
    /// Country where the account is held (`country`).
    pub country: String,
}

impl Default for AccountColumns {
    fn default() -> Self {
        AccountColumns {
            account: "account".into(),
            institution: "institution".into(),
            holder_id: "holder_id".into(),
            country: "country".into(),
        }
    }
}

/// Header names of the holder table.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HolderColumns {
    /// Holder identifier (`holder_id`).
    pub holder_id: String,
    /// `person` or `company` (`kind`).
    pub kind: String,
    /// Name (`name`).
    pub name: String,
    /// Country of residence or incorporation (`country`).
    pub country: String,
}

impl Default for HolderColumns {
    fn default() -> Self {
        HolderColumns {
            holder_id: "holder_id".into(),
            kind: "kind".into(),
            name: "name".into(),
            country: "country".into(),
        }
    }
}

/// Header names of the suspicious-transaction report table.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReportColumns {
    /// Report identifier (`report_id`).
    pub report_id: String,
    /// When filed (`filed`).
    pub filed: String,
    /// Account reported (`account`).
    pub account: String,
    /// Cited transaction ids separated by `;` (`tx_ids`).
    pub tx_ids: String,
}

impl Default for ReportColumns {
    fn default() -> Self {
        ReportColumns {
            report_id: "report_id".into(),
            filed: "filed".into(),
            account: "account".into(),
            tx_ids: "tx_ids".into(),
        }
    }
}

/// Collects bad rows, keeping the first [`MAX_REPORTED_BAD_ROWS`].
#[derive(Default)]
struct Bad {
    rows: Vec<BadRow>,
    total: u64,
}

impl Bad {
    fn add(&mut self, line: u64, reason: String) {
        self.total += 1;
        if self.rows.len() < MAX_REPORTED_BAD_ROWS {
            self.rows.push(BadRow { line, reason });
        }
    }

    fn finish(self) -> Result<(), IngestError> {
        if self.total == 0 {
            Ok(())
        } else {
            Err(IngestError {
                rows: self.rows,
                total_bad: self.total,
            })
        }
    }
}

/// Reads every row, handing `f` the fields in the order of `wanted` (looked
/// up by header name). Returns the number of data rows.
fn for_each_row<R: Read, const N: usize>(
    reader: R,
    wanted: [&str; N],
    mut f: impl FnMut(u64, [&str; N]) -> Result<(), String>,
) -> Result<u64, IngestError> {
    let mut bad = Bad::default();
    let mut csv = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(reader);
    let headers = match csv.byte_headers() {
        Ok(h) => h.clone(),
        Err(e) => {
            bad.add(1, format!("cannot read the header row: {e}"));
            return bad.finish().map(|()| 0);
        }
    };
    let mut index = [0usize; N];
    for (slot, name) in index.iter_mut().zip(wanted) {
        match headers.iter().position(|h| h == name.as_bytes()) {
            Some(i) => *slot = i,
            None => bad.add(
                1,
                format!("column `{name}` is missing from the header; add it or map the column"),
            ),
        }
    }
    if bad.total > 0 {
        return bad.finish().map(|()| 0);
    }
    let mut record = csv::ByteRecord::new();
    let mut rows = 0u64;
    loop {
        let line = csv.position().line() + 1;
        match csv.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                rows += 1;
                let line = record.position().map_or(line, |p| p.line());
                let mut fields = [""; N];
                let mut utf8_ok = true;
                for (slot, &i) in fields.iter_mut().zip(&index) {
                    match std::str::from_utf8(record.get(i).unwrap_or(b"")) {
                        Ok(s) => *slot = s,
                        Err(_) => utf8_ok = false,
                    }
                }
                if !utf8_ok {
                    bad.add(line, "a field is not valid UTF-8".into());
                    continue;
                }
                if let Err(reason) = f(line, fields) {
                    bad.add(line, reason);
                }
            }
            Err(e) => {
                rows += 1;
                let line = e.position().map_or(line, |p| p.line());
                let reason = match e.kind() {
                    csv::ErrorKind::UnequalLengths {
                        expected_len, len, ..
                    } => {
                        format!("{len} fields where the header has {expected_len}")
                    }
                    _ => format!("unreadable row: {e}"),
                };
                bad.add(line, reason);
                if !matches!(e.kind(), csv::ErrorKind::UnequalLengths { .. }) && e.is_io_error() {
                    break;
                }
            }
        }
    }
    bad.finish()?;
    Ok(rows)
}

fn opt_account(text: &str) -> Result<Option<AccountId>, ModelError> {
    if text.is_empty() {
        Ok(None)
    } else {
        AccountId::new(text).map(Some)
    }
}

fn parse_bool(text: &str) -> Result<bool, String> {
    match text {
        "" | "0" | "false" => Ok(false),
        "1" | "true" => Ok(true),
        _ => Err(format!("border zone `{text}` is not 0, 1, true or false")),
    }
}

/// Parses one transaction row's fields (in [`TransactionColumns`] order).
fn transaction(f: [&str; 10]) -> Result<Transaction, String> {
    let [
        id,
        time,
        amount,
        currency,
        channel,
        from,
        to,
        country,
        branch,
        border,
    ] = f;
    let id: u64 = id
        .parse()
        .map_err(|_| format!("transaction id `{id}` is not an unsigned integer"))?;
    let currency = Currency::new(currency).map_err(|e| e.to_string())?;
    let minor = currency.parse_amount(amount).map_err(|e| e.to_string())?;
    let channel = Channel::new(channel).map_err(|e| e.to_string())?;
    let from = opt_account(from).map_err(|e| format!("from_account: {e}"))?;
    let to = opt_account(to).map_err(|e| format!("to_account: {e}"))?;
    if from.is_some() != channel.has_sender() {
        return Err(if channel.has_sender() {
            format!("a {} needs a sending account", channel.name())
        } else {
            format!(
                "a {} has no sending account; leave it empty",
                channel.name()
            )
        });
    }
    if to.is_some() != channel.has_receiver() {
        return Err(if channel.has_receiver() {
            format!("a {} needs a receiving account", channel.name())
        } else {
            format!(
                "a {} has no receiving account; leave it empty",
                channel.name()
            )
        });
    }
    Ok(Transaction {
        id: TxId(id),
        time: UnixTime::parse(time).map_err(|e| e.to_string())?,
        amount: Money { minor, currency },
        channel,
        from,
        to,
        country: Country::new(country).map_err(|e| e.to_string())?,
        branch: (!branch.is_empty()).then(|| branch.to_owned()),
        border_zone: parse_bool(border)?,
    })
}

/// Parses one row straight into the builder: no allocation for accounts
/// and places seen before (the fast path of [`read_transactions`]; the
/// checks are those of [`transaction`]).
fn push_row(b: &mut GraphBuilder, f: [&str; 10]) -> Result<(), String> {
    let [
        id,
        time,
        amount,
        currency,
        channel,
        from,
        to,
        country,
        branch,
        border,
    ] = f;
    let id: u64 = id
        .parse()
        .map_err(|_| format!("transaction id `{id}` is not an unsigned integer"))?;
    let time = UnixTime::parse(time).map_err(|e| e.to_string())?;
    let currency = Currency::new(currency).map_err(|e| e.to_string())?;
    let minor = currency.parse_amount(amount).map_err(|e| e.to_string())?;
    let channel = Channel::new(channel).map_err(|e| e.to_string())?;
    let country = Country::new(country).map_err(|e| e.to_string())?;
    let border = parse_bool(border)?;
    let from = (!from.is_empty())
        .then(|| b.intern_text(from))
        .transpose()
        .map_err(|e| format!("from_account: {e}"))?;
    let to = (!to.is_empty())
        .then(|| b.intern_text(to))
        .transpose()
        .map_err(|e| format!("to_account: {e}"))?;
    let branch = (!branch.is_empty()).then_some(branch);
    b.push_indexed(
        TxId(id),
        time.0,
        minor,
        currency,
        channel,
        from,
        to,
        (country, branch, border),
    )
    .map_err(|e| e.to_string())
}

/// Reads a transaction CSV into a graph builder. All or nothing: if any row
/// is bad, the builder is returned to the state it had before the call and
/// the error lists the bad rows. Returns the number of rows added.
pub fn read_transactions<R: Read>(
    reader: R,
    columns: &TransactionColumns,
    builder: &mut GraphBuilder,
) -> Result<u64, IngestError> {
    let start = builder.len();
    let result = for_each_row(reader, columns.headers(), |_, f| push_row(builder, f));
    if result.is_err() {
        builder.truncate(start);
    }
    result
}

/// Parses a transaction CSV into records (for a store that inserts them).
/// All or nothing, like [`read_transactions`].
pub fn parse_transactions<R: Read>(
    reader: R,
    columns: &TransactionColumns,
) -> Result<Vec<Transaction>, IngestError> {
    let mut out = Vec::new();
    for_each_row(reader, columns.headers(), |_, f| {
        out.push(transaction(f)?);
        Ok(())
    })?;
    Ok(out)
}

/// Parses an account CSV. The country column must agree with the
/// identifier's scheme (a CLABE is Mexican, a `us:` account American).
pub fn parse_accounts<R: Read>(
    reader: R,
    columns: &AccountColumns,
) -> Result<Vec<Account>, IngestError> {
    let mut out = Vec::new();
    let c = columns;
    for_each_row(
        reader,
        [&c.account, &c.institution, &c.holder_id, &c.country],
        |_, [id, institution, holder, country]| {
            let id = AccountId::new(id).map_err(|e| e.to_string())?;
            let country = Country::new(country).map_err(|e| e.to_string())?;
            if id.country() != country {
                return Err(format!(
                    "account `{id}` is held in {} by its identifier, not `{country}`",
                    id.country()
                ));
            }
            if institution.is_empty() || holder.is_empty() {
                return Err("institution and holder_id cannot be empty".into());
            }
            out.push(Account {
                id,
                institution: institution.to_owned(),
                holder: holder.to_owned(),
                country,
            });
            Ok(())
        },
    )?;
    Ok(out)
}

/// Parses a holder CSV.
pub fn parse_holders<R: Read>(
    reader: R,
    columns: &HolderColumns,
) -> Result<Vec<Holder>, IngestError> {
    let mut out = Vec::new();
    let c = columns;
    for_each_row(
        reader,
        [&c.holder_id, &c.kind, &c.name, &c.country],
        |_, [id, kind, name, country]| {
            let kind = match kind {
                "person" => HolderKind::Person,
                "company" => HolderKind::Company,
                _ => return Err(format!("holder kind `{kind}` is not `person` or `company`")),
            };
            if id.is_empty() {
                return Err("holder_id cannot be empty".into());
            }
            out.push(Holder {
                id: id.to_owned(),
                kind,
                name: name.to_owned(),
                country: Country::new(country).map_err(|e| e.to_string())?,
            });
            Ok(())
        },
    )?;
    Ok(out)
}

/// Parses a suspicious-transaction report CSV.
pub fn parse_reports<R: Read>(
    reader: R,
    columns: &ReportColumns,
) -> Result<Vec<SuspiciousReport>, IngestError> {
    let mut out = Vec::new();
    let c = columns;
    for_each_row(
        reader,
        [&c.report_id, &c.filed, &c.account, &c.tx_ids],
        |_, [id, filed, account, txs]| {
            let transactions = txs
                .split(';')
                .filter(|s| !s.is_empty())
                .map(|s| {
                    s.trim()
                        .parse()
                        .map(TxId)
                        .map_err(|_| format!("transaction id `{s}` is not an unsigned integer"))
                })
                .collect::<Result<Vec<_>, _>>()?;
            if id.is_empty() {
                return Err("report_id cannot be empty".into());
            }
            out.push(SuspiciousReport {
                id: id.to_owned(),
                filed: UnixTime::parse(filed).map_err(|e| e.to_string())?,
                account: AccountId::new(account).map_err(|e| e.to_string())?,
                transactions,
            });
            Ok(())
        },
    )?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str =
        "tx_id,time,amount,currency,channel,from_account,to_account,country,branch,border_zone\n";
    const A: &str = "us:021000021:1001";
    const B: &str = "clabe:032180000118359719";

    fn csv(rows: &[String]) -> String {
        let mut s = HEADER.to_owned();
        for r in rows {
            s.push_str(r);
            s.push('\n');
        }
        s
    }

    #[test]
    fn good_rows_load() {
        let text = csv(&[
            format!("1,2025-11-03T10:00:00Z,9500.00,USD,cash_deposit,,{A},US,TX-ELP-01,1"),
            format!("2,2025-11-04T10:00:00Z,9000,USD,cross_border_wire,{A},{B},US,,0"),
            format!("3,2025-11-05T10:00:00Z,100000.50,MXN,cash_withdrawal,{B},,MX,CHH-JRZ-02,true"),
        ]);
        let mut b = GraphBuilder::new();
        assert_eq!(
            read_transactions(text.as_bytes(), &TransactionColumns::default(), &mut b),
            Ok(3)
        );
        let g = b.finish();
        assert_eq!(g.len(), 3);
        assert_eq!(g.account_count(), 2);
        assert_eq!(g.amount(2), 10_000_050);
        assert!(g.place(0).border_zone);
        let parsed = parse_transactions(text.as_bytes(), &TransactionColumns::default()).unwrap();
        assert_eq!(parsed[1].to.as_ref().map(|a| a.as_str()), Some(B));
    }

    #[test]
    fn every_bad_row_is_reported_with_its_line_and_nothing_is_added() {
        let text = csv(&[
            format!("1,2025-11-03T10:00:00Z,9500.00,USD,cash_deposit,,{A},US,,0"), // line 2 ok
            format!("x,2025-11-03T10:00:00Z,1,USD,card,{A},{B},US,,0"),            // line 3
            format!("3,2025-11-03T10:00:00Z,-1,USD,card,{A},{B},US,,0"),           // line 4
            format!("4,2025-11-03T10:00:00Z,1,XXX,card,{A},{B},US,,0"),            // line 5
            format!("5,2025-11-03T10:00:00Z,1,USD,teleport,{A},{B},US,,0"),        // line 6
            format!("6,2025-11-03T10:00:00Z,1,USD,cash_deposit,{A},{B},US,,0"),    // line 7
            format!("7,2025-11-03T10:00:00Z,1,USD,card,{A},clabe:1,US,,0"),        // line 8
            format!("8,2025-02-30T10:00:00Z,1,USD,card,{A},{B},US,,0"),            // line 9
            "9,2025-11-03T10:00:00Z,1".to_owned(),                                 // line 10
            format!("10,2025-11-03T10:00:00Z,1,USD,card,{A},{B},US,,maybe"),       // line 11
            format!("11,1999-11-03T10:00:00Z,1,USD,card,{A},{B},US,,0"),           // line 12
            format!("12,2025-11-03T10:00:00Z,1,USD,cash_withdrawal,{A},,mx,,0"),   // line 13
        ]);
        let mut b = GraphBuilder::new();
        let before = csv(&[format!("100,2025-11-01T10:00:00Z,1,USD,card,{A},{B},US,,0")]);
        read_transactions(before.as_bytes(), &TransactionColumns::default(), &mut b).unwrap();
        let err =
            read_transactions(text.as_bytes(), &TransactionColumns::default(), &mut b).unwrap_err();
        let lines: Vec<u64> = err.rows.iter().map(|r| r.line).collect();
        assert_eq!(lines, (3..=13).collect::<Vec<_>>(), "{err:#?}");
        assert_eq!(err.total_bad, 11);
        let reasons: Vec<&str> = err.rows.iter().map(|r| r.reason.as_str()).collect();
        assert!(reasons[0].contains("`x`"));
        assert!(reasons[2].contains("XXX"));
        assert!(reasons[5].contains("CLABE"));
        assert!(reasons[7].contains("fields"));
        assert!(reasons[9].contains("2000-01-01"));
        assert_eq!(b.len(), 1, "the failed file added nothing");
    }

    #[test]
    fn column_map_reads_foreign_headers_and_missing_columns_are_named() {
        let text = format!(
            "id,fecha,monto,moneda,canal,origen,destino,pais,sucursal,frontera\n1,2025-11-03T10:00:00Z,5,MXN,card,{B},{B},MX,,0\n"
        );
        let cols = TransactionColumns {
            tx_id: "id".into(),
            time: "fecha".into(),
            amount: "monto".into(),
            currency: "moneda".into(),
            channel: "canal".into(),
            from_account: "origen".into(),
            to_account: "destino".into(),
            country: "pais".into(),
            branch: "sucursal".into(),
            border_zone: "frontera".into(),
        };
        assert_eq!(parse_transactions(text.as_bytes(), &cols).unwrap().len(), 1);
        let err = parse_transactions(text.as_bytes(), &TransactionColumns::default()).unwrap_err();
        assert_eq!(err.rows[0].line, 1);
        assert!(err.rows[0].reason.contains("`tx_id`"));
    }

    #[test]
    fn accounts_holders_and_reports_parse_and_refuse_bad_rows() {
        let acc = format!(
            "account,institution,holder_id,country\n{A},Bank,H1,US\n{B},Banco,H2,US\n{B},Banco,H2,MX\n"
        );
        let err = parse_accounts(acc.as_bytes(), &AccountColumns::default()).unwrap_err();
        assert_eq!(err.rows.len(), 1);
        assert_eq!(err.rows[0].line, 3);
        let hol = "holder_id,kind,name,country\nH1,person,Ana,MX\nH2,robot,X,MX\n";
        let err = parse_holders(hol.as_bytes(), &HolderColumns::default()).unwrap_err();
        assert_eq!(err.rows[0].line, 3);
        let rep = format!("report_id,filed,account,tx_ids\nR1,2025-11-10T00:00:00Z,{A},1;2\n");
        let r = parse_reports(rep.as_bytes(), &ReportColumns::default()).unwrap();
        assert_eq!(r[0].transactions, vec![TxId(1), TxId(2)]);
    }
}
