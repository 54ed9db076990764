//! `soberana demo`: the story of the articles, played between two nodes.
//!
//! Two nodes, MX and US, each with its own directory, SQLite file, keys and
//! certificate, run in this process on loopback and talk over mutual TLS
//! exactly as two countries' nodes would. The officers' actions are scripted;
//! everything else — policy, red lines, signatures, delivery, receipts — is
//! the real thing.

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use soberana_core::{Direction, PartyCode, ProposalDraft, ProposalState};
use soberana_node::{InitOptions, Node};
use soberana_store::ProposalDetail;

use crate::cli::DemoArgs;
use crate::policy::{initial_files, open_node};

const US_DEPLOY_FORCES: &str = include_str!("../../../../examples/proposals/us-deploy-forces.toml");
const US_PURSUIT_MISLABELLED: &str =
    include_str!("../../../../examples/proposals/us-pursuit-mislabelled.toml");
const US_NOTIFY_ORDER: &str = include_str!("../../../../examples/proposals/us-notify-order.toml");
const MX_FIREARM_TRACE: &str = include_str!("../../../../examples/proposals/mx-firearm-trace.toml");
const MX_HELD_PHONES: &str = include_str!("../../../../examples/demo/mx-held-phones.txt");
const US_PHONES_TO_CHECK: &str = include_str!("../../../../examples/demo/us-phones-to-check.txt");
const US_HELD_FIREARMS: &str = include_str!("../../../../examples/demo/us-held-firearms.txt");
const MX_FIREARMS_TO_CHECK: &str =
    include_str!("../../../../examples/demo/mx-firearms-to-check.txt");
const US_PERSON_RECORDS: &str = include_str!("../../../../examples/demo/us-person-records.csv");
const MX_SUSPECTS: &str = include_str!("../../../../examples/demo/mx-suspects.csv");
const MX_JOINT_INVESTIGATION: &str =
    include_str!("../../../../examples/proposals/mx-joint-investigation.toml");

/// The demo's bilateral agreement shortens the answer time of a joint
/// investigation to two seconds, so that a breach happens while one
/// watches; every other kind keeps its default.
const DEMO_ANSWER_TIMES: &str = "\n[answer_times]\njoint_investigation = 2\n";

fn free_addr() -> Result<SocketAddr> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?)
}

/// Makes a node for `code` in `dir/code`, or opens it if it exists.
pub fn make_node(dir: &Path, code: &str) -> Result<Node> {
    make_node_in(dir, code, None)
}

/// Makes (or reopens) the node of `code` under `dir`, its store in `store`
/// (a `postgres://` URL) or, by default, a SQLite file in its folder.
pub fn make_node_in(dir: &Path, code: &str, store: Option<String>) -> Result<Node> {
    let party = PartyCode::new(code)?;
    let path = dir.join(code.to_ascii_lowercase());
    if !path.join("node.toml").exists() {
        let (files, digest) = initial_files(party)?;
        soberana_node::init(&InitOptions {
            party,
            dir: path.clone(),
            listen: free_addr()?,
            endpoint: None,
            files,
            constitutional_digest: digest,
            store,
        })?;
        let config = path.join("node.toml");
        let mut text = std::fs::read_to_string(&config)?;
        text.push_str(DEMO_ANSWER_TIMES);
        std::fs::write(&config, text)?;
    }
    open_node(&path)
}

/// Pins each node's card in the other.
pub fn introduce(a: &Node, b: &Node) -> Result<()> {
    a.add_peer(&b.card()?.to_text(), Path::new("card"))?;
    b.add_peer(&a.card()?.to_text(), Path::new("card"))?;
    Ok(())
}

fn draft(text: &str) -> Result<ProposalDraft> {
    toml::from_str(text).context("a shipped example proposal does not parse")
}

/// Waits until `node` holds proposal `id` in one of `states`.
pub async fn wait_for(
    node: &Node,
    id: soberana_core::ProposalId,
    states: &[ProposalState],
) -> Result<ProposalDetail> {
    for _ in 0..600 {
        if let Ok(detail) = node.show(id)
            && states.contains(&detail.record.state)
        {
            return Ok(detail);
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let now = node
        .show(id)
        .map(|d| d.record.state.to_string())
        .unwrap_or_else(|_| "unknown".into());
    bail!(
        "{} never saw proposal {id} reach {states:?} (it is {now})",
        node.party()
    )
}

/// Waits until a partner's cosignature on our checkpoint of `size` is in.
async fn wait_cosigned(node: &Node, size: u64) -> Result<()> {
    for _ in 0..600 {
        if !node.cosignatures(Some(size))?.is_empty() {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    bail!(
        "{}'s checkpoint of size {size} was never cosigned",
        node.party()
    )
}

fn say(step: &str, text: &str) {
    println!("\n── {step} ─ {text}");
}

fn line(text: impl AsRef<str>) {
    println!("   {}", text.as_ref());
}

fn print_reasons(detail: &ProposalDetail) {
    if let Some(decision) = &detail.decision {
        for reason in &decision.reasons {
            match &reason.policy {
                Some(policy) => line(format!("because [{policy}] {}", reason.text)),
                None => line(format!("because {}", reason.text)),
            }
        }
    }
}

/// Runs the demo.
pub async fn run(args: DemoArgs) -> Result<()> {
    let dir: PathBuf = match args.dir {
        Some(dir) => dir,
        None => {
            let stamp = soberana_core::Timestamp::now().unix_millis();
            std::env::temp_dir().join(format!("soberana-demo-{stamp}"))
        }
    };
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create `{}`", dir.display()))?;
    println!("soberana demo — cooperation without subordination");
    println!(
        "two sovereign nodes, each with its own keys, store and policy, in {}",
        dir.display()
    );

    let mx = make_node(&dir, "MX")?;
    let us = make_node(&dir, "US")?;
    introduce(&mx, &us)?;
    crate::commands::desk::demo_officers(&mx, &us)?;
    let mx_run = mx.start().await?;
    let us_run = us.start().await?;
    line(format!(
        "MX node on https://{}  (policy set {})",
        mx_run.addr,
        &mx.policy().digest()[..16]
    ));
    line(format!(
        "US node on https://{}  (policy set {})",
        us_run.addr,
        &us.policy().digest()[..16]
    ));
    line("each pinned the other's card: signing key and TLS certificate");

    // 1. The red line.
    say(
        "1",
        "the US proposes deploying US forces in Mexico to fight cartels",
    );
    // Before sending, the US liaison checks the draft against Mexico's red
    // lines, fetched from the MX node.
    let planned = soberana_core::Proposal::from_draft(
        draft(US_DEPLOY_FORCES)?,
        us.party(),
        None,
        soberana_core::Timestamp::now(),
    )?;
    let check = crate::policy::check_against_partner(&us, &planned).await?;
    for text in check.summary().lines() {
        line(format!("propose --check: {text}"));
    }
    line("the US sends it all the same:");
    let offer = us.propose(draft(US_DEPLOY_FORCES)?, None)?;
    line(format!("US → MX: {}", offer.body.summary()));
    line("the tasks: US.SOCOM raids in Culiacán, armed, kinetic, \"under Mexican command\"");
    let refused = wait_for(
        &us,
        offer.id,
        &[ProposalState::Refused, ProposalState::Accepted],
    )
    .await?;
    if refused.record.state != ProposalState::Refused {
        bail!(
            "the red line did not hold: the offer was {}",
            refused.record.state
        );
    }
    line("MX policy REFUSED it before any officer saw it — a constitutional red line:");
    print_reasons(&refused);
    let mx_side = wait_for(&mx, offer.id, &[ProposalState::Refused]).await?;
    line(format!(
        "recorded in both nodes: MX {} · US {}",
        mx_side.record.state, refused.record.state
    ));

    // 1b. A label is a claim; the place is a fact MX establishes.
    say(
        "1b",
        "the US alerts of a pursuit it labels \"US\" — at coordinates inside Sonora",
    );
    let alert = us.propose(draft(US_PURSUIT_MISLABELLED)?, None)?;
    line(format!("US → MX: {}", alert.body.summary()));
    line("the act: US.CBP helicopter, armed, pursuit, territory \"US\", at 30.95,-110.95");
    let mislabelled = wait_for(
        &us,
        alert.id,
        &[ProposalState::Refused, ProposalState::Accepted],
    )
    .await?;
    if mislabelled.record.state != ProposalState::Refused {
        bail!(
            "a misrepresented place was not refused: the alert was {}",
            mislabelled.record.state
        );
    }
    line(
        "MX resolved the place with its own geography (MX land) and REFUSED the label as a misrepresentation:",
    );
    print_reasons(&mislabelled);

    // 2. Advance notification.
    say(
        "2",
        "the US notifies in advance an order authorising force against designated cartels",
    );
    let notice = us.propose(draft(US_NOTIFY_ORDER)?, None)?;
    let acknowledged = wait_for(&us, notice.id, &[ProposalState::Acknowledged]).await?;
    if let Some(receipt) = &acknowledged.receipt {
        line(format!(
            "MX returned a signed receipt at {}: envelope sha256 {}…",
            receipt.received_at,
            &receipt.envelope_digest[..16]
        ));
        line(format!("\"{}\"", receipt.note));
    }
    // The receipt proves MX said it received the notice; the receipt below
    // proves the notice is in MX's own log, cosigned by the US as witness.
    let checkpoint = mx.checkpoint_and_request_cosignatures()?;
    wait_cosigned(&mx, checkpoint.checkpoint().size()).await?;
    let envelope = us
        .sent_envelopes(notice.id)?
        .into_iter()
        .find(|(_, kind)| kind == "proposal")
        .map(|(id, _)| id)
        .context("the US node has no record of the envelope it sent")?;
    let bundle = us.fetch_receipt(mx.party(), &envelope).await?;
    let receipt_file = dir.join("receipt-notification.json");
    std::fs::write(&receipt_file, bundle.to_json())?;
    line(format!(
        "proof that the notice is entry {} of MX's log, in MX's checkpoint of size {} cosigned by the US:",
        bundle.index,
        checkpoint.checkpoint().size()
    ));
    line(format!("  {}", receipt_file.display()));
    line(format!(
        "  anyone holding the two parties' cards can check it, with no access to either node: \
         soberana log check FILE --card MX.card --card US.card (or at the US node: --dir {})",
        us.dir().root().display()
    ));

    // 3. Financial intelligence: the trail continued across the border.
    say(
        "3",
        "the US follows structured cash to the border; Mexico continues the trail on its own data",
    );
    crate::commands::finance::demo(&us, &mx, &dir).await?;

    // 4. Firearm trace, the other way.
    say(
        "4",
        "Mexico asks the US to trace firearms seized in Sonora, Tamaulipas and Sinaloa",
    );
    crate::commands::firearms::demo(&mx, &us, &dir, draft(MX_FIREARM_TRACE)?).await?;

    // 5. Private matches, both ways: each side checks a list against the
    // other's holdings; only the matches are learnt, neither list leaves.
    say(
        "5",
        "each side checks a list for hits in the other's holdings; neither list leaves home",
    );
    for (node, kind, text) in [
        (&mx, soberana_psi::IdentifierKind::Phone, MX_HELD_PHONES),
        (&us, soberana_psi::IdentifierKind::Firearm, US_HELD_FIREARMS),
    ] {
        let path = node.holdings_path(kind);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&path, text)?;
    }
    line("US (DEA) checks 200 phone numbers against MX's holdings; an MX officer (CNI) accepts:");
    let phones = crate::commands::matching::demo_match(
        &us,
        &mx,
        soberana_psi::IdentifierKind::Phone,
        US_PHONES_TO_CHECK,
        "US.DEA",
        "cni.approver",
    )
    .await?;
    crate::commands::matching::print_result(&phones, "   ");
    line(
        "MX (FGR) checks 150 seized firearms against the US's holdings; a US officer (ATF) accepts:",
    );
    let firearms = crate::commands::matching::demo_match(
        &mx,
        &us,
        soberana_psi::IdentifierKind::Firearm,
        MX_FIREARMS_TO_CHECK,
        "MX.FGR",
        "atf.approver",
    )
    .await?;
    crate::commands::matching::print_result(&firearms, "   ");
    // Person records: both nodes hold the linkage secret agreed out of band.
    let key = soberana_node::sessions::persons::new_linkage_key()?;
    for node in [&mx, &us] {
        node.install_linkage_key(&key, false)?;
    }
    std::fs::write(us.persons_path(), US_PERSON_RECORDS)?;
    let suspects = dir.join("mx-suspects.csv");
    std::fs::write(&suspects, MX_SUSPECTS)?;
    line(
        "MX (CNI) checks 30 suspects against US person records; the US compares their encodings and returns verdicts only; a US officer (FBI) accepts:",
    );
    let people =
        crate::commands::matching::demo_person_match(&mx, &us, &suspects, "MX.CNI", "fbi.approver")
            .await?;
    crate::commands::matching::print_result(&people, "   ");
    line(
        "the firearm holder learnt only how many were asked; the person holder saw only the 30 accepted queries and sent verdicts, never its records; both logs record each session and what left",
    );

    // 6. Cross-witnessing.
    say(
        "6",
        "each side cosigns the other's checkpoint; both logs are verified",
    );
    let mx_cp = mx.checkpoint_and_request_cosignatures()?;
    let us_cp = us.checkpoint_and_request_cosignatures()?;
    wait_cosigned(&mx, mx_cp.checkpoint().size()).await?;
    wait_cosigned(&us, us_cp.checkpoint().size()).await?;
    for (node, cp) in [(&mx, &mx_cp), (&us, &us_cp)] {
        line(format!(
            "{} checkpoint: size {}, root {} — cosigned by {}",
            node.party(),
            cp.checkpoint().size(),
            cp.checkpoint().root(),
            if node.party() == mx.party() {
                "US"
            } else {
                "MX"
            }
        ));
    }
    for node in [&mx, &us] {
        crate::commands::log::verify(node.dir().root())?;
    }

    say(
        "7",
        "each side is held to its word: a missed answer time, and Mexico's report of foreign contacts",
    );
    let mut jit_draft = draft(MX_JOINT_INVESTIGATION)?;
    name_case_members(&mut jit_draft)?;
    let jit = mx.propose(jit_draft, None)?;
    let held = wait_for(
        &us,
        jit.id,
        &[
            ProposalState::AwaitingOfficer,
            ProposalState::Accepted,
            ProposalState::Refused,
        ],
    )
    .await?;
    line(format!(
        "MX → US: {} — with the US: {}; the agreed answer time: {} s",
        jit.body.summary(),
        held.record.state,
        us.answer_time(jit.kind()).as_secs()
    ));
    let due = us.answer_due(jit.kind(), jit.created);
    while soberana_core::Timestamp::now() <= due {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    // A running node checks once a minute; the demo asks now.
    let now = soberana_core::Timestamp::now();
    for node in [&us, &mx] {
        for breach in node.record_breaches(now)? {
            line(format!(
                "{} logged a breach: {} owed an answer to {} by {}",
                node.party(),
                breach.party,
                breach.proposal,
                breach.due
            ));
        }
    }
    let day = soberana_core::Timestamp::now();
    let contacts = mx.contact_report(
        us.party(),
        day.plus_seconds(-24 * 3600),
        day.plus_seconds(1),
    )?;
    let contacts_file = dir.join("mx-contact-report.json");
    std::fs::write(
        &contacts_file,
        serde_json::to_string_pretty(&contacts)? + "\n",
    )?;
    let check = soberana_node::check_contact_report(&contacts, &mx.card()?.card.signing_key)?;
    line(format!(
        "MX's signed report of {} contacts with US agencies, due at the SRE and SSPC by {}:",
        check.contacts.len(),
        check
            .contacts
            .first()
            .map_or("-".to_owned(), |c| c.report_due.clone())
    ));
    line(format!("  {}", contacts_file.display()));

    say(
        "7b",
        "the joint investigation, accepted, opens one case on both sides; each contributes evidence under its own conditions",
    );
    demo_case(&dir, &mx, &us, jit.id).await?;

    say(
        "8",
        "each side computes the transparency report from its own record; they agree byte for byte",
    );
    let (from, to) = (
        soberana_core::Timestamp::from_unix_millis(0),
        soberana_core::Timestamp::now(),
    );
    // The last cosignatures may still be on their way to being marked
    // delivered: give the two records a moment to agree.
    let mut tries = 0;
    let (mx_report, us_report) = loop {
        let a = mx.transparency_report(us.party(), from, to)?;
        let b = us.transparency_report(mx.party(), from, to)?;
        tries += 1;
        if a.to_text() == b.to_text() || tries >= 50 {
            break (a, b);
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    if mx_report.to_text() == us_report.to_text() {
        let count = |m: &std::collections::BTreeMap<String, u64>| m.values().sum::<u64>();
        line(format!(
            "identical: {} envelopes, {} proposals, {} decisions ({} refused by policy), {} answers, {} breach(es); exchange digest {}",
            mx_report.exchange.len(),
            count(&mx_report.proposals),
            count(&mx_report.decisions),
            mx_report
                .decisions
                .iter()
                .filter(|(k, _)| k.ends_with("refused by policy"))
                .map(|(_, n)| n)
                .sum::<u64>(),
            mx_report.released.values().map(|r| r.answers).sum::<u64>(),
            count(&mx_report.breaches),
            mx_report.exchange_digest
        ));
    } else {
        let diff = soberana_node::compare_reports(&mx, &mx_report, &us_report);
        line(format!(
            "the reports differ: {} envelope(s) only in MX's, {} only in the US's",
            diff.only_ours.len(),
            diff.only_theirs.len()
        ));
    }

    say("end", "what each node holds");
    for node in [&mx, &us] {
        let incoming = node.list(Some(Direction::Incoming), vec![])?.len();
        let outgoing = node.list(Some(Direction::Outgoing), vec![])?.len();
        let log = node.log_size()?;
        line(format!(
            "{}: {incoming} proposals received, {outgoing} sent, {log} entries in its log",
            node.party()
        ));
    }

    let bin = std::env::args().next().unwrap_or_else(|| "soberana".into());
    let mx_dir = dir.join("mx");
    let us_dir = dir.join("us");
    if args.headless {
        mx_run.stop().await;
        us_run.stop().await;
        println!("\ndone. Look around with:");
        println!("  {bin} outbox --all --dir {}", us_dir.display());
        println!("  {bin} show {} --dir {}", offer.id, mx_dir.display());
        return Ok(());
    }
    let _desks = crate::commands::desk::demo_desks(&mx, &us).await?;
    println!("\nboth nodes stay up until Ctrl-C. In another terminal:");
    println!("  {bin} inbox --all --dir {}", mx_dir.display());
    println!("  {bin} outbox --all --dir {}", us_dir.display());
    println!("  {bin} show {} --dir {}", offer.id, mx_dir.display());
    println!(
        "  {bin} propose examples/proposals/us-border-alert.toml --dir {}",
        us_dir.display()
    );
    super::stop_requested().await?;
    mx_run.stop().await;
    us_run.stop().await;
    Ok(())
}

/// The demo's agreement names the members of each side and who
/// administers it, so that its acceptance opens the case on both sides
/// with its members in place.
pub(crate) fn name_case_members(draft: &mut soberana_core::ProposalDraft) -> Result<()> {
    use soberana_core::{AgreedMember, OfficerId, PartyCode, ProposalBody};
    if let ProposalBody::JointInvestigation(joint) = &mut draft.body {
        for (party, officer, administrator) in [
            ("MX", "fgr.approver", true),
            ("MX", "uif.approver", false),
            ("US", "atf.approver", true),
            ("US", "fbi.approver", false),
        ] {
            joint.members.push(AgreedMember {
                party: PartyCode::new(party)?,
                officer: OfficerId::new(officer)?,
                administrator,
            });
        }
    }
    Ok(())
}

/// The joint investigation proposed in step 7 is accepted by a US officer;
/// both sides open the case, each contributes an exhibit under conditions,
/// the other fetches and opens it, both logs hold the same custody, and the
/// case report verifies offline.
async fn demo_case(dir: &Path, mx: &Node, us: &Node, jit: soberana_core::ProposalId) -> Result<()> {
    use soberana_case::UseConditions;
    use soberana_core::{OfficerId, Outcome};
    let officer = |id: &str| OfficerId::new(id);
    let (fgr, uif) = (officer("fgr.approver")?, officer("uif.approver")?);
    let (atf, fbi) = (officer("atf.approver")?, officer("fbi.approver")?);
    if us.show(jit)?.record.state == ProposalState::AwaitingOfficer {
        us.decide(
            jit,
            soberana_node::OfficerVerdict {
                officer: atf.clone(),
                outcome: Outcome::Accepted,
                reason: "each side investigates on its own territory".into(),
                release: Vec::new(),
            },
        )?;
    }
    wait_for(mx, jit, &[ProposalState::Accepted]).await?;
    let case = soberana_case::CaseId::for_proposal(&jit);
    let both_open = |n: &Node| n.case(case).is_ok_and(|v| v.case.opened_by.len() == 2);
    for _ in 0..200 {
        if both_open(mx) && both_open(us) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    if !(both_open(mx) && both_open(us)) {
        bail!("the accepted agreement did not open {case} on both sides");
    }
    line(format!(
        "{case} opened on both sides by the acceptance itself, with the members the agreement names: {fgr} (administrator) and {uif} for MX, {atf} (administrator) and {fbi} for the US"
    ));
    us.case_message(
        case,
        &atf,
        "en",
        "Tucson purchases traced; serials in our exhibit.",
    )?;
    mx.case_message(
        case,
        &fgr,
        "es",
        "Recibido. La libreta de Hermosillo cruza con tres compradores.",
    )?;
    let due = soberana_core::Timestamp::now().plus_seconds(7 * 86_400);
    let task = mx.case_task(
        case,
        &fgr,
        "match the ledger's payees against the purchase records",
        us.party(),
        &fbi,
        due,
    )?;
    line(format!(
        "messages in English and Spanish cross in both logs; {fgr} gives {fbi} (US) task {task}, due in 7 days"
    ));

    let mx_file = dir.join("mx-seized-ledger.txt");
    std::fs::write(
        &mx_file,
        "Libreta incautada en Hermosillo: pagos a compradores en Tucson, 2026-03 a 2026-09\n"
            .repeat(2000),
    )?;
    let us_file = dir.join("us-purchase-records.csv");
    std::fs::write(
        &us_file,
        "serial,make,first_retail_sale,purchaser_ref\n".to_owned()
            + &"DX-4471,Colt,2026-04-02,P-118\n".repeat(3000),
    )?;
    let mx_exhibit = mx.exhibit_add(
        case,
        &uif,
        &mx_file,
        "seized ledger (scan)",
        UseConditions::strict(180),
    )?;
    let us_exhibit = us.exhibit_add(
        case,
        &fbi,
        &us_file,
        "first retail purchases",
        UseConditions {
            court_needs_consent: false,
            ..UseConditions::strict(365)
        },
    )?;
    mx.exhibit_release(case, mx_exhibit, &[fgr.clone(), uif.clone()])?;
    us.exhibit_release(case, us_exhibit, &[atf.clone(), fbi.clone()])?;
    line(format!(
        "MX offers {} under purpose only, no onward transmission, no court use without consent, 180 days; released by {fgr} and {uif}",
        mx_exhibit.short()
    ));
    line(format!(
        "US offers {} usable in court, 365 days; released by {atf} and {fbi}",
        us_exhibit.short()
    ));
    let released = |node: &Node, x: soberana_case::ExhibitDigest| {
        node.case(case).is_ok_and(|v| {
            v.case
                .exhibit(&x)
                .is_some_and(|e| e.status == soberana_case::ExhibitStatus::Released)
        })
    };
    for _ in 0..200 {
        if released(us, mx_exhibit) && released(mx, us_exhibit) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for (node, by, x) in [(us, &fbi, mx_exhibit), (mx, &uif, us_exhibit)] {
        match node.exhibit_fetch(case, by, x, None).await? {
            soberana_node::Fetched::Received { bytes, .. } => {
                let mut sink = Vec::new();
                node.exhibit_open(case, by, x, &mut sink)?;
                line(format!(
                    "{} fetched {} ({bytes} bytes, digest checked) over mutual TLS; {by} opened it",
                    node.party(),
                    x.short()
                ));
            }
            soberana_node::Fetched::Cut { at, of } => {
                bail!("the exhibit transfer stopped at {at} of {of} bytes")
            }
        }
    }
    let court = dir.join("us-court-copy.txt");
    match us.exhibit_export(
        case,
        &fbi,
        mx_exhibit,
        soberana_case::ExhibitUse::Court {
            proceedings: "United States v. Doe (D. Ariz.)".into(),
        },
        &court,
    ) {
        Err(e) => line(format!("US court use of MX's exhibit REFUSED: {e}")),
        Ok(_) => bail!("a court use MX's conditions forbid was allowed"),
    }
    // The US asks Mexico's consent; two Mexican approvers give it, and the
    // court use goes through naming that consent.
    let court_use = soberana_case::ExhibitUse::Court {
        proceedings: "United States v. Doe (D. Ariz.)".into(),
    };
    let asked = us.consent_ask(
        case,
        &fbi,
        mx_exhibit,
        court_use.clone(),
        "the ledger shows the purchases charged in the indictment",
    )?;
    wait_for(mx, asked.id, &[ProposalState::AwaitingOfficer]).await?;
    // Mexico decides once the US's receipt of the exhibit has reached it.
    for _ in 0..200 {
        if mx
            .case(case)
            .is_ok_and(|v| v.case.exhibit(&mx_exhibit).is_some_and(|x| x.received))
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    mx.decide(
        asked.id,
        soberana_node::OfficerVerdict {
            officer: fgr.clone(),
            outcome: Outcome::Accepted,
            reason: "for this trial only".into(),
            release: Vec::new(),
        },
    )?;
    mx.confirm(asked.id, &uif)?;
    // The consent travels in the answer, which follows the decision: the
    // acceptance alone grants nothing yet.
    wait_for(us, asked.id, &[ProposalState::Answered]).await?;
    let done = us.exhibit_use(case, &fbi, mx_exhibit, court_use, Some(&court))?;
    line(format!(
        "US asks MX's consent ({}); {fgr} and {uif} give it; the court use goes through under it ({} bytes), recorded in both logs",
        asked.id, done.bytes
    ));
    let custody = |node: &Node| -> Result<std::collections::BTreeSet<[u8; 32]>> {
        Ok(node
            .case(case)?
            .events
            .iter()
            .filter(|e| !matches!(e.event.act, soberana_case::Act::Refused { .. }))
            .map(|e| e.event.digest())
            .collect())
    };
    for _ in 0..200 {
        if custody(mx)? == custody(us)? {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (a, b) = (custody(mx)?, custody(us)?);
    if a != b {
        bail!("the two logs do not yet hold the same chain of custody");
    }
    line(format!(
        "both logs hold the same chain of custody: {} acts, each by the same digest (the US's refusal is in the US's log)",
        a.len()
    ));
    // Each side signs a checkpoint over the case and waits for the other
    // to cosign it, so that every proof in the report carries both keys.
    for node in [mx, us] {
        let signed = node.checkpoint_and_request_cosignatures()?;
        wait_cosigned(node, signed.checkpoint().size()).await?;
    }
    let report = dir.join("case-report");
    crate::commands::case::report(&crate::commands::case::ReportArgs {
        case: case.to_string(),
        out: report.clone(),
        ours_only: false,
        dir: crate::cli::DirArg {
            dir: mx.dir().root().to_path_buf(),
        },
    })
    .await?;
    let both = crate::commands::case::verify(&report, &[], None)?;
    line(format!(
        "case report for a court in {}: {both} acts proven in both logs, checked offline against the two cards",
        report.display()
    ));
    Ok(())
}
