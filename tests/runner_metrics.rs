//! `ecc run --metrics`: the exporter's text passes `promtool check metrics`, and a real
//! Prometheus server scraping it on loopback answers queries for the histogram series.

mod support;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use support::*;

/// GET over plain HTTP/1.0; returns status line and body.
fn get(addr: &str, path: &str) -> (String, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.0\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    let (head, body) = resp.split_once("\r\n\r\n").unwrap_or((&resp, ""));
    (
        head.lines().next().unwrap_or("").to_string(),
        body.to_string(),
    )
}

/// The address `ecc run` printed in `serving metrics on http://ADDR/metrics`.
fn served_addr(r: &Running) -> String {
    let err = r.stderr_now();
    let line = err
        .lines()
        .find_map(|l| l.strip_prefix("ecc run: serving metrics on http://"))
        .unwrap_or_else(|| panic!("no metrics line:\n{err}"));
    let addr = line.trim_end_matches("/metrics").to_string();
    let a: SocketAddr = addr.parse().unwrap();
    assert!(a.ip().is_loopback(), "{addr}");
    addr
}

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn promtool_check(text: &str) {
    let mut c = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool (package prometheus, from scripts/setup.sh)");
    c.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    let o = c.wait_with_output().unwrap();
    assert!(o.status.success(), "{}\n{text}", text_of(&o));
}

fn text_of(o: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn prometheus_scrapes_the_histogram() {
    if !kernel_or_skip("prometheus_scrapes_the_histogram") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let pkg = ecc_compile(dir.path(), "hist.bpf.c", None);
    let r = Running::start(&[
        "--metrics",
        "127.0.0.1:0",
        "--duration",
        "40",
        pkg.to_str().unwrap(),
    ]);
    let addr = served_addr(&r);
    let bin = named_binary(dir.path(), &unique_name("m"));
    spawn_times(&bin, 10);

    let (status, body) = get(&addr, "/metrics");
    assert!(status.contains(" 200 "), "{status}");
    assert!(body.contains("ecc_up 1\n"), "{body}");
    assert!(body.contains("# TYPE ecc_hists histogram"), "{body}");
    assert!(
        body.contains("ecc_hists_bucket{key=\"0\",le=\"+Inf\"}"),
        "{body}"
    );
    promtool_check(&body);
    let (status, _) = get(&addr, "/nope");
    assert!(status.contains(" 404 "), "{status}");

    // A real Prometheus on loopback scrapes us every second.
    let port = free_port();
    let conf = dir.path().join("prometheus.yml");
    std::fs::write(
        &conf,
        format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: ecc\n    static_configs:\n      - targets: ['{addr}']\n"
        ),
    )
    .unwrap();
    let prom = Killed(
        Command::new("prometheus")
            .arg(format!("--config.file={}", conf.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("tsdb").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("prometheus (package prometheus, from scripts/setup.sh)"),
    );
    let papi = format!("127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(30);
    let count = loop {
        spawn_times(&bin, 1);
        let found = TcpStream::connect(&papi).ok().and_then(|_| {
            let (st, body) = get(&papi, "/api/v1/query?query=ecc_hists_count");
            let v: serde_json::Value = serde_json::from_str(&body).ok()?;
            let res = v["data"]["result"].as_array()?.first()?.clone();
            st.contains(" 200 ").then_some(res)
        });
        if let Some(res) = found {
            break res;
        }
        assert!(
            Instant::now() < deadline,
            "Prometheus never saw ecc_hists_count"
        );
        std::thread::sleep(Duration::from_millis(500));
    };
    assert_eq!(count["metric"]["job"], "ecc", "{count}");
    let n: f64 = count["value"][1].as_str().unwrap().parse().unwrap();
    assert!(n >= 1.0, "{count}");
    // The bucket series are there too, one per power of two plus +Inf.
    let (_, body) = get(&papi, "/api/v1/query?query=ecc_hists_bucket");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    let buckets = v["data"]["result"].as_array().unwrap();
    assert!(buckets.len() >= 27, "{body}");
    assert!(
        buckets.iter().any(|b| b["metric"]["le"] == "+Inf"),
        "{body}"
    );
    let (_, body) = get(&papi, "/api/v1/query?query=ecc_up");
    assert!(body.contains("\"ecc_up\""), "{body}");
    drop(prom);

    signal(r.pid(), "TERM");
    let (st, _out, err) = r.finish();
    assert!(st.success(), "{st}\n{err}");
}

#[test]
fn a_taken_port_fails_before_loading() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap().to_string();
    let o = run_ecc(&[
        "run",
        "--metrics",
        &addr,
        testdata("hist.bpf.o").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains(&format!("cannot listen on {addr}")), "{err}");
    assert!(!err.contains("attached"), "{err}");
}
