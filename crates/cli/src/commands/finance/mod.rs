//! `soberana finance …`: follow the money through the node's own ledger and
//! across the border by request, and `soberana bench finance`.
//!
//! The commands are adapters: they parse, call the node
//! (`soberana_node::finance`, where the ledger folder, the continuation
//! exchange and its trails live) or the `soberana_finance` library, and
//! print. `generate` writes a two-country ledger, `ingest` loads a
//! country's exports into its node, `trace` and `alerts` analyse them, and
//! three commands carry a trail over the border without any ledger crossing
//! it: `continue` (requester, `Node::ask_continuation`), `answer` (partner,
//! `Node::answer_continuation`, the officer's decision with the node's four
//! eyes) and `stitch` (requester, `Node::stitch_trail`).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use soberana_core::{AgencyId, OfficerId, PartyCode, ProposalId, ProposalState, Timestamp};
use soberana_finance::generate::{self, GenerateOptions};
use soberana_finance::svg::{SvgOptions, dollars, render};
use soberana_finance::trace::{Direction, FlowGraph, Leg, NodeKind};
use soberana_finance::{Country, Graph};
use soberana_node::finance::ledger::{self, ColumnMaps, Progress, Table, typology_config};
use soberana_node::finance::{
    CONTINUATION_LABEL, ContinuationAsk, ContinuationRelease, LegStatus, TrailStart,
    answer_summary, release_items, run_trace,
};
use soberana_node::{DecisionStep, NodeError};

use crate::policy::open_node;

mod args;
mod demo;

pub use args::*;
pub use demo::demo;

/// Runs one `soberana finance` command.
pub fn run(cmd: FinanceCommand) -> Result<()> {
    match cmd {
        FinanceCommand::Generate(args) => generate_cmd(args),
        FinanceCommand::Ingest(args) => ingest_cmd(args),
        FinanceCommand::Trace(args) => trace_cmd(args),
        FinanceCommand::Alerts(args) => alerts_cmd(args),
        FinanceCommand::Verdict(args) => verdict_cmd(args),
        FinanceCommand::Continue(args) => continue_cmd(args),
        FinanceCommand::Answer(args) => answer_cmd(args),
        FinanceCommand::Stitch(args) => stitch_cmd(args),
    }
}

/// Seconds the calling thread has spent on a CPU, from the kernel's
/// scheduler statistics (Linux; `None` elsewhere).
fn thread_cpu_secs() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let nanos: u64 = text.split_whitespace().next()?.parse().ok()?;
    Some(nanos as f64 / 1e9)
}

/// `soberana bench finance`.
pub fn bench(args: BenchFinanceArgs) -> Result<()> {
    if args.n == 0 {
        bail!("--n must be at least 1");
    }
    eprintln!(
        "generating {} transactions, then ingest, traces and typology scan…",
        args.n
    );
    let report = soberana_finance::bench::run(&soberana_finance::bench::BenchOptions {
        transactions: args.n,
        seed: args.seed,
        scan_threads: args.threads.max(1),
        independent_transactions: args.independent_n,
        independent_seed: args.independent_seed,
        thread_cpu: Some(thread_cpu_secs),
        ..Default::default()
    })?;
    println!("{report}");
    if args.json.json {
        println!("{}", serde_json::to_string(&report)?);
    }
    Ok(())
}

// ---------------------------------------------------------------- generate

fn buffered(path: &Path) -> Result<BufWriter<File>> {
    Ok(BufWriter::with_capacity(
        1 << 20,
        File::create(path).with_context(|| format!("cannot create `{}`", path.display()))?,
    ))
}

/// Writes one ledger (whole, or one country's half) into `dir`.
pub(crate) fn write_ledger(opts: &GenerateOptions, dir: &Path) -> Result<generate::Summary> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create `{}`", dir.display()))?;
    let summary = generate::write(opts, buffered(&dir.join("transactions.csv"))?)?;
    if opts.only_country.is_none() {
        generate::write_accounts(
            opts,
            buffered(&dir.join("accounts.csv"))?,
            buffered(&dir.join("holders.csv"))?,
        )?;
        generate::write_reports(opts, buffered(&dir.join("reports.csv"))?)?;
    } else {
        write_country_tables(opts, dir)?;
    }
    serde_json::to_writer_pretty(buffered(&dir.join("summary.json"))?, &summary)?;
    Ok(summary)
}

/// The accounts, holders and reports a country holds: the population's
/// tables filtered on their country column (the last one).
fn write_country_tables(opts: &GenerateOptions, dir: &Path) -> Result<()> {
    let Some(country) = opts.only_country else {
        return Ok(());
    };
    let mut accounts = Vec::new();
    let mut holders = Vec::new();
    generate::write_accounts(opts, &mut accounts, &mut holders)?;
    for (name, text) in [("accounts.csv", accounts), ("holders.csv", holders)] {
        let mut out = buffered(&dir.join(name))?;
        for (i, line) in text.split(|&b| b == b'\n').enumerate() {
            let ours = line.ends_with(format!(",{country}").as_bytes());
            if (i == 0 || ours) && !line.is_empty() {
                out.write_all(line)?;
                out.write_all(b"\n")?;
            }
        }
        out.flush()?;
    }
    let mut out = buffered(&dir.join("reports.csv"))?;
    writeln!(out, "report_id,filed,account,tx_ids")?;
    for r in generate::reports(opts)? {
        if r.account.country() == country {
            let ids: Vec<String> = r.transactions.iter().map(|t| t.0.to_string()).collect();
            writeln!(out, "{},{},{},{}", r.id, r.filed, r.account, ids.join(";"))?;
        }
    }
    out.flush()?;
    Ok(())
}

fn generate_cmd(args: GenerateArgs) -> Result<()> {
    if args.transactions == 0 {
        bail!("--transactions must be at least 1");
    }
    let base = GenerateOptions {
        seed: args.seed,
        transactions: args.transactions,
        days: args.days,
        ..GenerateOptions::default()
    };
    let started = Instant::now();
    // The three files are independent: write them side by side.
    let (whole, halves) = std::thread::scope(|s| {
        let halves: Vec<_> = if args.no_split {
            Vec::new()
        } else {
            [Country::US, Country::MX]
                .into_iter()
                .map(|c| {
                    let opts = GenerateOptions {
                        only_country: Some(c),
                        ..base.clone()
                    };
                    let dir = args.out.join(c.as_str().to_ascii_lowercase());
                    s.spawn(move || write_ledger(&opts, &dir).map(|sum| (c, sum)))
                })
                .collect()
        };
        let whole = write_ledger(&base, &args.out);
        let halves: Vec<Result<(Country, generate::Summary)>> = halves
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("a generator thread failed")))
            })
            .collect();
        (whole, halves)
    });
    let summary = whole?;
    println!(
        "{} transactions, {} accounts, {} planted patterns → {} ({:.1} s)",
        summary.transactions,
        summary.accounts,
        summary.planted.len(),
        args.out.display(),
        started.elapsed().as_secs_f64()
    );
    for half in halves {
        let (c, s) = half?;
        println!(
            "  {c}'s half: {} transactions → {}",
            s.transactions,
            args.out.join(c.as_str().to_ascii_lowercase()).display()
        );
    }
    if let Some((collector, _)) = summary.scenario.first() {
        println!("demo collector (structured cash deposits): {collector}");
    }
    Ok(())
}

// ------------------------------------------------------------------ ledger

/// A node's error, with the bad rows of a rejected file printed first.
fn shown(e: NodeError) -> anyhow::Error {
    if let NodeError::Ingest { file, error } = &e {
        for row in &error.rows {
            eprintln!("{}:{}: {}", file.display(), row.line, row.reason);
        }
        if error.total_bad > error.rows.len() as u64 {
            eprintln!(
                "… and {} more bad rows",
                error.total_bad - error.rows.len() as u64
            );
        }
    }
    e.into()
}

/// Prints an ingest's progress on standard error.
fn print_progress(p: Progress<'_>) {
    match p {
        Progress::Reading {
            label,
            rows,
            percent,
            rate,
        } => eprint!("\r{label}: {rows} rows read ({percent:.0}%), {rate:.0} rows/s   "),
        Progress::Valid { label, rows, secs } => eprintln!(
            "\r{label}: {rows} rows valid in {secs:.1} s ({:.0} rows/s)   ",
            rows as f64 / secs.max(1e-9)
        ),
        Progress::Rejected => eprintln!(),
    }
}

fn ingest_cmd(args: IngestArgs) -> Result<()> {
    let node = &args.dir.dir;
    let maps: ColumnMaps = match &args.columns {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read `{}`", path.display()))?;
            toml::from_str(&text)
                .with_context(|| format!("`{}` is not a column mapping", path.display()))?
        }
        None => ColumnMaps::default(),
    };
    let inputs: Vec<(Table, PathBuf)> = [
        (Table::Transactions, &args.transactions),
        (Table::Accounts, &args.accounts),
        (Table::Holders, &args.holders),
        (Table::Reports, &args.reports),
    ]
    .into_iter()
    .flat_map(|(t, files)| files.iter().map(move |f| (t, f.clone())))
    .collect();
    let mut progress = print_progress;
    let (batches, total) =
        ledger::ingest(node, &inputs, &maps, Some(&mut progress)).map_err(shown)?;
    for b in &batches {
        println!(
            "loaded {} {} rows from {}",
            b.rows,
            b.table.name(),
            b.source
        );
    }
    println!("the node now holds {total} transactions");
    Ok(())
}

/// Builds the node's graph from everything loaded, reports applied.
pub fn load_graph(node: &Path) -> Result<Graph, NodeError> {
    ledger::load_graph(node)
}

// ------------------------------------------------------------------- trace

/// Parses `30d`, `12h`, `90m`, `3600s` or `2w` into seconds.
pub fn parse_duration(text: &str) -> Result<i64> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let n: i64 = number.parse().with_context(|| {
        format!("duration `{text}` does not start with a number; write e.g. `30d`")
    })?;
    let unit = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" | "" => 86_400,
        "w" => 7 * 86_400,
        _ => bail!("duration `{text}` has unit `{unit}`; use s, m, h, d or w"),
    };
    n.checked_mul(unit)
        .filter(|&s| s > 0)
        .with_context(|| format!("duration `{text}` must be positive and not absurdly long"))
}

/// The trail's start as the node takes it.
fn trail_start(args: &TrailArgs) -> Result<TrailStart> {
    Ok(TrailStart {
        from: args.from.clone(),
        hops: args.hops,
        window: args.window.as_deref().map(parse_duration).transpose()?,
        since: args.since.as_deref().map(Timestamp::parse).transpose()?,
    })
}

pub(crate) fn usd(cents: i64) -> String {
    dollars(cents)
}

fn when(secs: i64) -> String {
    Timestamp::from_unix_millis(secs.saturating_mul(1000)).to_string()
}

/// Prints a flow graph for people: nodes by hop, the partner's leg marked.
pub fn print_flow(flow: &FlowGraph) {
    let home_nodes = flow.nodes.iter().filter(|n| n.leg == Leg::Home).count();
    println!(
        "{} trace, rule {}: {} seeded, {} nodes ({} from {}'s ledger), {} edges",
        match flow.direction {
            Direction::Forward => "forward",
            Direction::Backward => "backward",
        },
        flow.rule,
        usd(flow.seeded),
        flow.nodes.len(),
        home_nodes,
        flow.home,
        flow.edges.len()
    );
    let mut order: Vec<usize> = (0..flow.nodes.len()).collect();
    order.sort_by_key(|&i| {
        let n = &flow.nodes[i];
        (n.hop, std::cmp::Reverse(n.inflow.max(n.outflow)))
    });
    const SHOWN: usize = 40;
    for &i in order.iter().take(SHOWN) {
        let n = &flow.nodes[i];
        let kind = match n.kind {
            NodeKind::Seed => "seed",
            NodeKind::Account => "account",
            NodeKind::Border => "BORDER",
            NodeKind::CashOut => "cash out",
            NodeKind::CashIn => "cash in",
            NodeKind::Partner => "partner",
        };
        let leg = match n.leg {
            Leg::Home => String::new(),
            Leg::Partner(c) => format!("  [{c}'s leg]"),
        };
        println!(
            "  hop {:>2} {:<9} {:<44} in {:>16}  out {:>16}{}{}{}",
            n.hop,
            kind,
            n.key,
            usd(n.inflow),
            usd(n.outflow),
            if n.reported { "  reported" } else { "" },
            if n.border_zone { "  border zone" } else { "" },
            leg
        );
    }
    if flow.nodes.len() > SHOWN {
        println!(
            "  … {} more nodes (--json for all)",
            flow.nodes.len() - SHOWN
        );
    }
}

fn trace_cmd(args: TraceArgs) -> Result<()> {
    let node = open_node(&args.dir.dir)?;
    let home = node.country()?;
    let graph = load_graph(&args.dir.dir).map_err(shown)?;
    let direction = if args.backward {
        Direction::Backward
    } else {
        Direction::Forward
    };
    let flow = run_trace(&graph, home, &trail_start(&args.trail)?, direction)?;
    if args.json {
        println!("{}", flow.to_json());
        return Ok(());
    }
    print_flow(&flow);
    // Only a forward trail can be continued by the partner.
    for (_, n) in flow
        .border_nodes()
        .filter(|_| direction == Direction::Forward)
    {
        if let Some(c) = n.country {
            println!(
                "the trail crosses into {c} at {} ({}); ask {c} to continue it with\n  soberana finance continue --dir {} --from {} --peer {c}",
                n.key,
                usd(n.inflow),
                args.dir.dir.display(),
                args.trail.from
            );
            break;
        }
    }
    if let Some(path) = &args.svg {
        draw(
            &flow,
            path,
            &format!("Follow the money from {}", args.trail.from),
        )?;
    }
    Ok(())
}

fn draw(flow: &FlowGraph, path: &Path, title: &str) -> Result<()> {
    let svg = render(
        flow,
        &SvgOptions {
            title: title.to_owned(),
            ..SvgOptions::default()
        },
    );
    std::fs::write(path, svg).with_context(|| format!("cannot write `{}`", path.display()))?;
    println!("flow drawn to {}", path.display());
    Ok(())
}

fn alerts_cmd(args: AlertsArgs) -> Result<()> {
    if args.incidents {
        require_node(&args.dir.dir)?;
        let node = open_node(&args.dir.dir)?;
        let review = node.alert_review(args.config.as_deref())?;
        if args.json {
            let incidents: Vec<_> = review.incidents.iter().map(|i| &i.incident).collect();
            println!("{}", serde_json::to_string(&incidents)?);
            return Ok(());
        }
        println!(
            "{} incidents ({} alerts) in {} transactions, riskiest first",
            review.incidents.len(),
            review.alerts,
            review.transactions
        );
        for r in review.incidents.iter().take(args.limit) {
            let i = &r.incident;
            let kinds: Vec<&str> = i.kinds.iter().map(|k| k.name()).collect();
            println!(
                "  {}  score {:>5.2}  {:<28} {:>16}  {} … {}",
                r.key,
                i.score,
                kinds.join("+"),
                usd(i.value),
                when(i.first),
                when(i.last)
            );
            for reason in &i.reasons {
                println!("      {reason}");
            }
            if let Some(v) = &r.verdict {
                println!(
                    "      verdict: {} by {} on {}: {}",
                    finding_word(v.finding),
                    v.officer,
                    when(v.at),
                    soberana_core::visible(&v.reason)
                );
            }
        }
        print_precision(&review.precision);
        return Ok(());
    }
    let cfg = typology_config(&args.dir.dir, args.config.as_deref()).map_err(shown)?;
    let graph = load_graph(&args.dir.dir).map_err(shown)?;
    let mut alerts = soberana_finance::scan(&graph, &cfg);
    alerts.sort_by_key(|a| std::cmp::Reverse(a.value));
    if args.json {
        println!("{}", serde_json::to_string(&alerts)?);
        return Ok(());
    }
    println!("{} alerts in {} transactions", alerts.len(), graph.len());
    for a in alerts.iter().take(args.limit) {
        println!(
            "  {:<16} {:<44} {:>16}  {} … {}  {} transactions",
            a.kind.name(),
            a.account,
            usd(a.value),
            when(a.first),
            when(a.last),
            a.evidence.len()
        );
    }
    Ok(())
}

fn require_node(node: &Path) -> Result<()> {
    if !node.join("node.toml").exists() {
        bail!(
            "`{}` is not a node directory (no node.toml); make one with `soberana init`",
            node.display()
        );
    }
    Ok(())
}

fn finding_word(f: soberana_finance::verdict::Finding) -> &'static str {
    match f {
        soberana_finance::verdict::Finding::Confirmed => "confirmed",
        soberana_finance::verdict::Finding::Dismissed => "dismissed",
    }
}

fn verdict_cmd(args: VerdictArgs) -> Result<()> {
    use soberana_finance::verdict::Finding;
    require_node(&args.dir.dir)?;
    let officer = OfficerId::new(&args.officer)
        .with_context(|| format!("`{}` is not an officer id", args.officer))?;
    let finding = if args.confirmed {
        Finding::Confirmed
    } else {
        Finding::Dismissed
    };
    let node = open_node(&args.dir.dir)?;
    let v = node.record_alert_verdict(&officer, &args.incident, finding, &args.reason)?;
    println!(
        "{} {} by {}; stored on the node",
        v.incident,
        finding_word(v.finding),
        v.officer
    );
    print_precision(&node.alert_precision()?);
    Ok(())
}

fn print_precision(precision: &[soberana_finance::verdict::PeriodPrecision]) {
    if precision.is_empty() {
        println!("no verdicts yet: give one with `soberana finance verdict INCIDENT`");
        return;
    }
    println!("precision of worked incidents, week by week:");
    for p in precision {
        println!(
            "  week of {}  {} confirmed, {} dismissed, precision {:.2}",
            when(p.start),
            p.confirmed,
            p.dismissed,
            p.precision
        );
    }
}

// ------------------------------------------------------------ continuation

fn default_agency(home: Country) -> Result<AgencyId> {
    Ok(AgencyId::new(match home.as_str() {
        "US" => "US.FINCEN",
        "MX" => "MX.UIF",
        other => bail!("give the requesting agency with --agency (no default for `{other}`)"),
    })?)
}

fn continue_cmd(args: ContinueArgs) -> Result<()> {
    let node = open_node(&args.dir.dir)?;
    let home = node.country()?;
    let graph = load_graph(&args.dir.dir).map_err(shown)?;
    let peer = PartyCode::new(&args.peer)?;
    let agency = match &args.agency {
        Some(a) => AgencyId::new(a)?,
        None => default_agency(home)?,
    };
    let officer = args.officer.as_deref().map(OfficerId::new).transpose()?;
    let trail = node.ask_continuation(
        &graph,
        &ContinuationAsk {
            start: trail_start(&args.trail)?,
            peer,
            horizon: parse_duration(&args.horizon)?,
            partner_hops: args.partner_hops,
            max_requests: args.max_requests,
            agency,
            officer,
        },
    )?;
    print_flow(&trail.flow);
    for leg in &trail.legs {
        println!(
            "asked {peer} to continue from {} ({} in {} transactions, {} … {}): proposal {}",
            leg.request.account,
            usd(leg.request.value),
            leg.request.tx_count,
            when(leg.request.from),
            when(leg.request.to),
            leg.proposal
        );
    }
    if let Some(first) = trail.legs.first() {
        println!(
            "only the account, the amount and the window were sent. Once {peer} answers:\n  soberana finance stitch {} --dir {}",
            first.proposal,
            args.dir.dir.display()
        );
    }
    Ok(())
}

fn answer_cmd(args: AnswerArgs) -> Result<()> {
    let node = open_node(&args.dir.dir)?;
    let id = ProposalId::parse(&args.id)?;
    let detail = node.show(id)?;
    if args.dry_run {
        let answers = node.continuation_answers(id, args.hops).map_err(shown)?;
        for a in &answers {
            println!("{}", answer_summary(a));
        }
        for item in release_items(&answers)?
            .iter()
            .filter(|i| i.label == CONTINUATION_LABEL)
        {
            println!("{}", item.value);
        }
        println!("(dry run: nothing decided, nothing sent)");
        return Ok(());
    }
    if detail.record.state != ProposalState::AwaitingOfficer {
        bail!(
            "proposal {id} is {}, not awaiting an officer",
            detail.record.state
        );
    }
    let Some(officer) = args.officer.as_deref() else {
        bail!(
            "name the deciding officer with --officer ID (a registered approver; see `soberana officer list --dir {}`)",
            args.dir.dir.display()
        );
    };
    let officer = OfficerId::new(officer)?;
    let (answers, step) = node
        .answer_continuation(
            id,
            ContinuationRelease {
                officer: officer.clone(),
                conditions: args.conditions.clone(),
                reason: args.reason,
                hops: args.hops,
            },
        )
        .map_err(shown)?;
    for a in &answers {
        println!("{}", answer_summary(a));
    }
    match step {
        DecisionStep::Decided(decision) => println!(
            "{id}: {} by {officer}; the continuation (totals and pseudonyms only) is queued for {}",
            decision.outcome.as_str(),
            detail.record.peer
        ),
        DecisionStep::AwaitingSecondApprover(_) => println!(
            "{id}: releasing under {} needs a second approver; nothing has left. Another approver runs `soberana confirm {id} --dir {} --officer ID`",
            detail.record.proposal.handling,
            args.dir.dir.display()
        ),
    }
    Ok(())
}

fn stitch_cmd(args: StitchArgs) -> Result<()> {
    let node = open_node(&args.dir.dir)?;
    let id = ProposalId::parse(&args.id)?;
    let trail = node.trail(id)?;
    let (flow, status) = node.stitch_trail(&trail)?;
    if args.json {
        println!("{}", flow.to_json());
        return Ok(());
    }
    print_flow(&flow);
    for (leg, s) in trail.legs.iter().zip(&status) {
        match s {
            LegStatus::Stitched(a) => println!(
                "{}'s leg from {}: {}",
                a.answering,
                leg.request.account,
                answer_summary(a)
            ),
            LegStatus::Waiting(state) => println!(
                "{} (proposal {}): {state}, not answered yet",
                leg.request.account, leg.proposal
            ),
            LegStatus::Unusable(why) => println!(
                "{} (proposal {}): answered, but not stitched: {why}",
                leg.request.account, leg.proposal
            ),
        }
    }
    if let Some(path) = &args.svg {
        draw(
            &flow,
            path,
            &format!("Follow the money from {}", trail.from),
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
