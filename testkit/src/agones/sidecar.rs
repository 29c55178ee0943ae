//! A stand-in for the Agones SDK sidecar's REST gateway: a real HTTP/1.1 server on
//! loopback that serves exactly the operations of Agones' published specification
//! ([`Spec`]) and answers as the SDK server does.
//!
//! - A path the spec does not have: 404; a known path with another method: 405; a body
//!   that is not JSON, is empty where the operation takes one, or does not fit the
//!   operation's schema (unknown field, wrong type, missing required field): 400. Errors
//!   carry grpc-gateway's body `{"code": <gRPC code>, "message": ..., "details": []}`.
//! - The GameServer it describes has a state (`Scheduled` until Ready, `Allocated` when the
//!   test allocates it, `Shutdown`), labels and annotations (`agones.dev/sdk-` prefixed, as
//!   Agones stores SDK-set metadata), and the Counters and Lists the test declares. The
//!   beta Lists answer NOT_FOUND, ALREADY_EXISTS and OUT_OF_RANGE where Agones does.
//! - `GET /watch/gameserver` is a chunked stream of newline-delimited
//!   `{"result": GameServer}` objects: the current GameServer at once, then one per
//!   change, kept open until the client or the stand-in closes it.
//! - Operations in the spec that the stand-in does not model (alpha player tracking,
//!   Reserve, Counters): 501 UNIMPLEMENTED, recorded, so a test sees they were called.
//!
//! Every request is recorded with the status it got. [`Sidecar::stop`] and
//! [`Sidecar::restart`] take it away and bring it back on the same port with the same
//! GameServer (Kubernetes keeps it while the sidecar restarts).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use serde_json::{json, Value};

use super::spec::{validate, Route, Spec};

/// Largest request head and body the stand-in reads.
const MAX_HEAD: usize = 16 * 1024;
const MAX_BODY: usize = 64 * 1024;

/// One request as the stand-in saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub body: String,
    /// The HTTP status it was answered with.
    pub status: u16,
    /// `file:operationId` of the operation it matched, if any.
    pub operation: Option<String>,
}

impl Recorded {
    /// `"POST /ready"`.
    pub fn call(&self) -> String {
        format!("{} {}", self.method, self.path)
    }

    /// The body as JSON (`Null` when it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
}

#[derive(Clone, Debug, Default)]
struct ListState {
    capacity: i64,
    values: Vec<String>,
}

#[derive(Debug)]
struct GameServer {
    state: String,
    labels: BTreeMap<String, String>,
    annotations: BTreeMap<String, String>,
    lists: BTreeMap<String, ListState>,
    generation: u64,
}

impl GameServer {
    fn to_json(&self, port: u16) -> Value {
        let lists: serde_json::Map<String, Value> = self
            .lists
            .iter()
            .map(|(k, l)| {
                (
                    k.clone(),
                    json!({"capacity": l.capacity.to_string(), "values": l.values}),
                )
            })
            .collect();
        json!({
            "object_meta": {
                "name": "venture-stand-in",
                "namespace": "default",
                "uid": "00000000-0000-4000-8000-000000000001",
                "resource_version": self.generation.to_string(),
                "generation": self.generation.to_string(),
                "creation_timestamp": "1700000000",
                "annotations": self.annotations,
                "labels": self.labels,
            },
            "spec": {"health": {"disabled": false, "period_seconds": 5, "failure_threshold": 3, "initial_delay_seconds": 5}},
            "status": {
                "state": self.state,
                "address": "127.0.0.1",
                "addresses": [{"type": "InternalIP", "address": "127.0.0.1"}],
                "ports": [{"name": "game", "port": i64::from(port)}],
                "counters": {},
                "lists": lists,
            }
        })
    }
}

struct Shared {
    spec: Spec,
    gs: Mutex<GameServer>,
    requests: Mutex<Vec<Recorded>>,
    /// Open watch streams (clones), written on every change.
    watchers: Mutex<Vec<TcpStream>>,
    /// Every open connection (clones), shut down by `stop`.
    open: Mutex<Vec<TcpStream>>,
    /// Answer every request with 503 UNAVAILABLE (a sidecar that is up but failing).
    failing: AtomicBool,
    port: u16,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panicking handler thread must not hide the recording from the test.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Builder: declare the GameServer's Lists before starting.
#[derive(Default)]
pub struct SidecarBuilder {
    lists: BTreeMap<String, ListState>,
}

impl SidecarBuilder {
    /// A List declared in the GameServer spec with this initial capacity.
    pub fn list(mut self, name: &str, capacity: i64) -> Self {
        self.lists.insert(
            name.to_string(),
            ListState {
                capacity,
                values: Vec::new(),
            },
        );
        self
    }

    pub fn start(self) -> Sidecar {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the stand-in sidecar");
        let port = listener.local_addr().expect("local addr").port();
        let shared = Arc::new(Shared {
            spec: Spec::load(),
            gs: Mutex::new(GameServer {
                state: "Scheduled".into(),
                labels: BTreeMap::new(),
                annotations: BTreeMap::new(),
                lists: self.lists,
                generation: 1,
            }),
            requests: Mutex::new(Vec::new()),
            watchers: Mutex::new(Vec::new()),
            open: Mutex::new(Vec::new()),
            failing: AtomicBool::new(false),
            port,
        });
        let mut sidecar = Sidecar {
            shared,
            port,
            running: Mutex::new(None),
        };
        sidecar.serve(listener);
        sidecar
    }
}

struct Running {
    stop: Arc<AtomicBool>,
    acceptor: JoinHandle<()>,
}

/// The stand-in sidecar (see the module docs). Stopped on drop.
pub struct Sidecar {
    shared: Arc<Shared>,
    port: u16,
    running: Mutex<Option<Running>>,
}

impl Sidecar {
    pub fn builder() -> SidecarBuilder {
        SidecarBuilder::default()
    }

    /// A stand-in whose GameServer declares a `players` List of capacity `capacity`.
    pub fn with_players_list(capacity: i64) -> Sidecar {
        Self::builder().list("players", capacity).start()
    }

    /// The port to give the server as `AGONES_SDK_HTTP_PORT`.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Every request so far, in order.
    pub fn requests(&self) -> Vec<Recorded> {
        lock(&self.shared.requests).clone()
    }

    /// `"METHOD PATH"` of every request so far.
    pub fn calls(&self) -> Vec<String> {
        self.requests().iter().map(Recorded::call).collect()
    }

    /// How many requests were `METHOD PATH`.
    pub fn count(&self, call: &str) -> usize {
        self.calls().iter().filter(|c| *c == call).count()
    }

    /// The GameServer as `GET /gameserver` would answer it.
    pub fn game_server(&self) -> Value {
        lock(&self.shared.gs).to_json(self.port)
    }

    /// `status.state` of the GameServer.
    pub fn state(&self) -> String {
        lock(&self.shared.gs).state.clone()
    }

    /// A List's capacity and values.
    pub fn list(&self, name: &str) -> Option<(i64, Vec<String>)> {
        lock(&self.shared.gs)
            .lists
            .get(name)
            .map(|l| (l.capacity, l.values.clone()))
    }

    /// Open watch streams.
    pub fn watchers(&self) -> usize {
        lock(&self.shared.watchers).len()
    }

    /// What a GameServerAllocation does to the GameServer: state `Allocated` and the
    /// allocation's `metadata.annotations` merged in; watchers are told.
    pub fn allocate(&self, annotations: &[(&str, &str)]) {
        let mut gs = lock(&self.shared.gs);
        gs.state = "Allocated".into();
        for (k, v) in annotations {
            gs.annotations.insert(k.to_string(), v.to_string());
        }
        self.shared.changed(&mut gs);
    }

    /// Answer everything with 503 UNAVAILABLE (`true`) or normally again (`false`).
    pub fn set_failing(&self, on: bool) {
        self.shared.failing.store(on, Ordering::SeqCst);
    }

    /// Takes the sidecar away: the listener closes and every connection (watch streams
    /// included) is shut down. Requests then meet a refused connection.
    pub fn stop(&self) {
        let Some(running) = lock(&self.running).take() else {
            return;
        };
        running.stop.store(true, Ordering::SeqCst);
        // Wake the blocking accept so it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        let _ = running.acceptor.join();
        for s in lock(&self.shared.open).drain(..) {
            let _ = s.shutdown(Shutdown::Both);
        }
        lock(&self.shared.watchers).clear();
    }

    /// Brings the sidecar back on the same port, with the same GameServer.
    pub fn restart(&mut self) {
        if lock(&self.running).is_some() {
            return;
        }
        let listener = crate::wait::wait_some(Duration::from_secs(10), || {
            TcpListener::bind(("127.0.0.1", self.port)).ok()
        })
        .expect("rebind the stand-in sidecar's port");
        self.serve(listener);
    }

    fn serve(&mut self, listener: TcpListener) {
        let stop = Arc::new(AtomicBool::new(false));
        let shared = self.shared.clone();
        let flag = stop.clone();
        let acceptor = std::thread::spawn(move || {
            for conn in listener.incoming() {
                if flag.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(conn) = conn else { continue };
                if let Ok(clone) = conn.try_clone() {
                    lock(&shared.open).push(clone);
                }
                let shared = shared.clone();
                std::thread::spawn(move || shared.connection(conn));
            }
        });
        *lock(&self.running) = Some(Running { stop, acceptor });
    }
}

impl Drop for Sidecar {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A parsed request.
struct Request {
    method: String,
    path: String,
    body: Vec<u8>,
    close: bool,
}

/// gRPC status code to HTTP status, as grpc-gateway maps them.
fn http_status(code: u32) -> u16 {
    match code {
        3 | 9 | 11 => 400,
        5 => 404,
        6 => 409,
        12 => 501,
        14 => 503,
        _ => 500,
    }
}

/// An answer: status and JSON body.
type Answer = (u16, Value);

fn error(code: u32, message: impl Into<String>) -> Answer {
    (
        http_status(code),
        json!({"code": code, "message": message.into(), "details": []}),
    )
}

impl Shared {
    fn changed(&self, gs: &mut GameServer) {
        gs.generation += 1;
        let line = json!({ "result": gs.to_json(self.port) });
        let mut watchers = lock(&self.watchers);
        watchers.retain_mut(|w| write_chunk(w, &line).is_ok());
    }

    fn record(&self, req: &Request, status: u16, operation: Option<String>) {
        lock(&self.requests).push(Recorded {
            method: req.method.clone(),
            path: req.path.clone(),
            body: String::from_utf8_lossy(&req.body).into_owned(),
            status,
            operation,
        });
    }

    fn connection(&self, stream: TcpStream) {
        // Other clones of the socket live in `open`: closing it takes a shutdown.
        struct CloseOnExit<'a>(Option<TcpStream>, &'a Shared);
        impl Drop for CloseOnExit<'_> {
            fn drop(&mut self) {
                if let Some(s) = self.0.take() {
                    let me = s.peer_addr().ok();
                    lock(&self.1.open).retain(|o| matches!(o.peer_addr(), Ok(a) if Some(a) != me));
                    let _ = s.shutdown(Shutdown::Both);
                }
            }
        }
        let _close = CloseOnExit(stream.try_clone().ok(), self);
        let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
        let Ok(write_half) = stream.try_clone() else {
            return;
        };
        let mut reader = BufReader::new(stream);
        let mut out = write_half;
        loop {
            let req = match read_request(&mut reader) {
                Ok(Some(r)) => r,
                Ok(None) => return,
                Err(why) => {
                    let (status, body) = error(3, why);
                    let _ = respond(&mut out, status, &body, true);
                    return;
                }
            };
            if let Some((status, body, operation, watch)) = self.answer(&req) {
                self.record(&req, status, operation);
                if watch {
                    self.watch(out, reader);
                    return;
                }
                if respond(&mut out, status, &body, req.close).is_err() || req.close {
                    return;
                }
            }
        }
    }

    /// The answer to one request: status, body, the operation, and whether it opens a
    /// watch stream.
    fn answer(&self, req: &Request) -> Option<(u16, Value, Option<String>, bool)> {
        let (op, params) = match self.spec.route(&req.method, &req.path) {
            Route::NotFound => {
                let (s, b) = error(5, "Not Found");
                return Some((s, b, None, false));
            }
            Route::WrongMethod => {
                let (_, b) = error(12, "Method Not Allowed");
                return Some((405, b, None, false));
            }
            Route::Found(op, params) => (op, params),
        };
        let name = format!("{}:{}", op.file, op.operation_id);
        if let Some(schema) = &op.body {
            let parsed = if req.body.iter().all(u8::is_ascii_whitespace) {
                Err("the request body is empty; this operation takes a JSON body".to_string())
            } else {
                serde_json::from_slice::<Value>(&req.body)
                    .map_err(|e| format!("proto: syntax error: {e}"))
            };
            if let Err(why) = parsed.and_then(|v| validate(&v, schema, "body")) {
                let (s, b) = error(3, why);
                return Some((s, b, Some(name), false));
            }
        }
        if self.failing.load(Ordering::SeqCst) {
            let (s, b) = error(14, "the stand-in sidecar is failing on purpose");
            return Some((s, b, Some(name), false));
        }
        let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
        let param = |k: &str| {
            params
                .iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        let mut gs = lock(&self.gs);
        let (status, value) = match (op.file, op.operation_id.as_str()) {
            ("sdk.swagger.json", "WatchGameServer") => {
                return Some((200, Value::Null, Some(name), true));
            }
            ("sdk.swagger.json", "GetGameServer") => (200, gs.to_json(self.port)),
            ("sdk.swagger.json", "Ready") => {
                gs.state = "Ready".into();
                self.changed(&mut gs);
                (200, json!({}))
            }
            ("sdk.swagger.json", "Allocate") => {
                gs.state = "Allocated".into();
                self.changed(&mut gs);
                (200, json!({}))
            }
            ("sdk.swagger.json", "Shutdown") => {
                gs.state = "Shutdown".into();
                self.changed(&mut gs);
                (200, json!({}))
            }
            ("sdk.swagger.json", "Health") => (200, json!({})),
            ("sdk.swagger.json", op_id @ ("SetLabel" | "SetAnnotation")) => {
                let key = format!("agones.dev/sdk-{}", body["key"].as_str().unwrap_or(""));
                let value = body["value"].as_str().unwrap_or("").to_string();
                if op_id == "SetLabel" {
                    gs.labels.insert(key, value);
                } else {
                    gs.annotations.insert(key, value);
                }
                self.changed(&mut gs);
                (200, json!({}))
            }
            ("beta.swagger.json", list_op) if list_op.contains("List") => {
                let list_name = param(if list_op == "UpdateList" {
                    "list.name"
                } else {
                    "name"
                });
                match list_call(&mut gs, list_op, &list_name, &body) {
                    Ok(()) => {
                        let l = gs.lists[&list_name].clone();
                        if list_op != "GetList" {
                            self.changed(&mut gs);
                        }
                        (
                            200,
                            json!({"name": list_name, "capacity": l.capacity.to_string(), "values": l.values}),
                        )
                    }
                    Err(e) => e,
                }
            }
            _ => error(
                12,
                format!("{name} is not modelled by the stand-in sidecar"),
            ),
        };
        Some((status, value, Some(name), false))
    }

    fn watch(&self, mut out: TcpStream, reader: BufReader<TcpStream>) {
        let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
        if out.write_all(head.as_bytes()).is_err() {
            return;
        }
        {
            // Under the GameServer lock: no change can slip between the first object and
            // the registration.
            let gs = lock(&self.gs);
            let first = json!({ "result": gs.to_json(self.port) });
            if write_chunk(&mut out, &first).is_err() {
                return;
            }
            if let Ok(clone) = out.try_clone() {
                lock(&self.watchers).push(clone);
            }
        }
        // Hold the stream until the client goes (EOF or error), then forget it.
        let mut inner = reader.into_inner();
        let _ = inner.set_read_timeout(None);
        let mut buf = [0u8; 256];
        while matches!(inner.read(&mut buf), Ok(n) if n > 0) {}
        let me = out.peer_addr().ok();
        lock(&self.watchers).retain(|w| matches!(w.peer_addr(), Ok(a) if Some(a) != me));
    }
}

/// The beta List operations on the GameServer's Lists, with Agones' errors.
fn list_call(gs: &mut GameServer, op: &str, name: &str, body: &Value) -> Result<(), Answer> {
    let Some(list) = gs.lists.get_mut(name) else {
        return Err(error(5, format!("not found. {name} List not found")));
    };
    let value = body["value"].as_str().unwrap_or("").to_string();
    match op {
        "GetList" => Ok(()),
        "UpdateList" => {
            // grpc-gateway derives the field mask from the fields present in a PATCH body.
            if let Some(c) = body.get("capacity") {
                let c: i64 = c.as_str().and_then(|s| s.parse().ok()).unwrap_or(-1);
                if !(0..=1000).contains(&c) {
                    return Err(error(11, format!("out of range. Capacity must be within range [0,1000]. Found Capacity: {c}")));
                }
                list.capacity = c;
                list.values.truncate(c as usize);
            }
            if let Some(v) = body.get("values").and_then(Value::as_array) {
                list.values = v
                    .iter()
                    .filter_map(|x| x.as_str().map(str::to_string))
                    .collect();
            }
            Ok(())
        }
        "AddListValue" => {
            if list.values.contains(&value) {
                return Err(error(
                    6,
                    format!("already exists. Value: {value} already in List: {name}"),
                ));
            }
            if list.values.len() as i64 >= list.capacity {
                return Err(error(
                    11,
                    format!(
                        "out of range. No available capacity. Current Capacity: {}, List Size: {}",
                        list.capacity,
                        list.values.len()
                    ),
                ));
            }
            list.values.push(value);
            Ok(())
        }
        "RemoveListValue" => {
            let Some(i) = list.values.iter().position(|v| *v == value) else {
                return Err(error(
                    5,
                    format!("not found. Value: {value} not found in List: {name}"),
                ));
            };
            list.values.remove(i);
            Ok(())
        }
        _ => Err(error(
            12,
            format!("{op} is not modelled by the stand-in sidecar"),
        )),
    }
}

fn write_chunk(out: &mut TcpStream, message: &Value) -> std::io::Result<()> {
    let mut line = message.to_string();
    line.push('\n');
    write!(out, "{:x}\r\n{line}\r\n", line.len())?;
    out.flush()
}

fn respond(out: &mut TcpStream, status: u16, body: &Value, close: bool) -> std::io::Result<()> {
    let body = body.to_string();
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        501 => "Not Implemented",
        503 => "Service Unavailable",
        _ => "Error",
    };
    let conn = if close { "Connection: close\r\n" } else { "" };
    write!(
        out,
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{conn}\r\n{body}",
        body.len()
    )?;
    out.flush()
}

/// One request from the connection; `Ok(None)` when the client closed it.
fn read_request(r: &mut BufReader<TcpStream>) -> Result<Option<Request>, String> {
    let mut line = String::new();
    match r.read_line(&mut line) {
        Ok(0) | Err(_) => return Ok(None),
        Ok(_) => {}
    }
    let mut parts = line.split_whitespace();
    let (Some(method), Some(target), Some(version)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(format!("malformed request line {line:?}"));
    };
    if !version.starts_with("HTTP/1.") {
        return Err(format!("not HTTP/1.x: {line:?}"));
    }
    let mut len = 0usize;
    let mut close = version == "HTTP/1.0";
    let mut head = line.len();
    loop {
        let mut h = String::new();
        if r.read_line(&mut h).map_err(|e| e.to_string())? == 0 {
            return Ok(None);
        }
        head += h.len();
        if head > MAX_HEAD {
            return Err("request head too large".into());
        }
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        let (name, value) = h.split_once(':').ok_or(format!("malformed header {h:?}"))?;
        let (name, value) = (name.trim().to_ascii_lowercase(), value.trim());
        match name.as_str() {
            "content-length" => {
                len = value
                    .parse()
                    .map_err(|_| format!("bad Content-Length {value:?}"))?
            }
            "transfer-encoding" => return Err("chunked request bodies are not expected".into()),
            "connection" => close = value.eq_ignore_ascii_case("close"),
            _ => {}
        }
    }
    if len > MAX_BODY {
        return Err("request body too large".into());
    }
    let mut body = vec![0; len];
    r.read_exact(&mut body).map_err(|e| e.to_string())?;
    // The path without a query string: no operation here takes query parameters.
    let path = target.split('?').next().unwrap_or("").to_string();
    Ok(Some(Request {
        method: method.to_string(),
        path,
        body,
        close,
    }))
}
