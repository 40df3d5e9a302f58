//! `ecc run` attaching network and cgroup programs as the eunomia runtime does: XDP and tc
//! on `lo` by default, socket filters, cgroup programs, with packets sent to 127.0.0.1 (TCP
//! connects for sockops) counted by the programs, and `lo` and the cgroup left clean afterwards. Tests in this binary hold one
//! lock, so two of them never attach to `lo` at the same time.

mod support;

use std::net::{TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, MutexGuard};

use support::*;

static LO: Mutex<()> = Mutex::new(());

/// Compiles `code` as `name.bpf.c` with ecc into `dir`; returns the package.
fn compile(dir: &Path, name: &str, code: &str) -> PathBuf {
    let src = dir.join(format!("{name}.bpf.c"));
    std::fs::write(&src, code).unwrap();
    let out = dir.join(name);
    let o = ecc().arg(&src).arg("-o").arg(&out).output().unwrap();
    assert!(o.status.success(), "ecc {name}: {}", text(&o));
    out.join("package.json")
}

/// Sends `n` UDP datagrams over lo to a socket of our own.
fn send_packets(n: usize) {
    let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
    let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
    let to = rx.local_addr().unwrap();
    for i in 0..n {
        tx.send_to(&[i as u8; 32], to).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

fn cmd_out(prog: &str, args: &[&str]) -> String {
    let o = Command::new(prog).args(args).output().unwrap();
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The value of `name = N` in an exit dump.
fn counter(out: &str, name: &str) -> u64 {
    out.lines()
        .find_map(|l| l.strip_prefix(&format!("{name} = ")))
        .unwrap_or_else(|| panic!("no {name} in:\n{out}"))
        .trim()
        .parse()
        .unwrap()
}

const COUNTING: &str = r#"#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
char LICENSE[] SEC("license") = "GPL";

/// Packets the program saw
__u64 packets = 0;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} percpu_packets SEC(".maps");

static __always_inline void count(void)
{
	__u32 k = 0;
	__u64 *v = bpf_map_lookup_elem(&percpu_packets, &k);
	if (v)
		*v += 1;
	__sync_fetch_and_add(&packets, 1);
}
"#;

/// Opens `n` TCP connections over lo to a listener of our own.
fn connect_times(n: usize) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let to = listener.local_addr().unwrap();
    for _ in 0..n {
        let c = TcpStream::connect(to).unwrap();
        let (s, _) = listener.accept().unwrap();
        drop((c, s));
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

/// Skips without BPF; else holds the lock on `lo` and gives a fresh directory.
fn on_lo(test: &str) -> Option<(MutexGuard<'static, ()>, tempfile::TempDir)> {
    if !kernel_or_skip(test) {
        return None;
    }
    let lo = LO.lock().unwrap_or_else(|e| e.into_inner());
    Some((lo, tempfile::tempdir().unwrap()))
}

/// `COUNTING` and one program, `head` (doc comments and `SEC(...)`), then `int sig` with
/// body `body`, compiled with ecc as `name` into `dir`; returns the package.
fn counting(dir: &Path, name: &str, head: &str, sig: &str, body: &str) -> PathBuf {
    let code = format!("{COUNTING}\n{head}\nint {sig}\n{{\n\t{body}\n}}\n");
    compile(dir, name, &code)
}

/// Runs `pkg` for 2 s while sending 20 packets; returns stdout and stderr.
fn run_counting(pkg: &Path, extra: &[&str]) -> (String, String) {
    run_counting_with(pkg, extra, || send_packets(20))
}

/// Runs `pkg` for 2 s while `traffic` runs; returns stdout and stderr.
fn run_counting_with(pkg: &Path, extra: &[&str], traffic: impl FnOnce()) -> (String, String) {
    let mut args = vec!["--duration", "2"];
    args.extend_from_slice(extra);
    args.push(pkg.to_str().unwrap());
    let r = Running::start(&args);
    traffic();
    let (st, out, err) = r.finish();
    assert!(st.success(), "{st}\n{out}\n{err}");
    (out, err)
}

/// The per-CPU array's one slot, summed over CPUs, equals the atomic counter.
fn check_counts(out: &str) {
    let packets = counter(out, "packets");
    assert!(packets >= 20, "{out}");
    let slot = out
        .lines()
        .skip_while(|l| *l != "map percpu_packets:")
        .nth(1)
        .unwrap_or_else(|| panic!("no per-CPU map in:\n{out}"));
    assert_eq!(slot, format!("  0: {packets}"), "{out}");
}

#[test]
fn xdp_counts_packets_on_lo_and_detaches() {
    let Some((_lo, dir)) = on_lo("xdp_counts_packets_on_lo_and_detaches") else {
        return;
    };
    let pkg = counting(
        dir.path(),
        "xdpcount",
        "SEC(\"xdp\")",
        "count_xdp(struct xdp_md *ctx)",
        "count();\n\treturn XDP_PASS;",
    );
    let (out, err) = run_counting(&pkg, &[]);
    assert!(err.contains("count_xdp: xdp on lo (ifindex 1)"), "{err}");
    check_counts(&out);
    assert!(!cmd_out("ip", &["link", "show", "lo"]).contains("xdp"));
    // --ifname chooses the interface; an unknown one is a usage error before loading.
    let o = run_ecc(&["run", "--ifname", "nosuchif0", pkg.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("no network interface named 'nosuchif0'"));
    let (out, err) = run_counting(&pkg, &["--ifname", "lo"]);
    assert!(err.contains("xdp on lo"), "{err}");
    check_counts(&out);
    assert!(!cmd_out("ip", &["link", "show", "lo"]).contains("xdp"));
}

#[test]
fn xdp_is_gone_after_sigkill() {
    let Some((_lo, dir)) = on_lo("xdp_is_gone_after_sigkill") else {
        return;
    };
    let pkg = counting(
        dir.path(),
        "xdpkill",
        "SEC(\"xdp\")",
        "count_xdp(struct xdp_md *ctx)",
        "count();\n\treturn XDP_PASS;",
    );
    let r = Running::start(&[pkg.to_str().unwrap()]);
    assert!(cmd_out("ip", &["link", "show", "lo"]).contains("xdp"));
    signal(r.pid(), "KILL");
    let _ = r.finish();
    // A BPF link goes away with its last fd.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while cmd_out("ip", &["link", "show", "lo"]).contains("xdp") {
        assert!(std::time::Instant::now() < deadline, "XDP stayed on lo");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

#[test]
fn tc_counts_packets_and_removes_its_qdisc() {
    let Some((_lo, dir)) = on_lo("tc_counts_packets_and_removes_its_qdisc") else {
        return;
    };
    let had_clsact = cmd_out("tc", &["qdisc", "show", "dev", "lo"]).contains("clsact");
    // No annotations: ingress on lo, as the runtime does it.
    let pkg = counting(
        dir.path(),
        "tccount",
        "SEC(\"tc\")",
        "count_tc(struct __sk_buff *skb)",
        "count();\n\treturn 0;",
    );
    let (out, err) = run_counting(&pkg, &[]);
    assert!(
        err.contains("count_tc: tc ingress on lo (ifindex 1)"),
        "{err}"
    );
    check_counts(&out);
    let qdiscs = cmd_out("tc", &["qdisc", "show", "dev", "lo"]);
    assert_eq!(qdiscs.contains("clsact"), had_clsact, "{qdiscs}");
    assert!(!cmd_out("tc", &["filter", "show", "dev", "lo", "ingress"]).contains("count_tc"));

    // @tchook / @tcopts: egress, with our own handle and priority.
    let pkg = counting(
        dir.path(),
        "tcegress",
        "/// @tchook {\"ifindex\": 1, \"attach_point\": \"BPF_TC_EGRESS\"}\n\
         /// @tcopts {\"handle\": 7, \"priority\": 3}\nSEC(\"tc\")",
        "count_egress(struct __sk_buff *skb)",
        "count();\n\treturn 0;",
    );
    let (out, err) = run_counting(&pkg, &[]);
    assert!(err.contains("count_egress: tc egress on lo"), "{err}");
    check_counts(&out);
    assert_eq!(
        cmd_out("tc", &["qdisc", "show", "dev", "lo"]).contains("clsact"),
        had_clsact
    );
}

#[test]
fn socket_filter_sees_lo_packets() {
    let Some((_lo, dir)) = on_lo("socket_filter_sees_lo_packets") else {
        return;
    };
    let pkg = counting(
        dir.path(),
        "sockcount",
        "SEC(\"socket\")",
        "count_sock(struct __sk_buff *skb)",
        "count();\n\treturn 0;",
    );
    let (out, err) = run_counting(&pkg, &[]);
    assert!(err.contains("count_sock: socket on lo"), "{err}");
    check_counts(&out);
}

#[test]
fn cgroup_skb_counts_egress_of_this_cgroup() {
    let Some((_lo, dir)) = on_lo("cgroup_skb_counts_egress_of_this_cgroup") else {
        return;
    };
    let pkg = counting(
        dir.path(),
        "cgcount",
        "SEC(\"cgroup_skb/egress\")",
        "count_cg(struct __sk_buff *skb)",
        "count();\n\treturn 1;",
    );
    let (out, err) = run_counting(&pkg, &[]);
    assert!(err.contains("count_cg: cgroup /sys/fs/cgroup"), "{err}");
    check_counts(&out);
}

#[test]
fn sockops_counts_tcp_connects_in_this_cgroup() {
    let Some((_lo, dir)) = on_lo("sockops_counts_tcp_connects_in_this_cgroup") else {
        return;
    };
    let pkg = counting(
        dir.path(),
        "opscount",
        "SEC(\"sockops\")",
        "count_ops(struct bpf_sock_ops *ops)",
        "if (ops->op == BPF_SOCK_OPS_TCP_CONNECT_CB)\n\t\tcount();\n\treturn 1;",
    );
    // The cgroup v2 root the runner picks (hybrid machines mount it at .../unified).
    let root = ["/sys/fs/cgroup", "/sys/fs/cgroup/unified"]
        .into_iter()
        .find(|p| Path::new(p).join("cgroup.controllers").exists())
        .expect("a cgroup v2 hierarchy");
    let attached = || cmd_out("bpftool", &["cgroup", "show", root]).contains("count_ops");
    let (out, err) = run_counting_with(&pkg, &[], || {
        connect_times(20);
        assert!(attached(), "count_ops is not attached to {root}");
    });
    assert!(
        err.contains(&format!("count_ops: cgroup {root}\n")),
        "{err}"
    );
    check_counts(&out);
    assert!(!attached(), "count_ops left attached to {root}");
}
