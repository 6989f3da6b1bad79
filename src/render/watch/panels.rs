//! The findings panel (one line each, most severe first; the selected one expanded to its
//! causes and next steps) and the culprit panel (who holds the selected state's sockets).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Color;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

use super::{Paint, age};
use crate::render::{attribution, culprit, escape, finding_view, sweep, top::key_text};
use crate::report::watch::WatchView;
use crate::report::{Finding, GroupKey, Severity, SummaryReport};

fn severity(s: Severity, paint: Paint) -> Span<'static> {
    let colour = match s {
        Severity::Critical => Color::Red,
        Severity::Warning => Color::Yellow,
        Severity::Info => Color::Cyan,
    };
    Span::styled(format!("{:<8}", s.word()), paint.fg(colour))
}

/// `title · who` for the one-line list, and in a sweep `· in docker container web`.
fn headline(report: &SummaryReport, f: &Finding) -> String {
    let mut line = escape::for_terminal(&finding_view::title(f)).into_owned();
    if let Some(c) = f.culprits.first() {
        line.push_str(" · ");
        line.push_str(&culprit::name(c));
    }
    if let Some(place) = sweep::where_found(report, f) {
        line.push_str(" · in ");
        line.push_str(&escape::for_terminal(&place));
    }
    line
}

/// Rows the findings panel would fill at this width: its title and its lines, wrapped.
pub(super) fn findings_height(view: &WatchView, width: u16) -> u16 {
    let width = usize::from(width.max(1));
    let rows: usize = lines(view, Paint { color: false })
        .iter()
        .map(|l| l.width().max(1).div_ceil(width))
        .sum();
    u16::try_from(rows + 1).unwrap_or(u16::MAX)
}

pub(super) fn findings(frame: &mut Frame, area: Rect, view: &WatchView, paint: Paint) {
    if super::is_empty(area) {
        return;
    }
    let count = view.findings();
    let title = if count == 0 {
        " Findings ".to_string()
    } else {
        format!(" Findings ({count}) ")
    };
    let block = Block::new()
        .borders(Borders::TOP)
        .title(Span::styled(title, paint.bold()));
    frame.render_widget(
        Paragraph::new(lines(view, paint))
            .block(block)
            .wrap(Wrap { trim: false }),
        area,
    );
}

/// One line per finding, then the selected one in full.
fn lines(view: &WatchView, paint: Paint) -> Vec<Line<'static>> {
    let Some(latest) = &view.latest else {
        return Vec::new();
    };
    let report = &latest.report;
    let found = &report.findings;
    let mut lines: Vec<Line> = Vec::new();
    if found.is_empty() {
        let d = &report.checks;
        lines.push(Line::raw(format!(
            " No problems found ({} checks).",
            d.rules.saturating_sub(d.skipped.len())
        )));
    }
    for (i, f) in found.iter().enumerate() {
        let selected = i == view.finding;
        lines.push(Line::from(vec![
            Span::styled(
                if selected { ">" } else { " " },
                if selected {
                    paint.selected()
                } else {
                    paint.dim()
                },
            ),
            severity(f.severity, paint),
            Span::raw(" "),
            Span::raw(headline(report, f)),
        ]));
    }
    if let Some(f) = found.get(view.finding) {
        lines.push(Line::raw(""));
        lines.extend(expanded(f, paint));
    }
    lines
}

/// The selected finding in full: summary, who, causes, next steps.
fn expanded(f: &Finding, paint: Paint) -> Vec<Line<'static>> {
    let mut lines = vec![Line::from(vec![
        Span::styled(format!(" {} ", f.id), paint.bold()),
        Span::raw(finding_view::summary(f)),
    ])];
    if f.culprits.len() > 1 {
        let who: Vec<String> = f.culprits.iter().map(culprit::describe).collect();
        lines.push(Line::raw(format!(" Who: {}", who.join("; "))));
    }
    if !f.evidence.is_empty() {
        lines.push(Line::styled(" Evidence:", paint.bold()));
        for e in &f.evidence {
            let text =
                crate::render::escape::for_terminal(&crate::render::proof::text(e)).into_owned();
            lines.push(Line::raw(format!("  - {text}")));
        }
    }
    let causes = finding_view::causes(f);
    if !causes.is_empty() {
        lines.push(Line::styled(" Likely causes:", paint.bold()));
        for (i, cause) in causes.iter().enumerate() {
            lines.push(Line::raw(format!("  {}. {cause}", i + 1)));
        }
    }
    if !f.next_steps.is_empty() {
        lines.push(Line::styled(" Next:", paint.bold()));
        for step in &f.next_steps {
            lines.push(Line::styled(format!("  {step}"), paint.fg(Color::Green)));
        }
    }
    lines
}

/// Rows the culprit panel takes: a title, a header, up to eight culprits, one note.
pub(super) fn culprits_height(view: &WatchView) -> u16 {
    let rows = view
        .latest
        .as_ref()
        .and_then(|r| r.culprits.as_ref())
        .map_or(1, |c| {
            let hidden = c.rows.len() > 8 || c.rest.0 > 0;
            let note = c
                .attribution
                .as_ref()
                .is_some_and(|a| !attribution::notes(a).is_empty());
            c.rows.len().clamp(1, 8) + usize::from(hidden || note)
        });
    (2 + rows) as u16
}

fn heading(by: GroupKey) -> &'static str {
    match by {
        GroupKey::Process => "process",
        GroupKey::LocalPort => "local port",
        GroupKey::RemotePort => "remote port",
        GroupKey::Peer => "peer",
        GroupKey::Uid => "uid",
        GroupKey::Netns => "namespace",
        GroupKey::Container => "container",
    }
}

pub(super) fn culprits(frame: &mut Frame, area: Rect, view: &WatchView, paint: Paint) {
    if super::is_empty(area) {
        return;
    }
    let Some(c) = view.latest.as_ref().and_then(|r| r.culprits.as_ref()) else {
        return;
    };
    let mut title = format!(" Top {} by {} ", c.state.name(), heading(c.by));
    if c.state != view.selected || c.by != view.by {
        title.push_str("(updating) ");
    }
    let width = usize::from(area.width);
    // Who, count, share, oldest: the name takes what the numbers leave.
    let name_width = width.saturating_sub(1 + 9 + 8 + 10).clamp(8, 40);
    let mut lines = vec![Line::styled(
        format!(
            " {:<name_width$}{:>9}{:>8}  {}",
            heading(c.by).to_uppercase(),
            "SOCKETS",
            "SHARE",
            "OLDEST"
        ),
        paint.dim(),
    )];
    if let Some(note) = &c.note {
        lines.push(Line::styled(format!(" {note}"), paint.dim()));
    } else if c.rows.is_empty() {
        lines.push(Line::styled(
            format!(" no {} sockets", c.state.name()),
            paint.dim(),
        ));
    }
    let shown = usize::from(area.height).saturating_sub(3).max(1);
    for r in c.rows.iter().take(shown) {
        let mut name = key_text(&r.key, false);
        if name.chars().count() > name_width {
            name = name
                .chars()
                .take(name_width.saturating_sub(1))
                .collect::<String>()
                + "…";
        }
        let share = if c.total == 0 {
            0.0
        } else {
            r.count as f64 * 100.0 / c.total as f64
        };
        let oldest = r.oldest_s.map_or(String::new(), |s| {
            format!("{}{}", if r.since_start { "≥" } else { "" }, age(s))
        });
        lines.push(Line::from(vec![
            Span::raw(format!(" {name:<name_width$}")),
            Span::styled(format!("{:>9}", r.count), paint.bold()),
            Span::raw(format!("{share:>7.1}%")),
            Span::styled(format!("  {oldest}"), paint.fg(Color::Yellow)),
        ]));
    }
    let hidden = c.rows.len().saturating_sub(shown) as u64 + c.rest.0;
    let note = if hidden > 0 {
        Some(format!(" … and {hidden} more"))
    } else {
        c.attribution
            .as_ref()
            .and_then(|a| attribution::notes(a).into_iter().next())
            .map(|n| format!(" {n}"))
    };
    if let Some(note) = note {
        lines.push(Line::styled(note, paint.dim()));
    }
    let block = Block::new()
        .borders(Borders::TOP)
        .title(Span::styled(title, paint.bold()));
    frame.render_widget(Paragraph::new(lines).block(block), area);
}
