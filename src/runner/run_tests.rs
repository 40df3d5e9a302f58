use super::*;
use crate::btf::Kind;
use crate::runner::export::*;
use crate::runner::input::Meta;

fn read(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/testdata/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

fn meta(v: serde_json::Value) -> Meta {
    serde_json::from_value(v).unwrap()
}

#[test]
fn export_follows_the_runtime_rule() {
    let data = read("maps.bpf.o");
    let obj = Object::parse(&data).unwrap();
    // Without metadata the last ring buffer or perf array in libbpf's (BTF) order wins:
    // `rb`, declared before `events` in the source but after it in the .maps DATASEC.
    let ev = obj.btf.find("event", Kind::Struct).unwrap().id;
    assert_eq!(
        choose_export(&obj, None, None).unwrap(),
        Export::Events {
            map: "rb".into(),
            perf: false,
            types: vec![ev]
        }
    );
    // With @sample on `hists` (declared last), the histogram is exported.
    let m = meta(
        serde_json::json!({"bpf_skel": {"obj_name": "maps_bpf", "data_sections": [],
        "maps": [{"name": "hists", "ident": "hists", "sample": {"interval": 250, "type": "log2_hist", "unit": "usecs"}}]},
        "export_types": []}),
    );
    match choose_export(&obj, Some(&m), None).unwrap() {
        Export::Sample { map, sample, .. } => {
            assert_eq!(map, "hists");
            assert_eq!(sample.interval, 250);
        }
        other => panic!("{other:?}"),
    }
    // An event map in a package without export types is an error, as in the runtime.
    let m = meta(serde_json::json!({"bpf_skel": {"obj_name": "maps_bpf", "data_sections": []}}));
    assert!(choose_export(&obj, Some(&m), None)
        .unwrap_err()
        .contains("map 'rb' sends events but the package has no export_types"));
}

#[test]
fn export_types_are_checked_against_btf() {
    let data = read("maps.bpf.o");
    let obj = Object::parse(&data).unwrap();
    let ev = obj.btf.find("event", Kind::Struct).unwrap().id;
    let with = |et: serde_json::Value| {
        meta(
            serde_json::json!({"bpf_skel": {"obj_name": "maps_bpf", "data_sections": []},
            "export_types": [et]}),
        )
    };
    let good = with(
        serde_json::json!({"name": "event", "type_id": ev, "members": [
        {"name": "pid"}, {"name": "uid"}, {"name": "ts_ns"}, {"name": "count"}, {"name": "comm"}]}),
    );
    assert!(matches!(
        choose_export(&obj, Some(&good), None).unwrap(),
        Export::Events { types, perf: false, .. } if types == vec![ev]
    ));
    let wrong_id = with(serde_json::json!({"name": "event", "type_id": 1, "members": []}));
    assert!(choose_export(&obj, Some(&wrong_id), None)
        .unwrap_err()
        .contains("is not struct event"));
    let wrong_members =
        with(serde_json::json!({"name": "event", "type_id": ev, "members": [{"name": "pid"}]}));
    assert!(choose_export(&obj, Some(&wrong_members), None)
        .unwrap_err()
        .contains("has members [pid] in the package"));
}

#[test]
fn event_lines_table_and_json() {
    let data = read("maps.bpf.o");
    let obj = Object::parse(&data).unwrap();
    let ev = obj.btf.find("event", Kind::Struct).unwrap().id;
    let mut s = vec![0u8; 40];
    s[0..4].copy_from_slice(&77u32.to_le_bytes());
    s[4..8].copy_from_slice(&1000u32.to_le_bytes());
    s[8..16].copy_from_slice(&123u64.to_le_bytes());
    s[16..24].copy_from_slice(&2u64.to_le_bytes());
    s[24..31].copy_from_slice(b"sleeper");
    let table = EventPrinter::new(&obj.btf, &[ev], false, false);
    assert_eq!(
        table.header().unwrap(),
        "TIME     PID        UID        TS_NS                COUNT                COMM"
    );
    assert_eq!(
        table.line("01:02:03", &s).unwrap(),
        "01:02:03 77         1000       123                  2                    sleeper"
    );
    let json = EventPrinter::new(&obj.btf, &[ev], false, true);
    assert_eq!(json.header(), None);
    let line = json.line("x", &s).unwrap();
    assert_eq!(
        line,
        r#"{"timestamp":"x","pid":77,"uid":1000,"ts_ns":123,"count":2,"comm":"sleeper"}"#
    );
    // A short sample is an error line, not a panic.
    assert_eq!(
        table.line("x", &s[..39]).unwrap_err(),
        "sample of 39 bytes is shorter than struct event (40 bytes)"
    );
    // No type: hex.
    let raw = EventPrinter::new(&obj.btf, &[], false, true);
    assert_eq!(
        raw.line("x", &[1, 0xab]).unwrap(),
        r#"{"timestamp":"x","data":"01ab"}"#
    );
}

#[test]
fn sampled_histograms_render() {
    let data = read("hist.bpf.o");
    let obj = Object::parse(&data).unwrap();
    let map = obj.maps.iter().find(|m| m.name == "hists").unwrap();
    let sample = SampleMeta {
        interval: 1000,
        kind: "log2_hist".into(),
        unit: "usecs".into(),
        clear_map: false,
    };
    let mut value = vec![0u8; 104];
    value[4 * 3..4 * 3 + 4].copy_from_slice(&5u32.to_le_bytes());
    value[4 * 4..4 * 4 + 4].copy_from_slice(&10u32.to_le_bytes());
    let entries = vec![(0u32.to_le_bytes().to_vec(), value)];
    let text = render_sample(
        &obj.btf,
        &sample,
        map.key_type,
        map.value_type,
        &entries,
        false,
        "10:00:00",
    );
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "10:00:00");
    assert_eq!(lines[1], "     usecs               : count    distribution");
    assert_eq!(lines.len(), 2 + 5);
    assert_eq!(
        lines[5],
        format!(
            "         8 -> 15         : 5        |{}{}|",
            "*".repeat(20),
            " ".repeat(20)
        )
    );
    assert_eq!(
        lines[6],
        format!("        16 -> 31         : 10       |{}|", "*".repeat(40))
    );
    let json = render_sample(
        &obj.btf,
        &sample,
        map.key_type,
        map.value_type,
        &entries,
        true,
        "t",
    );
    let v: serde_json::Value = serde_json::from_str(json.trim()).unwrap();
    assert_eq!(v["key"], 0);
    assert_eq!(v["slots"][4], 10);
    assert_eq!(v["slots"].as_array().unwrap().len(), 26);
    assert_eq!(
        render_sample(
            &obj.btf,
            &sample,
            map.key_type,
            map.value_type,
            &[],
            false,
            "t"
        ),
        ""
    );
}

#[test]
fn map_option_chooses_the_output_map() {
    let data = read("maps.bpf.o");
    let obj = Object::parse(&data).unwrap();
    let used = maps_used_by_programs(&obj);
    assert!(
        used.contains(&"rb".to_string()) && used.contains(&"events".to_string()),
        "{used:?}"
    );
    let ev = obj.btf.find("event", Kind::Struct).unwrap().id;
    assert_eq!(
        choose_export(&obj, None, Some("events")).unwrap(),
        Export::Events {
            map: "events".into(),
            perf: true,
            types: vec![ev]
        }
    );
    // A plain hash is printed as a table every second.
    match choose_export(&obj, None, Some("exec_count")).unwrap() {
        Export::Sample { map, sample, .. } => {
            assert_eq!(map, "exec_count");
            assert_eq!(sample.kind, "table");
        }
        other => panic!("{other:?}"),
    }
    let err = choose_export(&obj, None, Some("nope")).unwrap_err();
    assert!(
        err.starts_with("--map nope: no such map (maps: ") && err.contains(" rb,"),
        "{err}"
    );
}

fn export(btf: &crate::btf::Btf<'_>, name: &str) -> crate::runner::input::ExportType {
    let t = btf
        .find(name, Kind::Struct)
        .or_else(|| btf.find(name, Kind::Union));
    let t = t.unwrap();
    serde_json::from_value(serde_json::json!({"name": name, "type_id": t.id, "members": []}))
        .unwrap()
}

#[test]
fn events_are_the_outermost_exported_struct() {
    let data = read("types.bpf.o");
    let obj = Object::parse(&data).unwrap();
    let b = &obj.btf;
    let id = |n: &str| b.find(n, Kind::Struct).unwrap().id;
    // Header order puts `inner` first: the runtime would decode every sample as it.
    let exports: Vec<_> = ["inner", "number", "nested", "ptrs"]
        .iter()
        .map(|n| export(b, n))
        .collect();
    assert_eq!(event_types(b, &exports), vec![id("nested"), id("ptrs")]);
    assert_eq!(event_types(b, &exports[..1]), vec![id("inner")]);
    // Several candidates: the sample's size says which (perf samples carry padding).
    let sized = [(1, 216), (2, 144)];
    assert_eq!(pick_type(&sized, 216, false), (Some(1), false));
    assert_eq!(pick_type(&sized, 144, false), (Some(2), false));
    assert_eq!(pick_type(&sized, 148, true), (Some(2), false));
    assert_eq!(pick_type(&sized, 148, false), (Some(2), true));
    assert_eq!(pick_type(&[(1, 8), (2, 8)], 8, false), (Some(1), true));
    assert_eq!(pick_type(&[(1, 8)], 4, false), (Some(1), false));
    // The printer follows the sample: a header line whenever the struct changes, and one
    // warning for a guess.
    let p = EventPrinter::new(b, &[id("nested"), id("ptrs")], false, false);
    assert_eq!(p.header(), None);
    let first = p.line("t", &[0u8; 216]).unwrap();
    assert!(first.starts_with("TIME     FIRST"), "{first}");
    assert_eq!(first.lines().count(), 2);
    assert_eq!(p.line("t", &[0u8; 216]).unwrap().lines().count(), 1);
    let other = p.line("t", &[0u8; 144]).unwrap();
    assert_eq!(other.lines().count(), 2, "{other}");
    assert_eq!(p.take_warning(), None);
    p.line("t", &[0u8; 300]).unwrap();
    let w = p.take_warning().unwrap();
    assert!(
        w.contains(
            "300-byte sample could be any of struct nested (216 bytes), struct ptrs (144 bytes)"
        ),
        "{w}"
    );
    p.line("t", &[0u8; 300]).unwrap();
    assert_eq!(p.take_warning(), None);
}

#[test]
fn columns_are_sized_by_type_and_grow() {
    let data = read("maps.bpf.o");
    let obj = Object::parse(&data).unwrap();
    let ev = obj.btf.find("event", Kind::Struct).unwrap().id;
    let p = EventPrinter::new(&obj.btf, &[ev], false, false);
    let header = p.header().unwrap();
    let mut s = vec![0u8; 40];
    s[0..4].copy_from_slice(&u32::MAX.to_le_bytes());
    s[8..16].copy_from_slice(&u64::MAX.to_le_bytes());
    s[24..40].copy_from_slice(b"fifteen-chars-x\0");
    let wide = p.line("01:02:03", &s).unwrap();
    s[0..4].copy_from_slice(&1u32.to_le_bytes());
    let narrow = p.line("01:02:03", &s).unwrap();
    // Every column starts where its header does, for the widest and the narrowest values.
    let starts = |l: &str| -> Vec<usize> {
        let mut v = vec![0];
        let b = l.as_bytes();
        for i in 1..b.len() {
            if b[i] != b' ' && b[i - 1] == b' ' {
                v.push(i);
            }
        }
        v
    };
    assert_eq!(starts(&header), starts(&wide), "\n{header}\n{wide}");
    assert_eq!(starts(&header), starts(&narrow), "\n{header}\n{narrow}");
}

#[test]
fn histograms_keep_their_other_fields() {
    let data = read("types.bpf.o");
    let obj = Object::parse(&data).unwrap();
    // `struct inner { int id; char tag; }` has no integer array: a value made of a comm and
    // slots is built by hand instead.
    let _ = obj;
    let value = crate::runner::decode::Value::Struct(vec![
        (
            "comm".into(),
            crate::runner::decode::Value::Str("bash".into()),
        ),
        (
            "slots".into(),
            crate::runner::decode::Value::Array(vec![
                crate::runner::decode::Value::Uint(0),
                crate::runner::decode::Value::Uint(3),
            ]),
        ),
    ]);
    let (slots, fields) = crate::runner::print::hist_parts(&value);
    assert_eq!(slots, vec![0, 3]);
    assert_eq!(fields.len(), 1);
    assert_eq!(fields[0].0, "comm");
}

#[test]
fn json_events_carry_a_timestamp() {
    let data = read("maps.bpf.o");
    let obj = Object::parse(&data).unwrap();
    let ev = obj.btf.find("event", Kind::Struct).unwrap().id;
    let p = EventPrinter::new(&obj.btf, &[ev], false, true);
    let line = p.line("2026-12-06T22:30:01.000001Z", &[0u8; 40]).unwrap();
    let v: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(v["timestamp"], "2026-12-06T22:30:01.000001Z");
    assert!(line.starts_with("{\"timestamp\":"), "{line}");
    assert_eq!(v["pid"], 0);
}
