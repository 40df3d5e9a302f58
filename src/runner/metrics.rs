//! `ecc run --metrics ADDR`: the program's maps in the Prometheus text format, served over
//! HTTP from the run loop (tiny_http, polled without blocking, so the maps are read on the
//! thread that owns them). `@sample` histograms become Prometheus histograms, other
//! hash/array maps and the `.bss` counters gauges labelled by their key's fields, and the
//! events read from the output map a counter.
//!
//! Building the metric families from decoded values is pure; `prometheus-client` writes the
//! text.

use std::net::{SocketAddr, ToSocketAddrs};

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;

use super::decode::Value;

/// At most this many series per map: a hash of pids can hold thousands of short-lived keys.
pub const MAX_SERIES: usize = 4096;

/// The address `--metrics` binds: a bare port (`9100`, `:9100`) means loopback; any other
/// interface has to be written out (`0.0.0.0:9100`).
pub fn parse_addr(text: &str) -> Result<SocketAddr, String> {
    let port = text.strip_prefix(':').unwrap_or(text);
    if let Ok(p) = port.parse::<u16>() {
        return Ok(SocketAddr::from(([127, 0, 0, 1], p)));
    }
    text.to_socket_addrs()
        .map_err(|e| format!("--metrics {text}: {e}"))?
        .next()
        .ok_or_else(|| format!("--metrics {text}: no address"))
}

#[derive(Clone, Debug, PartialEq)]
pub enum Num {
    I(i64),
    U(u64),
    F(f64),
}

#[derive(Clone, Debug, PartialEq)]
pub enum Point {
    Num(Num),
    /// Non-cumulative buckets `(upper bound, count)`, as prometheus-client takes them.
    Hist {
        sum: f64,
        count: u64,
        buckets: Vec<(f64, u64)>,
    },
}

#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    pub labels: Vec<(String, String)>,
    pub point: Point,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Family {
    pub name: String,
    pub help: String,
    pub kind: MetricType,
    pub series: Vec<Series>,
}

/// A metric or label name: `[a-zA-Z_][a-zA-Z0-9_]*`.
pub fn sanitize(name: &str) -> String {
    let mut s: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    if s.is_empty() || s.starts_with(|c: char| c.is_ascii_digit()) {
        s.insert(0, '_');
    }
    // Names starting with `__` are reserved by Prometheus.
    while s.starts_with("__") {
        s.remove(0);
    }
    if s.is_empty() || s.starts_with(|c: char| c.is_ascii_digit()) {
        s.insert_str(0, "k_");
    }
    s
}

/// Labels from a decoded key: one per struct member, else one `key` label.
pub fn key_labels(key: &Value) -> Vec<(String, String)> {
    match key {
        Value::Struct(members) => members
            .iter()
            .map(|(n, v)| (sanitize(n), v.to_text()))
            .collect(),
        other => vec![("key".into(), other.to_text())],
    }
}

fn num(v: &Value) -> Option<Num> {
    match v {
        Value::Int(i) => Some(i64::try_from(*i).map_or(Num::F(*i as f64), Num::I)),
        Value::Uint(u) => Some(u64::try_from(*u).map_or(Num::F(*u as f64), Num::U)),
        Value::Bool(b) => Some(Num::U(u64::from(*b))),
        Value::Float(f) => Some(Num::F(*f)),
        Value::Enum { raw, .. } => Some(i64::try_from(*raw).map_or(Num::F(*raw as f64), Num::I)),
        _ => None,
    }
}

/// The numeric leaves of a value: `("", n)` for a scalar, `("member_inner", n)` inside
/// structs. Arrays and strings are left out (a histogram's slots are handled apart).
fn leaves(v: &Value, path: &str, out: &mut Vec<(String, Num)>) {
    match v {
        Value::Struct(members) => {
            for (n, m) in members {
                let p = if path.is_empty() {
                    sanitize(n)
                } else {
                    format!("{path}_{}", sanitize(n))
                };
                leaves(m, &p, out);
            }
        }
        other => {
            if let Some(n) = num(other) {
                out.push((path.to_string(), n));
            }
        }
    }
}

/// The numeric leaves of `v` with their metric names: `prefix` for a plain number,
/// `prefix_<member>` for each numeric member; and the member path.
fn named_leaves(prefix: &str, v: &Value) -> Vec<(String, String, Num)> {
    let mut ls = Vec::new();
    leaves(v, "", &mut ls);
    ls.into_iter()
        .map(|(member, n)| {
            let name = if member.is_empty() {
                prefix.to_string()
            } else {
                format!("{prefix}_{member}")
            };
            (name, member, n)
        })
        .collect()
}

/// Gauges for a table map: `ecc_<map>` (or `ecc_<map>_<member>` per numeric member).
pub fn table_families(map: &str, entries: &[(Value, Value)]) -> Vec<Family> {
    let mut fams: Vec<Family> = Vec::new();
    let prefix = format!("ecc_{}", sanitize(map));
    for (k, v) in entries.iter().take(MAX_SERIES) {
        for (name, member, n) in named_leaves(&prefix, v) {
            let series = Series {
                labels: key_labels(k),
                point: Point::Num(n),
            };
            match fams.iter_mut().find(|f| f.name == name) {
                Some(f) => f.series.push(series),
                None => fams.push(Family {
                    help: format!(
                        "map '{map}' value{}",
                        if member.is_empty() {
                            String::new()
                        } else {
                            format!(" member {member}")
                        }
                    ),
                    name,
                    kind: MetricType::Gauge,
                    series: vec![series],
                }),
            }
        }
    }
    fams
}

/// Gauges for the `.bss` variables: `ecc_global_<name>`.
pub fn counter_families(counters: &[(String, Value)]) -> Vec<Family> {
    let mut fams = Vec::new();
    for (name, v) in counters {
        let prefix = format!("ecc_global_{}", sanitize(name));
        for (full, _, n) in named_leaves(&prefix, v) {
            fams.push(Family {
                name: full,
                help: format!("global variable '{name}'"),
                kind: MetricType::Gauge,
                series: vec![Series {
                    labels: vec![],
                    point: Point::Num(n),
                }],
            });
        }
    }
    fams
}

/// A histogram from a `@sample` map's slots: log2 slot `i` holds values up to `2^(i+1)-1`
/// (slot 0 holds 0 and 1), linear slot `i` the value `i`. The sum is estimated from each
/// slot's midpoint, since the map keeps only counts.
pub fn histogram(slots: &[u64], log2: bool) -> Point {
    let mut buckets = Vec::with_capacity(slots.len());
    let (mut sum, mut count) = (0f64, 0u64);
    for (i, &c) in slots.iter().enumerate() {
        let (low, high) = if log2 {
            let low = if i == 0 { 0.0 } else { 2f64.powi(i as i32) };
            (low, 2f64.powi(i as i32 + 1) - 1.0)
        } else {
            (i as f64, i as f64)
        };
        buckets.push((high, c));
        sum += c as f64 * (low + high) / 2.0;
        count = count.saturating_add(c);
    }
    Point::Hist {
        sum,
        count,
        buckets,
    }
}

/// The histogram family of a `@sample` map, one series per key.
pub fn histogram_family(map: &str, unit: &str, log2: bool, entries: &[(Value, Value)]) -> Family {
    let series = entries
        .iter()
        .take(MAX_SERIES)
        .map(|(k, v)| {
            let mut slots = Vec::new();
            v.integers(&mut slots);
            Series {
                labels: key_labels(k),
                point: histogram(&slots, log2),
            }
        })
        .collect();
    Family {
        name: format!("ecc_{}", sanitize(map)),
        help: format!(
            "{} histogram of map '{map}' ({unit})",
            if log2 { "log2" } else { "linear" }
        ),
        kind: MetricType::Histogram,
        series,
    }
}

/// `ecc_up` and the events counter, which every scrape has.
pub fn base_families(events: Option<(&str, u64)>) -> Vec<Family> {
    let mut out = vec![Family {
        name: "ecc_up".into(),
        help: "1 while ecc run has its programs attached".into(),
        kind: MetricType::Gauge,
        series: vec![Series {
            labels: vec![],
            point: Point::Num(Num::U(1)),
        }],
    }];
    if let Some((map, n)) = events {
        out.push(Family {
            // The encoder appends `_total`.
            name: "ecc_events".into(),
            help: "events read from the output map".into(),
            kind: MetricType::Counter,
            series: vec![Series {
                labels: vec![("map".into(), map.into())],
                point: Point::Num(Num::U(n)),
            }],
        });
    }
    out
}

#[derive(Debug)]
struct Families(Vec<Family>);

impl Collector for Families {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        for f in &self.0 {
            let mut m = encoder.encode_descriptor(&f.name, &f.help, None, f.kind)?;
            for s in &f.series {
                let labels: Vec<(&str, &str)> = s
                    .labels
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect();
                let mut e = m.encode_family(&labels)?;
                match (&s.point, f.kind) {
                    (Point::Num(Num::U(n)), MetricType::Counter) => {
                        e.encode_counter::<NoLabelSet, _, u64>(n, None)?
                    }
                    (Point::Num(Num::F(n)), MetricType::Counter) => {
                        e.encode_counter::<NoLabelSet, _, u64>(n, None)?
                    }
                    (Point::Num(Num::I(n)), _) => e.encode_gauge(n)?,
                    (Point::Num(Num::U(n)), _) => e.encode_gauge(n)?,
                    (Point::Num(Num::F(n)), _) => e.encode_gauge(n)?,
                    (
                        Point::Hist {
                            sum,
                            count,
                            buckets,
                        },
                        _,
                    ) => e.encode_histogram::<NoLabelSet>(*sum, *count, buckets, None)?,
                }
            }
        }
        Ok(())
    }
}

/// The Prometheus text exposition (format 0.0.4) of `families`.
pub fn render(families: Vec<Family>) -> String {
    let mut reg = Registry::default();
    reg.register_collector(Box::new(Families(families)));
    let mut s = String::new();
    // Writing into a String cannot fail.
    let _ = prometheus_client::encoding::prometheus_text::encode(&mut s, &reg);
    s
}

/// The content type of `render`'s text.
pub const CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

/// The HTTP side: a listening socket whose requests the run loop answers between polls.
pub struct Exporter {
    server: tiny_http::Server,
    pub addr: SocketAddr,
}

impl Exporter {
    pub fn bind(addr: SocketAddr) -> Result<Exporter, String> {
        let server = tiny_http::Server::http(addr)
            .map_err(|e| format!("--metrics: cannot listen on {addr}: {e}"))?;
        let addr = server
            .server_addr()
            .to_ip()
            .ok_or_else(|| format!("--metrics: {addr} is not an IP address"))?;
        Ok(Exporter { server, addr })
    }

    /// Answers every request waiting now; `body` renders the metrics (called once, only
    /// when someone asks for /metrics).
    pub fn serve(&self, body: &dyn Fn() -> String) {
        let mut text: Option<String> = None;
        while let Ok(Some(req)) = self.server.try_recv() {
            let path = req.url().split('?').next().unwrap_or("").to_string();
            let resp = match path.as_str() {
                "/metrics" => {
                    let t = text.get_or_insert_with(body).clone();
                    with_type(tiny_http::Response::from_string(t), CONTENT_TYPE)
                }
                "/" => with_type(
                    tiny_http::Response::from_string("ecc run: metrics at /metrics\n"),
                    "text/plain; charset=utf-8",
                ),
                _ => tiny_http::Response::from_string("not found\n").with_status_code(404),
            };
            // A client that went away is not our problem.
            let _ = req.respond(resp);
        }
    }
}

fn with_type(
    r: tiny_http::Response<std::io::Cursor<Vec<u8>>>,
    ty: &str,
) -> tiny_http::Response<std::io::Cursor<Vec<u8>>> {
    match tiny_http::Header::from_bytes("Content-Type", ty) {
        Ok(h) => r.with_header(h),
        Err(()) => r,
    }
}

#[cfg(test)]
#[path = "metrics_tests.rs"]
mod tests;
