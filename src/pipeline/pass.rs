//! One namespace's pass: its sockets streamed once (counted, observed, handed to the caller),
//! then judged, first without owners (to learn which sockets the findings want named) and
//! again once the walk has found them.

use std::collections::HashSet;
use std::time::{SystemTime, UNIX_EPOCH};

use super::targets::Target;
use super::{Each, Request};
use crate::alert::history::{self, Comparison, Current};
use crate::collect::context::{HostWide, read_context, read_host_wide};
use crate::collect::follow::Drain;
use crate::collect::{self, Source};
use crate::diagnose::evidence::EvidenceSet;
use crate::diagnose::observe::{Limits, Observations};
use crate::diagnose::{self, Input, Processes};
use crate::error::Error;
use crate::model::{KernelContext, LocalPorts, StateSet, Tally, TcpState};
use crate::report::{Collection, NetnsLabel, Owners};

/// What every pass of one run shares.
pub(super) struct Run<'a> {
    pub request: &'a Request,
    pub collected_at: SystemTime,
    /// The boot id, read once for the two-run comparison.
    pub boot_id: Option<String>,
    /// The host-wide sysctls, read once for every namespace of a sweep.
    pub host_wide: std::cell::OnceCell<HostWide>,
}

/// One namespace, counted, observed and judged.
pub(super) struct Part {
    pub label: Option<NetnsLabel>,
    /// Where it was read from, to read its evidence there again.
    pub source: Source,
    /// Its processes and a bind mount of it, for the next steps.
    pub members: Vec<u32>,
    pub mount: Option<std::path::PathBuf>,
    pub context: KernelContext,
    pub obs: Observations,
    pub tally: Tally,
    pub collection: Collection,
    pub verdict: diagnose::Verdict,
    /// The two-run comparison: only the first namespace (the host's, or the chosen) has one.
    pub compared: Option<Comparison>,
    /// The sockets the findings want named.
    pub wanted: HashSet<u64>,
    /// The matching sockets in the plan's owned states, named too.
    pub extra: HashSet<u64>,
    /// What was read behind its findings, once the owners are known.
    pub evidence: Option<EvidenceSet>,
    /// With [`super::Plan::ephemeral`], where the port range could be read.
    pub local_ports: Option<LocalPorts>,
    /// Its destroy events since the previous run, and the window's length in seconds, when
    /// they are followed.
    pub flow: Option<(Drain, f64)>,
}

impl Part {
    /// Its window of destroy events as its rules see it, when they are followed.
    pub fn followed(&self) -> Option<crate::diagnose::flows::Followed<'_>> {
        let (d, secs) = self.flow.as_ref()?;
        Some(crate::diagnose::flows::Followed {
            window: &d.window,
            secs: *secs,
            sysctls: &d.sysctls,
        })
    }
}

impl Run<'_> {
    /// Streams one namespace, observes it and judges it without owners. A namespace of a
    /// sweep that cannot be read comes back with its label, to be counted as unopened.
    pub fn first(
        &self,
        target: &mut Target,
        compares: bool,
        each: Each,
        flow: Option<(Drain, f64)>,
    ) -> Result<Part, Box<(Option<NetnsLabel>, Error)>> {
        let request = self.request;
        let plan = &request.plan;
        let source = &target.source;
        let label = target.label.take();
        let read = || {
            // A namespace without a process has no /proc/PID/net to read its files through.
            let net =
                (!source.enters_namespace() || source.pid().is_some()).then(|| source.net_dir());
            let host = self.host_wide.get_or_init(|| read_host_wide(source.root()));
            read_context(source.root(), net.as_deref(), &target.per_netns, Some(host))
        };
        let mut context = if plan.diagnose {
            read()
        } else {
            KernelContext::default()
        };
        if let Some((d, _)) = &flow {
            fill_port_sysctls(&mut context, &d.sysctls);
        }
        let mut local_ports = plan
            .ephemeral
            .then(|| match context.sysctl.ip_local_port_range {
                Some(range) => Some(range),
                None if plan.diagnose => None,
                None => read().sysctl.ip_local_port_range,
            })
            .flatten()
            .map(|range| LocalPorts {
                range,
                ..LocalPorts::default()
            });
        let limits = Limits::of(&request.config.settings.thresholds);
        let mut obs = Observations::new(limits, &context);
        obs.watch_ports(request.config.watched_ports());
        obs.keep_inodes(request.keeps_inodes());
        obs.clock_ticks(collect::clock_ticks());
        let owned = request.owned_states();
        let filter = &request.scope.filter;
        let mut extra = HashSet::new();
        let mut tally = Tally::default();
        let streamed = collect::for_each_socket(
            source,
            |family| filter.wants_family(family),
            |socket| {
                if plan.diagnose {
                    obs.count_all(socket);
                }
                // Listeners come first in each table, filtered or not.
                if socket.state == TcpState::Listen
                    && let Some(ports) = &mut local_ports
                {
                    ports.listening.insert(socket.local.port());
                }
                if filter.matches(socket) {
                    tally.add(socket.family, socket.state);
                    if plan.diagnose {
                        obs.observe(socket);
                    }
                    if socket.inode != 0 && owned.contains(socket.state) {
                        extra.insert(socket.inode);
                    }
                    each(label.as_ref(), socket);
                }
            },
        );
        let collection = match streamed {
            Ok(c) => c,
            Err(e) => return Err(Box::new((label, e))),
        };
        let mut part = Part {
            label,
            source: source.clone(),
            members: std::mem::take(&mut target.members),
            mount: target.mount.take(),
            context,
            obs,
            tally,
            collection,
            verdict: diagnose::Verdict::default(),
            compared: None,
            wanted: HashSet::new(),
            extra,
            evidence: None,
            local_ports,
            flow,
        };
        if plan.diagnose {
            self.judge(&mut part, compares, None);
            if !request.scope.no_processes {
                // Only the sockets behind findings are looked up; a healthy machine walks
                // nothing.
                part.wanted = diagnose::wanted_inodes(&part.verdict.findings);
                if let Some(c) = &part.compared {
                    part.wanted.extend(diagnose::wanted_inodes(&c.findings));
                }
            }
        }
        Ok(part)
    }

    /// Runs the rules (and, for the namespace that compares, the two-run rules) over one
    /// namespace's observations; `owners` once the walk has found them.
    pub fn judge(&self, part: &mut Part, compares: bool, owners: Option<&Owners>) {
        let request = self.request;
        let settings = &request.config.settings;
        let input = Input {
            obs: &part.obs,
            ctx: &part.context,
            owners,
            processes: match (request.scope.no_processes, owners) {
                (true, _) => Processes::Skipped,
                (false, None) => Processes::Pending,
                (false, Some(_)) => Processes::LookedUp,
            },
            evidence: part.evidence.as_ref(),
            flows: part.followed(),
        };
        part.verdict = diagnose::diagnose(&input, settings);
        part.compared = request.plan.history.as_ref().filter(|_| compares).map(|h| {
            let since_epoch = self
                .collected_at
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default();
            let current = Current {
                now: since_epoch.as_secs(),
                now_ms: u64::try_from(since_epoch.as_millis()).unwrap_or(u64::MAX),
                boot_id: self.boot_id.as_deref(),
                netns: part.label.as_ref().map(|l| l.inode).or_else(|| {
                    let id = part.collection.netns.as_deref()?;
                    crate::collect::netns::parse_id(id)
                }),
                tally: &part.tally,
                counters: &part.context.counters,
                obs: &part.obs,
                evidence: part.evidence.as_ref(),
            };
            history::compare(
                h.previous.as_ref(),
                &current,
                settings,
                h.stuck_after,
                owners,
            )
        });
    }
}

/// The port sysctls of another namespace cannot be read from here (`/proc/sys` shows this
/// process's own); the follower read them from inside it. Only what is missing is filled.
fn fill_port_sysctls(ctx: &mut KernelContext, inside: &crate::model::Sysctls) {
    let s = &mut ctx.sysctl;
    if s.ip_local_port_range.is_none() {
        s.ip_local_port_range = inside.ip_local_port_range;
        s.ip_local_reserved_ports = inside.ip_local_reserved_ports.clone();
    }
    if s.tcp_tw_reuse.is_none() {
        s.tcp_tw_reuse = inside.tcp_tw_reuse;
    }
}

/// The states a run needs from sock_diag: only the filter's when it only counts (the kernel
/// skips the rest); every state when the rules judge, as they need the whole table (shares
/// of ESTABLISHED).
pub(super) fn wanted_states(request: &Request) -> Option<StateSet> {
    if request.plan.diagnose {
        None
    } else if request.plan.ephemeral {
        // The listeners say which ports are services; the filter drops them from the rows.
        let states = request.scope.filter.kernel_states()?;
        Some(states.union(StateSet::one(TcpState::Listen)))
    } else {
        request.scope.filter.kernel_states()
    }
}
