//! `check`'s configuration file (TOML): thresholds per rule, ranges per state, overrides per
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

use clap::ValueEnum;
use serde::Deserialize;

use super::history::IDS as HISTORY_IDS;
use super::range::Range;
use crate::cli::{StateArg, StateRange};
use crate::diagnose::RULES;
use crate::diagnose::thresholds::{self, Thresholds};
use crate::error::Error;

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

/// A state's ranges for sockets on one local port, judged apart from the rest.
#[derive(Debug, Clone, PartialEq)]
pub struct PortLevels {
    pub port: u16,
    pub warn: Option<StateRange>,
    pub crit: Option<StateRange>,
}

/// Everything `check` takes from its configuration, defaults filled in.
#[derive(Debug, Clone)]
pub struct Config {
    pub path: Option<PathBuf>,
    pub thresholds: Thresholds,
    pub disabled: BTreeSet<String>,
    pub warn: Vec<StateRange>,
    pub crit: Vec<StateRange>,
    pub ports: Vec<PortLevels>,
}

impl Config {
    /// The defaults, before any file.
    pub fn defaults() -> Config {
        Config {
            path: None,
            thresholds: Thresholds::default(),
            disabled: BTreeSet::new(),
            warn: Vec::new(),
            crit: Vec::new(),
            ports: Vec::new(),
        }
    }

    /// Command-line `--warn`/`--crit` replace the file's range for the same state.
    pub fn override_with(&mut self, warn: &[StateRange], crit: &[StateRange]) {
        for (mine, theirs) in [(&mut self.warn, warn), (&mut self.crit, crit)] {
            for r in theirs {
                mine.retain(|m| m.state != r.state);
                mine.push(r.clone());
            }
        }
    }

    pub fn watched_ports(&self) -> BTreeSet<u16> {
        self.ports.iter().map(|p| p.port).collect()
    }
}

/// The file to read: `explicit`, else `$XDG_CONFIG_HOME/sockscope/config.toml` (or
/// `~/.config/...`), else `/etc/sockscope/config.toml`, whichever exists first.
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

pub fn load(explicit: Option<&Path>) -> Result<Config, Error> {
    let mut config = Config::defaults();
    let Some(path) = locate(explicit) else {
        return Ok(config);
    };
    let text = std::fs::read_to_string(&path).map_err(|source| Error::Read {
        path: path.clone(),
        source,
    })?;
    let bad = |message: String| Error::Config {
        path: path.clone(),
        message,
    };
    let shape: FileShape =
        toml::from_str(&text).map_err(|e| bad(e.to_string().trim().to_string()))?;
    let valid_ids: Vec<&str> = RULES
        .iter()
        .map(|(id, _)| *id)
        .chain(HISTORY_IDS.iter().copied())
        .collect();
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
                    config.disabled.insert(id.clone());
                }
                Some(true) => {}
                None => return Err(bad(format!("[rules.{id}] enabled must be true or false"))),
            }
        }
        thresholds::apply(&mut config.thresholds, id, table).map_err(bad)?;
    }
    for (state, levels) in &shape.states {
        let (warn, crit) = ranges(state, levels).map_err(|m| bad(format!("[states] {m}")))?;
        config.warn.extend(warn);
        config.crit.extend(crit);
    }
    for (port, states) in &shape.ports {
        let port: u16 = port
            .parse()
            .map_err(|_| bad(format!("[ports.{port}]: not a port number")))?;
        for (state, levels) in states {
            let (warn, crit) =
                ranges(state, levels).map_err(|m| bad(format!("[ports.{port}] {m}")))?;
            config.ports.push(PortLevels { port, warn, crit });
        }
    }
    config.path = Some(path);
    Ok(config)
}

fn ranges(
    state: &str,
    levels: &Levels,
) -> Result<(Option<StateRange>, Option<StateRange>), String> {
    let arg = StateArg::from_str(state, true).map_err(|_| {
        let names: Vec<String> = StateArg::value_variants()
            .iter()
            .map(|v| v.to_possible_value_name())
            .collect();
        format!("unknown state '{state}'; valid: {}", names.join(", "))
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
        Ok(Some(StateRange { state: arg, range }))
    };
    Ok((one(&levels.warn)?, one(&levels.crit)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_text(text: &str) -> Result<Config, String> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, text).unwrap();
        load(Some(&path)).map_err(|e| e.to_string())
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
        assert_eq!(c.thresholds.close_wait.warn, 50);
        assert_eq!(
            c.thresholds.close_wait.crit, 200,
            "unset keys keep their defaults"
        );
        assert!(c.disabled.contains("risky_settings"));
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
    fn the_command_line_wins() {
        let mut c = load_text("[states]\nclose-wait = { warn = 100 }\n").unwrap();
        let cli: StateRange = StateRange {
            state: StateArg::CloseWait,
            range: "7".parse().unwrap(),
        };
        c.override_with(&[cli], &[]);
        assert_eq!(c.warn.len(), 1);
        assert_eq!(c.warn[0].range.to_string(), "7");
    }
}
