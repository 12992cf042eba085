use super::*;

#[test]
fn every_entry_is_consistent() {
    for k in KNOBS {
        assert_eq!(
            k.name.replace('-', "_"),
            k.param,
            "{}: name and field",
            k.name
        );
        assert!(
            !k.help().is_empty() && !k.help().starts_with(' '),
            "{}",
            k.name
        );
        assert!(!k.roles.is_empty(), "{}", k.name);
        assert_eq!(by_name(k.name), Some(k));
        for role in Role::ALL {
            // the default survives a round trip through the field
            let mut knobs = Knobs::defaults(role);
            k.set(&mut knobs, k.default(role)).expect("default sets");
            assert_eq!(k.get(&knobs), k.default(role), "{}", k.name);
            assert_eq!(knobs, Knobs::defaults(role));
        }
        match k.kind {
            Kind::Int { min, max } => {
                assert!(min <= max);
                for v in [min, max] {
                    let mut knobs = Knobs::default();
                    k.set(&mut knobs, Some(Value::Int(v)))
                        .expect("the range fits the field");
                    assert_eq!(k.get(&knobs), Some(Value::Int(v)));
                }
            }
            Kind::Choice { names, parse, .. } => {
                for n in names() {
                    assert_eq!(parse(n), Some(n), "{}: {n}", k.name);
                    let mut knobs = Knobs::default();
                    k.set(&mut knobs, Some(Value::Choice(n)))
                        .expect("a name sets");
                    assert_eq!(k.get(&knobs), Some(Value::Choice(n)));
                }
            }
            Kind::Bool => {}
        }
    }
}

#[test]
fn params_are_the_table() {
    let p = Knobs::default().to_params();
    let keys: Vec<&str> = p.keys().map(String::as_str).collect();
    let mut want: Vec<&str> = KNOBS.iter().map(|k| k.param).collect();
    want.sort_unstable();
    assert_eq!(keys, want);
    assert_eq!(p["xdp_mode"], "auto");
    assert_eq!(p["backend"], "afxdp");
    assert_eq!(p["cpu"], Json::Null);
    assert_eq!(p["need_wakeup"], true);
    assert_eq!(p["ring_size"], 2048);
}

#[test]
fn values_are_checked_with_the_words_of_each_kind() {
    let mode = by_name("xdp-mode").unwrap();
    assert_eq!(mode.parse(Raw::Str("drv")), Ok(Value::Choice("drv")));
    assert_eq!(
        mode.parse(Raw::Str("fast")),
        Err("expected one of skb, drv, auto".into())
    );
    let err = mode.parse_text("fast").unwrap_err();
    assert!(
        err.contains("XDP mode") && err.contains("skb, drv, auto"),
        "{err}"
    );
    // the command line takes the bind mode's aliases, files only its names
    let bind = by_name("bind").unwrap();
    assert_eq!(bind.parse_text("zc"), Ok(Value::Choice("zero-copy")));
    assert!(bind.parse(Raw::Str("zc")).is_err());
    let poll = by_name("poll").unwrap();
    assert_eq!(
        poll.parse(Raw::Int(1)),
        Err("expected true or false".into())
    );
    assert_eq!(poll.parse_text("true"), Ok(Value::Bool(true)));
    let frames = by_name("frames").unwrap();
    assert!(
        frames
            .parse(Raw::Int(-1))
            .unwrap_err()
            .contains("from 2 to")
    );
    assert!(frames.parse_text("5000000000").is_err());
    assert_eq!(frames.parse(Raw::Int(64)), Ok(Value::Int(64)));
    // backend is set by a sweep's baseline, not by an axis
    assert_eq!(axis("backend"), None);
    assert!(axis_names().contains(&"busy-poll"));
}

#[test]
fn setting_by_table_changes_the_typed_field() {
    let mut k = Knobs::defaults(Role::Fwd);
    by_name("bind")
        .unwrap()
        .set(&mut k, Some(Value::Choice("copy")))
        .unwrap();
    by_name("cpu")
        .unwrap()
        .set(&mut k, Some(Value::Int(1)))
        .unwrap();
    by_name("batch")
        .unwrap()
        .set(&mut k, Some(Value::Int(8)))
        .unwrap();
    assert_eq!(k.bind, xsk::BindMode::Copy);
    assert_eq!(k.cpu, Some(1));
    assert_eq!(k.batch, 8);
    let err = by_name("batch").unwrap().set(&mut k, None).unwrap_err();
    assert!(err.starts_with("--batch"), "{err}");
}

#[test]
fn the_forwarder_handles_up_to_64_per_ring_operation_by_default() {
    // the ping sends one probe per interval; the forwarder takes up to a batch of 64, as
    // xdpsock's l2fwd does, so that it keeps up with a pinger sending batches of 64
    assert_eq!(Knobs::defaults(Role::Ping).batch, 1);
    assert_eq!(Knobs::defaults(Role::Fwd).batch, 64);
}

#[test]
fn hardware_timestamps_on_the_udp_backend_are_refused_naming_the_knob() {
    let mut knobs = Knobs::defaults(Role::Ping);
    knobs.hw_timestamps = true;
    knobs.backend = Backend::Udp;
    let e = knobs
        .validate()
        .expect_err("no NIC stamps on kernel sockets");
    assert!(e.is_bad_input());
    let text = e.to_string();
    assert!(
        text.contains("hw-timestamps") && text.contains("--backend afxdp"),
        "{text}"
    );
    knobs.backend = Backend::Afxdp;
    assert!(knobs.validate().is_ok());
}
