//! Which confidence threshold an item is decided under: the configuration's, under the ones
//! admins applied from the console (kept by version in `store/changes.rs`), the most specific
//! first. A unit's threshold (a group that may see the ranker's first case) counts over a
//! watched mailbox's, and a mailbox's over the organisation's; where several of the case's
//! groups have one, the strictest counts.

use std::collections::HashMap;

use serde::Serialize;

/// The ranker's calibrated confidence from which its first case is filed by itself; `None`:
/// off.
pub type Threshold = Option<f64>;

/// Where a threshold applies.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "scope", content = "target", rename_all = "snake_case")]
pub enum Scope {
    Organisation,
    /// The items of one watched mailbox, by its configured name.
    Mailbox(String),
    /// The cases one group (a unit) may see, by the group's name.
    Group(String),
}

/// The thresholds applied from the console that hold now, by scope; a scope not here has its
/// configuration's.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Applied(pub HashMap<Scope, Threshold>);

impl Applied {
    pub fn get(&self, scope: &Scope) -> Option<Threshold> {
        self.0.get(scope).copied()
    }

    /// The units' own thresholds, for deciding on their cases.
    pub fn units(&self) -> UnitThresholds {
        UnitThresholds(
            self.0
                .iter()
                .filter_map(|(scope, threshold)| match scope {
                    Scope::Group(group) => Some((group.clone(), *threshold)),
                    _ => None,
                })
                .collect(),
        )
    }
}

/// The thresholds of the units that have one of their own, by group name.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UnitThresholds(HashMap<String, Threshold>);

impl UnitThresholds {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether some unit's cases may be filed by confidence, so that the ranker must be asked
    /// even where the item's own threshold is off.
    pub fn any_on(&self) -> bool {
        self.0.values().any(Option::is_some)
    }

    /// The threshold for a case that `groups` may see, when any of them has its own: the one
    /// that files least (off before any value, a higher value before a lower one).
    pub fn for_case(&self, groups: &[String]) -> Option<Threshold> {
        groups
            .iter()
            .filter_map(|group| self.0.get(group).copied())
            .max_by(|a, b| {
                let strictness = |t: Threshold| t.unwrap_or(f64::INFINITY);
                strictness(*a).total_cmp(&strictness(*b))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn units(pairs: &[(&str, Threshold)]) -> UnitThresholds {
        let applied = Applied(
            pairs
                .iter()
                .map(|(g, t)| (Scope::Group(g.to_string()), *t))
                .chain([(Scope::Organisation, Some(0.6))])
                .collect(),
        );
        applied.units()
    }

    fn groups(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| n.to_string()).collect()
    }

    #[test]
    fn a_case_of_units_with_their_own_thresholds_gets_the_strictest() {
        let units = units(&[("byg", Some(0.8)), ("miljo", Some(0.95)), ("social", None)]);
        assert_eq!(units.for_case(&groups(&["byg"])), Some(Some(0.8)));
        assert_eq!(units.for_case(&groups(&["byg", "miljo"])), Some(Some(0.95)));
        assert_eq!(units.for_case(&groups(&["miljo", "social"])), Some(None));
        assert_eq!(units.for_case(&groups(&["vej"])), None);
        assert_eq!(units.for_case(&[]), None);
        assert!(units.any_on());
    }

    #[test]
    fn only_groups_are_units_and_units_all_off_need_no_ranking() {
        let off = units(&[("social", None)]);
        assert!(!off.is_empty() && !off.any_on());
        assert!(units(&[]).is_empty());
    }
}
