//! `ecc run` attaching network and cgroup programs as the eunomia runtime does: XDP and tc
//! on `lo` by default, socket filters, cgroup programs, with packets sent to 127.0.0.1 (TCP
//! connects for sockops) counted by the programs, and `lo` and the cgroup left clean afterwards. Tests in this binary hold one
//! lock, so two of them never attach to `lo` at the same time.

mod support;

use std::net::{TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

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
    if !kernel_or_skip("xdp_counts_packets_on_lo_and_detaches") {
        return;
    }
    let _lo = LO.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let code = format!(
        "{COUNTING}\nSEC(\"xdp\")\nint count_xdp(struct xdp_md *ctx)\n{{\n\tcount();\n\treturn XDP_PASS;\n}}\n"
    );
    let pkg = compile(dir.path(), "xdpcount", &code);
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
    if !kernel_or_skip("xdp_is_gone_after_sigkill") {
        return;
    }
    let _lo = LO.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let code = format!(
        "{COUNTING}\nSEC(\"xdp\")\nint count_xdp(struct xdp_md *ctx)\n{{\n\tcount();\n\treturn XDP_PASS;\n}}\n"
    );
    let pkg = compile(dir.path(), "xdpkill", &code);
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
    if !kernel_or_skip("tc_counts_packets_and_removes_its_qdisc") {
        return;
    }
    let _lo = LO.lock().unwrap_or_else(|e| e.into_inner());
    let had_clsact = cmd_out("tc", &["qdisc", "show", "dev", "lo"]).contains("clsact");
    let dir = tempfile::tempdir().unwrap();
    // No annotations: ingress on lo, as the runtime does it.
    let code = format!(
        "{COUNTING}\nSEC(\"tc\")\nint count_tc(struct __sk_buff *skb)\n{{\n\tcount();\n\treturn 0;\n}}\n"
    );
    let pkg = compile(dir.path(), "tccount", &code);
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
    let code = format!(
        "{COUNTING}\n/// @tchook {{\"ifindex\": 1, \"attach_point\": \"BPF_TC_EGRESS\"}}\n/// @tcopts {{\"handle\": 7, \"priority\": 3}}\nSEC(\"tc\")\nint count_egress(struct __sk_buff *skb)\n{{\n\tcount();\n\treturn 0;\n}}\n"
    );
    let pkg = compile(dir.path(), "tcegress", &code);
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
    if !kernel_or_skip("socket_filter_sees_lo_packets") {
        return;
    }
    let _lo = LO.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let code = format!(
        "{COUNTING}\nSEC(\"socket\")\nint count_sock(struct __sk_buff *skb)\n{{\n\tcount();\n\treturn 0;\n}}\n"
    );
    let pkg = compile(dir.path(), "sockcount", &code);
    let (out, err) = run_counting(&pkg, &[]);
    assert!(err.contains("count_sock: socket on lo"), "{err}");
    check_counts(&out);
}

#[test]
fn cgroup_skb_counts_egress_of_this_cgroup() {
    if !kernel_or_skip("cgroup_skb_counts_egress_of_this_cgroup") {
        return;
    }
    let _lo = LO.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let code = format!(
        "{COUNTING}\nSEC(\"cgroup_skb/egress\")\nint count_cg(struct __sk_buff *skb)\n{{\n\tcount();\n\treturn 1;\n}}\n"
    );
    let pkg = compile(dir.path(), "cgcount", &code);
    let (out, err) = run_counting(&pkg, &[]);
    assert!(err.contains("count_cg: cgroup /sys/fs/cgroup"), "{err}");
    check_counts(&out);
}

#[test]
fn sockops_counts_tcp_connects_in_this_cgroup() {
    if !kernel_or_skip("sockops_counts_tcp_connects_in_this_cgroup") {
        return;
    }
    let _lo = LO.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let code = format!(
        "{COUNTING}\nSEC(\"sockops\")\nint count_ops(struct bpf_sock_ops *ops)\n{{\n\tif (ops->op == BPF_SOCK_OPS_TCP_CONNECT_CB)\n\t\tcount();\n\treturn 1;\n}}\n"
    );
    let pkg = compile(dir.path(), "opscount", &code);
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
