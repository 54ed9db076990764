//! The handling code of what *we* release, set by our own rule.
//!
//! A partner labels its request with a handling code, but the material that
//! answers it is ours: how it may be used and passed on is for the releasing
//! party to say. The partner's code is therefore only a floor; the releasing
//! node classifies the release by the kind of proposal it answers and by what
//! is released (person data, financial data), and the answer carries the
//! stricter of the two. Four eyes follow the classified code, so a partner
//! cannot lower the number of officers who must agree by labelling a request
//! H0.
//!
//! The defaults ([`HandlingRules::default`]) are the node rule unless its
//! `node.toml` says otherwise in a `[handling]` table:
//!
//! | what is released | at least |
//! |---|---|
//! | any answer to a person match, identifier match, financial-intelligence request, joint investigation, firearm trace, consent to an exhibit's use or request for evidence | H2 |
//! | an item whose label names person data (name, birth, address, passport, CURP, phone, e-mail, …) | H2 |
//! | an item whose label names financial data (account, bank, transaction, amount, balance, …) | H2 |
//! | anything else | the partner's code |

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{HandlingCode, ProposalKind};

/// A class of data recognised in the labels of released items.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataClass {
    /// Its name, shown in the grounds of a classification ("person data").
    pub name: String,
    /// The least handling code of an item of this class.
    pub at_least: HandlingCode,
    /// Words that mark an item's label as this class. A label matches when
    /// one of its words begins with the term (case and accents as written;
    /// matching is case-insensitive), so `account` matches "onward accounts".
    pub terms: Vec<String>,
}

/// The node's rule for the handling code of what it releases.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HandlingRules {
    /// The least code of any release answering a proposal of a kind.
    pub kinds: BTreeMap<ProposalKind, HandlingCode>,
    /// Classes of data recognised in released items.
    pub data: Vec<DataClass>,
}

fn terms(list: &[&str]) -> Vec<String> {
    list.iter().map(|t| (*t).to_owned()).collect()
}

impl Default for HandlingRules {
    fn default() -> Self {
        let kinds = [
            ProposalKind::PersonMatch,
            ProposalKind::IdentifierMatch,
            ProposalKind::FinancialIntelligence,
            ProposalKind::JointInvestigation,
            // A trace answer names the first retail purchaser.
            ProposalKind::FirearmTrace,
            // Consent to use evidence in court or pass it on, and evidence
            // released on request, are decided by two approvers.
            ProposalKind::ExhibitConsent,
            ProposalKind::EvidenceRequest,
        ]
        .into_iter()
        .map(|k| (k, HandlingCode::H2))
        .collect();
        let data = vec![
            DataClass {
                name: "person data".into(),
                at_least: HandlingCode::H2,
                terms: terms(&[
                    "name",
                    "surname",
                    "alias",
                    "nombre",
                    "apellido",
                    "birth",
                    "born",
                    "nacimiento",
                    "address",
                    "domicilio",
                    "direcci",
                    "passport",
                    "pasaporte",
                    "curp",
                    "rfc",
                    "ssn",
                    "nationality",
                    "nacionalidad",
                    "person",
                    "persona",
                    "identity",
                    "phone",
                    "tel",
                    "email",
                    "e-mail",
                    "correo",
                    "photo",
                    "fingerprint",
                    "biometric",
                ]),
            },
            DataClass {
                name: "financial data".into(),
                at_least: HandlingCode::H2,
                terms: terms(&[
                    "account",
                    "cuenta",
                    "iban",
                    "clabe",
                    "swift",
                    "bank",
                    "banco",
                    "balance",
                    "saldo",
                    "transaction",
                    "transacci",
                    "transfer",
                    "deposit",
                    "dep",
                    "amount",
                    "monto",
                    "wire",
                    "card",
                    "tarjeta",
                    "wallet",
                    "beneficiar",
                    "holder",
                    "titular",
                ]),
            },
        ];
        Self { kinds, data }
    }
}

/// The handling code a release gets, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Classification {
    /// The code the answer carries: the strictest of the partner's and ours.
    pub code: HandlingCode,
    /// The code the partner asked for.
    pub partner_code: HandlingCode,
    /// Why the code is what it is, one ground per rule that applied.
    pub grounds: Vec<String>,
}

impl Classification {
    /// Whether our rule raised the partner's code.
    pub fn raised(&self) -> bool {
        self.code > self.partner_code
    }
}

/// Lower-case words of `text`, split at anything but letters and digits.
fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

impl HandlingRules {
    /// Whether these are the documented defaults (which `node.toml` need not
    /// spell out).
    pub fn is_default(&self) -> bool {
        *self == Self::default()
    }

    /// Classifies a release answering a proposal of `kind` that the partner
    /// labelled `partner_code`, releasing items with `labels`.
    pub fn classify<'a>(
        &self,
        partner_code: HandlingCode,
        kind: ProposalKind,
        labels: impl IntoIterator<Item = &'a str>,
    ) -> Classification {
        let mut code = partner_code;
        let mut grounds = vec![format!("the partner labelled the request {partner_code}")];
        if let Some(&floor) = self.kinds.get(&kind) {
            grounds.push(format!(
                "our rule: a release under {} is at least {floor}",
                kind.as_str()
            ));
            code = code.max(floor);
        }
        for label in labels {
            let label_words = words(label);
            for class in &self.data {
                let hit = class.terms.iter().find(|term| {
                    let term = term.to_lowercase();
                    !term.is_empty() && label_words.iter().any(|w| w.starts_with(&term))
                });
                if let Some(term) = hit {
                    grounds.push(format!(
                        "our rule: `{}` is {} (`{term}`), at least {}",
                        label.chars().take(60).collect::<String>(),
                        class.name,
                        class.at_least
                    ));
                    code = code.max(class.at_least);
                }
            }
        }
        Classification {
            code,
            partner_code,
            grounds,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn the_partners_code_is_a_floor_our_rule_raises_it() {
        let rules = HandlingRules::default();
        let cases: &[(HandlingCode, ProposalKind, &[&str], HandlingCode)] = &[
            // A partner's H0 on data our rule calls person or financial data.
            (
                HandlingCode::H0,
                ProposalKind::InformationRequest,
                &["Full name"],
                HandlingCode::H2,
            ),
            (
                HandlingCode::H0,
                ProposalKind::InformationRequest,
                &["record", "onward accounts"],
                HandlingCode::H2,
            ),
            (
                HandlingCode::H0,
                ProposalKind::FinancialIntelligence,
                &["summary"],
                HandlingCode::H2,
            ),
            // Nothing our rule recognises: the partner's code stands.
            (
                HandlingCode::H0,
                ProposalKind::InformationRequest,
                &["record"],
                HandlingCode::H0,
            ),
            // A trace answer names purchasers: H2 by default.
            (
                HandlingCode::H1,
                ProposalKind::FirearmTrace,
                &["serial 4471: first sale"],
                HandlingCode::H2,
            ),
            (
                HandlingCode::H0,
                ProposalKind::SeizureReport,
                &["serial 4471: first sale"],
                HandlingCode::H0,
            ),
            // Never lowered below what the partner asked.
            (
                HandlingCode::H3,
                ProposalKind::InformationRequest,
                &["name"],
                HandlingCode::H3,
            ),
        ];
        for (partner, kind, labels, want) in cases {
            let got = rules.classify(*partner, *kind, labels.iter().copied());
            assert_eq!(got.code, *want, "{partner} {kind:?} {labels:?}: {got:?}");
            assert_eq!(got.raised(), want > partner);
        }
    }

    #[test]
    fn the_grounds_name_the_rule_and_the_item() {
        let got = HandlingRules::default().classify(
            HandlingCode::H0,
            ProposalKind::InformationRequest,
            ["Titular de la cuenta"],
        );
        assert!(
            got.grounds
                .iter()
                .any(|g| g.contains("financial data") && g.contains("Titular de la cuenta")),
            "{:?}",
            got.grounds
        );
    }

    #[test]
    fn a_node_rule_reads_from_toml_and_defaults_to_the_documented_one() {
        let rules: HandlingRules = toml_like(r#"{"kinds": {"firearm_trace": "H3"}, "data": []}"#);
        assert_eq!(
            rules
                .classify(HandlingCode::H0, ProposalKind::FirearmTrace, ["name"])
                .code,
            HandlingCode::H3
        );
        let empty: HandlingRules = toml_like("{}");
        assert_eq!(empty, HandlingRules::default());
    }

    fn toml_like(json: &str) -> HandlingRules {
        serde_json::from_str(json).unwrap()
    }
}
