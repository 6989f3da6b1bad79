//! The configuration file (TOML): thresholds per rule, ranges per state, overrides per
//! local port, rules switched off. Precedence: command line, then this file, then the defaults.
//!
//! ```toml
//! [states]
//! close-wait = { warn = 100, crit = 500 }
//!
//! [ports.443]                       # a proxy may hold many TIME_WAIT on :443
//! time-wait = { warn = "60000", crit = "80000" }
//!
//! [rules.close_wait_excess]
//! warn = 50
//!
//! [rules.risky_settings]
//! enabled = false
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::diagnose::thresholds::Thresholds;
use crate::diagnose::{Settings, all_ids, rules};
use crate::error::Error;
use crate::model::StateSelector;
use crate::report::{PortRanges, Range, StateRange};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileShape {
    #[serde(default)]
    states: BTreeMap<String, Levels>,
    #[serde(default)]
    ports: BTreeMap<String, BTreeMap<String, Levels>>,
    #[serde(default)]
    rules: BTreeMap<String, toml::Table>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Levels {
    warn: Option<toml::Value>,
    crit: Option<toml::Value>,
}

/// Everything `check` and the summary take from the configuration, defaults filled in.
#[derive(Debug, Clone, Default)]
pub struct Config {
    pub path: Option<PathBuf>,
    pub settings: Settings,
    pub warn: Vec<StateRange>,
    pub crit: Vec<StateRange>,
    pub ports: Vec<PortRanges>,
}

impl Config {
    /// Command-line `--warn`/`--crit` replace the file's range for the same state.
    pub fn override_with(&mut self, warn: &[StateRange], crit: &[StateRange]) {
        for (mine, theirs) in [(&mut self.warn, warn), (&mut self.crit, crit)] {
            for r in theirs {
                mine.retain(|m| m.label() != r.label());
                mine.push(r.clone());
            }
        }
    }

    /// Local ports whose sockets are counted apart by state (`[ports.N]`).
    pub fn watched_ports(&self) -> BTreeSet<u16> {
        self.ports.iter().map(|p| p.port).collect()
    }
}

/// The file to read: the one given, else `$XDG_CONFIG_HOME/sockscope/config.toml` (or
/// `~/.config/…`), else `/etc/sockscope/config.toml`, if present.
pub fn locate(explicit: Option<&Path>) -> Option<PathBuf> {
    if let Some(p) = explicit {
        return Some(p.to_path_buf());
    }
    let xdg = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")));
    xdg.map(|d| d.join("sockscope/config.toml"))
        .into_iter()
        .chain([PathBuf::from("/etc/sockscope/config.toml")])
        .find(|p| p.is_file())
}

/// Reads and checks the configuration; without a file, the defaults.
pub fn load(explicit: Option<&Path>) -> Result<Config, Error> {
    let Some(path) = locate(explicit) else {
        return Ok(Config::default());
    };
    let text = super::file::read_text(&path, super::file::CONFIG_LIMIT)?;
    parse(&path, &text)
}

/// Parses a configuration file's text; errors name the file and the key.
pub fn parse(path: &Path, text: &str) -> Result<Config, Error> {
    let mut config = Config::default();
    let bad = |message: String| Error::Config {
        path: path.to_path_buf(),
        message,
    };
    let shape: FileShape =
        toml::from_str(text).map_err(|e| bad(e.to_string().trim().to_string()))?;
    let valid_ids: Vec<&str> = all_ids().collect();
    for (id, table) in &shape.rules {
        if !valid_ids.contains(&id.as_str()) {
            return Err(bad(format!(
                "unknown rule '{id}'; valid: {}",
                valid_ids.join(", ")
            )));
        }
        if let Some(enabled) = table.get("enabled") {
            match enabled.as_bool() {
                Some(false) => {
                    config.settings.disabled.insert(id.clone());
                }
                Some(true) => {}
                None => return Err(bad(format!("[rules.{id}] enabled must be true or false"))),
            }
        }
        apply(&mut config.settings.thresholds, id, table).map_err(bad)?;
    }
    for (state, levels) in &shape.states {
        let (warn, crit) = ranges(state, levels).map_err(|m| bad(format!("[states] {m}")))?;
        config.warn.extend(warn);
        config.crit.extend(crit);
    }
    let mut spelled: BTreeMap<u16, &str> = BTreeMap::new();
    for (key, states) in &shape.ports {
        let port: u16 = key
            .parse()
            .map_err(|_| bad(format!("[ports.{key}]: not a port number")))?;
        if port == 0 {
            // bind()'s "any port", never a socket's own: its ranges would judge nothing.
            return Err(bad(format!(
                "[ports.{key}]: port 0 is no port; a local port is 1 to 65535"
            )));
        }
        if let Some(before) = spelled.insert(port, key) {
            return Err(bad(format!(
                "[ports.{key}]: port {port} is already configured as [ports.{before}]"
            )));
        }
        for (state, levels) in states {
            let (warn, crit) =
                ranges(state, levels).map_err(|m| bad(format!("[ports.{port}] {m}")))?;
            config.ports.push(PortRanges { port, warn, crit });
        }
    }
    config.path = Some(path.to_path_buf());
    Ok(config)
}

/// A state's `{ warn = …, crit = … }`.
fn ranges(
    state: &str,
    levels: &Levels,
) -> Result<(Option<StateRange>, Option<StateRange>), String> {
    let selector = StateSelector::parse(state).ok_or_else(|| {
        format!(
            "unknown state '{state}'; valid: {}",
            StateSelector::valid_names()
        )
    })?;
    let one = |v: &Option<toml::Value>| -> Result<Option<StateRange>, String> {
        let Some(v) = v else { return Ok(None) };
        let text = match v {
            toml::Value::String(s) => s.clone(),
            toml::Value::Integer(i) => i.to_string(),
            toml::Value::Float(f) => f.to_string(),
            other => {
                return Err(format!(
                    "{state}: a range must be a string or a number, not {other}"
                ));
            }
        };
        let range: Range = text.parse().map_err(|e| format!("{state}: {e}"))?;
        Ok(Some(StateRange {
            name: selector.name.to_string(),
            states: selector.states,
            range,
        }))
    };
    Ok((one(&levels.warn)?, one(&levels.crit)?))
}

/// Applies one rule's `[rules.ID]` table from the config file to its thresholds, through the
/// rule's entry: keys are the field names of that rule's thresholds; anything else is an error
/// that lists the valid ones.
fn apply(t: &mut Thresholds, id: &str, table: &toml::Table) -> Result<(), String> {
    let mut table = table.clone();
    table.remove("enabled");
    match rules::find(id) {
        Some(rule) => rule.configure(t, &table),
        // The rules judged outside the registry take only `enabled`.
        None if table.is_empty() => Ok(()),
        None => Err(format!("[rules.{id}] takes only 'enabled'")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_text(text: &str) -> Result<Config, String> {
        parse(Path::new("config.toml"), text).map_err(|e| e.to_string())
    }

    #[test]
    fn a_full_file() {
        let c = load_text(
            "[states]\nclose-wait = { warn = 100, crit = \"500\" }\n\
             [ports.443]\ntime-wait = { warn = \"60000\" }\n\
             [rules.close_wait_excess]\nwarn = 50\n\
             [rules.risky_settings]\nenabled = false\n",
        )
        .unwrap();
        let close_wait = rules::close_wait_excess::RULE.thresholds(&c.settings.thresholds);
        assert_eq!(close_wait.warn, 50);
        assert_eq!(close_wait.crit, 200, "unset keys keep their defaults");
        assert!(!c.settings.enabled("risky_settings"));
        assert_eq!(c.warn[0].range.to_string(), "100");
        assert_eq!(c.crit[0].range.to_string(), "500");
        assert_eq!(c.ports[0].port, 443);
    }

    #[test]
    fn mistakes_are_named_with_the_valid_choices() {
        for (text, expect) in [
            ("[states\n", "TOML parse error"),
            ("[nonsense]\n", "unknown field `nonsense`"),
            (
                "[rules.close_wait]\nwarn = 1\n",
                "unknown rule 'close_wait'; valid: close_wait_excess",
            ),
            (
                "[rules.close_wait_excess]\nwarm = 1\n",
                "unknown key 'warm' in [rules.close_wait_excess]; valid: ",
            ),
            (
                "[rules.close_wait_excess]\nwarn = \"many\"\n",
                "[rules.close_wait_excess]",
            ),
            (
                "[states]\nhalf-open = { warn = 1 }\n",
                "unknown state 'half-open'",
            ),
            (
                "[states]\nclose-wait = { warn = \"5:1\" }\n",
                "start is greater than end",
            ),
            ("[ports.http]\n", "not a port number"),
            (
                "[ports.0]\nclose-wait = { warn = 1 }\n",
                "[ports.0]: port 0 is no port; a local port is 1 to 65535",
            ),
            ("[ports.000]\n", "[ports.000]: port 0 is no port"),
            (
                "[ports.5000]\nclose-wait = { warn = 1 }\n[ports.05000]\nclose-wait = { warn = 2 }\n",
                "[ports.5000]: port 5000 is already configured as [ports.05000]",
            ),
            (
                "[rules.close_wait_excess]\nwarn_share_of_established = nan\n",
                "[rules.close_wait_excess] warn_share_of_established = nan: a threshold must be a finite number",
            ),
            (
                "[rules.close_wait_excess]\nwarn = -5\n",
                "[rules.close_wait_excess] warn = -5: a threshold must be",
            ),
            (
                "[rules.ephemeral_port_pressure]\ncrit = -0.5\n",
                "crit = -0.5: a threshold must be",
            ),
            (
                "[rules.risky_settings]\nenabled = \"no\"\n",
                "enabled must be true or false",
            ),
        ] {
            let e = load_text(text).unwrap_err();
            assert!(e.contains(expect), "{text:?}: {e}");
            assert!(e.contains("config.toml"), "names the file: {e}");
        }
    }

    #[test]
    fn every_rule_is_configurable_and_refuses_unknown_keys() {
        for id in all_ids() {
            let c = load_text(&format!("[rules.{id}]\nenabled = false\n")).unwrap();
            assert!(!c.settings.enabled(id), "{id}");
            let keys = rules::find(id).map(|r| r.keys()).unwrap_or_default();
            for (key, default) in &keys {
                let c = load_text(&format!("[rules.{id}]\n{key} = {default}\n")).unwrap();
                assert_eq!(c.settings.thresholds, Thresholds::default(), "{id}.{key}");
                let other = match default {
                    toml::Value::Integer(i) => toml::Value::Integer(i + 1),
                    toml::Value::Float(f) => toml::Value::Float(f + 0.5),
                    v => panic!("{id}.{key} = {v}: not a number"),
                };
                let c = load_text(&format!("[rules.{id}]\n{key} = {other}\n")).unwrap();
                assert_ne!(c.settings.thresholds, Thresholds::default(), "{id}.{key}");
                let e = load_text(&format!("[rules.{id}]\n{key} = -1\n")).unwrap_err();
                assert!(e.contains("a threshold must be"), "{e}");
            }
            let e = load_text(&format!("[rules.{id}]\nnot_a_key = 1\n")).unwrap_err();
            let expected = if keys.is_empty() {
                format!("[rules.{id}] takes only 'enabled'")
            } else {
                format!("unknown key 'not_a_key' in [rules.{id}]; valid: ")
            };
            assert!(e.contains(&expected), "{e}");
        }
    }

    #[test]
    fn the_command_line_wins() {
        let mut c = load_text("[states]\nclose-wait = { warn = 100 }\n").unwrap();
        let cli = StateRange {
            name: "close-wait".into(),
            states: crate::model::StateSet::one(crate::model::TcpState::CloseWait),
            range: "7".parse().unwrap(),
        };
        c.override_with(&[cli], &[]);
        assert_eq!(c.warn.len(), 1);
        assert_eq!(c.warn[0].range.to_string(), "7");
    }
}
