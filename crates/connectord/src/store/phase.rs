//! `connection_status.phase`: where a connection is in its lifecycle.

use std::{fmt, str::FromStr};

use sqlx::{
    Decode, Encode, Postgres, Type,
    encode::IsNull,
    error::BoxDynError,
    postgres::{PgArgumentBuffer, PgTypeInfo, PgValueRef},
};

/// The phases of the contract; the text forms are the contract and never change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Pending,
    Provisioning,
    Ready,
    Recreating,
    Deprovisioning,
    Disabled,
    /// Failed, and retrying by itself.
    Failed,
    /// Will not heal until a person acts.
    ActionRequired,
}

impl Phase {
    pub const ALL: [Phase; 8] = [
        Self::Pending,
        Self::Provisioning,
        Self::Ready,
        Self::Recreating,
        Self::Deprovisioning,
        Self::Disabled,
        Self::Failed,
        Self::ActionRequired,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Provisioning => "provisioning",
            Self::Ready => "ready",
            Self::Recreating => "recreating",
            Self::Deprovisioning => "deprovisioning",
            Self::Disabled => "disabled",
            Self::Failed => "failed",
            Self::ActionRequired => "action_required",
        }
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A text that is not one of the contract's phases.
#[derive(Debug, thiserror::Error)]
#[error("{0:?} is not a connection phase")]
pub struct UnknownPhase(pub String);

impl FromStr for Phase {
    type Err = UnknownPhase;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|phase| phase.as_str() == text)
            .ok_or_else(|| UnknownPhase(text.to_owned()))
    }
}

// Stored as `text` (with a check constraint), so it travels as a string.
impl Type<Postgres> for Phase {
    fn type_info() -> PgTypeInfo {
        <&str as Type<Postgres>>::type_info()
    }

    fn compatible(ty: &PgTypeInfo) -> bool {
        <&str as Type<Postgres>>::compatible(ty)
    }
}

impl<'r> Decode<'r, Postgres> for Phase {
    fn decode(value: PgValueRef<'r>) -> Result<Self, BoxDynError> {
        let text = <&str as Decode<Postgres>>::decode(value)?;
        Ok(text.parse()?)
    }
}

impl Encode<'_, Postgres> for Phase {
    fn encode_by_ref(&self, buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
        <&str as Encode<Postgres>>::encode(self.as_str(), buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_phase_reads_back_from_its_text_and_its_json() {
        for phase in Phase::ALL {
            assert_eq!(phase.as_str().parse::<Phase>().unwrap(), phase);
            let json = serde_json::to_string(&phase).unwrap();
            assert_eq!(json, format!("\"{phase}\""));
        }
    }

    #[test]
    fn an_unknown_phase_is_an_error_not_a_panic() {
        let error = "ready?".parse::<Phase>().unwrap_err();
        assert!(error.to_string().contains("ready?"));
    }
}
