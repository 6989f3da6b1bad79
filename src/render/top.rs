//! `sockscope top`: socket counts per group, largest first, with each group's share of the
//! total and its split by state.

use std::io::{self, Write};

use comfy_table::{Cell, CellAlignment};
use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};

use super::json::{self, CollectionView, SCHEMA_VERSION, States, timestamp};
use super::{Format, Style, bold, count, escape};
use crate::model::TcpState;
use crate::report::{Group, GroupKey, KeyValue, TopReport};

fn heading(key: GroupKey) -> &'static str {
    match key {
        GroupKey::Process => "Process",
        GroupKey::LocalPort => "Local port",
        GroupKey::RemotePort => "Remote port",
        GroupKey::Peer => "Peer",
        GroupKey::Uid => "User",
        GroupKey::Netns => "Namespace",
        GroupKey::Container => "Container",
    }
}

/// A key value for people (`field: false`) or for awk (`field: true`, one token).
pub(crate) fn key_text(value: &KeyValue, field: bool) -> String {
    match value {
        KeyValue::Process { pid, comm } if field => format!("{pid}/{}", escape::for_field(comm)),
        KeyValue::Process { pid, comm } => format!("{}[{pid}]", escape::for_terminal(comm)),
        KeyValue::NoProcess if field => "-".into(),
        KeyValue::NoProcess => "(no process)".into(),
        KeyValue::UnknownOwner if field => "?".into(),
        KeyValue::UnknownOwner => "(unknown)".into(),
        KeyValue::LocalPort(p) | KeyValue::RemotePort(p) => p.to_string(),
        // One awk field, in the syntax of --sport.
        KeyValue::Ephemeral { from, to, .. } if field => format!("{from}-{to}"),
        KeyValue::Ephemeral { ports, .. } => format!("ephemeral ({})", plural(*ports, "port")),
        KeyValue::NoPeer => "*".into(),
        KeyValue::Peer(ip) => ip.to_string(),
        KeyValue::Uid(uid) => uid.to_string(),
        KeyValue::NoUid if field => "-".into(),
        KeyValue::NoUid => "(no uid)".into(),
        KeyValue::Netns(name) if field => escape::for_field(name).into_owned(),
        KeyValue::Netns(name) => escape::for_terminal(name).into_owned(),
        KeyValue::Container(None) if field => "-".into(),
        KeyValue::Container(None) => "(not a container)".into(),
        KeyValue::Container(Some(name)) if field => escape::for_field(name).into_owned(),
        KeyValue::Container(Some(name)) => escape::for_terminal(name).into_owned(),
    }
}

fn plural(n: u32, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

/// A key value of the report: uids by their user's name where the host's passwd has one.
fn value_text(report: &TopReport, value: &KeyValue, field: bool) -> String {
    match value {
        KeyValue::Uid(uid) => match report.users.get(uid) {
            Some(name) if field => escape::for_field(name).into_owned(),
            Some(name) => escape::for_terminal(name).into_owned(),
            None => uid.to_string(),
        },
        other => key_text(other, field),
    }
}

fn share(n: u64, total: u64) -> f64 {
    if total == 0 {
        0.0
    } else {
        n as f64 / total as f64
    }
}

/// States with at least one socket in the shown groups, in lifecycle order: the columns.
fn columns(groups: &[Group]) -> (Vec<TcpState>, bool) {
    let states = TcpState::LIFECYCLE
        .into_iter()
        .filter(|&s| groups.iter().any(|g| g.counts.get(s) > 0))
        .collect();
    let unknown = groups.iter().any(|g| g.counts.unknown_total() > 0);
    (states, unknown)
}

pub fn write(
    report: &TopReport,
    format: Format,
    style: &Style,
    out: &mut dyn Write,
) -> io::Result<()> {
    match format {
        Format::Table => render_table(report, *style, out),
        Format::Json => render_json(report, out),
        Format::Plain => render_plain(report, out),
        other => Err(super::unsupported(other, "top")),
    }
}

fn render_table(report: &TopReport, style: Style, out: &mut dyn Write) -> io::Result<()> {
    if report.groups.is_empty() {
        writeln!(out, "No sockets match.")?;
    } else {
        let wide = table(report, style, false);
        let fits = style
            .width
            .is_none_or(|w| wide.lines().all(|l| l.chars().count() <= usize::from(w)));
        // Too narrow for a column per state: the states go into one column that wraps.
        let text = if fits {
            wide
        } else {
            table(report, style, true)
        };
        writeln!(out, "{text}")?;
    }
    for note in notes(report) {
        writeln!(out, "{}", super::wrap(&note, style, "", "  "))?;
    }
    Ok(())
}

/// The groups as a table: a column per state, or (`compact`) the states in one column.
fn table(report: &TopReport, style: Style, compact: bool) -> String {
    let keys = report.by.len();
    let (states, unknown) = columns(&report.groups);
    let mut table = super::new_table(Style {
        width: None,
        ..style
    });
    let mut header: Vec<Cell> = report.by.iter().map(|&k| Cell::new(heading(k))).collect();
    header.extend([Cell::new("Sockets"), Cell::new("Share")]);
    if compact {
        header.push(Cell::new("States"));
    } else {
        header.extend(states.iter().map(|s| Cell::new(s.name())));
        if unknown {
            header.push(Cell::new("UNKNOWN"));
        }
    }
    table.set_header(
        header
            .into_iter()
            .map(|c| bold(c, style))
            .collect::<Vec<_>>(),
    );
    for group in &report.groups {
        let mut row: Vec<Cell> = group
            .key
            .iter()
            .map(|k| Cell::new(value_text(report, k, false)))
            .collect();
        row.push(Cell::new(group.counts.total()));
        row.push(Cell::new(format!(
            "{:.1}%",
            100.0 * share(group.counts.total(), report.total)
        )));
        if compact {
            let mut parts: Vec<String> = states
                .iter()
                .map(|&s| (s, group.counts.get(s)))
                .filter(|&(_, n)| n > 0)
                .map(|(s, n)| format!("{} {n}", s.name()))
                .collect();
            if group.counts.unknown_total() > 0 {
                parts.push(format!("UNKNOWN {}", group.counts.unknown_total()));
            }
            // One state a line: a narrow terminal never breaks one in two.
            row.push(Cell::new(parts.join("\n")));
        } else {
            row.extend(states.iter().map(|&s| count(group.counts.get(s), style)));
            if unknown {
                row.push(count(group.counts.unknown_total(), style));
            }
        }
        table.add_row(row);
    }
    let numbers = if compact {
        2
    } else {
        2 + states.len() + usize::from(unknown)
    };
    for column in keys..keys + numbers {
        if let Some(c) = table.column_mut(column) {
            c.set_cell_alignment(CellAlignment::Right);
        }
    }
    if compact && let Some(width) = style.width {
        // Numbers and states stay whole; with several keys, the keys wrap before a state would.
        table
            .set_content_arrangement(comfy_table::ContentArrangement::Dynamic)
            .set_width(width);
        let first_whole = if keys > 1 { keys } else { 0 };
        for column in first_whole..keys + 2 {
            if let Some(c) = table.column_mut(column) {
                c.set_constraint(comfy_table::ColumnConstraint::ContentWidth);
            }
        }
        if let Some(c) = table.column_mut(keys + 2) {
            // "ESTABLISHED 1332" stays on one line (the width counts the padding).
            c.set_constraint(comfy_table::ColumnConstraint::LowerBoundary(
                comfy_table::Width::Fixed(longest_state(report, &states).saturating_add(2)),
            ));
        }
    }
    table.to_string()
}

/// The widest `STATE N` of the folded states column.
fn longest_state(report: &TopReport, states: &[TcpState]) -> u16 {
    let widest = report
        .groups
        .iter()
        .flat_map(|g| {
            let known = states
                .iter()
                .map(|&s| (s.name().len(), g.counts.get(s)))
                .filter(|&(_, n)| n > 0);
            let unknown = Some(("UNKNOWN".len(), g.counts.unknown_total())).filter(|&(_, n)| n > 0);
            known
                .chain(unknown)
                .map(|(name, n)| name + 1 + n.to_string().len())
        })
        .max()
        .unwrap_or(0);
    u16::try_from(widest).unwrap_or(u16::MAX)
}

/// The limit, the filter, gaps in attribution and skipped lines, in words.
fn notes(report: &TopReport) -> Vec<String> {
    let mut notes = Vec::new();
    if let Some((from, to, ports)) = report.ephemeral {
        notes.push(format!(
            "ephemeral: {ports} local {} in ip_local_port_range ({from}–{to}) that no listener holds, counted as one (`sockscope list --sport {from}-{to}` lists their sockets).",
            if ports == 1 { "port" } else { "ports" }
        ));
    }
    if let Some((groups, sockets)) = report.rest {
        notes.push(format!(
            "{groups} smaller groups with {sockets} sockets not shown (-n 0 shows all)."
        ));
    }
    notes.extend(super::notes(
        &report.filter,
        report.total,
        &report.collection,
    ));
    if let Some(a) = &report.attribution {
        notes.extend(super::attribution::notes(a));
    }
    notes
}

/// One group a line: the key fields, the count, the share in percent, then `STATE=N` for each
/// non-zero state. No header.
fn render_plain(report: &TopReport, out: &mut dyn Write) -> io::Result<()> {
    for group in &report.groups {
        let mut fields: Vec<String> = group
            .key
            .iter()
            .map(|k| value_text(report, k, true))
            .collect();
        fields.push(group.counts.total().to_string());
        fields.push(format!(
            "{:.1}",
            100.0 * share(group.counts.total(), report.total)
        ));
        for state in TcpState::LIFECYCLE {
            let n = group.counts.get(state);
            if n > 0 {
                fields.push(format!("{}={n}", state.name()));
            }
        }
        if group.counts.unknown_total() > 0 {
            fields.push(format!("UNKNOWN={}", group.counts.unknown_total()));
        }
        writeln!(out, "{}", fields.join(" "))?;
    }
    Ok(())
}

#[derive(Serialize)]
struct Document<'a> {
    schema_version: u32,
    collected_at: String,
    by: Vec<&'static str>,
    total: u64,
    groups: Vec<GroupView<'a>>,
    /// Groups left out by `-n`.
    other: Option<OtherView>,
    collection: CollectionView<'a>,
}

#[derive(Serialize)]
struct OtherView {
    groups: u64,
    sockets: u64,
}

struct GroupView<'a> {
    by: &'a [GroupKey],
    group: &'a Group,
    total: u64,
    users: &'a std::collections::BTreeMap<u32, String>,
}

/// Ephemeral local ports folded into a group: `local_port` is then `null`.
#[derive(Serialize)]
struct EphemeralView {
    from: u16,
    to: u16,
    ports: u32,
}

#[derive(Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum ProcessView<'a> {
    Process {
        pid: u32,
        comm: &'a str,
    },
    /// Inode 0: no process can hold the socket.
    None,
    /// The holder could not be found.
    Unknown,
}

impl Serialize for GroupView<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        for (key, value) in self.by.iter().zip(&self.group.key) {
            let name = match key {
                GroupKey::Process => "process",
                GroupKey::LocalPort => "local_port",
                GroupKey::RemotePort => "remote_port",
                GroupKey::Peer => "peer",
                GroupKey::Uid => "uid",
                GroupKey::Netns => "netns",
                GroupKey::Container => "container",
            };
            match value {
                KeyValue::Process { pid, comm } => {
                    map.serialize_entry(name, &ProcessView::Process { pid: *pid, comm })?
                }
                KeyValue::NoProcess => map.serialize_entry(name, &ProcessView::None)?,
                KeyValue::UnknownOwner => map.serialize_entry(name, &ProcessView::Unknown)?,
                KeyValue::LocalPort(p) | KeyValue::RemotePort(p) => map.serialize_entry(name, p)?,
                KeyValue::Ephemeral { from, to, ports } => {
                    map.serialize_entry(name, &None::<u16>)?;
                    map.serialize_entry(
                        "ephemeral",
                        &EphemeralView {
                            from: *from,
                            to: *to,
                            ports: *ports,
                        },
                    )?;
                }
                KeyValue::NoPeer => map.serialize_entry(name, &None::<u16>)?,
                KeyValue::Peer(ip) => map.serialize_entry(name, &ip.to_string())?,
                KeyValue::Uid(uid) => {
                    map.serialize_entry(name, uid)?;
                    map.serialize_entry("user", &self.users.get(uid))?;
                }
                KeyValue::NoUid => {
                    map.serialize_entry(name, &None::<u32>)?;
                    map.serialize_entry("user", &None::<&str>)?;
                }
                KeyValue::Netns(n) => map.serialize_entry(name, n)?,
                KeyValue::Container(c) => map.serialize_entry(name, c)?,
            }
        }
        let counts = &self.group.counts;
        map.serialize_entry("total", &counts.total())?;
        let share = (share(counts.total(), self.total) * 1e4).round() / 1e4;
        map.serialize_entry("share", &share)?;
        map.serialize_entry("states", &States(counts))?;
        if counts.unknown_total() > 0 {
            map.serialize_entry("unknown_states", &counts.unknown_total())?;
        }
        map.end()
    }
}

/// The key as `--by` names it.
fn key_name(key: GroupKey) -> &'static str {
    match key {
        GroupKey::Process => "process",
        GroupKey::LocalPort => "local-port",
        GroupKey::RemotePort => "remote-port",
        GroupKey::Peer => "peer",
        GroupKey::Uid => "uid",
        GroupKey::Netns => "netns",
        GroupKey::Container => "container",
    }
}

fn render_json(report: &TopReport, out: &mut dyn Write) -> io::Result<()> {
    let document = Document {
        schema_version: SCHEMA_VERSION,
        collected_at: timestamp(report.collected_at),
        by: report.by.iter().map(|&k| key_name(k)).collect(),
        total: report.total,
        groups: report
            .groups
            .iter()
            .map(|group| GroupView {
                by: &report.by,
                group,
                total: report.total,
                users: &report.users,
            })
            .collect(),
        other: report
            .rest
            .map(|(groups, sockets)| OtherView { groups, sockets }),
        collection: CollectionView::new(
            &report.collection,
            report.total,
            &report.filter,
            report.attribution.as_ref(),
        ),
    };
    json::write(out, &document)
}
