//! A proposal's body printed as what it is, kind by kind, for
//! `soberana show`: questions one per line, accounts and the amount with its
//! currency, firearms, tasks with who acts where and armed or not, a
//! notice's measure and effect. Every line goes through `visible`, so a
//! partner's text cannot hide or reorder what the officer reads.

use soberana_core::{Location, ProposalBody, Task, Territory, visible};

fn line(text: &str) {
    println!("{}", visible(text));
}

fn place(location: &Location) -> String {
    let label = match &location.territory {
        Some(Territory::Of(party)) => format!("said to be in {party}"),
        Some(Territory::International) => "said to be international".to_owned(),
        None => "no territory said".to_owned(),
    };
    let at = location
        .at
        .as_deref()
        .map(|a| format!(" `{a}`"))
        .unwrap_or_default();
    format!(
        "{}{at} ({}, {label})",
        location.place,
        location.domain.as_str()
    )
}

fn tasks(title: &str, list: &[Task]) {
    for (i, task) in list.iter().enumerate() {
        line(&format!(
            "{title} {}: {} {} · armed {} · force {} · {} personnel{}",
            i + 1,
            task.agency,
            task.action.as_str(),
            if task.armed { "yes" } else { "no" },
            if task.is_kinetic() { "yes" } else { "no" },
            task.personnel,
            task.under_command_of
                .map(|c| format!(" · under command of {c}"))
                .unwrap_or_default()
        ));
        for l in &task.locations {
            line(&format!("    at     {}", place(l)));
        }
        if let Some(from) = &task.launched_from {
            line(&format!("    from   {}", place(from)));
        }
        for p in &task.participants {
            line(&format!(
                "    with   {} ({} personnel, armed {})",
                p.agency,
                p.personnel,
                if p.armed { "yes" } else { "no" }
            ));
        }
        if !task.description.is_empty() {
            line(&format!("    what   {}", task.description));
        }
    }
}

/// Prints `body` under the proposal's header lines.
pub fn print_body(body: &ProposalBody) {
    use ProposalBody as B;
    match body {
        B::InformationRequest(r) => {
            line(&format!("subject    {}", r.subject));
            if !r.categories.is_empty() {
                line(&format!("categories {}", r.categories.join(", ")));
            }
            for (i, q) in r.questions.iter().enumerate() {
                line(&format!("question {} {q}", i + 1));
            }
        }
        B::IdentifierMatch(m) => line(&format!(
            "identifiers {} of kind {} · reveal {:?}",
            m.set_size, m.identifier_kind, m.reveal
        )),
        B::PersonMatch(m) => line(&format!(
            "records    {} person records · schema {}",
            m.record_count, m.schema
        )),
        B::FirearmTrace(t) => {
            line(&format!("seized     at {} on {}", t.seized_at, t.seized_on));
            for gun in &t.firearms {
                line(&format!(
                    "firearm    {} {} serial {} calibre {}",
                    gun.manufacturer, gun.model, gun.serial, gun.caliber
                ));
            }
        }
        B::FinancialIntelligence(f) => {
            for a in &f.accounts {
                line(&format!(
                    "account    {} {} {}",
                    a.scheme, a.number, a.institution
                ));
            }
            line(&format!("window     {} – {}", f.window_from, f.window_to));
            if f.amount_minor > 0 {
                line(&format!(
                    "amount     {} (as the sender stated it; no exchange rate applied)",
                    soberana_desk::money(f.amount_minor, &f.currency)
                ));
            }
            line(&format!("question   {}", f.question));
        }
        B::ExhibitConsent(c) => {
            line(&format!("case       {}", c.case_id));
            line(&format!("exhibit    sha256:{}", c.exhibit));
            line(&format!("use        {}", c.use_.describe()));
            line(&format!("reason     {}", c.reason));
            line("accepting  consents to this use of this exhibit only (two approvers)");
        }
        B::EvidenceRequest(r) => {
            line(&format!("about      {}", r.about));
            line(&format!("asked      {}", r.asked));
            line("accepting  releases the exhibits released in its evidence file (two approvers)");
        }
        B::JointInvestigation(j) => {
            line(&format!("case       {}", j.case_title));
            line(&format!("summary    {}", j.summary));
            let agencies: Vec<String> = j.agencies.iter().map(|a| a.to_string()).collect();
            line(&format!("agencies   {}", agencies.join(", ")));
            tasks("task", &j.tasks);
        }
        B::CoordinatedOperation(op) | B::AssistanceOffer(op) => {
            line(&format!("operation  {}", op.name));
            line(&format!("summary    {}", op.summary));
            tasks("task", &op.tasks);
        }
        B::AdvanceNotification(n) => {
            line(&format!("measure    {:?}: {}", n.measure, n.title));
            line(&format!("summary    {}", n.summary));
            line(&format!("effective  {}", n.effective));
            for t in &n.targets {
                line(&format!("target     {t}"));
            }
            for a in &n.assurances {
                line(&format!("assurance  {a}"));
            }
            for e in &n.evidence {
                line(&format!("evidence   {e}"));
            }
            tasks("act", &n.acts);
        }
        B::BorderAlert(a) => {
            line(&format!("crossing   {} ({:?})", a.crossing, a.direction));
            line(&format!("subject    {}", a.subject));
            if !a.details.is_empty() {
                line(&format!("details    {}", a.details));
            }
            tasks("act", &a.acts);
        }
        B::SeizureReport(s) => {
            line(&format!(
                "seized     {} {} of {} ({:?}) by {}",
                s.quantity, s.unit, s.commodity, s.direction, s.agency
            ));
            line(&format!("where      {} on {}", s.place, s.seized_on));
            if let Some(l) = &s.location {
                line(&format!("  at       {}", place(l)));
            }
        }
    }
}
