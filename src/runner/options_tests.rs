use super::*;

fn globals() -> Vec<u8> {
    std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/testdata/globals.bpf.o"
    ))
    .unwrap()
}

/// Metadata as the package spec describes it for globals.bpf.c.
fn meta(extra_vars: serde_json::Value) -> Meta {
    let mut vars = serde_json::json!([
        {"name": "verbosity", "type": "int", "description": "verbosity level",
         "cmdarg": {"default": 1, "short": "v", "long": "verbose", "help": "verbosity level"}},
        {"name": "min_duration_ns", "type": "unsigned long long", "description": "minimum duration in ns",
         "cmdarg": {"default": 0, "short": "d", "long": "duration"}},
        {"name": "failed_only", "type": "bool", "description": "trace failed calls only",
         "cmdarg": {"short": "x", "long": "failed"}},
        {"name": "targ_comm", "type": "char[16]", "description": "only trace this command name",
         "cmdarg": {"short": "c", "long": "comm"}},
        {"name": "targ_pid", "type": "pid_t", "description": "only trace this process id",
         "cmdarg": {"default": 0, "short": "p", "long": "pid"}},
        {"name": "rodata_cfg", "type": "struct config"}
    ]);
    if let (Some(v), Some(extra)) = (vars.as_array_mut(), extra_vars.as_array()) {
        v.extend(extra.iter().cloned());
    }
    serde_json::from_value(serde_json::json!({
        "bpf_skel": {"obj_name": "globals_bpf", "maps": null, "progs": null,
            "data_sections": [
                {"name": ".rodata", "variables": vars},
                {"name": ".bss", "variables": [{"name": "events_total", "type": "unsigned long long"}]},
                {"name": ".data", "variables": [{"name": "data_counter", "type": "int"}]}
            ]}
    }))
    .unwrap()
}

fn args(s: &[&str]) -> Vec<String> {
    s.iter().map(|a| a.to_string()).collect()
}

#[test]
fn specs_follow_cmdarg_and_description() {
    let data = globals();
    let obj = Object::parse(&data).unwrap();
    let specs = specs(&obj, Some(&meta(serde_json::json!([])))).unwrap();
    let names: Vec<&str> = specs.iter().map(|s| s.long.as_str()).collect();
    // rodata_cfg (a struct) gets no option; .data is settable (the runtime refuses it).
    assert_eq!(
        names,
        [
            "verbose",
            "duration",
            "failed",
            "comm",
            "pid",
            "events_total",
            "data_counter"
        ]
    );
    let pid = specs.iter().find(|s| s.var == "targ_pid").unwrap();
    assert_eq!(pid.short, Some('p'));
    assert_eq!(pid.default.as_deref(), Some("0"));
    assert_eq!(pid.help, "only trace this process id");
    assert_eq!(pid.offset, 0x24);
    assert!(!pid.is_flag);
    let failed = specs.iter().find(|s| s.var == "failed_only").unwrap();
    assert!(failed.is_flag);
    assert_eq!(failed.default, None);
    let total = specs.iter().find(|s| s.var == "events_total").unwrap();
    assert_eq!((total.section.as_str(), total.offset), (".bss", 8));
}

#[test]
fn parses_values_into_section_bytes() {
    let data = globals();
    let obj = Object::parse(&data).unwrap();
    let specs = specs(&obj, Some(&meta(serde_json::json!([])))).unwrap();
    let a = parse(
        &obj.btf,
        "globals_bpf",
        "ecc run g.json",
        None,
        &specs,
        &args(&[
            "-p",
            "4242",
            "--comm",
            "sleep",
            "-x",
            "--verbose=-3",
            "--events_total",
            "0x10",
        ]),
    )
    .unwrap();
    let get = |v: &str| a.iter().find(|x| x.var == v).unwrap();
    assert_eq!(get("targ_pid").bytes, 4242i32.to_le_bytes());
    assert_eq!(get("targ_pid").offset, 0x24);
    assert_eq!(get("verbosity").bytes, (-3i32).to_le_bytes());
    assert_eq!(get("failed_only").bytes, [1]);
    let mut comm = b"sleep".to_vec();
    comm.resize(16, 0);
    assert_eq!(get("targ_comm").bytes, comm);
    assert_eq!(get("events_total").bytes, 16u64.to_le_bytes());
    assert_eq!(get("events_total").section, ".bss");
    // Defaults are written too; variables with neither a value nor a default are not.
    assert_eq!(get("min_duration_ns").bytes, 0u64.to_le_bytes());
    let none = parse(&obj.btf, "g", "ecc run g.json", None, &specs, &[]).unwrap();
    let vars: Vec<&str> = none.iter().map(|x| x.var.as_str()).collect();
    assert_eq!(vars, ["verbosity", "min_duration_ns", "targ_pid"]);
    assert_eq!(none[0].bytes, 1i32.to_le_bytes());
}

#[test]
fn bad_values_are_errors() {
    let data = globals();
    let obj = Object::parse(&data).unwrap();
    let specs = specs(&obj, Some(&meta(serde_json::json!([])))).unwrap();
    let err = |a: &[&str]| match parse(&obj.btf, "g", "ecc run g.json", None, &specs, &args(a)) {
        Err(ParseError::Value(m)) => m,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        err(&["--pid", "abc"]),
        "invalid value 'abc' for '--pid': expected an integer"
    );
    assert!(err(&["--pid", "2147483648"]).contains("out of range for a 32-bit integer"));
    assert!(err(&["--duration", "-1"]).contains("non-negative"));
    assert!(err(&["--comm", "a-very-long-command-name"]).contains("longer than 16 bytes"));
    assert!(matches!(
        parse(
            &obj.btf,
            "g",
            "ecc run g.json",
            None,
            &specs,
            &args(&["--nope"])
        ),
        Err(ParseError::Clap(_))
    ));
}

#[test]
fn help_lists_generated_options() {
    let data = globals();
    let obj = Object::parse(&data).unwrap();
    let specs = specs(&obj, Some(&meta(serde_json::json!([])))).unwrap();
    match parse(
        &obj.btf,
        "globals_bpf",
        "ecc run g.json",
        None,
        &specs,
        &args(&["-h"]),
    ) {
        Err(ParseError::Clap(e)) => {
            assert_eq!(e.kind(), clap::error::ErrorKind::DisplayHelp);
            let help = e.render().to_string();
            assert!(help.contains("-p, --pid <pid_t>"), "{help}");
            assert!(help.contains("only trace this process id"), "{help}");
            assert!(help.contains("-x, --failed"), "{help}");
            assert!(help.contains("[default: 1]"), "{help}");
            // Without a package default, the object's own value: .rodata, .data, .bss.
            for want in [
                "only trace this command name [default: bash]",
                "trace failed calls only [default: false]",
                "set int data_counter [default: 42]",
                "events_total [default: 0]",
            ] {
                assert!(help.contains(want), "missing {want:?} in\n{help}");
            }
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn bad_packages_are_reported() {
    let data = globals();
    let obj = Object::parse(&data).unwrap();
    let dup =
        serde_json::json!([{"name": "events_dropped", "type": "int", "cmdarg": {"long": "pid"}}]);
    let mut m = meta(serde_json::json!([]));
    m.bpf_skel.data_sections[1]
        .variables
        .push(serde_json::from_value(dup[0].clone()).unwrap());
    assert_eq!(
        specs(&obj, Some(&m)).unwrap_err(),
        "variables 'targ_pid' and 'events_dropped' both use --pid"
    );
    let missing = meta(serde_json::json!([{"name": "ghost", "type": "int"}]));
    assert!(specs(&obj, Some(&missing))
        .unwrap_err()
        .contains("'ghost' of .rodata is not in the object"));
    let bad_default = meta(serde_json::json!([]));
    let mut bd = bad_default.clone();
    bd.bpf_skel.data_sections[0].variables[4].extra["cmdarg"]["default"] =
        serde_json::json!("many");
    assert!(specs(&obj, Some(&bd))
        .unwrap_err()
        .contains("default 'many'"));
}

#[test]
fn objects_without_metadata_get_options_named_after_variables() {
    let data = globals();
    let obj = Object::parse(&data).unwrap();
    let specs = specs(&obj, None).unwrap();
    let names: Vec<&str> = specs.iter().map(|s| s.long.as_str()).collect();
    assert!(
        names.contains(&"targ_pid") && names.contains(&"events_total"),
        "{names:?}"
    );
    assert!(!names.contains(&"rodata_cfg") && !names.contains(&"last_ptr"));
    let comm = specs.iter().find(|s| s.var == "targ_comm").unwrap();
    assert_eq!(comm.type_text, "char[16]");
}

/// A bool that defaults to true can be turned off: --disable-X (and --enable-X), the
/// runtime's forms, --no-X, and --X=BOOL / --X BOOL; the last one given wins.
#[test]
fn bools_take_enable_and_disable_forms() {
    let data = globals();
    let obj = Object::parse(&data).unwrap();
    let mut m = meta(serde_json::json!([]));
    let vars = &mut m.bpf_skel.data_sections[0].variables;
    let failed = vars.iter_mut().find(|v| v.name == "failed_only").unwrap();
    failed.extra["cmdarg"]["default"] = serde_json::json!(true);
    let specs = specs(&obj, Some(&m)).unwrap();
    let flag = |a: &[&str]| {
        let out = parse(&obj.btf, "g", "ecc run g.json", None, &specs, &args(a)).unwrap();
        out.iter()
            .find(|x| x.var == "failed_only")
            .unwrap()
            .bytes
            .clone()
    };
    assert_eq!(flag(&[]), [1]);
    assert_eq!(flag(&["--disable-failed"]), [0]);
    assert_eq!(flag(&["--disable-failed", "--enable-failed"]), [1]);
    assert_eq!(flag(&["--enable-failed", "--disable-failed"]), [0]);
    assert_eq!(flag(&["-x"]), [1]);
    assert_eq!(flag(&["--no-failed"]), [0]);
    assert_eq!(flag(&["--failed=false"]), [0]);
    assert_eq!(flag(&["--failed", "no"]), [0]);
    assert_eq!(flag(&["--failed", "off", "--failed"]), [1]);
    assert_eq!(flag(&["--failed=0", "--enable-failed"]), [1]);
    assert_eq!(flag(&["--enable-failed", "--failed=false"]), [0]);
    assert_eq!(flag(&["--no-failed", "--failed=yes"]), [1]);
    let bad = parse(
        &obj.btf,
        "g",
        "ecc run g.json",
        None,
        &specs,
        &args(&["--failed=maybe"]),
    );
    assert!(bad.is_err());
    let help = command(
        "g",
        "ecc run g.json",
        Some("Traces things (version 1.0)"),
        &specs,
    )
    .render_help()
    .to_string();
    assert!(help.contains("--enable-failed"), "{help}");
    assert!(help.contains("--disable-failed"), "{help}");
    assert!(help.starts_with("Traces things (version 1.0)"), "{help}");
}

/// `@cmdarg`'s help wins over the doc comment, as in the runtime.
#[test]
fn cmdarg_help_comes_first() {
    let data = globals();
    let obj = Object::parse(&data).unwrap();
    let mut m = meta(serde_json::json!([]));
    let vars = &mut m.bpf_skel.data_sections[0].variables;
    let pid = vars.iter_mut().find(|v| v.name == "targ_pid").unwrap();
    pid.extra["cmdarg"]["help"] = serde_json::json!("the pid to trace");
    let specs = specs(&obj, Some(&m)).unwrap();
    let pid = specs.iter().find(|s| s.var == "targ_pid").unwrap();
    assert_eq!(pid.help, "the pid to trace");
}

/// An enum option takes an enumerator's name or value, nothing else.
#[test]
fn enum_values_are_checked() {
    let data = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/types.bpf.o")).unwrap();
    let obj = Object::parse(&data).unwrap();
    let Some(e) = obj
        .btf
        .ids()
        .filter_map(|id| obj.btf.ty(id))
        .find(|t| t.kind() == Kind::Enum && t.size() == 4 && t.enum_values().count() >= 2)
    else {
        panic!("types.bpf.o has no 4-byte enum");
    };
    let first = e.enum_values().next().unwrap();
    let max = e.enum_values().map(|v| v.bits).max().unwrap();
    assert_eq!(
        encode(&obj.btf, e.id, 4, first.name).unwrap(),
        (first.bits as u32).to_le_bytes()
    );
    assert_eq!(
        encode(&obj.btf, e.id, 4, &first.bits.to_string()).unwrap(),
        (first.bits as u32).to_le_bytes()
    );
    let err = encode(&obj.btf, e.id, 4, &(max + 1000).to_string()).unwrap_err();
    assert!(err.starts_with("expected one of"), "{err}");
}
