//! `ecc verify`: load every program into the kernel verifier, one at a time, and report
//! each program's verdict; for a rejection, the verifier's reason and the source line.

use std::fmt::Write as _;
use std::path::Path;

use serde::Serialize;

use super::capture::Capture;
use super::failure::{classify, useful_messages, Failure};
use super::vlog::{analyze, libbpf_messages, prog_logs, tail};
use super::{open, prog_type_name, Error, Input};
use crate::elf::object::Object;

/// How many verifier log lines a rejection shows.
pub const LOG_TAIL: usize = 20;

#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub file: String,
    pub object: String,
    pub programs: Vec<ProgResult>,
}

#[derive(Clone, Debug, Serialize)]
pub struct ProgResult {
    pub name: String,
    #[serde(rename = "type")]
    pub prog_type: String,
    /// Instructions handed to the kernel (after libbpf's relocations), when loaded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub insns: Option<usize>,
    pub status: &'static str,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub rejection: Option<Rejection>,
    /// The whole verifier log, one entry per line (`verify --log`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log: Option<Vec<String>>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Rejection {
    /// Whether the kernel verifier said no (with a log), rather than the load failing
    /// before it ran (permissions, a map libbpf could not create, …).
    #[serde(skip)]
    pub verifier: bool,
    /// What kind of failure it is (`verifier`, `permission`, `kernel_feature`, …).
    pub failure: Failure,
    pub error: String,
    /// What to do about it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    pub reason: Option<String>,
    pub insn: Option<u32>,
    pub source: Option<SourceLine>,
    pub log_tail: Vec<String>,
}

/// A source location: from BTF line_info when the failing instruction maps to one,
/// otherwise from the kernel's `; … @ file:line` log comment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SourceLine {
    pub file: Option<String>,
    pub line: Option<u32>,
    pub text: String,
}

impl Report {
    pub fn all_verified(&self) -> bool {
        self.programs.iter().all(|p| p.rejection.is_none())
    }

    /// `2 of 3 programs rejected by the verifier`, `1 of 1 programs failed to load
    /// (permission denied)`: what went wrong, counted.
    pub fn summary(&self) -> String {
        let failed: Vec<&Rejection> = self
            .programs
            .iter()
            .filter_map(|p| p.rejection.as_ref())
            .collect();
        let n = self.programs.len();
        let rejected = failed
            .iter()
            .filter(|r| r.failure == Failure::Verifier)
            .count();
        let mut kinds: Vec<&str> = failed
            .iter()
            .filter(|r| r.failure != Failure::Verifier)
            .map(|r| r.failure.describe())
            .collect();
        kinds.dedup();
        match (rejected, kinds.is_empty()) {
            (r, true) => format!("{r} of {n} programs rejected by the verifier"),
            (0, false) => format!(
                "{} of {n} programs failed to load ({})",
                failed.len(),
                kinds.join(", ")
            ),
            (r, false) => format!(
                "{r} of {n} programs rejected by the verifier, {} failed to load ({})",
                failed.len() - r,
                kinds.join(", ")
            ),
        }
    }

    pub fn to_text(&self) -> String {
        let width = |f: fn(&ProgResult) -> usize| self.programs.iter().map(f).max().unwrap_or(0);
        let name_w = width(|p| p.name.len());
        let type_w = width(|p| p.prog_type.len());
        let mut s = String::new();
        for p in &self.programs {
            let head = format!("{:<name_w$}  {:<type_w$}", p.name, p.prog_type);
            match &p.rejection {
                None => {
                    let n = p.insns.map_or("?".into(), |n| n.to_string());
                    let _ = writeln!(s, "{head}  {n:>5} insns  verified");
                }
                Some(r) if p.log.is_some() => {
                    // The whole log follows; the tail would repeat its end.
                    let mut r = r.clone();
                    r.log_tail.clear();
                    s.push_str(&r.to_text(&head));
                }
                Some(r) => s.push_str(&r.to_text(&head)),
            }
            if let Some(log) = &p.log {
                let _ = writeln!(s, "  verifier log ({} lines):", log.len());
                for l in log {
                    let _ = writeln!(s, "    {l}");
                }
            }
        }
        s
    }
}

impl ProgResult {
    pub fn new(
        name: String,
        prog_type: String,
        insns: Option<usize>,
        rejection: Option<Rejection>,
    ) -> ProgResult {
        let status = match &rejection {
            None => "verified",
            Some(r) if r.failure == Failure::Verifier => "rejected",
            Some(_) => "failed",
        };
        ProgResult {
            name,
            prog_type,
            insns,
            status,
            rejection,
            log: None,
        }
    }
}

impl Rejection {
    /// The rejection as text, starting with `head` (the program's name and type).
    pub fn to_text(&self, head: &str) -> String {
        let mut s = if self.failure == Failure::Verifier {
            format!(
                "{head}  rejected: {}\n",
                self.reason.as_deref().unwrap_or(&self.error)
            )
        } else {
            format!(
                "{head}  failed to load ({}): {}\n",
                self.failure.describe(),
                self.error
            )
        };
        if let Some(h) = &self.hint {
            let _ = writeln!(s, "  hint: {h}");
        }
        if let Some(src) = &self.source {
            let loc = match (&src.file, src.line) {
                (Some(f), Some(l)) => format!("{f}:{l}"),
                (Some(f), None) => f.clone(),
                _ => "source".into(),
            };
            let _ = write!(s, "  at {loc}: {}", src.text);
            if let Some(i) = self.insn {
                let _ = write!(s, "  (insn {i})");
            }
            s.push('\n');
        }
        if self.verifier && self.reason.is_some() {
            let _ = writeln!(s, "  error: {}", self.error);
        }
        if !self.log_tail.is_empty() {
            let what = if self.verifier {
                "verifier log"
            } else {
                "libbpf"
            };
            let _ = writeln!(s, "  {what} (last {} lines):", self.log_tail.len());
            for l in &self.log_tail {
                let _ = writeln!(s, "    {l}");
            }
        }
        s
    }
}

/// How `verify` loads.
#[derive(Clone, Copy, Debug, Default)]
pub struct VerifyOpts {
    /// Keep each program's whole verifier log (kernel log level 2 and statistics).
    pub log: bool,
    /// Copy libbpf's messages, debug ones included, to stderr.
    pub verbose: bool,
}

/// Kernel verifier log level for `--log`: 2 (every instruction of every path, kept even
/// when the path verifies; level 1 drops each verified path's lines) | 4 (statistics).
const FULL_LOG_LEVEL: u32 = 2 | 4;

/// Loads the whole object first; when that fails, loads each program on its own (the
/// others with autoload off), so one rejection does not hide the verdicts on the rest.
pub fn verify(input: &Input, btf: Option<&Path>, opts: VerifyOpts) -> Result<Report, Error> {
    let model = Object::parse(&input.elf).map_err(|e| Error::object(&input.path, e))?;
    let mut obj = open(input, btf, opts.verbose)?;
    let progs: Vec<(String, String)> = obj
        .progs()
        .map(|p| {
            (
                p.name().to_string_lossy().into_owned(),
                prog_type_name(p.prog_type()),
            )
        })
        .collect();
    if progs.is_empty() {
        return Err(Error::input(&input.path, "the object has no programs"));
    }
    let report = |programs| Report {
        file: input.path.display().to_string(),
        object: input.obj_name.clone(),
        programs,
    };
    let logs_of = |captured: &str, name: &str| {
        opts.log.then(|| {
            prog_logs(captured)
                .into_iter()
                .filter(|l| l.prog == name)
                .flat_map(|l| l.log.lines().map(str::to_string).collect::<Vec<_>>())
                .collect::<Vec<String>>()
        })
    };
    if opts.log {
        for mut p in obj.progs_mut() {
            p.set_log_level(FULL_LOG_LEVEL);
        }
    }
    let cap = Capture::with(opts.log, opts.verbose);
    let all = obj.load();
    let captured = cap.take();
    drop(cap);
    if let Ok(loaded) = all {
        let results = progs
            .into_iter()
            .map(|(name, prog_type)| {
                let insns = insn_count(&loaded, &name);
                let mut r = ProgResult::new(name, prog_type, insns, None);
                r.log = logs_of(&captured, &r.name);
                r
            })
            .collect();
        return Ok(report(results));
    }
    let mut results = Vec::new();
    for (name, prog_type) in progs {
        let mut obj = open(input, btf, opts.verbose)?;
        for mut p in obj.progs_mut() {
            let me = p.name().to_string_lossy() == name.as_str();
            p.set_autoload(me);
            if opts.log {
                p.set_log_level(FULL_LOG_LEVEL);
            }
        }
        let cap = Capture::with(opts.log, opts.verbose);
        let loaded = obj.load();
        let captured = cap.take();
        drop(cap);
        let (insns, rejection) = match loaded {
            Ok(o) => (insn_count(&o, &name), None),
            Err(e) => (None, Some(rejection(&model, &name, &e, &captured))),
        };
        let mut r = ProgResult::new(name, prog_type, insns, rejection);
        r.log = logs_of(&captured, &r.name);
        results.push(r);
    }
    Ok(report(results))
}

fn insn_count(obj: &libbpf_rs::Object, name: &str) -> Option<usize> {
    obj.progs()
        .find(|p| p.name().to_string_lossy() == name)
        .map(|p| p.insn_cnt())
}

/// Builds the rejection report for `prog` from libbpf's error and captured output.
pub fn rejection(
    model: &Object<'_>,
    prog: &str,
    err: &libbpf_rs::Error,
    captured: &str,
) -> Rejection {
    let logs = prog_logs(captured);
    let log = logs
        .iter()
        .find(|l| l.prog == prog)
        .map_or("", |l| l.log.as_str());
    let a = analyze(log);
    let source = a
        .insn
        .and_then(|i| source_line(model, prog, i))
        .or_else(|| {
            a.log_source.map(|s| SourceLine {
                file: s.file,
                line: s.line,
                text: s.text,
            })
        });
    let all = libbpf_messages(captured);
    let mut error = format!("{err:#}");
    let failure = classify(&error, &all, log);
    let msgs = useful_messages(failure, &all);
    let verifier = !log.trim().is_empty();
    let log_tail = if !verifier {
        // No verifier log (EPERM, a map libbpf could not create, …): libbpf's words instead.
        if let Some(last) = msgs.last() {
            let _ = write!(error, " ({last})");
        }
        msgs[msgs.len().saturating_sub(LOG_TAIL)..].to_vec()
    } else {
        tail(log, LOG_TAIL)
    };
    Rejection {
        verifier,
        failure,
        error,
        hint: failure.hint(is_root()).map(str::to_string),
        reason: a.reason,
        insn: a.insn,
        source,
        log_tail,
    }
}

pub(crate) fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// Maps instruction `insn` of `prog` to its BTF line_info record. Only instructions of the
/// program's own body map this way: libbpf appends called subprograms after it.
pub fn source_line(model: &Object<'_>, prog: &str, insn: u32) -> Option<SourceLine> {
    let p = model.programs.iter().find(|p| p.name == prog)?;
    if u64::from(insn) >= p.insn_count {
        return None;
    }
    let byte = p.offset + u64::from(insn) * 8;
    let btf = &model.btf;
    let best = model
        .ext
        .as_ref()?
        .line_info
        .sections()
        .filter(|s| btf.str_at(s.sec_name_off) == Some(p.section.as_str()))
        .flat_map(|s| s.line_infos().collect::<Vec<_>>())
        .filter(|l| (p.offset..=byte).contains(&u64::from(l.insn_off)))
        .max_by_key(|l| l.insn_off)?;
    Some(SourceLine {
        file: btf.str_at(best.file_name_off).map(str::to_string),
        line: Some(best.line),
        text: btf.str_at(best.line_off).unwrap_or("").trim().to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_instructions_to_source_lines() {
        let data = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/testdata/err_unbounded.bpf.o"
        ))
        .unwrap();
        let obj = Object::parse(&data).unwrap();
        // Instruction 15 is the load the verifier rejects (see vlog's test log).
        let s = source_line(&obj, "handle_exec", 15).unwrap();
        assert_eq!(s.line, Some(31));
        assert_eq!(s.text, "c->slots[idx] += 1;");
        assert!(s.file.unwrap().ends_with("err_unbounded.bpf.c"));
        // Instruction 0 maps to the function's own line, 2 to the pid read.
        let entry = source_line(&obj, "handle_exec", 0).unwrap();
        assert_eq!(
            (entry.line, entry.text.as_str()),
            (Some(21), "int handle_exec(void *ctx)")
        );
        assert_eq!(source_line(&obj, "handle_exec", 2).unwrap().line, Some(24));
        assert_eq!(source_line(&obj, "handle_exec", 10_000), None);
        assert_eq!(source_line(&obj, "nope", 0), None);
    }

    #[test]
    fn failures_without_a_verifier_log_are_not_rejections() {
        let data =
            std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/hist.bpf.o")).unwrap();
        let obj = Object::parse(&data).unwrap();
        let err = libbpf_rs::Error::from(std::io::Error::from_raw_os_error(1));
        let captured = "libbpf: Error in bpf_object__probe_loading(): -EPERM. Couldn't load trivial BPF program. Make sure your kernel supports BPF (CONFIG_BPF_SYSCALL=y) and/or that RLIMIT_MEMLOCK is set to big enough value.\n";
        let r = rejection(&obj, "handle_exec", &err, captured);
        assert!(!r.verifier);
        assert_eq!(r.failure, Failure::Permission);
        // libbpf's RLIMIT_MEMLOCK advice is replaced by the capability hint.
        assert_eq!(r.error, "Operation not permitted (os error 1)");
        // The hint depends on who runs the test: root gets the lockdown/LSM one.
        // SAFETY: geteuid has no preconditions.
        let root = unsafe { libc::geteuid() } == 0;
        assert_eq!(r.hint, Failure::Permission.hint(root).map(str::to_string));
        let p = ProgResult::new("handle_exec".into(), "tracepoint".into(), None, Some(r));
        assert_eq!(p.status, "failed");
        let text = p
            .rejection
            .as_ref()
            .unwrap()
            .to_text("handle_exec  tracepoint");
        assert!(
            text.starts_with(
                "handle_exec  tracepoint  failed to load (permission denied): Operation not permitted"
            ),
            "{text}"
        );
        assert!(text.contains("\n  hint: "), "{text}");
        assert!(!text.contains("RLIMIT_MEMLOCK"), "{text}");
    }

    #[test]
    fn text_report() {
        let r = Report {
            file: "x.bpf.o".into(),
            object: "x_bpf".into(),
            programs: vec![
                ProgResult {
                    name: "a".into(),
                    prog_type: "tracepoint".into(),
                    insns: Some(12),
                    status: "verified",
                    rejection: None,
                    log: None,
                },
                ProgResult {
                    name: "long_name".into(),
                    prog_type: "xdp".into(),
                    insns: None,
                    status: "rejected",
                    rejection: Some(Rejection {
                        verifier: true,
                        failure: Failure::Verifier,
                        error: "Permission denied (os error 13)".into(),
                        hint: None,
                        reason: Some("R0 invalid mem access 'scalar'".into()),
                        insn: Some(3),
                        source: Some(SourceLine {
                            file: Some("x.bpf.c".into()),
                            line: Some(9),
                            text: "return *p;".into(),
                        }),
                        log_tail: vec!["3: (61) r0 = *(u32 *)(r1 +0)".into()],
                    }),
                    log: None,
                },
            ],
        };
        assert!(!r.all_verified());
        assert_eq!(
            r.to_text(),
            "a          tracepoint     12 insns  verified
long_name  xdp         rejected: R0 invalid mem access 'scalar'
  at x.bpf.c:9: return *p;  (insn 3)
  error: Permission denied (os error 13)
  verifier log (last 1 lines):
    3: (61) r0 = *(u32 *)(r1 +0)
"
        );
        let j: serde_json::Value = serde_json::to_value(&r).unwrap();
        assert_eq!(j["programs"][0]["status"], "verified");
        assert_eq!(j["programs"][0]["insns"], 12);
        assert_eq!(j["programs"][1]["source"]["line"], 9);
        assert_eq!(j["programs"][1]["reason"], "R0 invalid mem access 'scalar'");
    }
}
