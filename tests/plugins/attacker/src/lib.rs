//! A hostile plugin for the abuse tests: each input names one escape attempt.
//! It reports what happened as JSON; the tests assert the host refused it.

use factory_sdk::{Tool, ToolError, export_tool, failed};
use serde::Deserialize;
use serde_json::{Value, json};
use wasip2::sockets::network::{IpAddressFamily, IpSocketAddress, Ipv4SocketAddress};

#[derive(Deserialize)]
struct Input {
    attack: String,
    #[serde(default)]
    target: String,
    #[serde(default)]
    port: u16,
    /// Arguments (exec-args), a second path (symlink, rename).
    #[serde(default)]
    args: Vec<String>,
    #[serde(default)]
    link: String,
    /// Input of a nested tool call.
    #[serde(default)]
    input: Option<Value>,
    /// Bytes (kv-big, log-flood).
    #[serde(default)]
    size: usize,
    #[serde(default)]
    timeout_ms: Option<u32>,
}

fn io<T>(r: std::io::Result<T>) -> Value {
    match r {
        Ok(_) => json!({"ok": true}),
        Err(e) => json!({"ok": false, "error": e.to_string(), "kind": format!("{:?}", e.kind())}),
    }
}

fn tcp_connect(addr: (u8, u8, u8, u8), port: u16) -> Value {
    let net = wasip2::sockets::instance_network::instance_network();
    let sock = match wasip2::sockets::tcp_create_socket::create_tcp_socket(IpAddressFamily::Ipv4) {
        Ok(s) => s,
        Err(e) => return json!({"ok": false, "error": format!("{e:?}")}),
    };
    let remote = IpSocketAddress::Ipv4(Ipv4SocketAddress {
        port,
        address: addr,
    });
    if let Err(e) = sock.start_connect(&net, remote) {
        return json!({"ok": false, "error": format!("{e:?}")});
    }
    sock.subscribe().block();
    match sock.finish_connect() {
        Ok(_) => json!({"ok": true}),
        Err(e) => json!({"ok": false, "error": format!("{e:?}")}),
    }
}

fn udp_send(addr: (u8, u8, u8, u8), port: u16) -> Value {
    use wasip2::sockets::udp::OutgoingDatagram;
    let net = wasip2::sockets::instance_network::instance_network();
    let sock = match wasip2::sockets::udp_create_socket::create_udp_socket(IpAddressFamily::Ipv4) {
        Ok(s) => s,
        Err(e) => return json!({"ok": false, "error": format!("{e:?}")}),
    };
    let any = IpSocketAddress::Ipv4(Ipv4SocketAddress {
        port: 0,
        address: (0, 0, 0, 0),
    });
    if let Err(e) = sock.start_bind(&net, any) {
        return json!({"ok": false, "stage": "bind", "error": format!("{e:?}")});
    }
    sock.subscribe().block();
    if let Err(e) = sock.finish_bind() {
        return json!({"ok": false, "stage": "bind", "error": format!("{e:?}")});
    }
    let (_, out) = match sock.stream(None) {
        Ok(s) => s,
        Err(e) => return json!({"ok": false, "error": format!("{e:?}")}),
    };
    let remote = IpSocketAddress::Ipv4(Ipv4SocketAddress {
        port,
        address: addr,
    });
    let _ = out.check_send();
    match out.send(&[OutgoingDatagram {
        data: b"x".to_vec(),
        remote_address: Some(remote),
    }]) {
        Ok(n) if n > 0 => json!({"ok": true}),
        Ok(_) => json!({"ok": false, "error": "not sent"}),
        Err(e) => json!({"ok": false, "error": format!("{e:?}")}),
    }
}

fn tcp_listen(port: u16) -> Value {
    let net = wasip2::sockets::instance_network::instance_network();
    let sock = match wasip2::sockets::tcp_create_socket::create_tcp_socket(IpAddressFamily::Ipv4) {
        Ok(s) => s,
        Err(e) => return json!({"ok": false, "error": format!("{e:?}")}),
    };
    let local = IpSocketAddress::Ipv4(Ipv4SocketAddress {
        port,
        address: (0, 0, 0, 0),
    });
    if let Err(e) = sock.start_bind(&net, local) {
        return json!({"ok": false, "stage": "bind", "error": format!("{e:?}")});
    }
    sock.subscribe().block();
    if let Err(e) = sock.finish_bind() {
        return json!({"ok": false, "stage": "bind", "error": format!("{e:?}")});
    }
    match sock.start_listen() {
        Ok(()) => {
            sock.subscribe().block();
            match sock.finish_listen() {
                Ok(()) => json!({"ok": true}),
                Err(e) => json!({"ok": false, "stage": "listen", "error": format!("{e:?}")}),
            }
        }
        Err(e) => json!({"ok": false, "stage": "listen", "error": format!("{e:?}")}),
    }
}

fn exec(program: &str, args: &[String], timeout_ms: Option<u32>) -> Value {
    use factory_sdk::exec::Command;
    let cmd = Command {
        program: program.to_string(),
        args: args.to_vec(),
        cwd: None,
        env: vec![],
        stdin: None,
        timeout_ms,
    };
    match factory_sdk::bindings::factory::plugin::exec::run(&cmd) {
        Ok(o) => json!({
            "ok": true,
            "exit": o.exit_code,
            "stdout": String::from_utf8_lossy(&o.stdout),
            "stderr": String::from_utf8_lossy(&o.stderr),
            "stdout_len": o.stdout.len(),
            "truncated": o.truncated,
            "timed_out": o.timed_out,
        }),
        Err(e) => json!({"ok": false, "error": format!("{e:?}")}),
    }
}

fn parse_v4(s: &str) -> (u8, u8, u8, u8) {
    let p: Vec<u8> = s.split('.').map(|x| x.parse().unwrap_or(0)).collect();
    (p[0], p[1], p[2], p[3])
}

/// Create the symlink `link` -> `target` through the preopen holding `link`
/// (std's wasi symlink is unstable).
fn symlink(target: &str, link: &str) -> Result<(), String> {
    for (dir, path) in wasip2::filesystem::preopens::get_directories() {
        let prefix = format!("{}/", path.trim_end_matches('/'));
        if let Some(rel) = link.strip_prefix(&prefix) {
            return dir.symlink_at(target, rel).map_err(|e| format!("{e:?}"));
        }
    }
    Err(format!("{link} is under no preopened directory"))
}

#[inline(never)]
#[allow(unconditional_recursion)]
fn recurse(n: u64, pad: &mut [u8; 256]) -> u64 {
    pad[(n % 256) as usize] = n as u8;
    let mut local = *pad;
    recurse(n + 1, &mut local) + local[0] as u64
}

struct Attacker;
impl Tool for Attacker {
    const NAME: &'static str = "attacker";
    const DESCRIPTION: &'static str = "Tries to escape the sandbox (for factory's abuse tests).";
    const INPUT_SCHEMA: &'static str =
        r#"{"type":"object","properties":{"attack":{"type":"string"}},"required":["attack"]}"#;
    type Input = Input;
    type Output = Value;

    fn call(i: Input) -> Result<Value, ToolError> {
        let t = i.target.as_str();
        Ok(match i.attack.as_str() {
            "read" => match std::fs::read_to_string(t) {
                Ok(s) => json!({"ok": true, "content": s}),
                Err(e) => json!({"ok": false, "error": e.to_string()}),
            },
            "list" => match std::fs::read_dir(t) {
                Ok(rd) => json!({"ok": true, "entries": rd
                    .flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect::<Vec<_>>()}),
                Err(e) => json!({"ok": false, "error": e.to_string()}),
            },
            "write" => io(std::fs::write(t, b"pwned")),
            "mkdir" => io(std::fs::create_dir(t)),
            "remove" => io(std::fs::remove_file(t)),
            "env" => json!({"ok": true, "env": std::env::vars().collect::<Vec<_>>()}),
            "args" => json!({"ok": true, "args": std::env::args().collect::<Vec<_>>()}),
            "http" => match factory_sdk::http::get(t, 1 << 20) {
                Ok(r) => {
                    json!({"ok": true, "status": r.status, "body": String::from_utf8_lossy(&r.body)})
                }
                Err(e) => json!({"ok": false, "error": e.to_string()}),
            },
            "tcp" => tcp_connect(parse_v4(t), i.port),
            "udp" => udp_send(parse_v4(t), i.port),
            "dns" => {
                let net = wasip2::sockets::instance_network::instance_network();
                match wasip2::sockets::ip_name_lookup::resolve_addresses(&net, t) {
                    Ok(stream) => {
                        stream.subscribe().block();
                        json!({"ok": true, "first": format!("{:?}", stream.resolve_next_address())})
                    }
                    Err(e) => json!({"ok": false, "error": format!("{e:?}")}),
                }
            }
            "cpu-loop" => {
                let mut x: u64 = 0;
                loop {
                    x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
                    if x == 42 {
                        break json!({"ok": true});
                    }
                }
            }
            "sleep" => {
                std::thread::sleep(std::time::Duration::from_secs(1_000_000));
                json!({"ok": true})
            }
            "memory-bomb" => {
                let mut v: Vec<Vec<u8>> = Vec::new();
                loop {
                    v.push(vec![1u8; 16 << 20]);
                    if v.len() > 100_000 {
                        break json!({"ok": true});
                    }
                }
            }
            "recursion" => {
                let mut pad = [0u8; 256];
                json!({"ok": true, "n": recurse(0, &mut pad)})
            }
            "huge-result" => json!({"ok": true, "data": "x".repeat(256 << 20)}),
            "stdout-flood" => loop {
                println!("{}", "flood ".repeat(1000));
            },
            "fd-exhaustion" => {
                let mut files = Vec::new();
                loop {
                    match std::fs::File::open(t) {
                        Ok(f) => files.push(f),
                        Err(e) => {
                            break json!({"ok": false, "opened": files.len(), "error": e.to_string()});
                        }
                    }
                    if files.len() > 1_000_000 {
                        break json!({"ok": true, "opened": files.len()});
                    }
                }
            }
            "panic" => panic!("the attacker panics on purpose"),
            "kv" => match factory_sdk::kv::set("k", b"v") {
                Ok(()) => json!({"ok": true, "read": factory_sdk::kv::get("k").ok().flatten()}),
                Err(e) => json!({"ok": false, "error": format!("{e:?}")}),
            },
            "exec" => match factory_sdk::exec::run(t, &["-c", "id"], None) {
                Ok(o) => {
                    json!({"ok": true, "exit": o.exit_code, "stdout": String::from_utf8_lossy(&o.stdout)})
                }
                Err(e) => json!({"ok": false, "error": format!("{e:?}")}),
            },
            "exec-args" => exec(t, &i.args, i.timeout_ms),
            "symlink" => match symlink(t, &i.link) {
                Ok(()) => match std::fs::read_to_string(&i.link) {
                    Ok(s) => json!({"ok": true, "stage": "read", "content": s}),
                    Err(e) => json!({"ok": false, "stage": "read", "error": e.to_string()}),
                },
                Err(e) => json!({"ok": false, "stage": "symlink", "error": e.to_string()}),
            },
            "rename" => io(std::fs::rename(t, &i.link)),
            "listen" => tcp_listen(i.port),
            "kv-big" => match factory_sdk::kv::set("big", &vec![7u8; i.size]) {
                Ok(()) => json!({"ok": true}),
                Err(e) => json!({"ok": false, "error": format!("{e:?}")}),
            },
            "log-flood" => {
                let line = "z".repeat(1000);
                for _ in 0..i.size {
                    factory_sdk::log::info(&line);
                }
                json!({"ok": true})
            }
            "tool" => match factory_sdk::tools::call(
                t,
                i.input.as_ref().unwrap_or(&json!({"path": "/etc/passwd"})),
            ) {
                Ok(v) => json!({"ok": true, "out": v}),
                Err(e) => json!({"ok": false, "error": format!("{e:?}")}),
            },
            "model" => match factory_sdk::model::ask(Some(t), "hi") {
                Ok(s) => json!({"ok": true, "reply": s}),
                Err(e) => json!({"ok": false, "error": format!("{e:?}")}),
            },
            other => return Err(failed(format!("unknown attack {other}"))),
        })
    }
}
export_tool!(Attacker);
