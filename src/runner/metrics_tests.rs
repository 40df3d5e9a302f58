use super::*;

use std::io::Write as _;
use std::process::{Command, Stdio};

fn s(n: &str) -> String {
    n.to_string()
}

/// The families of a run with a histogram, a struct-valued hash, a counter and events.
fn sample_families() -> Vec<Family> {
    let mut slots = vec![Value::Uint(0); 26];
    slots[0] = Value::Uint(1);
    slots[3] = Value::Uint(4);
    slots[5] = Value::Uint(2);
    let hist = Value::Struct(vec![(s("slots"), Value::Array(slots))]);
    let mut f = base_families(Some(("rb", 17)));
    f.push(histogram_family(
        "hists",
        "usecs",
        true,
        &[(Value::Uint(0), hist)],
    ));
    let key = Value::Struct(vec![
        (s("pid"), Value::Int(42)),
        (s("comm"), Value::Str(s("we\"ird\\name"))),
    ]);
    let val = Value::Struct(vec![
        (s("bytes"), Value::Uint(1500)),
        (s("ratio"), Value::Float(0.25)),
        (s("name"), Value::Str(s("x"))),
    ]);
    f.extend(table_families("per-task", &[(key, val)]));
    f.extend(counter_families(&[(s("packets"), Value::Uint(9))]));
    f
}

#[test]
fn text_format_has_histograms_gauges_and_counters() {
    let text = render(sample_families());
    assert!(text.contains("# TYPE ecc_up gauge\necc_up 1\n"), "{text}");
    assert!(text.contains("ecc_events_total{map=\"rb\"} 17\n"), "{text}");
    assert!(text.contains("# TYPE ecc_hists histogram\n"), "{text}");
    // Cumulative buckets: slot 0 (le 1) has 1, slot 3 (le 15) brings it to 5, slot 5 to 7.
    assert!(
        text.contains("ecc_hists_bucket{key=\"0\",le=\"1\"} 1\n"),
        "{text}"
    );
    assert!(
        text.contains("ecc_hists_bucket{key=\"0\",le=\"15\"} 5\n"),
        "{text}"
    );
    assert!(
        text.contains("ecc_hists_bucket{key=\"0\",le=\"63\"} 7\n"),
        "{text}"
    );
    assert!(
        text.contains("ecc_hists_bucket{key=\"0\",le=\"+Inf\"} 7\n"),
        "{text}"
    );
    assert!(text.contains("ecc_hists_count{key=\"0\"} 7\n"), "{text}");
    // Midpoints: 1*0.5 + 4*11.5 + 2*47.5.
    assert!(text.contains("ecc_hists_sum{key=\"0\"} 141.5\n"), "{text}");
    assert!(
        text.contains("ecc_per_task_bytes{pid=\"42\",comm=\"we\\\"ird\\\\name\"} 1500\n"),
        "{text}"
    );
    assert!(text.contains("ecc_per_task_ratio{"), "{text}");
    assert!(!text.contains("ecc_per_task_name"), "{text}");
    assert!(text.contains("ecc_global_packets 9\n"), "{text}");
}

#[test]
fn output_passes_promtool_check_metrics() {
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool (Debian package prometheus, installed by scripts/setup.sh)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(render(sample_families()).as_bytes())
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(
        o.status.success(),
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn names_and_addresses() {
    assert_eq!(sanitize("per-task.map"), "per_task_map");
    assert_eq!(sanitize("9lives"), "_9lives");
    assert_eq!(sanitize("__x"), "_x");
    assert_eq!(sanitize("__"), "_");
    assert_eq!(parse_addr("9100").unwrap().to_string(), "127.0.0.1:9100");
    assert_eq!(parse_addr(":0").unwrap().to_string(), "127.0.0.1:0");
    assert_eq!(parse_addr("0.0.0.0:80").unwrap().to_string(), "0.0.0.0:80");
    assert!(parse_addr("nonsense").is_err());
}

#[test]
fn log2_and_linear_buckets() {
    match histogram(&[0, 1, 0, 2], true) {
        Point::Hist { count, buckets, .. } => {
            assert_eq!(count, 3);
            assert_eq!(buckets, vec![(1.0, 0), (3.0, 1), (7.0, 0), (15.0, 2)]);
        }
        other => panic!("{other:?}"),
    }
    match histogram(&[5, 0, 1], false) {
        Point::Hist { sum, buckets, .. } => {
            assert_eq!(sum, 2.0);
            assert_eq!(buckets, vec![(0.0, 5), (1.0, 0), (2.0, 1)]);
        }
        other => panic!("{other:?}"),
    }
}
