//! The deployment files in `deploy/` parse and say what docs/DEPLOYMENT.md promises:
//! YAML files are parsed with serde_norway (every document), the systemd unit and the
//! Dockerfile are checked line by line. Then the tools that run them check them: promtool
//! (Prometheus config, rules and rule unit tests), `systemd-analyze verify` (the unit, in a
//! scratch root with the binary at its path), kubernetes-validate (the Kubernetes
//! manifests and the Agones pod template, against the bundled Kubernetes schemas,
//! offline), and a structural test of the fields Agones requires. Nothing here needs
//! Docker or a cluster.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_norway::Value;
use venture_testkit::tools::{in_ci, tool_or_skip};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(rel: &str) -> String {
    fs::read_to_string(root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// Every YAML document in a file.
fn docs(rel: &str) -> Vec<Value> {
    let text = read(rel);
    serde_norway::Deserializer::from_str(&text)
        .map(|d| {
            let mut v =
                Value::deserialize(d).unwrap_or_else(|e| panic!("{rel}: invalid YAML: {e}"));
            // Resolve `<<: *anchor` merge keys as Compose does.
            v.apply_merge()
                .unwrap_or_else(|e| panic!("{rel}: bad merge key: {e}"));
            v
        })
        .collect()
}

/// `v["a"]["b"][0]...` by a path of keys (numbers index sequences).
fn at<'a>(v: &'a Value, path: &str) -> &'a Value {
    let mut cur = v;
    for key in path.split('.') {
        cur = match key.parse::<usize>() {
            Ok(i) => cur.get(i),
            Err(_) => cur.get(key),
        }
        .unwrap_or_else(|| panic!("missing {path} (at {key})"));
    }
    cur
}

fn s<'a>(v: &'a Value, path: &str) -> &'a str {
    at(v, path)
        .as_str()
        .unwrap_or_else(|| panic!("{path} is not a string"))
}

fn strings(v: &Value, path: &str) -> Vec<String> {
    at(v, path)
        .as_sequence()
        .unwrap_or_else(|| panic!("{path} is not a list"))
        .iter()
        .map(|x| match x {
            Value::String(s) => s.clone(),
            other => serde_norway::to_string(other).unwrap().trim().to_string(),
        })
        .collect()
}

fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        if p.is_dir() {
            yaml_files(&p, out);
        } else if matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")) {
            out.push(p);
        }
    }
}

#[test]
fn every_yaml_file_in_deploy_parses() {
    let mut files = Vec::new();
    yaml_files(&root().join("deploy"), &mut files);
    files.sort();
    let names: Vec<String> = files
        .iter()
        .map(|p| p.strip_prefix(root()).unwrap().display().to_string())
        .collect();
    for expected in [
        "deploy/docker-compose.yml",
        "deploy/k8s/deployment.yaml",
        "deploy/k8s/service.yaml",
        "deploy/agones/fleet.yaml",
        "deploy/agones/allocation.yaml",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} missing: {names:?}"
        );
    }
    for n in &names {
        let d = docs(n);
        assert!(!d.is_empty(), "{n}: no YAML documents");
        for doc in d {
            assert!(doc.is_mapping(), "{n}: a document is not a mapping");
        }
    }
}

#[test]
fn compose_runs_two_worlds_with_udp_and_tcp() {
    let d = docs("deploy/docker-compose.yml");
    let c = &d[0];
    let services = at(c, "services").as_mapping().unwrap();
    assert_eq!(services.len(), 2);
    let mut seeds = Vec::new();
    let mut host_ports = Vec::new();
    for (name, svc) in services {
        let name = name.as_str().unwrap();
        let cmd = strings(svc, "command");
        let i = cmd
            .iter()
            .position(|a| a == "-seed")
            .unwrap_or_else(|| panic!("{name}: no -seed"));
        seeds.push(cmd[i + 1].clone());
        let ports = strings(svc, "ports");
        assert!(
            ports.iter().any(|p| p.ends_with(":8080/udp")),
            "{name}: no UDP port: {ports:?}"
        );
        assert!(
            ports.iter().any(|p| p.ends_with(":8080/tcp")),
            "{name}: no TCP port: {ports:?}"
        );
        host_ports.push(ports[0].split(':').next().unwrap().to_string());
        let vols = strings(svc, "volumes");
        assert!(
            vols.iter().any(|v| v.ends_with(":/app/saves")),
            "{name}: no saves volume"
        );
        // The merged anchor brings the environment in.
        let env = at(svc, "environment");
        assert_eq!(
            env.get("LOG_FORMAT").and_then(Value::as_str),
            Some("json"),
            "{name}"
        );
    }
    seeds.sort();
    assert_eq!(seeds, ["12345", "67890"]);
    host_ports.dedup();
    assert_eq!(
        host_ports.len(),
        2,
        "the two worlds must use different host ports"
    );
    assert!(at(c, "volumes").as_mapping().unwrap().len() >= 2);
}

#[test]
fn kubernetes_deployment_and_service() {
    let d = docs("deploy/k8s/deployment.yaml");
    let dep = &d[0];
    assert_eq!(s(dep, "kind"), "Deployment");
    assert_eq!(s(dep, "apiVersion"), "apps/v1");
    let pod = at(dep, "spec.template.spec");
    assert_eq!(
        at(pod, "securityContext.runAsNonRoot").as_bool(),
        Some(true)
    );
    let c = at(pod, "containers.0");
    let ports = at(c, "ports").as_sequence().unwrap();
    let mut protos: Vec<(&str, u64)> = ports
        .iter()
        .map(|p| (s(p, "protocol"), at(p, "containerPort").as_u64().unwrap()))
        .collect();
    protos.sort();
    assert_eq!(protos, [("TCP", 8080), ("UDP", 8080)]);
    assert_eq!(s(c, "livenessProbe.httpGet.path"), "/healthz");
    assert_eq!(s(c, "readinessProbe.httpGet.path"), "/readyz");
    assert!(at(c, "resources.limits").get("memory").is_some());
    assert!(at(c, "resources.requests").get("cpu").is_some());
    let args = strings(c, "args");
    assert!(args.windows(2).any(|w| w == ["-port", "8080"]), "{args:?}");
    let mounts = at(c, "volumeMounts").as_sequence().unwrap();
    assert!(mounts.iter().any(|m| s(m, "mountPath") == "/app/saves"));
    let vols = at(pod, "volumes").as_sequence().unwrap();
    assert!(vols.iter().any(|v| s(v, "name") == "saves"));

    let d = docs("deploy/k8s/service.yaml");
    let svc = &d[0];
    assert_eq!(s(svc, "kind"), "Service");
    let mut protos: Vec<(&str, u64)> = at(svc, "spec.ports")
        .as_sequence()
        .unwrap()
        .iter()
        .map(|p| (s(p, "protocol"), at(p, "port").as_u64().unwrap()))
        .collect();
    protos.sort();
    assert_eq!(protos, [("TCP", 8080), ("UDP", 8080)]);
    assert_eq!(
        at(svc, "spec.selector"),
        at(dep, "spec.template.metadata.labels"),
        "the Service must select the Deployment's pods"
    );
}

#[test]
fn agones_fleet_and_autoscaler() {
    let d = docs("deploy/agones/fleet.yaml");
    let kinds: BTreeMap<&str, &Value> = d.iter().map(|x| (s(x, "kind"), x)).collect();
    let fleet = kinds["Fleet"];
    assert_eq!(s(fleet, "apiVersion"), "agones.dev/v1");
    let gs = at(fleet, "spec.template.spec");
    let port = at(gs, "ports.0");
    let container_port = at(port, "containerPort").as_u64().unwrap();
    // UDP for the game and TCP for HTTP on the same port number.
    assert_eq!(s(port, "protocol"), "TCPUDP");
    // The SDK sidecar owns TCP 8080 in the pod.
    assert_ne!(container_port, 8080);
    assert_eq!(at(gs, "health.disabled").as_bool(), Some(false));
    assert!(
        at(gs, "health.periodSeconds").as_u64().unwrap() >= 3,
        "Health() is pinged every 2 s"
    );
    let c = at(gs, "template.spec.containers.0");
    let args = strings(c, "args");
    assert!(args.contains(&"-agones".to_string()), "{args:?}");
    let i = args.iter().position(|a| a == "-port").unwrap();
    assert_eq!(args[i + 1], container_port.to_string());
    assert_eq!(
        at(gs, "template.spec.securityContext.runAsNonRoot").as_bool(),
        Some(true)
    );

    let fas = kinds["FleetAutoscaler"];
    assert_eq!(s(fas, "apiVersion"), "autoscaling.agones.dev/v1");
    assert_eq!(s(fas, "spec.fleetName"), s(fleet, "metadata.name"));
    assert_eq!(
        s(fas, "spec.policy.type"),
        "List",
        "scales on the players List"
    );
}

/// `[Section]` -> key -> values (keys may repeat).
fn ini(text: &str) -> BTreeMap<String, BTreeMap<String, Vec<String>>> {
    let mut out: BTreeMap<String, BTreeMap<String, Vec<String>>> = BTreeMap::new();
    let mut section = String::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name.to_string();
            continue;
        }
        let (k, v) = line
            .split_once('=')
            .unwrap_or_else(|| panic!("not key=value: {line}"));
        out.entry(section.clone())
            .or_default()
            .entry(k.to_string())
            .or_default()
            .push(v.to_string());
    }
    out
}

#[test]
fn systemd_unit_is_hardened() {
    let unit = ini(&read("deploy/venture-server.service"));
    let svc = &unit["Service"];
    let one = |k: &str| -> &str {
        let v = svc
            .get(k)
            .unwrap_or_else(|| panic!("[Service] {k}= missing"));
        v.last().unwrap()
    };
    assert_eq!(one("User"), "venture");
    assert_eq!(one("Restart"), "always");
    assert_eq!(one("NoNewPrivileges"), "true");
    assert_eq!(one("ProtectSystem"), "strict");
    assert_eq!(one("PrivateTmp"), "true");
    assert_eq!(one("ProtectHome"), "true");
    assert_eq!(one("MemoryMax"), "2G");
    assert!(
        !svc.contains_key("MemoryLimit"),
        "MemoryLimit= is deprecated"
    );
    let rw = one("ReadWritePaths");
    assert!(
        rw.contains("/opt/venture/saves") && rw.contains("/opt/venture/replays"),
        "{rw}"
    );
    let env = &svc["Environment"];
    assert!(env.iter().any(|e| e.contains("LOG_FORMAT=json")), "{env:?}");
    let exec = one("ExecStart");
    assert!(exec.starts_with("/opt/venture/venture-server "), "{exec}");
    assert!(exec.contains("-port 8080"));
    assert_eq!(unit["Install"]["WantedBy"], ["multi-user.target"]);
}

#[test]
fn dockerfile_is_multi_stage_non_root_and_exposes_udp_and_tcp() {
    let text = read("deploy/Dockerfile");
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('#'))
        .collect();
    let froms: Vec<&&str> = lines.iter().filter(|l| l.starts_with("FROM ")).collect();
    assert!(froms.len() >= 2, "multi-stage: {froms:?}");
    assert!(froms[0].contains(" AS builder"), "{}", froms[0]);
    assert!(text.contains("cargo build --release"));
    assert!(text.contains("--bin venture-server"));
    assert!(text.contains("COPY --from=builder"));
    let user = lines
        .iter()
        .rfind(|l| l.starts_with("USER "))
        .expect("USER");
    assert!(
        !user.contains("root") && !user.ends_with(" 0") && !user.contains(" 0:"),
        "{user}"
    );
    assert!(lines
        .iter()
        .any(|l| l.starts_with("EXPOSE ") && l.contains("8080/udp") && l.contains("8080/tcp")));
    assert!(lines.iter().any(|l| l.starts_with("ENTRYPOINT [")));
    assert!(lines
        .iter()
        .any(|l| l.starts_with("CMD [") && l.contains("\"-port\", \"8080\"")));
    assert!(lines.iter().any(|l| l.starts_with("WORKDIR ")));
    assert!(text.contains("saves") && text.contains("replays"));
    let ignore = read(".dockerignore");
    assert!(
        ignore
            .lines()
            .any(|l| l.trim() == "target/" || l.trim() == "target"),
        "{ignore}"
    );
}

// ---- Checked by the tools that run them ------------------------------------------------
// A tool that is missing skips its test with a message, except under CI=true, where
// .ci/run installs it (Debian's prometheus and systemd packages, kubernetes-validate from
// PyPI) and a missing tool is a failure.

/// Runs a command: (success, stdout + stderr).
fn run(cmd: &mut std::process::Command) -> (bool, String) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

use venture_testkit::Scratch;

#[test]
fn prometheus_config_and_rules_pass_promtool() {
    let Some(promtool) = tool_or_skip(
        "prometheus_config_and_rules_pass_promtool",
        "promtool",
        "VENTURE_PROMTOOL",
        &[],
    ) else {
        return;
    };
    let dir = root().join("deploy/prometheus");
    for args in [
        &["check", "config", "prometheus.yml"][..],
        &["check", "rules", "venture.rules.yml"],
        &["test", "rules", "venture.rules.test.yml"],
    ] {
        let (ok, out) = run(std::process::Command::new(&promtool)
            .args(args)
            .current_dir(&dir));
        assert!(ok, "promtool {args:?} failed:\n{out}");
        assert!(out.contains("SUCCESS"), "promtool {args:?}:\n{out}");
    }
}

/// The unit's units directory of the systemd package, copied into a scratch root so
/// `systemd-analyze --root` finds `sysinit.target` and friends.
fn systemd_units_dir() -> Option<PathBuf> {
    ["/usr/lib/systemd/system", "/lib/systemd/system"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.join("sysinit.target").exists())
}

#[test]
fn systemd_unit_passes_systemd_analyze_verify() {
    let test = "systemd_unit_passes_systemd_analyze_verify";
    let Some(analyze) = tool_or_skip(test, "systemd-analyze", "VENTURE_SYSTEMD_ANALYZE", &[])
    else {
        return;
    };
    let Some(units) = systemd_units_dir() else {
        assert!(!in_ci(), "{test}: no systemd unit directory");
        eprintln!("SKIPPED {test}: no systemd unit directory (install Debian's systemd)");
        return;
    };
    // A scratch root: the systemd package's units, our unit, and the binary at the unit's
    // ExecStart path. `verify` loads the unit and its dependencies there and checks that
    // the command is executable; any warning (unknown key, bad value) counts as failure.
    let scratch = Scratch::new("systemd-root");
    let r = scratch.path();
    fs::create_dir_all(r.join("usr/lib/systemd")).unwrap();
    let (ok, out) = run(std::process::Command::new("cp")
        .arg("-a")
        .arg(&units)
        .arg(r.join("usr/lib/systemd/system")));
    assert!(ok, "copy units: {out}");
    fs::create_dir_all(r.join("etc/systemd/system")).unwrap();
    fs::copy(
        root().join("deploy/venture-server.service"),
        r.join("etc/systemd/system/venture-server.service"),
    )
    .unwrap();
    let verify = || {
        run(std::process::Command::new(&analyze)
            .arg("verify")
            .arg(format!("--root={}", r.display()))
            .arg("venture-server.service"))
    };
    // Without the binary the tool must object: it really checks ExecStart.
    let (ok, out) = verify();
    assert!(
        !ok && out.contains("/opt/venture/venture-server"),
        "verify without the binary: {ok} {out}"
    );
    fs::create_dir_all(r.join("opt/venture")).unwrap();
    fs::copy(
        env!("CARGO_BIN_EXE_venture-server"),
        r.join("opt/venture/venture-server"),
    )
    .unwrap();
    let (ok, out) = verify();
    assert!(ok, "systemd-analyze verify failed:\n{out}");
    assert!(
        out.trim().is_empty(),
        "systemd-analyze verify warned:\n{out}"
    );
}

fn kubernetes_validate(test: &str) -> Option<PathBuf> {
    tool_or_skip(
        test,
        "kubernetes-validate",
        "VENTURE_KUBERNETES_VALIDATE",
        &[root().join("target/ci-venv/bin/kubernetes-validate")],
    )
}

/// `kubernetes-validate --strict` (offline, with the schemas it bundles) on some files.
fn validate(tool: &Path, files: &[PathBuf]) -> (bool, String) {
    run(std::process::Command::new(tool).arg("--strict").args(files))
}

#[test]
fn kubernetes_manifests_pass_schema_validation() {
    let test = "kubernetes_manifests_pass_schema_validation";
    let Some(tool) = kubernetes_validate(test) else {
        return;
    };
    let files = [
        root().join("deploy/k8s/deployment.yaml"),
        root().join("deploy/k8s/service.yaml"),
    ];
    let (ok, out) = validate(&tool, &files);
    assert!(ok, "kubernetes-validate failed:\n{out}");
    for f in ["deployment.yaml", "service.yaml"] {
        assert!(
            out.lines().any(|l| l.contains(f) && l.contains("passed")),
            "{f} not validated:\n{out}"
        );
    }
    assert!(!out.contains("WARN"), "{out}");

    // The validator does reject what Kubernetes would: an unknown container field.
    let scratch = Scratch::new("k8s-bad");
    let mut dep = docs("deploy/k8s/deployment.yaml").remove(0);
    dep["spec"]["template"]["spec"]["containers"][0]
        .as_mapping_mut()
        .unwrap()
        .insert(Value::from("livenesProbe"), Value::from("typo"));
    let bad = scratch.join("bad.yaml");
    fs::write(&bad, serde_norway::to_string(&dep).unwrap()).unwrap();
    let (ok, out) = validate(&tool, &[bad]);
    assert!(!ok, "a misspelt field passed validation:\n{out}");
}

#[test]
fn agones_pod_template_passes_schema_validation() {
    // No validator here knows Agones' CRDs; the pod template inside the Fleet is a plain
    // Kubernetes PodTemplateSpec, so it is validated as one (wrapped in a PodTemplate).
    // agones_fleet_fields_agones_requires covers the Agones-specific fields.
    let test = "agones_pod_template_passes_schema_validation";
    let Some(tool) = kubernetes_validate(test) else {
        return;
    };
    let fleet = docs("deploy/agones/fleet.yaml")
        .into_iter()
        .find(|d| d["kind"] == "Fleet")
        .expect("Fleet");
    let pod_template = fleet["spec"]["template"]["spec"]["template"].clone();
    let wrapped: Value = serde_norway::from_str(&format!(
        "apiVersion: v1\nkind: PodTemplate\nmetadata:\n  name: venture-gameserver\ntemplate: {}",
        serde_json::to_string(&pod_template).unwrap()
    ))
    .unwrap();
    let scratch = Scratch::new("agones-pod");
    let file = scratch.join("pod-template.yaml");
    fs::write(&file, serde_norway::to_string(&wrapped).unwrap()).unwrap();
    let (ok, out) = validate(&tool, &[file]);
    assert!(ok, "the Fleet's pod template failed validation:\n{out}");
    assert!(out.contains("passed"), "{out}");
}

#[test]
fn agones_fleet_fields_agones_requires() {
    // What Agones' admission webhook checks on a Fleet and FleetAutoscaler
    // (agones.dev/v1 GameServerSpec validation), asserted structurally.
    let d = docs("deploy/agones/fleet.yaml");
    let fleet = d.iter().find(|x| x["kind"] == "Fleet").expect("Fleet");
    assert!(at(fleet, "metadata.name")
        .as_str()
        .is_some_and(|n| !n.is_empty()));
    assert!(at(fleet, "spec.replicas").as_u64().is_some());
    assert!(["Packed", "Distributed"].contains(&s(fleet, "spec.scheduling")));
    assert!(["RollingUpdate", "Recreate"].contains(&s(fleet, "spec.strategy.type")));
    let gs = at(fleet, "spec.template.spec");
    let ports = at(gs, "ports").as_sequence().expect("ports");
    assert!(!ports.is_empty());
    let mut names = std::collections::BTreeSet::new();
    for p in ports {
        assert!(names.insert(s(p, "name")), "port names must be unique");
        let policy = s(p, "portPolicy");
        assert!(
            ["Dynamic", "Static", "Passthrough", "None"].contains(&policy),
            "{policy}"
        );
        assert!(["UDP", "TCP", "TCPUDP"].contains(&s(p, "protocol")));
        let cp = at(p, "containerPort").as_u64().expect("containerPort");
        assert!((1..=65535).contains(&cp));
        if policy == "Static" {
            assert!(p.get("hostPort").is_some(), "Static needs hostPort");
        } else {
            assert!(
                p.get("hostPort").is_none(),
                "{policy} must not set hostPort"
            );
        }
    }
    let containers = at(gs, "template.spec.containers").as_sequence().unwrap();
    // With several containers, spec.container must name the game server's.
    if containers.len() > 1 {
        let c = s(gs, "container");
        assert!(containers.iter().any(|x| s(x, "name") == c));
    }
    for c in containers {
        assert!(!s(c, "name").is_empty() && !s(c, "image").is_empty());
    }
    for k in ["initialDelaySeconds", "periodSeconds", "failureThreshold"] {
        assert!(at(gs, &format!("health.{k}")).as_u64().unwrap() >= 1, "{k}");
    }
    let level = s(gs, "sdkServer.logLevel");
    assert!(
        ["Info", "Debug", "Error", "Trace"].contains(&level),
        "{level}"
    );

    // The players List: declared, its capacity what the server sets (-max-players), and
    // the server told to keep it (-agones) and to wait for its allocation.
    let args = strings(gs, "template.spec.containers.0.args");
    let flag = |name: &str| args.iter().position(|a| a == name);
    assert!(
        flag("-agones").is_some() && flag("-await-allocation").is_some(),
        "{args:?}"
    );
    let max_players = &args[flag("-max-players").expect("-max-players") + 1];
    let list = at(gs, "lists.players");
    assert_eq!(
        at(list, "capacity")
            .as_u64()
            .map(|c| c.to_string())
            .as_deref(),
        Some(max_players.as_str()),
        "the List's capacity is -max-players"
    );
    assert!(
        list.get("values").is_none(),
        "the server fills the List; none preset"
    );

    let fas = d
        .iter()
        .find(|x| x["kind"] == "FleetAutoscaler")
        .expect("FleetAutoscaler");
    assert_eq!(s(fas, "metadata.name"), "venture-fleet");
    assert_eq!(s(fas, "spec.fleetName"), s(fleet, "metadata.name"));
    assert_eq!(s(fas, "spec.policy.type"), "List");
    let l = at(fas, "spec.policy.list");
    assert_eq!(s(l, "key"), venture::ops::agones::PLAYERS_LIST);
    // Agones' ListPolicy validation: bufferSize > 0, minCapacity >= bufferSize when it is
    // absolute, maxCapacity >= minCapacity.
    let size = at(l, "bufferSize")
        .as_u64()
        .expect("bufferSize is a count here");
    let (min, max) = (
        at(l, "minCapacity").as_u64().unwrap(),
        at(l, "maxCapacity").as_u64().unwrap(),
    );
    assert!(size >= 1 && min >= size && max >= min, "{size} {min} {max}");
    let per_server: u64 = max_players.parse().unwrap();
    assert_eq!(max % per_server, 0, "maxCapacity is whole servers");
    assert_eq!(s(fas, "spec.sync.type"), "FixedInterval");
    assert!(at(fas, "spec.sync.fixedInterval.seconds").as_u64().unwrap() >= 1);
}

#[test]
fn agones_allocation_chooses_the_world_the_server_understands() {
    use venture::ops::agones::allocation::{Allocation, GENRE_ANNOTATION, SEED_ANNOTATION};
    let d = docs("deploy/agones/allocation.yaml");
    let gsa = &d[0];
    assert_eq!(s(gsa, "apiVersion"), "allocation.agones.dev/v1");
    assert_eq!(s(gsa, "kind"), "GameServerAllocation");
    assert!(gsa["metadata"].get("generateName").is_some());
    let sel = at(gsa, "spec.selectors.0");
    let fleet = docs("deploy/agones/fleet.yaml")
        .into_iter()
        .find(|x| x["kind"] == "Fleet")
        .unwrap();
    assert_eq!(
        sel["matchLabels"]["agones.dev/fleet"].as_str(),
        fleet["metadata"]["name"].as_str()
    );
    assert_eq!(
        s(sel, "gameServerState"),
        "Ready",
        "only servers without a world"
    );
    let ann = at(gsa, "spec.metadata.annotations").as_mapping().unwrap();
    let keys: Vec<&str> = ann.keys().filter_map(Value::as_str).collect();
    assert_eq!(keys, [SEED_ANNOTATION, GENRE_ANNOTATION]);
    // What the server makes of them once Agones has merged them into its GameServer.
    let game_server = serde_json::json!({
        "object_meta": {"annotations": serde_json::to_value(ann).unwrap()},
        "status": {"state": "Allocated"},
    });
    let choice = Allocation::from_game_server(&game_server)
        .expect("allocated")
        .world_choice();
    assert!(choice.errors.is_empty(), "{:?}", choice.errors);
    assert!(
        choice.seed.is_some() && choice.genre.is_some(),
        "{choice:?}"
    );
}

#[test]
fn agones_manifests_pass_kubernetes_validate_as_far_as_it_knows_them() {
    // kubernetes-validate bundles Kubernetes' own schemas only: it parses every document,
    // checks apiVersion and kind, and says it has no schema for Agones' kinds. That is
    // all it can say offline; the fields are the structural tests' job (above), the pod
    // template is validated as a PodTemplate (agones_pod_template_passes_schema_validation).
    let test = "agones_manifests_pass_kubernetes_validate_as_far_as_it_knows_them";
    let Some(tool) = kubernetes_validate(test) else {
        return;
    };
    let files = [
        root().join("deploy/agones/fleet.yaml"),
        root().join("deploy/agones/allocation.yaml"),
    ];
    let (ok, out) = validate(&tool, &files);
    assert!(ok, "kubernetes-validate failed:\n{out}");
    let mut kinds: Vec<&str> = out
        .lines()
        .map(|l| {
            assert!(
                l.starts_with("WARN ") && l.contains("Couldn't find schema for kind"),
                "an unexpected finding: {l}\n{out}"
            );
            l.split("kind ").nth(1).unwrap().split(' ').next().unwrap()
        })
        .collect();
    kinds.sort();
    assert_eq!(
        kinds,
        ["Fleet", "FleetAutoscaler", "GameServerAllocation"],
        "{out}"
    );
}

/// The `docker build` command line in a file (the first line that starts with it, after
/// any comment marker), whitespace-normalised.
fn docker_build_line(rel: &str) -> String {
    read(rel)
        .lines()
        .map(|l| l.trim().trim_start_matches('#').trim())
        .find(|l| l.starts_with("docker build "))
        .unwrap_or_else(|| panic!("{rel}: no docker build command"))
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn docker_build_command_is_the_same_everywhere_and_fits_the_dockerfile() {
    let in_dockerfile = docker_build_line("deploy/Dockerfile");
    assert_eq!(docker_build_line("README.md"), in_dockerfile, "README.md");
    assert_eq!(
        docker_build_line("docs/DEPLOYMENT.md"),
        in_dockerfile,
        "docs/DEPLOYMENT.md"
    );
    let args: Vec<&str> = in_dockerfile.split(' ').collect();
    let file = args[args.iter().position(|a| *a == "-f").expect("-f") + 1];
    assert_eq!(file, "deploy/Dockerfile");
    assert!(root().join(file).is_file());
    // The context is the repository root, which the Dockerfile copies whole.
    assert_eq!(args.last(), Some(&"."));
    assert!(read(file).lines().any(|l| l.trim() == "COPY . ."));
    // Every --build-arg names an ARG of the Dockerfile.
    for w in args.windows(2).filter(|w| w[0] == "--build-arg") {
        let name = w[1].split('=').next().unwrap();
        assert!(
            read(file)
                .lines()
                .any(|l| l.trim().starts_with(&format!("ARG {name}"))),
            "--build-arg {name} is not an ARG"
        );
    }
}

#[test]
fn dockerfile_passes_hadolint() {
    let test = "dockerfile_passes_hadolint";
    let Some(hadolint) = tool_or_skip(
        test,
        "hadolint",
        "VENTURE_HADOLINT",
        &[root().join("target/ci-venv/bin/hadolint")],
    ) else {
        return;
    };
    let (ok, out) =
        run(std::process::Command::new(&hadolint).arg(root().join("deploy/Dockerfile")));
    assert!(ok && out.trim().is_empty(), "hadolint:\n{out}");
    // It does find problems where there are some (unpinned apt packages, no USER).
    let scratch = Scratch::new("hadolint");
    let bad = scratch.join("Dockerfile");
    fs::write(&bad, "FROM debian\nRUN apt-get install curl\n").unwrap();
    let (ok, out) = run(std::process::Command::new(&hadolint).arg(&bad));
    assert!(!ok && out.contains("DL3"), "{out}");
}

#[test]
fn grafana_dashboard_is_importable_as_it_is() {
    // What Grafana needs to import the file unchanged: a JSON object with a title, uid and
    // schema version, panels with unique ids and grid positions inside the 24-column grid,
    // every query on the dashboard's own data source variable (no hard-coded uid), unique
    // refIds per panel, and the variables those queries use defined in `templating`.
    let text = read("deploy/grafana/venture-dashboard.json");
    let d: serde_json::Value = serde_json::from_str(&text).expect("dashboard is JSON");
    assert!(d["title"].as_str().is_some_and(|t| !t.is_empty()));
    assert!(d["uid"]
        .as_str()
        .is_some_and(|u| !u.is_empty() && u.len() <= 40));
    assert!(d["schemaVersion"].as_u64().is_some_and(|v| v >= 30));
    assert!(
        d.get("id").is_none_or(|id| id.is_null()),
        "an exported id breaks import"
    );
    let vars: Vec<&str> = d["templating"]["list"]
        .as_array()
        .expect("templating")
        .iter()
        .map(|v| v["name"].as_str().expect("variable name"))
        .collect();
    let ds_var = d["templating"]["list"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["type"] == "datasource")
        .expect("a data source variable");
    assert_eq!(ds_var["query"], "prometheus");
    let ds_ref = format!("${{{}}}", ds_var["name"].as_str().unwrap());
    let mut ids = std::collections::BTreeSet::new();
    let mut queries = 0;
    for p in d["panels"].as_array().expect("panels") {
        let title = p["title"].as_str().expect("panel title");
        assert!(
            ids.insert(p["id"].as_u64().expect("panel id")),
            "{title}: id reused"
        );
        let g = &p["gridPos"];
        let (x, w) = (g["x"].as_u64().unwrap(), g["w"].as_u64().unwrap());
        assert!(x + w <= 24 && g["h"].as_u64().unwrap() >= 1, "{title}: {g}");
        if p["type"] == "row" {
            continue;
        }
        assert_eq!(p["datasource"]["uid"], ds_ref.as_str(), "{title}");
        let mut refs = std::collections::BTreeSet::new();
        for t in p["targets"].as_array().expect("targets") {
            assert!(refs.insert(t["refId"].as_str().expect("refId")), "{title}");
            assert_eq!(t["datasource"]["uid"], ds_ref.as_str(), "{title}");
            let expr = t["expr"].as_str().expect("expr");
            for var in expr.split('$').skip(1) {
                let name: String = var
                    .trim_start_matches('{')
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                assert!(
                    name.starts_with("__") || vars.contains(&name.as_str()),
                    "{title}: ${name} is not a dashboard variable"
                );
            }
            queries += 1;
        }
    }
    assert!(queries >= 20, "{queries} queries");
    // The panels the issue asks for.
    for wanted in [
        "Tick time quantiles",
        "Players",
        "Bandwidth per player",
        "Rollbacks and desync reports",
        "Memory",
        "CPU",
        "Saves",
    ] {
        assert!(
            d["panels"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["title"] == wanted),
            "no {wanted} panel"
        );
    }
}

#[test]
fn keepalived_config_passes_keepalived_config_test() {
    let test = "keepalived_config_passes_keepalived_config_test";
    let Some(keepalived) = tool_or_skip(
        test,
        "keepalived",
        "VENTURE_KEEPALIVED",
        &[PathBuf::from("/usr/sbin/keepalived")],
    ) else {
        return;
    };
    // The file as shipped, with the check script and its user moved to what exists here
    // (keepalived refuses a script_user that does not exist, or a script it cannot find).
    let scratch = Scratch::new("keepalived");
    let script = scratch.path().join("venture-ready.sh");
    fs::copy(root().join("deploy/keepalived/venture-ready.sh"), &script).unwrap();
    let user = std::env::var("USER").unwrap_or_else(|_| "root".into());
    let conf = read("deploy/keepalived/keepalived.conf")
        .replace(
            "/opt/venture/deploy/keepalived/venture-ready.sh",
            &script.display().to_string(),
        )
        .replace("script_user venture", &format!("script_user {user}"));
    let path = scratch.path().join("keepalived.conf");
    fs::write(&path, conf).unwrap();
    let (ok, out) = run(std::process::Command::new(&keepalived)
        .arg("-t")
        .arg("-f")
        .arg(&path));
    assert!(ok, "keepalived -t failed:\n{out}");
    for bad in ["Error", "removing", "not found", "Truncating", "Unknown"] {
        assert!(!out.contains(bad), "keepalived -t: {bad}:\n{out}");
    }
}
