//! Attaching programs as the eunomia runtime does: XDP to an interface (`@ifindex`, else
//! `lo`), tc to a clsact hook (`@tchook`/`@tcopts`, else ingress on `lo`), cgroup and sockops
//! programs to a cgroup, socket filters to a raw socket on an interface, everything else by
//! libbpf's auto-attach from the section name.
//!
//! Every attachment is owned by a value whose drop detaches it: XDP goes through a BPF link
//! (so even a killed `ecc run` leaves nothing on the interface), tc filters are detached and
//! a clsact qdisc we created is removed again.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use libbpf_rs::{Link, ProgramType, TcHook, TcHookBuilder, TC_EGRESS, TC_INGRESS};
use serde_json::{Map, Value};

/// The runner's overrides (`--ifindex`/`--ifname`, `--cgroup`).
#[derive(Clone, Debug, Default)]
pub struct Target {
    pub ifindex: Option<u32>,
    pub cgroup: Option<PathBuf>,
}

/// The runtime's defaults: interface 1 (`lo`), the cgroup v2 root.
pub const DEFAULT_IFINDEX: u32 = 1;
pub const DEFAULT_CGROUP: &str = "/sys/fs/cgroup";

/// The cgroup v2 root: /sys/fs/cgroup, or /sys/fs/cgroup/unified on a hybrid (v1 + v2)
/// machine. Only a v2 root has `cgroup.controllers`.
pub fn default_cgroup() -> PathBuf {
    ["/sys/fs/cgroup", "/sys/fs/cgroup/unified"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.join("cgroup.controllers").exists())
        .unwrap_or_else(|| PathBuf::from(DEFAULT_CGROUP))
}

/// How one program is attached, decided from its type and doc tags before any kernel work.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Plan {
    /// libbpf's auto-attach from the section name (tracepoints, kprobes, …).
    Auto,
    Xdp {
        ifindex: u32,
        flags: u32,
    },
    Tc {
        ifindex: u32,
        egress: bool,
        handle: u32,
        priority: u32,
    },
    Cgroup {
        path: PathBuf,
    },
    SocketFilter {
        ifindex: u32,
    },
}

/// XDP modes a link accepts (SKB, DRV, HW); a link already refuses to replace a program.
const XDP_FLAGS_MODES: u32 = 0b1110;

fn u32_tag(tags: &Map<String, Value>, obj: Option<&str>, key: &str) -> Result<Option<u32>, String> {
    let v = match obj {
        Some(o) => tags.get(o).and_then(|t| t.get(key)),
        None => tags.get(key),
    };
    let what = || obj.map_or(format!("@{key}"), |o| format!("@{o}.{key}"));
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_u64()
            .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
            .and_then(|n| u32::try_from(n).ok())
            .map(Some)
            .ok_or_else(|| format!("{}: expected an unsigned 32-bit number, not {v}", what())),
    }
}

/// Decides how to attach a program of type `t` with doc tags `tags`.
pub fn plan(t: ProgramType, tags: &Map<String, Value>, target: &Target) -> Result<Plan, String> {
    use ProgramType as P;
    let ifindex = |from_tags: Option<u32>| target.ifindex.or(from_tags).unwrap_or(DEFAULT_IFINDEX);
    Ok(match t {
        P::Xdp => Plan::Xdp {
            ifindex: ifindex(u32_tag(tags, None, "ifindex")?),
            flags: u32_tag(tags, None, "flags")?.unwrap_or(0) & XDP_FLAGS_MODES,
        },
        P::SchedCls | P::SchedAct => {
            let egress = match tags.get("tchook").and_then(|h| h.get("attach_point")) {
                None => false,
                Some(Value::String(s)) if s == "BPF_TC_INGRESS" => false,
                Some(Value::String(s)) if s == "BPF_TC_EGRESS" => true,
                Some(other) => {
                    return Err(format!(
                    "@tchook.attach_point: expected BPF_TC_INGRESS or BPF_TC_EGRESS, not {other}"
                ))
                }
            };
            Plan::Tc {
                ifindex: ifindex(u32_tag(tags, Some("tchook"), "ifindex")?),
                egress,
                handle: u32_tag(tags, Some("tcopts"), "handle")?.unwrap_or(1),
                priority: u32_tag(tags, Some("tcopts"), "priority")?.unwrap_or(1),
            }
        }
        P::SocketFilter => Plan::SocketFilter {
            ifindex: ifindex(u32_tag(tags, None, "ifindex")?),
        },
        P::CgroupSkb
        | P::CgroupSock
        | P::CgroupSockAddr
        | P::SockOps
        | P::CgroupDevice
        | P::CgroupSysctl
        | P::CgroupSockopt => Plan::Cgroup {
            path: target.cgroup.clone().unwrap_or_else(default_cgroup),
        },
        _ => Plan::Auto,
    })
}

/// The interface's name for messages (`lo`), from sysfs.
pub fn ifname(ifindex: u32) -> Option<String> {
    std::fs::read_dir("/sys/class/net").ok()?.find_map(|e| {
        let e = e.ok()?;
        let idx = std::fs::read_to_string(e.path().join("ifindex")).ok()?;
        (idx.trim().parse::<u32>().ok()? == ifindex).then(|| e.file_name().to_string_lossy().into())
    })
}

/// `--ifname NAME` to an index, from sysfs.
pub fn ifindex_of(name: &str) -> Result<u32, String> {
    if name.is_empty() || name.contains('/') || name.starts_with('.') {
        return Err(format!("'{name}' is not an interface name"));
    }
    let p = Path::new("/sys/class/net").join(name).join("ifindex");
    std::fs::read_to_string(&p)
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .ok_or_else(|| format!("no network interface named '{name}'"))
}

impl Plan {
    /// Where the program goes, for the status line.
    pub fn describe(&self) -> String {
        let iface = |i: &u32| match ifname(*i) {
            Some(n) => format!("{n} (ifindex {i})"),
            None => format!("ifindex {i}"),
        };
        match self {
            Plan::Auto => "by section".into(),
            Plan::Xdp { ifindex, .. } => format!("xdp on {}", iface(ifindex)),
            Plan::Tc {
                ifindex, egress, ..
            } => format!(
                "tc {} on {}",
                if *egress { "egress" } else { "ingress" },
                iface(ifindex)
            ),
            Plan::Cgroup { path } => format!("cgroup {}", path.display()),
            Plan::SocketFilter { ifindex } => format!("socket on {}", iface(ifindex)),
        }
    }
}

/// An attached program; dropping it detaches.
pub enum Attachment {
    Link(Link),
    /// A BPF link fd (XDP) or the raw socket a filter sits on: closing detaches.
    Fd(OwnedFd),
    Tc(TcAttachment),
    /// The cgroup directory stays open as long as the link needs it.
    Cgroup(Link, OwnedFd),
}

pub struct TcAttachment {
    hook: TcHook,
    /// The clsact qdisc, when we created it (and so remove it again).
    qdisc: Option<TcHook>,
}

impl Drop for TcAttachment {
    fn drop(&mut self) {
        let _ = self.hook.detach();
        if let Some(q) = &mut self.qdisc {
            let _ = q.destroy();
        }
    }
}

fn os_err(what: &str, e: std::io::Error) -> String {
    format!("{what}: {e}")
}

/// Attaches a loaded program by `plan`.
pub fn attach(prog: &libbpf_rs::ProgramMut<'_>, plan: &Plan) -> Result<Attachment, String> {
    let fd = prog.as_fd();
    match plan {
        Plan::Auto => prog
            .attach()
            .map(Attachment::Link)
            .map_err(|e| format!("{e:#}")),
        Plan::Xdp { ifindex, flags } => xdp_link(fd, *ifindex, *flags).map(Attachment::Fd),
        Plan::Tc {
            ifindex,
            egress,
            handle,
            priority,
        } => tc(fd, *ifindex, *egress, *handle, *priority).map(Attachment::Tc),
        Plan::Cgroup { path } => {
            let dir = std::fs::File::open(path)
                .map_err(|e| os_err(&format!("opening cgroup {}", path.display()), e))?;
            let link = prog
                .attach_cgroup(dir.as_raw_fd())
                .map_err(|e| format!("{e:#}"))?;
            Ok(Attachment::Cgroup(link, OwnedFd::from(dir)))
        }
        Plan::SocketFilter { ifindex } => socket_filter(fd, *ifindex).map(Attachment::Fd),
    }
}

fn ifindex_i32(ifindex: u32) -> Result<i32, String> {
    i32::try_from(ifindex).map_err(|_| format!("ifindex {ifindex} is out of range"))
}

/// XDP through a BPF link: the kernel detaches it when the last fd closes, whatever happens
/// to this process.
fn xdp_link(fd: BorrowedFd<'_>, ifindex: u32, flags: u32) -> Result<OwnedFd, String> {
    let target = ifindex_i32(ifindex)?;
    // SAFETY: a zeroed opts struct is valid for libbpf once `sz` is set.
    let mut opts: libbpf_rs::libbpf_sys::bpf_link_create_opts = unsafe { std::mem::zeroed() };
    opts.sz = std::mem::size_of::<libbpf_rs::libbpf_sys::bpf_link_create_opts>() as _;
    opts.flags = flags;
    // SAFETY: plain syscall wrapper; `opts` outlives the call.
    let rc = unsafe {
        libbpf_rs::libbpf_sys::bpf_link_create(
            fd.as_raw_fd(),
            target,
            libbpf_rs::libbpf_sys::BPF_XDP,
            &opts,
        )
    };
    if rc < 0 {
        let e = std::io::Error::from_raw_os_error(-rc);
        let hint = if rc == -libc::EBUSY || rc == -libc::EEXIST {
            " (another XDP program is attached to this interface)"
        } else {
            ""
        };
        return Err(format!("creating an XDP link: {e}{hint}"));
    }
    // SAFETY: a non-negative return is a new fd that we now own.
    Ok(unsafe { OwnedFd::from_raw_fd(rc) })
}

fn tc(
    fd: BorrowedFd<'_>,
    ifindex: u32,
    egress: bool,
    handle: u32,
    priority: u32,
) -> Result<TcAttachment, String> {
    let ifindex = ifindex_i32(ifindex)?;
    let mut b = TcHookBuilder::new(fd);
    b.ifindex(ifindex).handle(handle).priority(priority);
    // Create the clsact qdisc ourselves to learn whether it was already there.
    let mut qdisc = b.hook(TC_INGRESS | TC_EGRESS);
    let created = {
        let mut h = libbpf_rs::libbpf_sys::bpf_tc_hook {
            sz: std::mem::size_of::<libbpf_rs::libbpf_sys::bpf_tc_hook>() as _,
            ifindex,
            attach_point: libbpf_rs::libbpf_sys::BPF_TC_INGRESS,
            ..Default::default()
        };
        // SAFETY: `h` is a valid, sized hook description that lives through the call.
        let rc = unsafe { libbpf_rs::libbpf_sys::bpf_tc_hook_create(&mut h) };
        match rc {
            0 => true,
            rc if rc == -libc::EEXIST => false,
            rc => {
                return Err(os_err(
                    "creating the clsact qdisc",
                    std::io::Error::from_raw_os_error(-rc),
                ))
            }
        }
    };
    let mut hook = b.hook(if egress { TC_EGRESS } else { TC_INGRESS });
    match hook.attach() {
        Ok(_) => Ok(TcAttachment {
            hook,
            qdisc: created.then_some(qdisc),
        }),
        Err(e) => {
            if created {
                let _ = qdisc.destroy();
            }
            let hint = if e.kind() == libbpf_rs::ErrorKind::AlreadyExists {
                " (a filter with this handle and priority exists; set others with @tcopts)"
            } else {
                ""
            };
            Err(format!("attaching the tc filter: {e:#}{hint}"))
        }
    }
}

/// A raw packet socket bound to the interface, with the program as its filter.
fn socket_filter(fd: BorrowedFd<'_>, ifindex: u32) -> Result<OwnedFd, String> {
    let proto = (libc::ETH_P_ALL as u16).to_be();
    // SAFETY: plain socket(2); the fd is owned right after.
    let s = unsafe {
        libc::socket(
            libc::AF_PACKET,
            libc::SOCK_RAW | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            i32::from(proto),
        )
    };
    if s < 0 {
        return Err(os_err(
            "opening a packet socket",
            std::io::Error::last_os_error(),
        ));
    }
    // SAFETY: `s` is a new fd nobody else owns.
    let sock = unsafe { OwnedFd::from_raw_fd(s) };
    // SAFETY: a zeroed sockaddr_ll is valid; the fields set are plain integers.
    let mut addr: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
    addr.sll_family = libc::AF_PACKET as u16;
    addr.sll_protocol = proto;
    addr.sll_ifindex = ifindex_i32(ifindex)?;
    // SAFETY: `addr` is a valid sockaddr_ll of the size given.
    let rc = unsafe {
        libc::bind(
            sock.as_raw_fd(),
            std::ptr::addr_of!(addr).cast(),
            std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
        )
    };
    if rc != 0 {
        return Err(os_err(
            &format!("binding a packet socket to ifindex {ifindex}"),
            std::io::Error::last_os_error(),
        ));
    }
    let prog_fd: libc::c_int = fd.as_raw_fd();
    // SAFETY: SO_ATTACH_BPF takes the program fd as an int.
    let rc = unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_ATTACH_BPF,
            std::ptr::addr_of!(prog_fd).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc != 0 {
        return Err(os_err(
            "attaching the socket filter",
            std::io::Error::last_os_error(),
        ));
    }
    Ok(sock)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn tags(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn plans_follow_the_runtime_defaults_and_tags() {
        let none = Target::default();
        assert_eq!(
            plan(ProgramType::Xdp, &Map::new(), &none).unwrap(),
            Plan::Xdp {
                ifindex: 1,
                flags: 0
            }
        );
        assert_eq!(
            plan(
                ProgramType::Xdp,
                &tags(json!({"ifindex": 3, "flags": 2})),
                &none
            )
            .unwrap(),
            Plan::Xdp {
                ifindex: 3,
                flags: 2
            }
        );
        // The runner's --ifindex wins over the package's tag.
        let over = Target {
            ifindex: Some(7),
            cgroup: None,
        };
        assert_eq!(
            plan(ProgramType::Xdp, &tags(json!({"ifindex": 3})), &over).unwrap(),
            Plan::Xdp {
                ifindex: 7,
                flags: 0
            }
        );
        assert_eq!(
            plan(ProgramType::SchedCls, &Map::new(), &none).unwrap(),
            Plan::Tc {
                ifindex: 1,
                egress: false,
                handle: 1,
                priority: 1
            }
        );
        let t = tags(
            json!({"tchook": {"ifindex": 2, "attach_point": "BPF_TC_EGRESS"},
                            "tcopts": {"handle": 5, "priority": 9}}),
        );
        assert_eq!(
            plan(ProgramType::SchedCls, &t, &none).unwrap(),
            Plan::Tc {
                ifindex: 2,
                egress: true,
                handle: 5,
                priority: 9
            }
        );
        let bad = tags(json!({"tchook": {"attach_point": "BPF_TC_SIDEWAYS"}}));
        assert!(plan(ProgramType::SchedCls, &bad, &none)
            .unwrap_err()
            .contains("BPF_TC_SIDEWAYS"));
        let bad = tags(json!({"ifindex": -1}));
        assert!(plan(ProgramType::Xdp, &bad, &none)
            .unwrap_err()
            .starts_with("@ifindex"));
        assert_eq!(
            plan(ProgramType::SockOps, &Map::new(), &none).unwrap(),
            Plan::Cgroup {
                path: default_cgroup()
            }
        );
        assert_eq!(
            plan(ProgramType::Tracepoint, &Map::new(), &none).unwrap(),
            Plan::Auto
        );
    }

    #[test]
    fn interface_names() {
        assert_eq!(ifindex_of("lo"), Ok(1));
        assert_eq!(ifname(1).as_deref(), Some("lo"));
        assert!(ifindex_of("../x").is_err());
        assert!(ifindex_of("nosuchif0").unwrap_err().contains("nosuchif0"));
    }
}
