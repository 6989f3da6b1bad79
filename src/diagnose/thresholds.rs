//! The numbers the rules compare against. Each rule's thresholds are a type with documented
//! defaults in the rule's own file; this holds the ones the configuration changed, by rule id,
//! and merges a `[rules.ID]` table into them.
//!
//! The defaults are judgment calls, written relative to the kernel's own limits and to the
//! ESTABLISHED count wherever the catalog allows, so they hold on a small VM and on a proxy with
//! a million sockets alike. A quiet, healthy machine crosses none of them.

use std::any::Any;
use std::collections::BTreeMap;
use std::fmt::Debug;
use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;

pub const MIB: u64 = 1 << 20;

/// Every rule's thresholds: the ones the configuration set, by rule id; a rule reads its own
/// through its entry, which falls back to its defaults.
#[derive(Debug, Clone, Default)]
pub struct Thresholds {
    /// Only values other than the defaults, so equal settings compare equal.
    set: BTreeMap<&'static str, Arc<dyn Tunable>>,
}

impl Thresholds {
    /// Rule `id`'s thresholds, or `default` when the configuration left them alone.
    pub fn get<'a, T: Tunable>(&'a self, id: &str, default: &'a T) -> &'a T {
        self.set
            .get(id)
            .and_then(|t| t.as_ref().as_any().downcast_ref::<T>())
            .unwrap_or(default)
    }

    /// Sets rule `id`'s thresholds; back to the defaults when `value` is them.
    pub fn set<T: Tunable + PartialEq>(&mut self, id: &'static str, value: T, default: &T) {
        if value == *default {
            self.set.remove(id);
        } else {
            self.set.insert(id, Arc::new(value));
        }
    }
}

impl PartialEq for Thresholds {
    fn eq(&self, other: &Thresholds) -> bool {
        self.set.len() == other.set.len()
            && self
                .set
                .iter()
                .zip(&other.set)
                .all(|((a, x), (b, y))| a == b && x.same(y.as_ref()))
    }
}

/// A rule's thresholds as [`Thresholds`] keeps them, whatever their type.
pub trait Tunable: Any + Debug + Send + Sync {
    fn as_any(&self) -> &dyn Any;
    fn same(&self, other: &dyn Tunable) -> bool;
}

impl<T: Any + Debug + PartialEq + Send + Sync> Tunable for T {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn same(&self, other: &dyn Tunable) -> bool {
        other.as_any().downcast_ref::<T>() == Some(self)
    }
}

/// The thresholds of a rule that has none: `[rules.ID]` takes only `enabled`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoThresholds {}

/// A fill level: warning and critical as fractions of a limit.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ratio {
    pub warn: f64,
    pub crit: f64,
}

/// A count: warning and critical at this many.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Count {
    pub warn: u64,
    pub crit: u64,
}

/// `current` with the keys of rule `id`'s `[rules.ID]` table set (`enabled` already taken
/// out). Keys are the field names of the rule's thresholds; anything else is an error that
/// lists the valid ones, and so is a number that is negative or not finite.
pub fn merge<T>(current: &T, id: &str, table: &toml::Table) -> Result<T, String>
where
    T: Serialize + DeserializeOwned,
{
    let mut base = toml::Table::try_from(current).map_err(|e| e.to_string())?;
    // Rules without numeric thresholds can only be switched off.
    if base.is_empty() && !table.is_empty() {
        return Err(format!("[rules.{id}] takes only 'enabled'"));
    }
    for (key, value) in table {
        if !base.contains_key(key) {
            let valid: Vec<&str> = base.keys().map(String::as_str).chain(["enabled"]).collect();
            return Err(format!(
                "unknown key '{key}' in [rules.{id}]; valid: {}",
                valid.join(", ")
            ));
        }
        let bad_number = match value {
            toml::Value::Float(f) => !f.is_finite() || *f < 0.0,
            toml::Value::Integer(i) => *i < 0,
            _ => false,
        };
        if bad_number {
            return Err(format!(
                "[rules.{id}] {key} = {value}: a threshold must be a finite number, 0 or more"
            ));
        }
        base.insert(key.clone(), value.clone());
    }
    base.try_into()
        .map_err(|e: toml::de::Error| format!("[rules.{id}]: {}", e.message()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_values_other_than_the_defaults_are_kept() {
        let default = Count {
            warn: 10,
            crit: 100,
        };
        let mut t = Thresholds::default();
        t.set("closing_excess", Count { warn: 5, crit: 100 }, &default);
        assert_eq!(t.get("closing_excess", &default).warn, 5);
        assert_eq!(t.get("other", &default).warn, 10);
        assert_ne!(t, Thresholds::default());
        t.set("closing_excess", default, &default);
        assert_eq!(t, Thresholds::default());
    }

    #[test]
    fn a_table_sets_known_keys_only() {
        let default = Count {
            warn: 10,
            crit: 100,
        };
        let table = |text: &str| text.parse::<toml::Table>().unwrap();
        let merged = merge(&default, "x", &table("warn = 3")).unwrap();
        assert_eq!(merged, Count { warn: 3, crit: 100 });
        let e = merge(&default, "x", &table("warm = 3")).unwrap_err();
        assert_eq!(
            e,
            "unknown key 'warm' in [rules.x]; valid: crit, warn, enabled"
        );
        let e = merge(&NoThresholds {}, "y", &table("warn = 3")).unwrap_err();
        assert_eq!(e, "[rules.y] takes only 'enabled'");
        assert_eq!(
            merge(&NoThresholds {}, "y", &table("")),
            Ok(NoThresholds {})
        );
    }
}
