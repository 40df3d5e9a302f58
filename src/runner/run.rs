//! `ecc run`: set the program options, load, attach every listed program, then print the
//! export map's events (ring buffer or perf buffer) or sample a `@sample` map, until
//! Ctrl-C, SIGTERM or `--duration`.

use std::cell::Cell;
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use libbpf_rs::{MapCore, MapFlags, PerfBufferBuilder, RingBufferBuilder};

use super::attach::{self, Plan, Target};
use super::capture::Capture;
use super::export::{choose_export, sample_meta, Export};
use super::input::{internal_map_name, Meta, ProgMeta, SampleMeta};
use super::options::Assign;
use super::print::{render_sample, EventPrinter};
use super::verify::{rejection, ProgResult, Report};
use super::{dump, failure, metrics, open, prog_type_name, sys, vlog, Error, Input};
use crate::btf::Btf;
use crate::elf::object::Object;

/// How long one poll may block, so stop requests and deadlines are seen promptly.
const TICK: Duration = Duration::from_millis(100);

#[derive(Clone, Debug, Default)]
pub struct RunOpts {
    pub json: bool,
    pub duration: Option<Duration>,
    pub btf: Option<PathBuf>,
    /// Called when a program needs tracefs and it is not mounted. Mounting is a process-wide
    /// side effect, so the library leaves it to the binary.
    pub mount_tracefs: Option<fn() -> std::io::Result<()>>,
    /// Interface and cgroup overrides for XDP, tc, socket and cgroup programs.
    pub target: Target,
    /// Print the counters and maps when the run ends, even with an output map.
    pub dump_at_exit: bool,
    /// The output map (`--map NAME`) instead of the runtime's choice.
    pub map: Option<String>,
    /// Serve the maps in the Prometheus text format on this address while running.
    pub metrics: Option<std::net::SocketAddr>,
    /// Copy libbpf's messages, debug ones included, to stderr while opening, loading and
    /// attaching.
    pub verbose: bool,
}

/// When to stop: the caller's flag (set from SIGINT/SIGTERM by the binary), the deadline of
/// `--duration`, or stdout closing under us (`| head`).
struct Stop<'a> {
    flag: &'a AtomicBool,
    deadline: Option<Instant>,
    closed: Cell<bool>,
    /// Work done between polls: answering metrics requests.
    tick: Option<&'a dyn Fn()>,
}

impl Stop<'_> {
    /// Called once per loop turn: runs the tick, then says whether to stop.
    fn now(&self) -> bool {
        if let Some(t) = self.tick {
            t();
        }
        self.closed.get()
            || self.flag.load(Ordering::Relaxed)
            || self.deadline.is_some_and(|d| Instant::now() >= d)
    }

    /// How long one poll may block.
    fn wait(&self) -> Duration {
        self.deadline.map_or(TICK, |d| {
            d.saturating_duration_since(Instant::now()).min(TICK)
        })
    }

    fn print(&self, line: &str) {
        let mut out = std::io::stdout().lock();
        // Nobody is reading any more (`| head` exited): stop as Ctrl-C would.
        if writeln!(out, "{line}").and_then(|()| out.flush()).is_err() {
            self.closed.set(true);
        }
    }
}

/// Runs until `stop` is set or `opts.duration` passes. Everything but the kernel work is
/// prepared and checked first, so bad input fails before anything is loaded.
pub fn run(
    input: &Input,
    opts: &RunOpts,
    assigns: &[Assign],
    stop: &AtomicBool,
) -> Result<(), Error> {
    let model = Object::parse(&input.elf).map_err(|e| Error::object(&input.path, e))?;
    if model.programs.is_empty() {
        return Err(Error::input(
            &input.path,
            "the package has no programs (a types-only object, as `ecc --header-only` makes)",
        ));
    }
    let export = choose_export(&model, input.meta.as_ref(), opts.map.as_deref())
        .map_err(|m| Error::input(&input.path, m))?;
    // Bound before loading, so a taken port fails before anything is attached.
    let exporter = opts
        .metrics
        .map(metrics::Exporter::bind)
        .transpose()
        .map_err(Error::Unavailable)?;
    let mut obj = open(input, opts.btf.as_deref(), opts.verbose)?;

    for a in assigns {
        let want = internal_map_name(&input.obj_name, &a.section);
        let mut map = obj
            .maps_mut()
            .find(|m| m.name().to_string_lossy() == want.as_str())
            .ok_or_else(|| {
                Error::input(
                    &input.path,
                    format!("no {} map '{want}' for {}", a.section, a.var),
                )
            })?;
        let data = map.initial_value_mut().ok_or_else(|| {
            Error::input(&input.path, format!("map '{want}' has no initial value"))
        })?;
        let start = a.offset as usize;
        let dst = data.get_mut(start..start + a.bytes.len()).ok_or_else(|| {
            Error::input(
                &input.path,
                format!(
                    "{} lies outside {} ({} bytes)",
                    a.var,
                    a.section,
                    a.bytes.len()
                ),
            )
        })?;
        dst.copy_from_slice(&a.bytes);
    }

    // Attach plans come from the program types and doc tags, so a bad tag fails before load.
    let mut progs = Vec::new();
    for p in obj.progs() {
        let name = p.name().to_string_lossy().into_owned();
        let tags = prog_meta(input.meta.as_ref(), &name).map(|m| &m.extra);
        let plan = attach::plan(
            p.prog_type(),
            tags.unwrap_or(&serde_json::Map::new()),
            &opts.target,
        )
        .map_err(|m| Error::input(&input.path, format!("program '{name}': {m}")))?;
        progs.push(Prog {
            prog_type: prog_type_name(p.prog_type()),
            section: p.section().to_string_lossy().into_owned(),
            attach: listed_for_attach(input.meta.as_ref(), &name),
            name,
            plan,
        });
    }
    let cap = Capture::with(false, opts.verbose);
    let loaded = obj.load();
    let captured = cap.take();
    drop(cap);
    let obj = match loaded {
        Ok(o) => o,
        Err(e) => return Err(load_error(input, &model, &progs, &e, &captured)),
    };

    let to_attach: Vec<&Prog> = progs.iter().filter(|p| p.attach).collect();
    let tracing = |p: &&Prog| p.plan == Plan::Auto && needs_tracefs(&p.section);
    if to_attach.iter().any(tracing) && !sys::tracefs_mounted() {
        let mounted = match opts.mount_tracefs {
            Some(mount) => mount().map_err(|e| e.to_string()),
            None => Err("nothing mounts it".into()),
        };
        mounted.map_err(|e| Error::Libbpf {
            what: "tracefs is not mounted at /sys/kernel/tracing".into(),
            msg: format!("{e}; tracepoints cannot attach without it"),
        })?;
    }
    // Declared before the links' users, dropped (detaching everything) on every way out.
    let mut links: Vec<attach::Attachment> = Vec::new();
    for p in to_attach {
        let prog = obj
            .progs_mut()
            .find(|x| x.name().to_string_lossy() == p.name.as_str())
            .ok_or_else(|| Error::input(&input.path, format!("program '{}' vanished", p.name)))?;
        let cap = Capture::with(false, opts.verbose);
        let link = attach::attach(&prog, &p.plan);
        let msgs = vlog::libbpf_messages(&cap.take());
        drop(cap);
        let link = link.map_err(|e| {
            let mut msg = e;
            if let Some(w) = msgs.iter().rev().find(|w| !msg.contains(w.as_str())) {
                msg.push_str(&format!(" (libbpf: {w})"));
            }
            Error::Libbpf {
                what: format!(
                    "attaching {} ({}, {})",
                    p.name,
                    p.section,
                    p.plan.describe()
                ),
                msg,
            }
        })?;
        if p.plan != Plan::Auto {
            eprintln!("ecc run: {}: {}", p.name, p.plan.describe());
        }
        links.push(link);
    }

    let events = Cell::new(0u64);
    let scrape = || {
        let events = match &export {
            Export::Events { map, .. } => Some((map.as_str(), events.get())),
            _ => None,
        };
        let mut fams = metrics::base_families(events);
        // A map that cannot be read leaves its series out of this scrape; ecc_up stays.
        if let Ok(snap) = dump::snapshot(&obj, &model, &input.obj_name) {
            for (name, entries) in &snap.maps {
                match sample_meta(input.meta.as_ref(), name) {
                    Some(s) if s.kind == "log2_hist" || s.kind == "linear_hist" => fams.push(
                        metrics::histogram_family(name, &s.unit, s.kind == "log2_hist", entries),
                    ),
                    _ => fams.extend(metrics::table_families(name, entries)),
                }
            }
            fams.extend(metrics::counter_families(&snap.counters));
        }
        metrics::render(fams)
    };
    let serve = exporter.as_ref().map(|ex| move || ex.serve(&scrape));
    if let Some(ex) = &exporter {
        eprintln!("ecc run: serving metrics on http://{}/metrics", ex.addr);
    }
    let stop = Stop {
        flag: stop,
        deadline: opts.duration.map(|d| Instant::now() + d),
        closed: Cell::new(false),
        tick: serve.as_ref().map(|f| f as &dyn Fn()),
    };
    // A status line on stderr, so stdout holds only events; scripts can wait for it.
    let what = match &export {
        Export::Events { map, .. } => format!("printing events from map '{map}'"),
        Export::Sample { map, .. } => format!("sampling map '{map}'"),
        Export::Nothing => "printing the counters and maps at exit".into(),
    };
    eprintln!(
        "ecc run: {}: attached {} program(s), {what}; Ctrl-C to stop",
        input.obj_name,
        links.len()
    );
    let result = match &export {
        Export::Events { map, perf, types } => {
            let printer = EventPrinter::new(&model.btf, types, *perf, opts.json);
            poll_events(&obj, map, *perf, &printer, opts.json, &stop, &events)
        }
        Export::Sample {
            map,
            sample,
            key_type,
            value_type,
        } => sample_map(
            &obj,
            &model.btf,
            map,
            sample,
            *key_type,
            *value_type,
            opts.json,
            &stop,
        ),
        Export::Nothing => {
            while !stop.now() {
                std::thread::sleep(TICK);
            }
            Ok(())
        }
    };
    // Detach first, so the dump is one consistent state (maps live as long as `obj`).
    drop(links);
    let dumped = if result.is_ok() && (opts.dump_at_exit || export == Export::Nothing) {
        dump::snapshot(&obj, &model, &input.obj_name)
            .map(|snap| {
                let text = if opts.json {
                    snap.to_json()
                } else {
                    snap.to_text()
                };
                if !text.is_empty() {
                    stop.print(text.trim_end_matches('\n'));
                }
            })
            .map_err(|msg| Error::Libbpf {
                what: "reading the maps at exit".into(),
                msg,
            })
    } else {
        Ok(())
    };
    result.and(dumped)
}

/// One program of the object and how it is to be attached.
struct Prog {
    name: String,
    prog_type: String,
    section: String,
    attach: bool,
    plan: Plan,
}

fn prog_meta<'m>(meta: Option<&'m Meta>, name: &str) -> Option<&'m ProgMeta> {
    meta.and_then(|m| m.bpf_skel.progs.as_ref())
        .and_then(|ps| ps.iter().find(|p| p.name == name))
}

/// A package lists the programs to attach (`link: true`); a bare object attaches all.
fn listed_for_attach(meta: Option<&Meta>, name: &str) -> bool {
    match meta.and_then(|m| m.bpf_skel.progs.as_ref()) {
        Some(progs) => progs.iter().any(|p| p.name == name && p.link),
        None => true,
    }
}

pub(crate) fn needs_tracefs(section: &str) -> bool {
    [
        "tp/",
        "tracepoint/",
        "kprobe/",
        "kretprobe/",
        "uprobe",
        "uretprobe",
        "usdt",
    ]
    .iter()
    .any(|p| section.starts_with(p))
}

/// A failed load: the verifier reports of the programs it rejected, else libbpf's error.
fn load_error(
    input: &Input,
    model: &Object<'_>,
    progs: &[Prog],
    e: &libbpf_rs::Error,
    captured: &str,
) -> Error {
    let rejected: Vec<ProgResult> = vlog::prog_logs(captured)
        .iter()
        .map(|l| {
            let prog_type = progs
                .iter()
                .find(|p| p.name == l.prog)
                .map_or_else(String::new, |p| p.prog_type.clone());
            let r = rejection(model, &l.prog, e, captured);
            ProgResult::new(l.prog.clone(), prog_type, None, Some(r))
        })
        .collect();
    if rejected.is_empty() {
        return Error::Libbpf {
            what: format!("{}: loading", input.path.display()),
            msg: load_failure(progs, e, captured),
        };
    }
    Error::Rejected(Box::new(Report {
        file: input.path.display().to_string(),
        object: input.obj_name.clone(),
        programs: rejected,
    }))
}

/// A load that failed before (or without) a verifier log: what failed, on which program
/// and map, why in the user's terms, and what to do.
fn load_failure(progs: &[Prog], e: &libbpf_rs::Error, captured: &str) -> String {
    let error = format!("{e:#}");
    let all = vlog::libbpf_messages(captured);
    let class = failure::classify(&error, &all, "");
    let msgs = failure::useful_messages(class, &all);
    let (prog, map) = failure::named(&msgs);
    let mut what = match prog {
        Some(p) => match progs.iter().find(|x| x.name == p) {
            Some(x) => format!("program '{p}' ({})", x.prog_type),
            None => format!("program '{p}'"),
        },
        // Failed before any one program (the probe, opening maps): name them all.
        None => {
            let names: Vec<String> = progs.iter().map(|p| format!("'{}'", p.name)).collect();
            format!("program(s) {}", names.join(", "))
        }
    };
    if let Some(m) = map {
        what.push_str(&format!(", map '{m}'"));
    }
    let mut msg = format!("{what}: {}: {error}", class.describe());
    if let Some(w) = msgs.iter().rev().find(|w| !error.contains(w.as_str())) {
        msg.push_str(&format!(" (libbpf: {w})"));
    }
    if let Some(h) = class.hint(super::verify::is_root()) {
        msg.push_str(&format!("; {h}"));
    }
    msg
}

fn poll_events(
    obj: &libbpf_rs::Object,
    map_name: &str,
    perf: bool,
    printer: &EventPrinter<'_, '_>,
    json: bool,
    stop: &Stop<'_>,
    events: &Cell<u64>,
) -> Result<(), Error> {
    let map = obj
        .maps()
        .find(|m| m.name().to_string_lossy() == map_name)
        .ok_or_else(|| Error::Usage(format!("export map '{map_name}' is not in the object")))?;
    if let Some(h) = printer.header() {
        stop.print(&h);
    }
    let handle = |data: &[u8]| {
        events.set(events.get() + 1);
        let time = if json {
            sys::utc_rfc3339()
        } else {
            sys::local_hms()
        };
        match printer.line(&time, data) {
            Ok(l) => stop.print(&l),
            Err(e) => eprintln!("ecc run: error: {e}"),
        }
        if let Some(w) = printer.take_warning() {
            eprintln!("ecc run: warning: {w}");
        }
    };
    let setup = |e: libbpf_rs::Error| Error::Libbpf {
        what: format!("reading map '{map_name}'"),
        msg: format!("{e:#}"),
    };
    if perf {
        let pb = PerfBufferBuilder::new(&map)
            .sample_cb(|_cpu, data: &[u8]| handle(data))
            .lost_cb(|cpu, n| eprintln!("ecc run: warning: lost {n} events on CPU {cpu}"))
            .build()
            .map_err(setup)?;
        while !stop.now() {
            poll_result(pb.poll(stop.wait()), map_name)?;
        }
    } else {
        let mut b = RingBufferBuilder::new();
        b.add(&map, |data: &[u8]| {
            handle(data);
            0
        })
        .map_err(setup)?;
        let rb = b.build().map_err(setup)?;
        while !stop.now() {
            poll_result(rb.poll(stop.wait()), map_name)?;
        }
    }
    Ok(())
}

/// EINTR from a signal is how Ctrl-C ends a poll; anything else is an error.
fn poll_result(r: libbpf_rs::Result<()>, map: &str) -> Result<(), Error> {
    match r {
        Err(e) if e.kind() != libbpf_rs::ErrorKind::Interrupted => Err(Error::Libbpf {
            what: format!("polling map '{map}'"),
            msg: format!("{e:#}"),
        }),
        _ => Ok(()),
    }
}

#[allow(clippy::too_many_arguments)] // one call site; a struct would only rename them
fn sample_map(
    obj: &libbpf_rs::Object,
    btf: &Btf<'_>,
    map_name: &str,
    sample: &SampleMeta,
    key_type: Option<u32>,
    value_type: Option<u32>,
    json: bool,
    stop: &Stop<'_>,
) -> Result<(), Error> {
    let map = obj
        .maps()
        .find(|m| m.name().to_string_lossy() == map_name)
        .ok_or_else(|| Error::Usage(format!("sampled map '{map_name}' is not in the object")))?;
    let interval = Duration::from_millis(sample.interval.max(1));
    let mut next = Instant::now() + interval;
    loop {
        while Instant::now() < next {
            if stop.now() {
                return Ok(());
            }
            std::thread::sleep(
                stop.wait()
                    .min(next.saturating_duration_since(Instant::now())),
            );
        }
        next += interval;
        let mut keys: Vec<Vec<u8>> = map.keys().collect();
        keys.sort();
        let mut entries = Vec::new();
        for k in &keys {
            let v = map.lookup(k, MapFlags::ANY).map_err(|e| Error::Libbpf {
                what: format!("reading map '{map_name}'"),
                msg: format!("{e:#}"),
            })?;
            if let Some(v) = v {
                entries.push((k.clone(), v));
            }
            if sample.clear_map {
                // A key deleted meanwhile by the program is fine.
                let _ = map.delete(k);
            }
        }
        let text = render_sample(
            btf,
            sample,
            key_type,
            value_type,
            &entries,
            json,
            &if json {
                sys::utc_rfc3339()
            } else {
                sys::local_hms()
            },
        );
        if !text.is_empty() {
            stop.print(text.trim_end_matches('\n'));
        }
    }
}

#[cfg(test)]
#[path = "run_tests.rs"]
mod tests;
