//! The destroy events in a run. The follower's windows are drained first, so each namespace's
//! rules judge its own window; the namespaces read are handed back to be followed from then
//! on; the owners the walk found go to the follower for the next events' joins; and the run's
//! flow report is put together from the windows and what each namespace's table showed.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::Request;
use super::pass::Part;
use crate::collect::Source;
use crate::collect::follow::{Drain, Drained, Follower, Keep, Spot};
use crate::diagnose::flows::{self, Tables};
use crate::error::{Cause, Error};
use crate::filter::Filter;
use crate::report::flows::{FlowReport, Following, Forecast, Histogram, Lifetimes, NamespaceFlows};
use crate::report::{NetnsLabel, Owners};

/// Following destroy events across runs: the follower the command keeps.
#[derive(Debug, Clone)]
pub struct Flows {
    pub follower: Arc<Follower>,
}

/// Starts following the namespaces the request reads, from now on, with `buffer` bytes of
/// receive buffer each: the follower goes into the request's plan. Returns what to say once
/// when nothing can be followed (the kernel refused the subscription): the request then runs as a snapshot. A
/// saved copy of /proc has no events: nothing is started.
pub fn follow(request: &mut Request, buffer: usize) -> Result<Option<String>, Error> {
    let spots = super::spots(request)?;
    if spots.is_empty() {
        return Ok(None);
    }
    let follower = match Follower::start(request.scope.source.root(), buffer) {
        Ok(f) => f,
        Err(e) => return Ok(Some(format!("not following connections: {}", Cause(&e)))),
    };
    let flows = Flows {
        follower: Arc::new(follower),
    };
    keep_only(&flows, &request.scope.filter);
    flows.follower.follow(&spots);
    let said = flows.follower.denied().map(|why| {
        format!("not following connections (closes, lifetimes, failed connects): {why}")
    });
    request.plan.flows = Some(flows);
    Ok(said)
}

/// What a run drained, besides each namespace's window (handed to its part).
pub(super) struct Drawn {
    pub ended: SystemTime,
    pub unfollowed: Vec<(String, String)>,
    pub denied: Option<String>,
    pub census_interval: Duration,
}

/// Drains the follower: the run's facts, and the windows by namespace inode.
pub(super) fn drain(flows: &Flows) -> (Drawn, HashMap<u64, Drain>) {
    let Drained {
        ended,
        namespaces,
        unfollowed,
        denied,
        census_interval,
    } = flows.follower.drain();
    let windows = namespaces.into_iter().map(|d| (d.inode, d)).collect();
    (
        Drawn {
            ended,
            unfollowed,
            denied,
            census_interval,
        },
        windows,
    )
}

/// The namespace a target reads, as the follower follows it.
pub(super) fn spot(label: Option<&NetnsLabel>, source: &Source) -> Option<Spot> {
    let (inode, path) = source.follow_target()?;
    Some(Spot {
        inode,
        path,
        name: label.map_or_else(|| format!("net:[{inode}]"), NetnsLabel::name),
    })
}

/// The window's length, from its start to the drain.
pub(super) fn seconds(d: &Drain, ended: SystemTime) -> f64 {
    ended
        .duration_since(d.window.started)
        .unwrap_or_default()
        .as_secs_f64()
}

/// Counts only the closes the run's filter keeps by their ends (ports, addresses, family),
/// from now on.
pub(super) fn keep_only(flows: &Flows, filter: &Filter) {
    let keep: Option<Keep> = filter.filters_ends().then(|| {
        let filter = filter.clone();
        Arc::new(move |local, remote| filter.matches_ends(local, remote)) as Keep
    });
    flows.follower.keep_only(keep);
}

/// The owners the walk found, when it looked for every connection's: joins from now on use
/// them.
pub(super) fn hand_over(flows: &Flows, owners: &Owners) {
    flows.follower.set_owners(owners.clone());
}

/// One namespace's window with what its table showed, taken out of its part.
pub(super) struct Taken {
    pub netns: Option<String>,
    pub drain: Drain,
    pub secs: f64,
    pub forecasts: Vec<Forecast>,
}

/// Takes the windows out of the parts (before they are assembled), with each destination's
/// port outlook from the part's own table.
pub(super) fn take(parts: &mut [Part], sweep: bool) -> Vec<Taken> {
    parts
        .iter_mut()
        .filter_map(|part| {
            let netns = sweep
                .then(|| part.label.as_ref().map(NetnsLabel::name))
                .flatten();
            let forecasts = part
                .followed()
                .map(|f| flows::forecasts(&f, &part.obs, netns.as_deref()))
                .unwrap_or_default();
            let (drain, secs) = part.flow.take()?;
            Some(Taken {
                netns,
                drain,
                secs,
                forecasts,
            })
        })
        .collect()
}

/// The run's flow report: the host's totals (in a sweep, each namespace's too), lifetimes,
/// the top churners and the worst port outlooks.
pub(super) fn report(drawn: &Drawn, taken: &[Taken], at: SystemTime) -> FlowReport {
    if let Some(why) = &drawn.denied {
        return FlowReport::unavailable(why.clone(), at);
    }
    let mut lifetimes = Lifetimes::default();
    let mut tables = Tables::default();
    let mut forecasts = Vec::new();
    let mut namespaces = Vec::new();
    let mut secs: f64 = 0.0;
    let mut started = drawn.ended;
    for t in taken {
        let w = &t.drain.window;
        lifetimes.merge(&w.lifetimes);
        tables.add(w, t.secs, t.netns.as_deref());
        forecasts.extend(t.forecasts.iter().cloned());
        secs = secs.max(t.secs);
        started = started.min(w.started);
        namespaces.push(NamespaceFlows {
            name: t.drain.name.clone(),
            inode: t.drain.inode,
            totals: flows::totals(w, t.secs),
        });
    }
    let mut totals = match namespaces.as_slice() {
        [one] => one.totals.clone(),
        _ => {
            let mut sum = Default::default();
            for ns in &namespaces {
                flows::add_totals(&mut sum, &ns.totals);
            }
            sum
        }
    };
    totals.median_ms = lifetimes.quantile_ms(0.5);
    totals.p99_ms = lifetimes.quantile_ms(0.99);
    forecasts.sort_by(|a, b| {
        b.steady_ports
            .cmp(&a.steady_ports)
            .then_with(|| a.destination.cmp(&b.destination))
    });
    forecasts.truncate(flows::TOP_ROWS);
    let tables = tables.top(flows::TOP_ROWS);
    let sweep = taken.iter().any(|t| t.netns.is_some());
    FlowReport {
        following: Following::Yes {
            namespaces: taken.len(),
            unfollowed: drawn.unfollowed.clone(),
        },
        started,
        window: Duration::from_secs_f64(secs),
        totals,
        lifetimes: classic(&lifetimes),
        processes: tables.processes,
        destinations: tables.destinations,
        services: tables.services,
        peers: tables.peers,
        forecasts,
        namespaces: if sweep { namespaces } else { Vec::new() },
        census_interval: drawn.census_interval,
    }
}

fn classic(l: &Lifetimes) -> Histogram {
    l.classic
}
