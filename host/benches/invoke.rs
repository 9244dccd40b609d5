//! What one isolated tool call costs, measured in the same run against the
//! alternatives (ratios, because these machines are noisy):
//!
//! - host: `Host::invoke` of a no-op tool through the public API: policy
//!   (cached per registry version), integrity stamp checks, a fresh store and
//!   instance with the plugin's grants, the call, the journal record;
//! - sandbox: the same call through `factory-sandbox` alone (the plugin
//!   resolved from memory, records dropped): the sandbox's own cost,
//!   without the store and the journal;
//! - raw: the same component with bare wasmtime (same engine config, a WASI
//!   context with nothing granted, `InstancePre`, one call, drop);
//! - warm: a call on an instance that already exists;
//! - spawn: a native process (`cat`) that echoes its input, the way agents
//!   run tools today;
//! - cli: a whole `factory tool call` process on an installed plugin.
//!
//! Run: `cargo bench -p factory-host --bench invoke` (`-- --quick` for a
//! shorter run; `-- --profile host` or `-- --profile raw` to run only that
//! case for 5 s, e.g. under `perf record`). Rounds interleave the cases; each figure is the median over
//! rounds of the per-call mean within a round.

use factory_host::bindings::tool::ToolPluginPre;
use factory_host::engine::{self, EngineOptions};
use factory_host::registry::InstallRequest;
use factory_host::{CallOptions, Home, Host, Outcome, TrustLevel};
use factory_sandbox::{
    Components, Hooks, InvokeError, Loaded, PluginMeta, Sandbox, SandboxOptions,
};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};
use wasmtime::Store;
use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

struct Raw {
    wasi: WasiCtx,
    table: ResourceTable,
}

impl WasiView for Raw {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// Per-call cost of one batch: wall, CPU of this thread, CPU of the process
/// (which includes the journal writer thread).
#[derive(Clone, Copy, Default)]
struct Sample {
    wall: Duration,
    thread_cpu: Duration,
    process_cpu: Duration,
}

fn measure(n: u32, mut f: impl FnMut()) -> Sample {
    let (w, t, p) = (
        Instant::now(),
        cpu_time::ThreadTime::now(),
        cpu_time::ProcessTime::now(),
    );
    for _ in 0..n {
        f();
    }
    Sample {
        wall: w.elapsed() / n,
        thread_cpu: t.elapsed() / n,
        process_cpu: p.elapsed() / n,
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

struct Series {
    name: &'static str,
    what: &'static str,
    samples: Vec<Sample>,
}

impl Series {
    fn new(name: &'static str, what: &'static str) -> Series {
        Series {
            name,
            what,
            samples: Vec::new(),
        }
    }
    fn wall(&self) -> Duration {
        median(self.samples.iter().map(|s| s.wall).collect())
    }
    fn thread_cpu(&self) -> Duration {
        median(self.samples.iter().map(|s| s.thread_cpu).collect())
    }
    fn process_cpu(&self) -> Duration {
        median(self.samples.iter().map(|s| s.process_cpu).collect())
    }
}

fn us(d: Duration) -> String {
    format!("{:.2} µs", d.as_nanos() as f64 / 1000.0)
}

fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_nanos() as f64 / b.as_nanos().max(1) as f64
}

fn guest(name: &str) -> PathBuf {
    PathBuf::from(env!("FACTORY_GUEST_DIR")).join(format!("{}.wasm", name.replace('-', "_")))
}

fn echo_by_process(input: &[u8]) {
    let mut child = Command::new("cat")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn cat");
    child.stdin.take().unwrap().write_all(input).unwrap();
    let mut out = Vec::new();
    child.stdout.take().unwrap().read_to_end(&mut out).unwrap();
    child.wait().unwrap();
    assert_eq!(out, input);
}

fn cli(home: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_factory"))
        .args(args)
        .env("FACTORY_HOME", home)
        .output()
        .expect("run factory")
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let (rounds, batch, cli_runs) = if quick { (6, 200, 10) } else { (20, 1000, 30) };
    let tmp = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let wasm = guest("factory-test-noop");

    // The host, as a long-running service uses it: pooling allocator.
    let host = Host::open(
        Home::at(tmp.path().join("home")).unwrap(),
        factory_host::builtins::host_options(EngineOptions { pooling: true }),
    )
    .unwrap();
    assert!(host.pooling(), "the pooling allocator is unavailable here");
    rt.block_on(host.install(InstallRequest {
        file: wasm.clone(),
        name: Some("noop".into()),
        trust: TrustLevel::Untrusted,
        force: false,
        source: None,
        requested: String::new(),
        signer: String::new(),
    }))
    .unwrap();
    let host_call = || {
        let inv = rt
            .block_on(host.invoke("noop", "{}", CallOptions::default()))
            .unwrap();
        assert_eq!(inv.outcome, Outcome::Ok("{}".into()));
    };

    // The sandbox alone: the same component and policy, no store, no journal.
    #[derive(Default)]
    struct One(OnceLock<Arc<Loaded>>);
    impl Components for One {
        fn resolve(&self, _: &Sandbox, name: &str) -> Result<Arc<Loaded>, InvokeError> {
            self.0
                .get()
                .cloned()
                .ok_or_else(|| InvokeError::UnknownPlugin(name.into()))
        }
    }
    let one = Arc::new(One::default());
    let sandbox = Sandbox::new(
        SandboxOptions {
            engine: EngineOptions { pooling: true },
            empty_root: tmp.path().join("sandbox-empty"),
        },
        Hooks {
            components: one.clone(),
            ..Hooks::default()
        },
    )
    .unwrap();
    let found = rt
        .block_on(sandbox.inspect(&std::fs::read(&wasm).unwrap(), "noop"))
        .unwrap();
    let policy =
        factory_host::policy::compile("noop", TrustLevel::Untrusted, &[], &Default::default());
    let meta = PluginMeta {
        name: "noop".into(),
        digest: String::new(),
        world: found.world,
        trust: TrustLevel::Untrusted,
        limits: Default::default(),
        description: found.description,
        input_schema: found.input_schema,
    };
    let pre = sandbox.prepare(&found.component, found.world).unwrap();
    let _ = one.0.set(Arc::new(Loaded::new(meta, policy, pre)));
    let sandbox_call = || {
        let inv = rt
            .block_on(sandbox.call_tool("noop", "{}", CallOptions::default()))
            .unwrap();
        assert_eq!(inv.outcome, Outcome::Ok("{}".into()));
    };

    // Raw wasmtime: the same engine configuration, nothing of factory.
    let (raw_engine, pooling) = engine::build(EngineOptions { pooling: true }).unwrap();
    assert!(pooling);
    let _ticker = engine::EpochTicker::start(&raw_engine);
    let mut linker: Linker<Raw> = Linker::new(&raw_engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker).unwrap();
    let cwasm = raw_engine
        .precompile_component(&std::fs::read(&wasm).unwrap())
        .unwrap();
    let cwasm_path = tmp.path().join("noop.cwasm");
    std::fs::write(&cwasm_path, cwasm).unwrap();
    #[allow(unsafe_code)]
    // SAFETY: written just above by this engine's precompile_component.
    let component = unsafe { Component::deserialize_file(&raw_engine, &cwasm_path) }.unwrap();
    let pre = ToolPluginPre::new(linker.instantiate_pre(&component).unwrap()).unwrap();
    let new_store = || {
        let mut store = Store::new(
            &raw_engine,
            Raw {
                wasi: WasiCtx::builder().build(),
                table: ResourceTable::new(),
            },
        );
        store.set_epoch_deadline(engine::ticks(Duration::from_secs(30)));
        store.epoch_deadline_trap();
        store
    };
    let raw_call = || {
        rt.block_on(async {
            let mut store = new_store();
            let inst = pre.instantiate_async(&mut store).await.unwrap();
            let out = inst
                .factory_plugin_tool()
                .call_invoke(&mut store, "{}")
                .await
                .unwrap();
            assert_eq!(out.ok().as_deref(), Some("{}"));
        })
    };

    // Warm: one live instance, many calls.
    let mut warm_store = new_store();
    let warm = rt.block_on(pre.instantiate_async(&mut warm_store)).unwrap();
    let mut warm_call = || {
        rt.block_on(async {
            warm_store.set_epoch_deadline(engine::ticks(Duration::from_secs(30)));
            let out = warm
                .factory_plugin_tool()
                .call_invoke(&mut warm_store, "{}")
                .await
                .unwrap();
            assert_eq!(out.ok().as_deref(), Some("{}"));
        })
    };

    // Warm up every path once (page faults, caches, the pool's first slots).
    for _ in 0..200 {
        host_call();
        sandbox_call();
        raw_call();
        warm_call();
    }
    echo_by_process(b"{}");
    // `-- --profile host|raw`: only that case, for 5 s, under a profiler.
    if let Some(case) = std::env::args().skip_while(|a| a != "--profile").nth(1) {
        let (started, mut calls) = (Instant::now(), 0u64);
        while started.elapsed() < Duration::from_secs(5) {
            match case.as_str() {
                "raw" => raw_call(),
                "sandbox" => sandbox_call(),
                _ => host_call(),
            }
            calls += 1;
        }
        println!(
            "{case}: {calls} calls, {:.2} µs each",
            started.elapsed().as_secs_f64() * 1e6 / calls as f64
        );
        return;
    }

    let mut s_host = Series::new("host", "Host::invoke, fresh isolated instance, journaled");
    let mut s_sandbox = Series::new("sandbox", "the sandbox crate alone, records dropped");
    let mut s_raw = Series::new("raw", "raw wasmtime, fresh instance, same engine config");
    let mut s_warm = Series::new("warm", "call on a live instance");
    let mut s_spawn = Series::new("spawn", "spawn `cat`, echo the input, wait");
    let spawn_batch = (batch / 20).max(10);
    for round in 0..rounds {
        s_spawn
            .samples
            .push(measure(spawn_batch, || echo_by_process(b"{}")));
        // Alternate which of the two goes first, so neither always runs in
        // the other's wake (page cache, scheduler, the journal's commits).
        if round % 2 == 0 {
            s_host.samples.push(measure(batch, host_call));
            s_sandbox.samples.push(measure(batch, sandbox_call));
            s_raw.samples.push(measure(batch, raw_call));
        } else {
            s_raw.samples.push(measure(batch, raw_call));
            s_sandbox.samples.push(measure(batch, sandbox_call));
            s_host.samples.push(measure(batch, host_call));
        }
        host.journal().flush();
        s_warm.samples.push(measure(batch, &mut warm_call));
    }

    // A whole `factory tool call` process (no pooling: a CLI makes one call).
    let cli_home = tmp.path().join("cli-home");
    let o = cli(
        &cli_home,
        &[
            "plugin",
            "install",
            wasm.to_str().unwrap(),
            "--name",
            "noop",
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let mut cold = Vec::new();
    for _ in 0..cli_runs {
        let t = Instant::now();
        let o = cli(&cli_home, &["tool", "call", "noop", "--input", "{}"]);
        cold.push(t.elapsed());
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "{}");
    }
    let mut truth = Vec::new();
    for _ in 0..cli_runs {
        let t = Instant::now();
        assert!(Command::new("/bin/true").status().unwrap().success());
        truth.push(t.elapsed());
    }
    let mut version = Vec::new();
    for _ in 0..cli_runs {
        let t = Instant::now();
        assert!(cli(&cli_home, &["--version"]).status.success());
        version.push(t.elapsed());
    }

    println!(
        "factory invoke benchmark: {rounds} rounds of {batch} calls ({spawn_batch} spawns), medians per call\n"
    );
    println!(
        "{:<8} {:>12} {:>12} {:>14}  what",
        "case", "wall", "thread CPU", "process CPU"
    );
    for s in [&s_host, &s_sandbox, &s_raw, &s_warm, &s_spawn] {
        println!(
            "{:<8} {:>12} {:>12} {:>14}  {}",
            s.name,
            us(s.wall()),
            us(s.thread_cpu()),
            us(s.process_cpu()),
            s.what
        );
    }
    let cold_med = median(cold);
    let version_med = median(version);
    println!(
        "cli      {:>9.2} ms  whole `factory tool call noop` process, median of {cli_runs} (`factory --version`: {:.2} ms)",
        cold_med.as_secs_f64() * 1e3,
        version_med.as_secs_f64() * 1e3
    );
    println!();
    println!(
        "host / raw wasmtime:  {:.2}x wall, {:.2}x thread CPU, {:.2}x process CPU (target ≤ 1.10x)",
        ratio(s_host.wall(), s_raw.wall()),
        ratio(s_host.thread_cpu(), s_raw.thread_cpu()),
        ratio(s_host.process_cpu(), s_raw.process_cpu()),
    );
    println!(
        "sandbox / raw:        {:.2}x wall, {:.2}x thread CPU (the sandbox's own share)",
        ratio(s_sandbox.wall(), s_raw.wall()),
        ratio(s_sandbox.thread_cpu(), s_raw.thread_cpu()),
    );
    println!(
        "spawn / host:         {:.1}x wall (target ≥ 60x)",
        ratio(s_spawn.wall(), s_host.wall())
    );
    println!(
        "host / warm call:     {:.1}x wall",
        ratio(s_host.wall(), s_warm.wall())
    );
    println!(
        "cold CLI call:        {:.2} ms median (target ≤ 6 ms), {:.1}x a `/bin/true` spawn ({:.2} ms; target ≤ 10x)",
        cold_med.as_secs_f64() * 1e3,
        ratio(cold_med, median(truth.clone())),
        median(truth).as_secs_f64() * 1e3
    );
}
