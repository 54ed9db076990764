//! Policy files and their two layers: parsing, naming, annotation reading and
//! the checks each layer must pass before a node may use it.
//!
//! The constitutional layer holds only `forbid` policies, each with an `@id`
//! and a human `@reason`; the operational layer holds what operators write.
//! Both are parsed here into policies renamed by their `@id`, so decisions
//! and errors speak of `mx.foreign-forces`, not of `policy0`.

use std::path::Path;
use std::str::FromStr;

use cedar_policy::{ActionConstraint, Effect, Policy, PolicyId, PolicySet};
use serde::Serialize;
use soberana_core::PartyCode;

use crate::PolicyError;

/// The two layers of a node's policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Layer {
    /// Red lines: `forbid` only, pinned by digest, shipped per party.
    Constitutional,
    /// What is accepted automatically and what goes to an officer.
    Operational,
}

impl Layer {
    /// The layer's name.
    pub fn as_str(&self) -> &'static str {
        match self {
            Layer::Constitutional => "constitutional",
            Layer::Operational => "operational",
        }
    }
}

/// A policy file as read: its name (for messages) and its exact bytes (for
/// the digest).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyFile {
    name: String,
    bytes: Vec<u8>,
}

impl PolicyFile {
    /// A policy file from its name and bytes.
    pub fn new(name: impl Into<String>, bytes: impl Into<Vec<u8>>) -> Self {
        Self {
            name: name.into(),
            bytes: bytes.into(),
        }
    }

    /// Reads a policy file from disk.
    pub fn read(path: &Path) -> Result<Self, PolicyError> {
        let bytes = std::fs::read(path).map_err(|e| PolicyError::Read {
            file: path.display().to_string(),
            message: e.to_string(),
        })?;
        Ok(Self::new(path.display().to_string(), bytes))
    }

    /// The file's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The file's exact bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    fn text(&self) -> Result<&str, PolicyError> {
        std::str::from_utf8(&self.bytes).map_err(|_| PolicyError::NotText {
            file: self.name.clone(),
        })
    }
}

const MX_CONSTITUTIONAL: &str = include_str!("../constitutional/MX.cedar");
const US_CONSTITUTIONAL: &str = include_str!("../constitutional/US.cedar");
const DEFAULT_OPERATIONAL: &str = include_str!("../operational/default.cedar");

/// The constitutional layer shipped with soberana for `party`, if there is one.
pub fn shipped_constitutional(party: PartyCode) -> Option<PolicyFile> {
    let text = match party.as_str() {
        "MX" => MX_CONSTITUTIONAL,
        "US" => US_CONSTITUTIONAL,
        _ => return None,
    };
    Some(PolicyFile::new(
        format!("constitutional/{party}.cedar"),
        text,
    ))
}

/// The default operational layer shipped with soberana.
pub fn shipped_operational() -> PolicyFile {
    PolicyFile::new("operational/default.cedar", DEFAULT_OPERATIONAL)
}

/// Reads `party`'s constitutional layer from `dir` (the file `<CODE>.cedar`);
/// a missing file is [`PolicyError::ConstitutionalMissing`].
pub fn read_constitutional(dir: &Path, party: PartyCode) -> Result<PolicyFile, PolicyError> {
    let path = dir.join(format!("{party}.cedar"));
    if !path.is_file() {
        return Err(PolicyError::ConstitutionalMissing { party });
    }
    PolicyFile::read(&path)
}

/// Whether an operational permit accepts on its own or sends to an officer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Disposition {
    /// Accept automatically.
    Allow,
    /// Send to an officer.
    Review,
}

/// What soberana knows of one policy, read once at load from annotations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PolicyMeta {
    /// The policy's id (`@id`, or `<file>#<n>` when it has none).
    pub id: String,
    /// The layer it is in.
    pub layer: Layer,
    /// The file it came from.
    pub file: String,
    /// Whether it permits or forbids.
    pub forbids: bool,
    /// Its `@reason`, if any.
    pub reason: Option<String>,
    /// Its `@reason_es` (the reason in Spanish), if any.
    pub reason_es: Option<String>,
    /// Its `@description`, if any.
    pub description: Option<String>,
    /// For a permit: accept or send to review (`@decision`, default allow).
    pub disposition: Disposition,
    /// For a permit: the condition attached to an acceptance (`@condition`).
    pub condition: Option<String>,
    /// The actions it names in its scope (`proposal` for the whole group);
    /// empty when it applies to every action.
    pub actions: Vec<String>,
}

impl PolicyMeta {
    /// The policy's reason for people: `@reason`, else `@description`, else
    /// a sentence naming it.
    pub fn reason_text(&self) -> String {
        self.reason
            .clone()
            .or_else(|| self.description.clone())
            .unwrap_or_else(|| {
                let verb = if self.forbids { "forbids" } else { "permits" };
                format!("{} policy `{}` {verb} it", self.layer.as_str(), self.id)
            })
    }
}

/// Parses one layer's file into renamed policies with their metadata.
pub(crate) fn parse_layer(
    file: &PolicyFile,
    layer: Layer,
) -> Result<Vec<(Policy, PolicyMeta)>, PolicyError> {
    let text = file.text()?;
    let set = PolicySet::from_str(text).map_err(|e| syntax_error(file, text, &e))?;
    if let Some(template) = set.templates().next() {
        return Err(PolicyError::Template {
            file: file.name.clone(),
            policy: template.id().to_string(),
        });
    }
    // The parser numbers policies `policy0`, `policy1`, ... in source order;
    // sort by that number so positions in messages match the file.
    let mut policies: Vec<(usize, &Policy)> = set
        .policies()
        .map(|p| {
            let n = p
                .id()
                .to_string()
                .strip_prefix("policy")
                .and_then(|n| n.parse::<usize>().ok())
                .unwrap_or(usize::MAX);
            (n, p)
        })
        .collect();
    policies.sort_by_key(|(n, _)| *n);

    if layer == Layer::Constitutional && policies.is_empty() {
        return Err(PolicyError::EmptyConstitution {
            file: file.name.clone(),
        });
    }
    let mut out = Vec::with_capacity(policies.len());
    for (position, (_, policy)) in policies.into_iter().enumerate() {
        let index = position + 1;
        let id = match (policy.annotation("id"), layer) {
            (Some(id), _) => id.to_owned(),
            (None, Layer::Constitutional) => {
                return Err(PolicyError::MissingAnnotation {
                    file: file.name.clone(),
                    index,
                    annotation: "id",
                });
            }
            (None, Layer::Operational) => format!("{}#{index}", file.name),
        };
        let forbids = policy.effect() == Effect::Forbid;
        if layer == Layer::Constitutional {
            if !forbids {
                return Err(PolicyError::PermitInConstitution {
                    file: file.name.clone(),
                    policy: id,
                });
            }
            if policy.annotation("reason").is_none() {
                return Err(PolicyError::MissingAnnotation {
                    file: file.name.clone(),
                    index,
                    annotation: "reason",
                });
            }
        }
        let disposition = match policy.annotation("decision") {
            None | Some("allow") => Disposition::Allow,
            Some("review") => Disposition::Review,
            Some(other) => {
                return Err(PolicyError::UnknownDecision {
                    file: file.name.clone(),
                    policy: id,
                    value: other.to_owned(),
                });
            }
        };
        let meta = PolicyMeta {
            id: id.clone(),
            layer,
            file: file.name.clone(),
            forbids,
            reason: policy.annotation("reason").map(str::to_owned),
            reason_es: policy.annotation("reason_es").map(str::to_owned),
            description: policy.annotation("description").map(str::to_owned),
            disposition,
            condition: policy.annotation("condition").map(str::to_owned),
            actions: match policy.action_constraint() {
                ActionConstraint::Any => Vec::new(),
                ActionConstraint::Eq(uid) => vec![uid.id().unescaped().to_owned()],
                ActionConstraint::In(uids) => {
                    uids.iter().map(|u| u.id().unescaped().to_owned()).collect()
                }
            },
        };
        out.push((policy.new_id(PolicyId::new(id)), meta));
    }
    Ok(out)
}

fn syntax_error(file: &PolicyFile, text: &str, err: &cedar_policy::ParseErrors) -> PolicyError {
    let offset = first_offset(err).unwrap_or(0);
    let (line, column) = line_column(text, offset);
    PolicyError::Syntax {
        file: file.name.clone(),
        line,
        column,
        message: err.to_string(),
    }
}

/// The byte offset of a diagnostic's first labelled span, if it has one.
pub(crate) fn first_offset(diagnostic: &dyn miette::Diagnostic) -> Option<usize> {
    diagnostic
        .labels()
        .and_then(|mut labels| labels.next())
        .map(|label| label.offset())
}

/// The 1-based line and column of a byte offset in `text`.
pub(crate) fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset.min(text.len())).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before
        .rsplit_once('\n')
        .map_or(before, |(_, rest)| rest)
        .chars()
        .count()
        + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_count_from_one() {
        let text = "ab\ncd\nef";
        assert_eq!(line_column(text, 0), (1, 1));
        assert_eq!(line_column(text, 4), (2, 2));
        assert_eq!(line_column(text, 6), (3, 1));
        assert_eq!(line_column(text, 999), (3, 3));
    }
}
