//! Real registries for the OCI tests: Debian's `docker-registry` (the CNCF distribution
//! registry) on 127.0.0.1 with temp storage, plain, with htpasswd Basic auth, with TLS from
//! a CA made in the test, or with token auth against a test-only token endpoint; plus a
//! user environment (DOCKER_CONFIG, cache, HOME in a temp dir) to run `ecc` in.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;

pub const USER: &str = "ecc-user";
pub const PASSWORD: &str = "s3cret-Pa55word";

fn run(cmd: &mut Command) -> Output {
    let o = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        o.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

pub enum Security {
    Plain,
    Htpasswd,
    /// TLS with a certificate from a CA generated for the test; optionally htpasswd too.
    Tls {
        htpasswd: bool,
    },
    /// Bearer tokens from `TokenServer`.
    Token,
}

/// A running registry; killed and its storage removed on drop.
pub struct Registry {
    child: Child,
    pub dir: tempfile::TempDir,
    pub port: u16,
    /// The CA that signed the TLS certificate (TLS registries only).
    pub ca: Option<PathBuf>,
    pub token: Option<TokenServer>,
}

impl Registry {
    pub fn start(security: Security) -> Registry {
        let dir = tempfile::tempdir().unwrap();
        let port = crate::support::free_port();
        let d = dir.path();
        let mut auth = String::new();
        let mut tls = String::new();
        let mut ca = None;
        let mut token = None;
        let htpasswd = |auth: &mut String| {
            let o = run(Command::new("htpasswd").args(["-Bbn", USER, PASSWORD]));
            std::fs::write(d.join("htpasswd"), &o.stdout).unwrap();
            *auth = format!(
                "auth:\n  htpasswd:\n    realm: ecc-test\n    path: {}\n",
                d.join("htpasswd").display()
            );
        };
        match security {
            Security::Plain => {}
            Security::Htpasswd => htpasswd(&mut auth),
            Security::Tls { htpasswd: h } => {
                if h {
                    htpasswd(&mut auth);
                }
                make_tls(d);
                tls = format!(
                    "  tls:\n    certificate: {}\n    key: {}\n",
                    d.join("srv.pem").display(),
                    d.join("srv.key").display()
                );
                ca = Some(d.join("ca.pem"));
            }
            Security::Token => {
                let t = TokenServer::start(d);
                auth = format!(
                    "auth:\n  token:\n    realm: http://127.0.0.1:{}/token\n    service: {}\n    \
                     issuer: {}\n    rootcertbundle: {}\n",
                    t.port,
                    TOKEN_SERVICE,
                    TOKEN_ISSUER,
                    d.join("tok.pem").display()
                );
                token = Some(t);
            }
        }
        let config = format!(
            "version: 0.1\nlog:\n  level: info\nstorage:\n  filesystem:\n    rootdirectory: {}\n\
             {auth}http:\n  addr: 127.0.0.1:{port}\n{tls}",
            d.join("data").display()
        );
        std::fs::write(d.join("config.yml"), config).unwrap();
        let log = std::fs::File::create(d.join("registry.log")).unwrap();
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(d.join("config.yml"))
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start docker-registry (scripts/setup.sh installs it)");
        let mut r = Registry {
            child,
            dir,
            port,
            ca,
            token,
        };
        r.wait_ready();
        r
    }

    fn wait_ready(&mut self) {
        let start = Instant::now();
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            if let Ok(Some(st)) = self.child.try_wait() {
                panic!("docker-registry exited ({st}):\n{}", self.log());
            }
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "docker-registry did not listen in 20 s:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn reference(&self, repo_tag: &str) -> String {
        format!("{}/{repo_tag}", self.host())
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("registry.log")).unwrap_or_default()
    }

    /// How many times the registry served (or was asked for) this blob with a GET.
    pub fn blob_gets(&self, digest: &str) -> usize {
        let needle = format!("blobs/{digest} HTTP");
        self.log()
            .lines()
            .filter(|l| l.contains("\"GET /v2/") && l.contains(&needle))
            .count()
    }

    /// Where the filesystem driver keeps a blob's bytes.
    pub fn blob_path(&self, digest: &str) -> PathBuf {
        let hex = digest.strip_prefix("sha256:").unwrap();
        self.dir
            .path()
            .join("data/docker/registry/v2/blobs/sha256")
            .join(&hex[..2])
            .join(hex)
            .join("data")
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A CA and a server certificate for 127.0.0.1 signed by it, made with the openssl CLI.
fn make_tls(d: &Path) {
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    run(Command::new("openssl")
        .args(["req", "-x509"])
        .args(ec)
        .args(["-days", "2", "-subj", "/CN=ecc test CA"])
        .arg("-keyout")
        .arg(d.join("ca.key"))
        .arg("-out")
        .arg(d.join("ca.pem")));
    run(Command::new("openssl")
        .arg("req")
        .args(ec)
        .args(["-subj", "/CN=127.0.0.1"])
        .arg("-keyout")
        .arg(d.join("srv.key"))
        .arg("-out")
        .arg(d.join("srv.csr")));
    std::fs::write(
        d.join("ext.cnf"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n\
         extendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    run(Command::new("openssl")
        .args(["x509", "-req", "-days", "2", "-CAcreateserial"])
        .arg("-in")
        .arg(d.join("srv.csr"))
        .arg("-CA")
        .arg(d.join("ca.pem"))
        .arg("-CAkey")
        .arg(d.join("ca.key"))
        .arg("-extfile")
        .arg(d.join("ext.cnf"))
        .arg("-out")
        .arg(d.join("srv.pem")));
}

pub const TOKEN_SERVICE: &str = "ecc-test-registry";
pub const TOKEN_ISSUER: &str = "ecc-test-issuer";
/// The repository the test token grants pull and push on.
pub const TOKEN_REPO: &str = "ecc/tok";

/// A test-only token endpoint: answers `GET /token` with a JWT (RS256, signed with the
/// openssl CLI by a key whose certificate the registry trusts) when the request carries the
/// right Basic credentials, 401 otherwise. The registry validates the JWT for real.
pub struct TokenServer {
    pub port: u16,
    pub requests: Arc<AtomicUsize>,
    pub refused: Arc<AtomicUsize>,
    _server: Server,
}

impl TokenServer {
    fn start(d: &Path) -> TokenServer {
        let jwt = make_token(d);
        let requests = Arc::new(AtomicUsize::new(0));
        let refused = Arc::new(AtomicUsize::new(0));
        let (rq, rf) = (requests.clone(), refused.clone());
        let expected = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASSWORD}"))
        );
        let server = Server::start(move |s, _, head| {
            rq.fetch_add(1, Ordering::Relaxed);
            let authorized = head.lines().any(|l| {
                l.split_once(':').is_some_and(|(name, value)| {
                    name.eq_ignore_ascii_case("authorization") && value.trim() == expected
                })
            });
            let (status, body) = if head.starts_with("GET /token") && authorized {
                (
                    "200 OK",
                    format!(r#"{{"token":"{jwt}","expires_in":3600}}"#),
                )
            } else {
                rf.fetch_add(1, Ordering::Relaxed);
                (
                    "401 Unauthorized",
                    r#"{"details":"bad credentials"}"#.to_string(),
                )
            };
            let _ = write!(
                s,
                "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
                 Connection: close\r\n\r\n{body}",
                body.len()
            );
        });
        TokenServer {
            port: server.port,
            requests,
            refused,
            _server: server,
        }
    }
}

fn read_head(s: &mut TcpStream) -> String {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") && buf.len() < 16384 {
        match s.read(&mut byte) {
            Ok(1) => buf.push(byte[0]),
            _ => break,
        }
    }
    String::from_utf8_lossy(&buf).into_owned()
}

fn b64url(b: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

/// A JWT granting pull and push on TOKEN_REPO for an hour, with its certificate in `x5c`.
fn make_token(d: &Path) -> String {
    run(Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        ])
        .args(["-subj", "/CN=ecc test token signer"])
        .arg("-keyout")
        .arg(d.join("tok.key"))
        .arg("-out")
        .arg(d.join("tok.pem")));
    let der = run(Command::new("openssl")
        .args(["x509", "-outform", "DER", "-in"])
        .arg(d.join("tok.pem")))
    .stdout;
    let x5c = base64::engine::general_purpose::STANDARD.encode(der);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let header = format!(r#"{{"typ":"JWT","alg":"RS256","x5c":["{x5c}"]}}"#);
    let claims = format!(
        r#"{{"iss":"{TOKEN_ISSUER}","sub":"{USER}","aud":"{TOKEN_SERVICE}","exp":{},"nbf":{},"iat":{},"jti":"ecc-test-{now}","access":[{{"type":"repository","name":"{TOKEN_REPO}","actions":["pull","push"]}}]}}"#,
        now + 3600,
        now - 60,
        now - 60
    );
    let signing_input = format!(
        "{}.{}",
        b64url(header.as_bytes()),
        b64url(claims.as_bytes())
    );
    std::fs::write(d.join("tok.in"), &signing_input).unwrap();
    let sig = run(Command::new("openssl")
        .args(["dgst", "-sha256", "-sign"])
        .arg(d.join("tok.key"))
        .arg(d.join("tok.in")))
    .stdout;
    format!("{signing_input}.{}", b64url(&sig))
}

/// A loopback HTTP server for the tests' hostile or redirecting fronts: each connection's
/// request head is read, then `answer` gets the stream, the request path and the whole
/// head. Stops when dropped.
pub struct Server {
    pub port: u16,
    stop: Arc<AtomicBool>,
}

impl Server {
    pub fn start(answer: impl Fn(&mut TcpStream, &str, &str) + Send + 'static) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        listener.set_nonblocking(true).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let st = stop.clone();
        std::thread::spawn(move || {
            while !st.load(Ordering::Relaxed) {
                let Ok((mut s, _)) = listener.accept() else {
                    std::thread::sleep(Duration::from_millis(10));
                    continue;
                };
                let _ = s.set_nonblocking(false);
                let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
                let _ = s.set_write_timeout(Some(Duration::from_secs(5)));
                let head = read_head(&mut s);
                let path = head.split_whitespace().nth(1).unwrap_or("/").to_string();
                answer(&mut s, &path, &head);
            }
        });
        Server { port, stop }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// A front that answers every request with a 307 to the same path on `target_port`, the
/// way registries send blob downloads to their storage.
pub struct Redirector {
    pub port: u16,
    pub redirected: Arc<AtomicUsize>,
    _server: Server,
}

impl Redirector {
    pub fn start(target_port: u16) -> Redirector {
        let redirected = Arc::new(AtomicUsize::new(0));
        let n = redirected.clone();
        let server = Server::start(move |s, path, _| {
            n.fetch_add(1, Ordering::Relaxed);
            let _ = write!(
                s,
                "HTTP/1.1 307 Temporary Redirect\r\nLocation: http://127.0.0.1:{target_port}{path}\r\n\
                 Content-Length: 0\r\nConnection: close\r\n\r\n"
            );
        });
        Redirector {
            port: server.port,
            redirected,
            _server: server,
        }
    }
}

/// A registry that answers `/v2/` and then serves a manifest of 64 MiB (with or without a
/// Content-Length saying so), counting the bytes the client actually took.
pub struct HugeManifest {
    pub port: u16,
    pub sent: Arc<AtomicUsize>,
    _server: Server,
}

impl HugeManifest {
    pub const SIZE: usize = 64 << 20;

    pub fn start(declare_length: bool) -> HugeManifest {
        let sent = Arc::new(AtomicUsize::new(0));
        let n = sent.clone();
        let server = Server::start(move |s, path, _| {
            if !path.contains("/manifests/") {
                let _ = write!(
                    s,
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\
                     Content-Length: 2\r\nConnection: close\r\n\r\n{{}}"
                );
                return;
            }
            let length = if declare_length {
                format!("Content-Length: {}\r\n", Self::SIZE)
            } else {
                String::new()
            };
            let _ = write!(
                s,
                "HTTP/1.1 200 OK\r\nContent-Type: application/vnd.oci.image.manifest.v1+json\r\n\
                 {length}Connection: close\r\n\r\n"
            );
            let chunk = vec![b' '; 64 << 10];
            while n.load(Ordering::Relaxed) < Self::SIZE {
                match s.write(&chunk) {
                    Ok(k) if k > 0 => {
                        n.fetch_add(k, Ordering::Relaxed);
                    }
                    _ => break,
                }
            }
        });
        HugeManifest {
            port: server.port,
            sent,
            _server: server,
        }
    }
}

/// A user: DOCKER_CONFIG, the cache and HOME in a temp dir, never the real home.
pub struct User {
    pub home: tempfile::TempDir,
}

impl User {
    pub fn new() -> User {
        User {
            home: tempfile::tempdir().unwrap(),
        }
    }

    /// Installs `docker-credential-ecctest`, a credential helper that speaks docker's
    /// protocol and keeps one file per server under the home's `creds/`.
    pub fn install_credential_helper(&self) -> PathBuf {
        let bin = self.home.path().join("bin");
        let store = self.home.path().join("creds");
        std::fs::create_dir_all(&bin).unwrap();
        std::fs::create_dir_all(&store).unwrap();
        let script = bin.join("docker-credential-ecctest");
        std::fs::write(
            &script,
            r#"#!/bin/sh
store="$ECC_TEST_CRED_STORE"
echo "$1" >> "$store/calls"
case "$1" in
store)
    json=$(cat)
    key=$(printf '%s' "$json" | sed -n 's/.*"ServerURL":"\([^"]*\)".*/\1/p' | tr '/:' '__')
    printf '%s' "$json" > "$store/$key" ;;
get|erase)
    read -r server || true
    key=$(printf '%s' "$server" | tr '/:' '__')
    if [ ! -f "$store/$key" ]; then
        echo "credentials not found in native keychain"
        exit 1
    fi
    if [ "$1" = get ]; then cat "$store/$key"; else rm "$store/$key"; fi ;;
*)
    exit 2 ;;
esac
"#,
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        store
    }

    pub fn docker_config(&self) -> PathBuf {
        self.home.path().join("docker").join("config.json")
    }

    pub fn cache(&self) -> PathBuf {
        self.home.path().join("cache")
    }

    pub fn cmd(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_ecc"));
        // A credential helper the test may install (`install_credential_helper`) is found
        // first on PATH and keeps its store in the home.
        let path = std::env::var_os("PATH").unwrap_or_default();
        let mut dirs = vec![self.home.path().join("bin")];
        dirs.extend(std::env::split_paths(&path));
        c.env("PATH", std::env::join_paths(dirs).unwrap())
            .env("ECC_TEST_CRED_STORE", self.home.path().join("creds"));
        c.env("DOCKER_CONFIG", self.home.path().join("docker"))
            .env("XDG_CACHE_HOME", self.cache())
            .env("HOME", self.home.path())
            .stdin(Stdio::null());
        c
    }

    pub fn ecc(&self, args: &[&str]) -> Output {
        self.cmd().args(args).output().expect("run ecc")
    }

    /// `ecc login` with the password on stdin.
    pub fn login(&self, args: &[&str], password: &str) -> Output {
        let mut child = self
            .cmd()
            .arg("login")
            .args(args)
            .arg("--password-stdin")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run ecc login");
        let mut stdin = child.stdin.take().unwrap();
        writeln!(stdin, "{password}").unwrap();
        drop(stdin);
        child.wait_with_output().unwrap()
    }
}

pub fn out(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// A valid Wasm module of about `len` bytes: the header and one custom section of
/// pseudo-random bytes (so it spans several network reads).
pub fn wasm_module(len: usize) -> Vec<u8> {
    let mut payload = vec![4u8, b'd', b'a', b't', b'a'];
    let mut x: u32 = 0x2545_f491;
    while payload.len() < len {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        payload.push(x as u8);
    }
    let mut m = b"\0asm\x01\0\0\0".to_vec();
    m.push(0);
    let mut n = payload.len();
    loop {
        let b = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            m.push(b);
            break;
        }
        m.push(b | 0x80);
    }
    m.extend_from_slice(&payload);
    m
}
