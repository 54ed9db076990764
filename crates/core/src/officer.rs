//! Officers: the people who draft proposals and decide incoming ones.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::{AgencyId, DomainError};

/// An officer's login id.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OfficerId(String);

impl OfficerId {
    /// Parses an officer id: 1 to 64 letters, digits, `.`, `-` or `_`.
    pub fn new(id: &str) -> Result<Self, DomainError> {
        let ok = !id.is_empty()
            && id.len() <= 64
            && id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
        if ok {
            Ok(Self(id.to_owned()))
        } else {
            Err(DomainError::OfficerId(id.to_owned()))
        }
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for OfficerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for OfficerId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for OfficerId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        OfficerId::new(&text).map_err(serde::de::Error::custom)
    }
}

/// What an officer may do on the node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Drafts and sends proposals, reads answers.
    Liaison,
    /// Runs matches and analyses.
    Analyst,
    /// Decides incoming proposals that policy sends to an officer.
    Approver,
    /// Installs, configures and monitors the node.
    Operator,
    /// Verifies the logs.
    Oversight,
}

impl Role {
    /// The role's name as written in configuration.
    pub fn as_str(&self) -> &'static str {
        match self {
            Role::Liaison => "liaison",
            Role::Analyst => "analyst",
            Role::Approver => "approver",
            Role::Operator => "operator",
            Role::Oversight => "oversight",
        }
    }
}

/// An officer of the node's party.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Officer {
    /// Login id.
    pub id: OfficerId,
    /// Full name.
    pub name: String,
    /// The agency the officer works for.
    pub agency: AgencyId,
    /// What the officer may do.
    pub roles: Vec<Role>,
}

impl Officer {
    /// Whether the officer holds `role`.
    pub fn has_role(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }
}
