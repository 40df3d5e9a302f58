//! `ecc run app.wasm`: a Wasm host on wasmtime with WASI preview 1 and the `wasm_bpf`
//! host ABI (`abi`), on the same libbpf-rs loader as `ecc run package.json`.
//!
//! The library installs no signal handler: the caller owns a stop flag (the binary sets it
//! on SIGINT/SIGTERM) and the host checks it while the guest polls or sleeps (in `SLICE`
//! waits) and, through epoch interruption, while guest code runs. A stop ends the run with
//! status 0; dropping the store detaches and closes every object.

mod abi;
mod buffer;
mod cache;
pub mod cli;
mod mem;
mod wasi;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use wasmtime::{
    Config, Engine, Func, Linker, Memory, Module, OptLevel, Store, Table, Trap, TypedFunc,
    UpdateDeadline, WasmBacktrace,
};
use wasmtime_wasi::p1::WasiP1Ctx;
use wasmtime_wasi::{FsPerms, I32Exit, WasiCtxBuilder};

/// How often the host looks at the stop flag and the deadline: between waits of a poll or a
/// sleep, and on the ticker thread that interrupts running guest code. Half of the 100 ms
/// a stop may take; the ticker wakes only this often and interrupts guest code only when a
/// stop is due, so an idle or busy guest pays nothing per tick.
const SLICE: Duration = Duration::from_millis(50);

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: {msg}")]
    Input { path: String, msg: String },
    #[error("{path}: guest trapped: {msg}")]
    Trap { path: String, msg: String },
    #[error("{path}: the guest exited with status {code}, which is not an exit status (0 to 255)")]
    BadExit { path: String, code: i32 },
    #[error("{0}")]
    Setup(String),
}

fn input_err(path: &Path, msg: impl Into<String>) -> Error {
    Error::Input {
        path: path.display().to_string(),
        msg: msg.into(),
    }
}

/// How to run a guest.
#[derive(Clone, Debug, Default)]
pub struct WasmOpts {
    /// Stop after this long (exit status 0).
    pub duration: Option<Duration>,
    /// Host directories the guest may open: `(host, guest)` paths. None by default.
    pub dirs: Vec<(PathBuf, String)>,
    /// Environment variables the guest sees. None by default.
    pub envs: Vec<(String, String)>,
    /// Where compiled modules are kept (by content hash); `None` compiles every time.
    pub cache_dir: Option<PathBuf>,
    /// Mounts tracefs when a tracepoint program is attached and tracing is not reachable.
    pub mount_tracefs: Option<fn() -> std::io::Result<()>>,
}

/// The run ended because a stop was requested or `--duration` passed.
#[derive(Debug, thiserror::Error)]
#[error("stopped")]
pub struct Stopped;

/// A store's data: WASI, the guest's BPF objects, and the stop conditions.
pub struct Host {
    wasi: WasiP1Ctx,
    objects: abi::Objects,
    stop: Arc<AtomicBool>,
    deadline: Option<Instant>,
    /// The guest's file name, for messages.
    name: String,
    mount_tracefs: Option<fn() -> std::io::Result<()>>,
    /// The guest's exports, looked up once after instantiation instead of by name on
    /// every call (the poll path runs per sample).
    memory: Option<Memory>,
    table: Option<Table>,
    go_callback: Option<TypedFunc<(i32, i32, i32), i32>>,
    /// WASI's own `poll_oneoff`, for the subscriptions `wasi::poll_oneoff` leaves to it.
    wasi_poll: Option<Func>,
}

fn engine() -> Result<Engine, Error> {
    let mut cfg = Config::new();
    cfg.epoch_interruption(true)
        .cranelift_opt_level(OptLevel::Speed);
    Engine::new(&cfg).map_err(|e| Error::Setup(format!("cannot start wasmtime: {e:#}")))
}

/// Runs the guest at `path` with `args` (argv[1..]) until it exits, traps or is stopped.
/// Returns the exit status: the guest's `proc_exit` code, 0 when stopped.
pub fn run_wasm(
    path: &Path,
    args: &[String],
    opts: &WasmOpts,
    stop: Arc<AtomicBool>,
) -> Result<i32, Error> {
    let bytes = std::fs::read(path).map_err(|e| input_err(path, e.to_string()))?;
    if !bytes.starts_with(b"\0asm") {
        return Err(input_err(path, "not a Wasm module (no \\0asm magic)"));
    }
    let engine = engine()?;
    let module = cache::module(&engine, &bytes, opts.cache_dir.as_deref())
        .map_err(|e| input_err(path, one_line(&e)))?;
    let name = path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );

    let mut wasi = WasiCtxBuilder::new();
    // Blocking WASI calls (stdout writes above all) run on this thread, not a pool.
    wasi.inherit_stdio()
        .allow_blocking_current_thread(true)
        .arg(&name)
        .args(args);
    for (k, v) in &opts.envs {
        wasi.env(k, v);
    }
    for (host, guest) in &opts.dirs {
        wasi.preopened_dir(host, guest, FsPerms::ReadWrite)
            .map_err(|e| input_err(host, format!("cannot open for --dir: {e:#}")))?;
    }
    let host = Host {
        wasi: wasi.build_p1(),
        objects: abi::Objects::default(),
        stop: stop.clone(),
        deadline: opts.duration.map(|d| Instant::now() + d),
        name: name.clone(),
        mount_tracefs: opts.mount_tracefs,
        memory: None,
        table: None,
        go_callback: None,
        wasi_poll: None,
    };
    let deadline = host.deadline;
    let mut linker: Linker<Host> = Linker::new(&engine);
    let mut store = Store::new(&engine, host);
    wasmtime_wasi::p1::add_to_linker_sync(&mut linker, |h: &mut Host| &mut h.wasi)
        .and_then(|()| abi::add_to_linker(&mut linker))
        .and_then(|()| wasi::shadow(&mut linker, &mut store))
        .map_err(|e| Error::Setup(format!("cannot set up the host: {e:#}")))?;
    store.set_epoch_deadline(1);
    store.epoch_deadline_callback(|ctx| {
        ctx.data().check_stop()?;
        Ok(UpdateDeadline::Continue(1))
    });

    // Interrupts running guest code once a stop is due (the epoch callback then ends the
    // run); ends with the run.
    let done = Arc::new(AtomicBool::new(false));
    let ticker = {
        let (engine, done, stop) = (engine.clone(), done.clone(), stop.clone());
        std::thread::spawn(move || {
            while !done.load(Ordering::Relaxed) {
                std::thread::sleep(SLICE);
                let late = deadline.is_some_and(|d| Instant::now() >= d);
                if late || stop.load(Ordering::Relaxed) {
                    engine.increment_epoch();
                }
            }
        })
    };
    let result = instantiate_and_run(&mut linker, &mut store, &module, path);
    done.store(true, Ordering::Relaxed);
    let _ = ticker.join();
    // Dropping the store detaches and closes whatever the guest left loaded.
    drop(store);
    result
}

fn instantiate_and_run(
    linker: &mut Linker<Host>,
    store: &mut Store<Host>,
    module: &Module,
    path: &Path,
) -> Result<i32, Error> {
    let instance = linker
        .instantiate(&mut *store, module)
        .map_err(|e| input_err(path, one_line(&e)))?;
    let Some(memory) = instance.get_memory(&mut *store, "memory") else {
        return Err(input_err(path, "the guest exports no memory"));
    };
    let table = instance.get_table(&mut *store, "__indirect_function_table");
    let go_callback = instance
        .get_typed_func::<(i32, i32, i32), i32>(&mut *store, "go-callback")
        .ok();
    let host = store.data_mut();
    host.memory = Some(memory);
    host.table = table;
    host.go_callback = go_callback;
    let start = instance
        .get_typed_func::<(), ()>(&mut *store, "_start")
        .map_err(|_| input_err(path, "the guest has no _start (build it as a WASI command)"))?;
    match start.call(&mut *store, ()) {
        Ok(()) => Ok(0),
        Err(e) => outcome(e, path),
    }
}

/// How a run that returned an error ends: an exit code, a stop, or a trap.
fn outcome(e: wasmtime::Error, path: &Path) -> Result<i32, Error> {
    if let Some(exit) = e.downcast_ref::<I32Exit>() {
        return match exit.0 {
            code @ 0..=255 => Ok(code),
            code => Err(Error::BadExit {
                path: path.display().to_string(),
                code,
            }),
        };
    }
    if e.downcast_ref::<Stopped>().is_some() {
        return Ok(0);
    }
    let func = e
        .downcast_ref::<WasmBacktrace>()
        .and_then(|bt| {
            bt.frames()
                .first()
                .map(|f| f.func_name().map(str::to_string))
        })
        .map(|n| n.unwrap_or_else(|| "an unnamed function".into()));
    let what = match e.downcast_ref::<Trap>() {
        Some(t) => t.to_string(),
        None => one_line(&e),
    };
    Err(Error::Trap {
        path: path.display().to_string(),
        msg: match func {
            Some(f) => format!("{what} in {f}"),
            None => what,
        },
    })
}

/// An error's message and causes on one line.
fn one_line(e: &wasmtime::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for c in e.chain() {
        let s = c.to_string();
        let first = s.lines().next().unwrap_or_default().trim().to_string();
        if !first.is_empty() && !parts.iter().any(|p| p.contains(&first)) {
            parts.push(first);
        }
    }
    parts.join(": ")
}

/// Whether `path` is a Wasm module (by its magic), for choosing the runner.
pub fn is_wasm_file(path: &Path) -> bool {
    use std::io::Read;
    let mut magic = [0u8; 4];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut magic))
        .is_ok_and(|()| &magic == b"\0asm")
}
