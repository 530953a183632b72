//! Plans and their limits: the one table every quota check reads.

use serde::{Deserialize, Serialize};

/// What an organization pays for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Plan {
    Free,
    Pro,
    Enterprise,
}

/// Caps of one plan; `None` means unlimited.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct PlanLimits {
    pub chat_spaces_per_org: Option<u64>,
    pub documents_per_chat_space: Option<u64>,
    pub messages_per_month: Option<u64>,
    pub members_per_org: Option<u64>,
}

impl Plan {
    pub const ALL: [Plan; 3] = [Plan::Free, Plan::Pro, Plan::Enterprise];

    pub fn as_str(self) -> &'static str {
        match self {
            Plan::Free => "free",
            Plan::Pro => "pro",
            Plan::Enterprise => "enterprise",
        }
    }

    pub fn parse(s: &str) -> Option<Plan> {
        Plan::ALL.into_iter().find(|p| p.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            Plan::Free => "Free",
            Plan::Pro => "Pro",
            Plan::Enterprise => "Enterprise",
        }
    }

    /// The limits of this plan.
    pub fn limits(self) -> PlanLimits {
        match self {
            Plan::Free => PlanLimits {
                chat_spaces_per_org: Some(1),
                documents_per_chat_space: Some(20),
                messages_per_month: Some(500),
                members_per_org: Some(3),
            },
            Plan::Pro => PlanLimits {
                chat_spaces_per_org: Some(10),
                documents_per_chat_space: Some(500),
                messages_per_month: Some(10_000),
                members_per_org: Some(25),
            },
            Plan::Enterprise => PlanLimits {
                chat_spaces_per_org: None,
                documents_per_chat_space: None,
                messages_per_month: None,
                members_per_org: None,
            },
        }
    }
}

impl PlanLimits {
    /// Whether one more item fits under `limit` when `current` exist already.
    pub fn allows(limit: Option<u64>, current: u64) -> bool {
        limit.is_none_or(|max| current < max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enterprise_is_unlimited_and_free_is_capped() {
        assert!(PlanLimits::allows(
            Plan::Enterprise.limits().chat_spaces_per_org,
            1_000_000
        ));
        assert!(PlanLimits::allows(
            Plan::Free.limits().chat_spaces_per_org,
            0
        ));
        assert!(!PlanLimits::allows(
            Plan::Free.limits().chat_spaces_per_org,
            1
        ));
    }

    #[test]
    fn plans_round_trip_their_names() {
        for plan in Plan::ALL {
            assert_eq!(Plan::parse(plan.as_str()), Some(plan));
        }
        assert_eq!(Plan::parse("gold"), None);
    }
}
