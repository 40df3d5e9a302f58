//! Why a load failed, in the user's terms: the verifier said no, the process may not load
//! BPF, the kernel lacks a program type, map type or helper, or the object itself is bad.
//! Pure: libbpf's error text and captured messages in, a class, a hint and names out.

use libc::{E2BIG, EACCES, EINVAL, EOPNOTSUPP, EPERM};
use serde::Serialize;

/// The kinds of load failure, each with what to do about it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Failure {
    /// The kernel verifier rejected a program (there is a verifier log).
    Verifier,
    /// EPERM/EACCES without a verifier log: not allowed to load BPF.
    Permission,
    /// EINVAL/ENOTSUPP/EOPNOTSUPP/E2BIG on a map or program type, or a helper the kernel
    /// does not have.
    KernelFeature,
    /// The object cannot be loaded as it is: bad ELF/BTF, failed relocations.
    BadObject,
    /// Anything else (out of memory, …).
    Other,
}

/// The kernel's internal "not supported" (include/linux/errno.h), which user space sees as
/// it is; libc has no name for it.
const ENOTSUPP: i32 = 524;

impl Failure {
    pub fn describe(self) -> &'static str {
        match self {
            Failure::Verifier => "rejected by the verifier",
            Failure::Permission => "permission denied",
            Failure::KernelFeature => "not supported by this kernel",
            Failure::BadObject => "bad object",
            Failure::Other => "load failed",
        }
    }

    /// What to do about it, when there is something to say. `root`: running as uid 0.
    pub fn hint(self, root: bool) -> Option<&'static str> {
        match (self, root) {
            (Failure::Permission, false) => Some(
                "loading BPF programs needs root, or CAP_BPF and CAP_PERFMON \
                 (plus CAP_NET_ADMIN for XDP and tc); run it with sudo",
            ),
            (Failure::Permission, true) => Some(
                "even root may not load it: kernel lockdown, a seccomp filter or an LSM \
                 policy forbids this program type or helper",
            ),
            (Failure::KernelFeature, _) => Some(
                "the running kernel lacks a program type, map type, helper or size this \
                 object uses (a newer kernel, or a build option, may have it)",
            ),
            (Failure::BadObject, _) => Some(
                "the object does not match this kernel or is malformed; rebuild it, \
                 or pass --btf for a kernel without BTF",
            ),
            _ => None,
        }
    }
}

/// The errno in a formatted error (`... (os error 1)`).
pub fn errno_of(error: &str) -> Option<i32> {
    let at = error.rfind("(os error ")?;
    error[at + 10..].split(')').next()?.trim().parse().ok()
}

/// Classifies a failed load from libbpf's error text, its messages (outside verifier logs)
/// and the verifier log of the failing program (empty when there is none).
pub fn classify(error: &str, messages: &[String], verifier_log: &str) -> Failure {
    let errno = errno_of(error);
    let said = |words: &[&str]| messages.iter().any(|m| words.iter().any(|w| m.contains(w)));
    if !verifier_log.trim().is_empty() {
        // A helper the kernel does not know is a missing feature, not a program bug.
        let helper = ["unknown func ", "invalid func unknown#", "unknown helper"];
        if helper.iter().any(|h| verifier_log.contains(h)) {
            return Failure::KernelFeature;
        }
        return Failure::Verifier;
    }
    if said(&[
        "failed to relocate",
        "relocation against",
        "Error loading ELF",
        "invalid BTF",
        "Error loading BTF",
        "failed to find BTF",
        "CO-RE relocating",
    ]) {
        return Failure::BadObject;
    }
    match errno {
        Some(EPERM | EACCES) => Failure::Permission,
        Some(EINVAL | EOPNOTSUPP | ENOTSUPP | E2BIG) => Failure::KernelFeature,
        _ if error.contains("Invalid data") || error.contains("invalid data") => Failure::BadObject,
        _ => Failure::Other,
    }
}

/// The program and the map the messages name (`prog 'x': …`, `map 'y': …`), the last of
/// each: libbpf names what it was working on when it failed.
pub fn named(messages: &[String]) -> (Option<String>, Option<String>) {
    let find = |tag: &str| {
        messages.iter().rev().find_map(|m| {
            let at = m.find(tag)?;
            let rest = &m[at + tag.len()..];
            rest.split('\'').next().map(str::to_string)
        })
    };
    (find("prog '"), find("map '"))
}

/// libbpf's messages without the ones a classified failure replaces (the RLIMIT_MEMLOCK
/// advice on EPERM is wrong on kernels that account BPF memory to cgroups).
pub fn useful_messages(class: Failure, messages: &[String]) -> Vec<String> {
    messages
        .iter()
        .filter(|m| {
            class != Failure::Permission
                || !(m.contains("RLIMIT_MEMLOCK") || m.contains("ulimit -l"))
        })
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::testing::strings as msgs;

    #[test]
    fn classes() {
        let probe = msgs(&["Error in bpf_object__probe_loading(): -EPERM. Couldn't load trivial BPF program. Make sure your kernel supports BPF (CONFIG_BPF_SYSCALL=y) and/or that RLIMIT_MEMLOCK is set to big enough value."]);
        let eperm = "Operation not permitted (os error 1)";
        assert_eq!(classify(eperm, &probe, ""), Failure::Permission);
        assert!(useful_messages(Failure::Permission, &probe).is_empty());
        assert_eq!(
            classify(
                "Permission denied (os error 13)",
                &[],
                "0: (b7) r0 = 0\nR1 invalid mem access\n"
            ),
            Failure::Verifier
        );
        let map = msgs(&["map 'big': failed to create: Invalid argument(-22)"]);
        assert_eq!(
            classify("Invalid argument (os error 22)", &map, ""),
            Failure::KernelFeature
        );
        assert_eq!(named(&map), (None, Some("big".into())));
        assert_eq!(
            classify(
                "Invalid argument (os error 22)",
                &[],
                "0: (85) call unknown#999\ninvalid func unknown#999\n"
            ),
            Failure::KernelFeature
        );
        assert_eq!(
            classify("Unknown error 524 (os error 524)", &[], ""),
            Failure::KernelFeature
        );
        let reloc = msgs(&["prog 'p': failed to relocate calls: -22"]);
        assert_eq!(
            classify("Invalid argument (os error 22)", &reloc, ""),
            Failure::BadObject
        );
        assert_eq!(named(&reloc), (Some("p".into()), None));
        assert_eq!(
            classify("Cannot allocate memory (os error 12)", &[], ""),
            Failure::Other
        );
        assert_eq!(errno_of("x (os error 524)"), Some(524));
        assert_eq!(errno_of("no errno"), None);
        assert!(Failure::Permission.hint(false).unwrap().contains("CAP_BPF"));
    }
}
