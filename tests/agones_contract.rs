//! The stand-in Agones sidecar (`venture_testkit::agones`) against Agones' own REST
//! specification (`tests/data/agones/*.swagger.json`): it serves every operation of the
//! spec and nothing else, checks request bodies against the spec's schemas, answers with
//! bodies that fit the spec's response schemas, errs as grpc-gateway does, and streams
//! `GET /watch/gameserver`. The server's own calls are checked against it in
//! `tests/ops_agones.rs`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use serde_json::{json, Value};
use venture_testkit::agones::spec::validate;
use venture_testkit::agones::{Sidecar, Spec};

/// One request over a fresh connection; the status and the JSON body.
fn call(port: u16, method: &str, path: &str, body: Option<&str>) -> (u16, Value) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let body = body.unwrap_or("");
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let status: u16 = out.split(' ').nth(1).unwrap().parse().unwrap();
    let json = out
        .split_once("\r\n\r\n")
        .map(|(_, b)| serde_json::from_str(b).unwrap_or(Value::Null))
        .unwrap();
    (status, json)
}

/// A body that fits a schema: every property with a value of its type.
fn example(schema: &Value) -> Value {
    match schema["type"].as_str() {
        Some("string") if schema["format"] == "int64" => json!("1"),
        Some("string") => json!("x"),
        Some("integer") => json!(1),
        Some("boolean") => json!(true),
        Some("array") => json!([example(&schema["items"])]),
        _ => Value::Object(
            schema["properties"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(k, v)| (k.clone(), example(v)))
                .collect(),
        ),
    }
}

/// The path with each `{param}` replaced by `value`.
fn concrete(template: &str, value: &str) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(i) = rest.find('{') {
        out.push_str(&rest[..i]);
        let j = rest[i..].find('}').unwrap();
        out.push_str(value);
        rest = &rest[i + j + 1..];
    }
    out.push_str(rest);
    out
}

fn is_grpc_error(v: &Value) -> bool {
    v["code"].is_u64() && v["message"].is_string() && v["details"].is_array()
}

#[test]
fn every_operation_of_the_spec_is_served_and_answers_fit_its_schemas() {
    let spec = Spec::load();
    assert!(
        spec.operations.len() >= 20,
        "{} operations",
        spec.operations.len()
    );
    let sidecar = Sidecar::with_players_list(4);
    for op in spec.operations.iter().filter(|o| !o.streaming) {
        let path = concrete(&op.path, "players");
        let body = op.body.as_ref().map(|s| example(s).to_string());
        let (status, answer) = call(sidecar.port(), &op.method, &path, body.as_deref());
        let what = format!("{} {} ({}:{})", op.method, path, op.file, op.operation_id);
        assert!(
            ![404, 405].contains(&status) || op.operation_id.contains("Counter"),
            "{what}: the stand-in does not serve it: {status} {answer}"
        );
        if status == 200 {
            validate(&answer, &op.response, "answer").unwrap_or_else(|e| panic!("{what}: {e}"));
        } else {
            assert!(is_grpc_error(&answer), "{what}: {status} {answer}");
        }
    }
    // Ready, Health, Shutdown, the beta Lists and the GameServer are modelled; the rest
    // answers UNIMPLEMENTED rather than pretending.
    let modelled = |id: &str| {
        sidecar
            .requests()
            .iter()
            .any(|r| r.operation.as_deref() == Some(id) && r.status == 200)
    };
    for id in [
        "sdk.swagger.json:Ready",
        "sdk.swagger.json:Health",
        "sdk.swagger.json:Shutdown",
        "sdk.swagger.json:GetGameServer",
        "sdk.swagger.json:SetLabel",
        "beta.swagger.json:UpdateList",
        "beta.swagger.json:GetList",
    ] {
        assert!(modelled(id), "{id}: {:#?}", sidecar.requests());
    }
    let gs = sidecar.game_server();
    let get = spec.operation("sdk.swagger.json", "GetGameServer");
    validate(&gs, &get.response, "gameserver").unwrap();
}

#[test]
fn anything_outside_the_spec_is_rejected_and_recorded() {
    let sidecar = Sidecar::with_players_list(4);
    let p = sidecar.port();
    let cases: [(&str, &str, Option<&str>, u16, &str); 9] = [
        ("POST", "/readyz", Some("{}"), 404, "unknown path"),
        ("GET", "/ready", None, 405, "wrong method"),
        (
            "PUT",
            "/v1beta1/lists/players:addValue",
            Some("{\"value\":\"a\"}"),
            405,
            "wrong method on a verb",
        ),
        ("POST", "/ready", None, 400, "empty body"),
        (
            "POST",
            "/ready",
            Some("{\"now\":true}"),
            400,
            "unknown field in Empty",
        ),
        ("POST", "/health", Some("not json"), 400, "not JSON"),
        (
            "PUT",
            "/metadata/label",
            Some("{\"key\":\"players\",\"value\":3}"),
            400,
            "int for a string",
        ),
        (
            "PATCH",
            "/v1beta1/lists/players",
            Some("{\"capacity\":4}"),
            400,
            "int64 as a JSON number",
        ),
        (
            "POST",
            "/v1beta1/lists/players:addValue",
            Some("{\"player\":\"a\"}"),
            400,
            "unknown field, required missing",
        ),
    ];
    for (method, path, body, want, why) in cases {
        let (status, answer) = call(p, method, path, body);
        assert_eq!(status, want, "{why}: {method} {path} {body:?}: {answer}");
        assert!(is_grpc_error(&answer), "{why}: {answer}");
    }
    let recorded = sidecar.requests();
    assert_eq!(recorded.len(), cases.len());
    for (r, (method, path, _, want, _)) in recorded.iter().zip(cases) {
        assert_eq!(
            (r.method.as_str(), r.path.as_str(), r.status),
            (method, path, want)
        );
    }
    assert_eq!(
        sidecar.list("players"),
        Some((4, vec![])),
        "nothing changed"
    );
    assert_eq!(sidecar.state(), "Scheduled");
}

#[test]
fn lists_behave_as_agones_documents() {
    let sidecar = Sidecar::with_players_list(2);
    let p = sidecar.port();
    let add = |v: &str| {
        call(
            p,
            "POST",
            "/v1beta1/lists/players:addValue",
            Some(&json!({ "value": v }).to_string()),
        )
    };
    let remove = |v: &str| {
        call(
            p,
            "POST",
            "/v1beta1/lists/players:removeValue",
            Some(&json!({ "value": v }).to_string()),
        )
    };
    let (s, list) = add("ann");
    assert_eq!(
        (s, &list),
        (
            200,
            &json!({"name": "players", "capacity": "2", "values": ["ann"]})
        )
    );
    assert_eq!(add("ann").0, 409, "ALREADY_EXISTS");
    assert_eq!(add("bob").0, 200);
    let (s, e) = add("cy");
    assert_eq!(
        (s, e["code"].as_u64()),
        (400, Some(11)),
        "OUT_OF_RANGE at capacity: {e}"
    );
    let (s, list) = call(
        p,
        "PATCH",
        "/v1beta1/lists/players",
        Some("{\"capacity\":\"3\"}"),
    );
    assert_eq!((s, &list["capacity"]), (200, &json!("3")));
    assert_eq!(
        list["values"],
        json!(["ann", "bob"]),
        "capacity alone leaves the values"
    );
    assert_eq!(add("cy").0, 200);
    assert_eq!(remove("bob").0, 200);
    assert_eq!(remove("bob").0, 404, "NOT_FOUND: not in the list");
    assert_eq!(
        call(
            p,
            "POST",
            "/v1beta1/lists/spectators:addValue",
            Some("{\"value\":\"a\"}")
        )
        .0,
        404,
        "a List the GameServer does not declare"
    );
    assert_eq!(
        sidecar.list("players"),
        Some((3, vec!["ann".into(), "cy".into()]))
    );
    let gs = call(p, "GET", "/gameserver", None).1;
    assert_eq!(
        gs["status"]["lists"]["players"],
        json!({"capacity": "3", "values": ["ann", "cy"]})
    );
}

/// Reads one chunk of a chunked body (its size line, the data, the CRLF after it).
fn read_chunk(r: &mut BufReader<TcpStream>) -> String {
    let mut size = String::new();
    r.read_line(&mut size).unwrap();
    let n = usize::from_str_radix(size.trim(), 16).unwrap();
    let mut data = vec![0; n + 2];
    r.read_exact(&mut data).unwrap();
    assert_eq!(&data[n..], b"\r\n");
    String::from_utf8(data[..n].to_vec()).unwrap()
}

#[test]
fn watch_streams_the_game_server_and_stays_open() {
    let spec = Spec::load();
    let watch = spec.operation("sdk.swagger.json", "WatchGameServer");
    let sidecar = Sidecar::with_players_list(4);
    let mut s = TcpStream::connect(("127.0.0.1", sidecar.port())).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(b"GET /watch/gameserver HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .unwrap();
    let mut r = BufReader::new(s);
    let mut head = String::new();
    loop {
        let mut line = String::new();
        r.read_line(&mut line).unwrap();
        if line == "\r\n" {
            break;
        }
        head.push_str(&line);
    }
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("transfer-encoding: chunked"),
        "{head}"
    );
    let mut next = || {
        let line = read_chunk(&mut r);
        assert!(line.ends_with('\n'), "newline-delimited: {line:?}");
        let v: Value = serde_json::from_str(&line).unwrap();
        validate(&v, &watch.response, "stream").unwrap();
        v
    };
    assert_eq!(
        next()["result"]["status"]["state"],
        "Scheduled",
        "the current state first"
    );
    assert!(venture_testkit::wait_for(
        Duration::from_secs(5),
        || sidecar.watchers() == 1
    ));
    sidecar.allocate(&[("venture.dev/seed", "777")]);
    let v = next();
    assert_eq!(v["result"]["status"]["state"], "Allocated");
    assert_eq!(
        v["result"]["object_meta"]["annotations"]["venture.dev/seed"],
        "777"
    );
    assert_eq!(call(sidecar.port(), "POST", "/ready", Some("{}")).0, 200);
    assert_eq!(next()["result"]["status"]["state"], "Ready");
    // Away and back: the stream ends with the sidecar; the GameServer survives.
    sidecar.stop();
    let mut rest = Vec::new();
    assert!(r.read_to_end(&mut rest).is_ok(), "the stream closes");
    assert!(TcpStream::connect(("127.0.0.1", sidecar.port())).is_err());
    let mut sidecar = sidecar;
    sidecar.restart();
    let gs = call(sidecar.port(), "GET", "/gameserver", None).1;
    assert_eq!(gs["object_meta"]["annotations"]["venture.dev/seed"], "777");
}
