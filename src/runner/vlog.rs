//! Reading libbpf's messages and the kernel verifier's log. Pure text in, facts out.

/// One program's verifier log, as libbpf printed it after a failed load.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProgLog {
    pub prog: String,
    pub log: String,
}

const BEGIN: &str = "': -- BEGIN PROG LOAD LOG --\n";
const END: &str = "-- END PROG LOAD LOG --";

/// The verifier logs inside captured libbpf output
/// (`libbpf: prog 'NAME': -- BEGIN PROG LOAD LOG --\n…-- END PROG LOAD LOG --`).
pub fn prog_logs(captured: &str) -> Vec<ProgLog> {
    let mut out = Vec::new();
    let mut rest = captured;
    while let Some(b) = rest.find(BEGIN) {
        let head = &rest[..b];
        let prog = head
            .rfind("prog '")
            .map(|p| head[p + 6..].to_string())
            .unwrap_or_default();
        let body = &rest[b + BEGIN.len()..];
        let (log, next) = match body.find(END) {
            Some(e) => (&body[..e], &body[e + END.len()..]),
            None => (body, ""),
        };
        out.push(ProgLog {
            prog,
            log: log.to_string(),
        });
        rest = next;
    }
    out
}

/// libbpf's own messages (outside verifier logs), one per line, without the `libbpf: ` prefix.
pub fn libbpf_messages(captured: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = captured;
    loop {
        let (before, after) = match rest.find(BEGIN) {
            Some(b) => {
                let body = &rest[b + BEGIN.len()..];
                let next = body.find(END).map_or("", |e| &body[e + END.len()..]);
                // Drop the "prog 'X" fragment that introduced the log.
                let head = &rest[..b];
                let head = head.rfind("prog '").map_or(head, |p| &head[..p]);
                (head, Some(next))
            }
            None => (rest, None),
        };
        for line in before.lines() {
            let line = line.trim();
            let line = line.strip_prefix("libbpf:").unwrap_or(line).trim();
            if !line.is_empty() {
                out.push(line.to_string());
            }
        }
        match after {
            Some(next) => rest = next,
            None => return out,
        }
    }
}

/// What a verifier log says about the rejection.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Analysis {
    /// Index of the last instruction the verifier looked at: the one it rejected.
    pub insn: Option<u32>,
    /// The verifier's message after that instruction (`R0 unbounded memory access, …`).
    pub reason: Option<String>,
    /// The last `; source @ file:line` comment the kernel printed before the failing insn.
    pub log_source: Option<LogSource>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogSource {
    pub text: String,
    pub file: Option<String>,
    pub line: Option<u32>,
}

/// Instruction lines look like `15: (79) r1 = *(u64 *)(r0 +0)`; libbpf rewrites an
/// instruction it poisoned (a CO-RE relocation it could not resolve) as
/// `141: <invalid CO-RE relocation>`.
fn insn_index(line: &str) -> Option<u32> {
    let (num, rest) = line.split_once(": ")?;
    if num.is_empty() || !num.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let opcode = rest.starts_with('(') && rest.get(3..4) == Some(")");
    let poisoned = rest.starts_with('<') && rest.ends_with('>');
    (opcode || poisoned).then(|| num.parse().ok()).flatten()
}

/// Lines the verifier appends after its verdict that are statistics, not the reason.
fn is_stats(line: &str) -> bool {
    line.starts_with("processed ")
        || line.starts_with("verification time")
        || line.starts_with("stack depth")
        || line.starts_with("max_states_per_insn")
        || line.starts_with("-- ")
}

pub fn analyze(log: &str) -> Analysis {
    let lines: Vec<&str> = log.lines().map(str::trim_end).collect();
    let last_insn = lines.iter().rposition(|l| insn_index(l).is_some());
    let insn = last_insn.and_then(|i| insn_index(lines[i]));
    let after = last_insn.map_or(0, |i| i + 1);
    let reason = lines[after..]
        .iter()
        .find(|l| !l.is_empty() && !is_stats(l) && !l.starts_with(';'))
        .or_else(|| {
            lines
                .iter()
                .rev()
                .find(|l| !l.is_empty() && !is_stats(l) && !l.starts_with(';'))
        })
        .map(|l| l.trim().to_string());
    let log_source = lines[..last_insn.unwrap_or(lines.len())]
        .iter()
        .rev()
        .find_map(|l| l.strip_prefix(';'))
        .map(parse_source_comment);
    Analysis {
        insn,
        reason,
        log_source,
    }
}

/// `; c->slots[idx] += 1; @ err_unbounded.bpf.c:31` (the ` @ file:line` part is only
/// printed by newer kernels).
fn parse_source_comment(c: &str) -> LogSource {
    let c = c.trim();
    if let Some((text, loc)) = c.rsplit_once(" @ ") {
        if let Some((file, line)) = loc.rsplit_once(':') {
            if let Ok(n) = line.trim().parse() {
                return LogSource {
                    text: text.trim().to_string(),
                    file: Some(file.to_string()),
                    line: Some(n),
                };
            }
        }
    }
    let (text, file) = match c.strip_prefix('@') {
        Some(rest) => ("", rest.rsplit_once(':').map(|(f, _)| f.trim().to_string())),
        None => (c, None),
    };
    LogSource {
        text: text.to_string(),
        file,
        line: None,
    }
}

/// The last `n` non-empty lines of a log.
pub fn tail(log: &str, n: usize) -> Vec<String> {
    let lines: Vec<&str> = log
        .lines()
        .map(str::trim_end)
        .filter(|l| !l.is_empty())
        .collect();
    lines[lines.len().saturating_sub(n)..]
        .iter()
        .map(|s| s.to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    // Shaped like what kernel 6.18 prints for testdata/err_unbounded.bpf.c.
    const LOG: &str = "0: R1=ctx() R10=fp0
; __u32 idx = bpf_get_current_pid_tgid() >> 32; @ err_unbounded.bpf.c:24
0: (85) call bpf_get_current_pid_tgid#14      ; R0_w=scalar()
; c->slots[idx] += 1; @ err_unbounded.bpf.c:31
14: (0f) r0 += r6                     ; R0=map_value(map=counts,ks=4,vs=128)
15: (79) r1 = *(u64 *)(r0 +0)
R0 unbounded memory access, make sure to bounds check any such access
processed 14 insns (limit 1000000) max_states_per_insn 0 total_states 1 peak_states 1 mark_read 0
";

    #[test]
    fn finds_insn_reason_and_source() {
        let a = analyze(LOG);
        assert_eq!(a.insn, Some(15));
        assert_eq!(
            a.reason.as_deref(),
            Some("R0 unbounded memory access, make sure to bounds check any such access")
        );
        assert_eq!(
            a.log_source,
            Some(LogSource {
                text: "c->slots[idx] += 1;".into(),
                file: Some("err_unbounded.bpf.c".into()),
                line: Some(31)
            })
        );
    }

    #[test]
    fn reason_without_instructions() {
        let a = analyze("invalid func unknown#195896080\nprocessed 0 insns\n");
        assert_eq!(a.insn, None);
        assert_eq!(a.reason.as_deref(), Some("invalid func unknown#195896080"));
        assert_eq!(analyze("").reason, None);
    }

    #[test]
    fn old_kernels_print_no_location() {
        let a = analyze("; x = y;\n3: (61) r1 = *(u32 *)(r2 +0)\nR2 invalid mem access 'scalar'\n");
        assert_eq!(a.insn, Some(3));
        let s = a.log_source.unwrap();
        assert_eq!((s.text.as_str(), s.file, s.line), ("x = y;", None, None));
    }

    #[test]
    fn splits_libbpf_output() {
        let cap = format!(
            "libbpf: map 'counts': created\nlibbpf: prog 'handle_exec': BPF program load failed: Permission denied\nlibbpf: prog 'handle_exec': -- BEGIN PROG LOAD LOG --\n{LOG}-- END PROG LOAD LOG --\nlibbpf: prog 'handle_exec': failed to load: -13\n"
        );
        let logs = prog_logs(&cap);
        assert_eq!(logs.len(), 1);
        assert_eq!(logs[0].prog, "handle_exec");
        assert_eq!(logs[0].log, LOG);
        assert_eq!(
            libbpf_messages(&cap),
            [
                "map 'counts': created",
                "prog 'handle_exec': BPF program load failed: Permission denied",
                "prog 'handle_exec': failed to load: -13"
            ]
        );
        assert_eq!(tail(LOG, 2).len(), 2);
        assert!(tail(LOG, 2)[1].starts_with("processed 14 insns"));
        assert_eq!(tail("a\n\nb\n", 10), ["a", "b"]);
    }

    #[test]
    fn unresolved_core_relocations() {
        let log = "140: (63) *(u32 *)(r7 +0) = r1        ; R1=scalar()
141: <invalid CO-RE relocation>
failed to resolve CO-RE relocation <byte_off> [34] struct task_struct.real_parent (0:95 @ offset 1280)
processed 40 insns (limit 1000000) max_states_per_insn 0 total_states 4 peak_states 4 mark_read 0
";
        let a = analyze(log);
        assert_eq!(a.insn, Some(141));
        assert_eq!(
            a.reason.as_deref(),
            Some("failed to resolve CO-RE relocation <byte_off> [34] struct task_struct.real_parent (0:95 @ offset 1280)")
        );
    }

    #[test]
    fn instruction_lines_only() {
        assert_eq!(insn_index("15: (79) r1 = *(u64 *)(r0 +0)"), Some(15));
        assert_eq!(insn_index("0: R1=ctx() R10=fp0"), None);
        assert_eq!(insn_index("from 4 to 6: (b7) r0 = 0"), None);
        assert_eq!(insn_index("R0: (ab) x"), None);
        assert_eq!(insn_index("7: <invalid CO-RE relocation>"), Some(7));
        assert_eq!(insn_index("7: R1=ctx()"), None);
    }
}
