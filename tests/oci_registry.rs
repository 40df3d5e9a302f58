//! `ecc login/logout/push/pull` and `ecc run REF` against real registries started by the
//! tests (Debian's docker-registry): plain HTTP, htpasswd Basic auth, TLS with a CA made
//! here, and Bearer tokens from a test-only token endpoint. skopeo checks what we push.

mod oci_harness;
mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::Ordering;

use oci_harness::*;

fn package(dir: &Path) -> PathBuf {
    support::ecc_compile(dir, "bootstrap.bpf.c", Some("bootstrap.h"))
}

/// The layer digest of what `ref` names, read with skopeo (an independent client).
fn skopeo_manifest(reg: &Registry, r: &str, extra: &[&str]) -> serde_json::Value {
    let o = Command::new("skopeo")
        .args(["inspect", "--raw"])
        .args(extra)
        .arg(format!("docker://{r}"))
        .output()
        .expect("run skopeo (scripts/setup.sh installs it)");
    assert!(o.status.success(), "skopeo: {}\n{}", out(&o), reg.log());
    serde_json::from_slice(&o.stdout).expect("skopeo prints the manifest")
}

fn layer_digest(m: &serde_json::Value) -> String {
    m["layers"][0]["digest"].as_str().unwrap().to_string()
}

#[test]
fn push_then_pull_gives_identical_files_and_skopeo_reads_our_media_types() {
    let reg = Registry::start(Security::Plain);
    let user = User::new();
    let work = tempfile::tempdir().unwrap();
    let pkg = package(work.path());
    let wasm = work.path().join("bootstrap.wasm");
    std::fs::write(&wasm, wasm_module(300_000)).unwrap();

    for (file, tag, program, layer_type, config_type) in [
        (
            &pkg,
            "ecc/bootstrap:v1",
            "bootstrap_bpf",
            "application/vnd.eunomia.package.v1+json",
            "application/vnd.eunomia.package.config.v1+json",
        ),
        (
            &wasm,
            "ecc/bootstrap-wasm:v1",
            "bootstrap",
            "application/vnd.wasm.content.layer.v1+wasm",
            "application/vnd.wasm.config.v1+json",
        ),
    ] {
        let r = reg.reference(tag);
        let o = user.ecc(&["push", "--plain-http", file.to_str().unwrap(), &r]);
        assert!(o.status.success(), "{}\n{}", out(&o), reg.log());
        let printed = String::from_utf8_lossy(&o.stdout).trim().to_string();
        assert!(printed.starts_with(&format!("{r}@sha256:")), "{printed}");

        let m = skopeo_manifest(&reg, &r, &["--tls-verify=false"]);
        assert_eq!(m["mediaType"], "application/vnd.oci.image.manifest.v1+json");
        assert_eq!(m["config"]["mediaType"], config_type);
        assert_eq!(m["layers"].as_array().unwrap().len(), 1);
        assert_eq!(m["layers"][0]["mediaType"], layer_type);
        let name = file.file_name().unwrap().to_str().unwrap();
        assert_eq!(
            m["layers"][0]["annotations"]["org.opencontainers.image.title"],
            name
        );
        let a = &m["annotations"];
        assert_eq!(a["org.opencontainers.image.title"], name);
        assert_eq!(a["org.eunomia-bpf.ecc.version"], env!("CARGO_PKG_VERSION"));
        assert_eq!(a["org.eunomia-bpf.ecc.program"], program);

        // Pull by tag and by the digest push printed: the same bytes, the original name.
        for (i, pull_ref) in [r.clone(), printed.clone()].iter().enumerate() {
            let dest = work
                .path()
                .join(format!("pulled-{tag}-{i}").replace('/', "_"));
            let o = user.ecc(&[
                "pull",
                "--plain-http",
                pull_ref,
                "-o",
                dest.to_str().unwrap(),
            ]);
            assert!(o.status.success(), "{}", out(&o));
            let got = std::fs::read(dest.join(name)).unwrap();
            assert_eq!(got, std::fs::read(file).unwrap(), "{pull_ref}");
        }
    }

    // Pushing the same file again gives the same manifest digest (deterministic).
    let r = reg.reference("ecc/bootstrap:v2");
    let o = user.ecc(&["push", "--plain-http", pkg.to_str().unwrap(), &r]);
    let again = String::from_utf8_lossy(&o.stdout).to_string();
    let first = user.ecc(&[
        "push",
        "--plain-http",
        pkg.to_str().unwrap(),
        &reg.reference("ecc/bootstrap:v1"),
    ]);
    assert_eq!(
        again.split('@').nth(1),
        String::from_utf8_lossy(&first.stdout).split('@').nth(1)
    );
}

#[test]
fn unknown_tag_size_limit_and_no_silent_downgrade() {
    let reg = Registry::start(Security::Plain);
    let user = User::new();
    let work = tempfile::tempdir().unwrap();
    let wasm = work.path().join("app.wasm");
    std::fs::write(&wasm, wasm_module(4096)).unwrap();
    let r = reg.reference("ecc/app:v1");
    let dest = work.path().join("out");

    // HTTPS is the default: a plain-HTTP registry is refused, not silently used.
    let o = user.ecc(&["push", wasm.to_str().unwrap(), &r]);
    assert_eq!(o.status.code(), Some(1), "{}", out(&o));
    assert!(out(&o).contains("https://"), "{}", out(&o));
    assert_eq!(reg.log().matches("\"PUT /v2/").count(), 0);

    let o = user.ecc(&["push", "--plain-http", wasm.to_str().unwrap(), &r]);
    assert!(o.status.success(), "{}", out(&o));

    let o = user.ecc(&[
        "pull",
        "--plain-http",
        &reg.reference("ecc/app:nope"),
        "-o",
        dest.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(out(&o).contains("ecc/app:nope: no such tag"), "{}", out(&o));

    let o = user.ecc(&[
        "pull",
        "--plain-http",
        "--max-size",
        "1000",
        &r,
        "-o",
        dest.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    let digest = layer_digest(&skopeo_manifest(&reg, &r, &["--tls-verify=false"]));
    assert!(
        out(&o).contains(&digest) && out(&o).contains("over the limit of 1000"),
        "{}",
        out(&o)
    );
    assert_eq!(
        reg.blob_gets(&digest),
        0,
        "a refused blob is not downloaded"
    );
    assert!(!dest.join("app.wasm").exists());

    // What is not a package or a Wasm module is not pushed.
    let junk = work.path().join("notes.json");
    std::fs::write(&junk, "{\"hello\": 1}").unwrap();
    let o = user.ecc(&["push", "--plain-http", junk.to_str().unwrap(), &r]);
    assert_eq!(o.status.code(), Some(1));
    assert!(out(&o).contains("notes.json: not a package.json or a Wasm module"));
}

/// A registry that sends an endless manifest: refused at the limit (4 MiB), not read whole,
/// whether or not it declares the length.
#[test]
fn a_huge_manifest_is_refused_without_reading_it() {
    let user = User::new();
    let work = tempfile::tempdir().unwrap();
    for declare_length in [true, false] {
        let reg = HugeManifest::start(declare_length);
        let dest = work.path().join("out");
        let r = format!("127.0.0.1:{}/ecc/huge:v1", reg.port);
        let o = user.ecc(&["pull", "--plain-http", &r, "-o", dest.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(1), "{}", out(&o));
        assert!(out(&o).contains("over the limit of 4194304"), "{}", out(&o));
        assert_eq!(out(&o).lines().count(), 1, "{}", out(&o));
        let sent = reg.sent.load(Ordering::Relaxed);
        assert!(
            sent < HugeManifest::SIZE / 4,
            "declared length {declare_length}: the client took {sent} bytes"
        );
        assert!(!dest.exists());
    }
}

#[test]
fn a_blob_corrupted_on_the_registry_disk_is_refused_and_nothing_is_written() {
    let reg = Registry::start(Security::Plain);
    let user = User::new();
    let work = tempfile::tempdir().unwrap();
    let wasm = work.path().join("app.wasm");
    std::fs::write(&wasm, wasm_module(20_000)).unwrap();
    let r = reg.reference("ecc/corrupt:v1");
    let o = user.ecc(&["push", "--plain-http", wasm.to_str().unwrap(), &r]);
    assert!(o.status.success(), "{}", out(&o));
    let digest = layer_digest(&skopeo_manifest(&reg, &r, &["--tls-verify=false"]));

    // Same size, one byte different: only the digest can tell.
    let blob = reg.blob_path(&digest);
    let mut bytes = std::fs::read(&blob).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    std::fs::write(&blob, bytes).unwrap();

    let dest = work.path().join("out");
    let o = user.ecc(&["pull", "--plain-http", &r, "-o", dest.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", out(&o));
    let text = out(&o);
    assert!(text.contains(&digest), "{text}");
    assert!(text.contains("corrupted"), "{text}");
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(!dest.exists(), "a failed pull creates no output directory");
    let cached = std::fs::read_dir(user.cache().join("ecc/oci/sha256"))
        .map(|d| d.count())
        .unwrap_or(0);
    assert_eq!(cached, 0, "nothing corrupted enters the cache");
}

#[test]
fn basic_auth_login_checks_the_password_and_stores_it_where_docker_does() {
    let reg = Registry::start(Security::Htpasswd);
    let user = User::new();
    let work = tempfile::tempdir().unwrap();
    let wasm = work.path().join("app.wasm");
    std::fs::write(&wasm, wasm_module(1000)).unwrap();
    let r = reg.reference("ecc/private:v1");
    let host = reg.host();

    // Anonymous push is refused by the registry.
    let o = user.ecc(&["push", "--plain-http", wasm.to_str().unwrap(), &r]);
    assert_eq!(o.status.code(), Some(1));
    assert!(out(&o).contains("ecc login"), "{}", out(&o));

    // A wrong password: exit 1, nothing stored, no secret printed.
    let o = user.login(&["--plain-http", &host, "-u", USER], "wrong-password");
    assert_eq!(o.status.code(), Some(1), "{}", out(&o));
    assert!(
        out(&o).contains("wrong user name or password"),
        "{}",
        out(&o)
    );
    assert!(!out(&o).contains("wrong-password"));
    assert!(!user.docker_config().exists());

    // The right one: stored as docker stores it, private to the user.
    let o = user.login(&["--plain-http", &host, "-u", USER], PASSWORD);
    assert!(o.status.success(), "{}\n{}", out(&o), reg.log());
    assert!(!out(&o).contains(PASSWORD));
    let cfg: serde_json::Value =
        serde_json::from_slice(&std::fs::read(user.docker_config()).unwrap()).unwrap();
    use base64::Engine as _;
    let expected = base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASSWORD}"));
    assert_eq!(cfg["auths"][&host]["auth"], expected.as_str());
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(user.docker_config())
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o077, 0, "config.json is private: {mode:o}");

    let o = user.ecc(&["push", "--plain-http", wasm.to_str().unwrap(), &r]);
    assert!(o.status.success(), "{}", out(&o));
    let dest = work.path().join("out");
    let o = user.ecc(&["pull", "--plain-http", &r, "-o", dest.to_str().unwrap()]);
    assert!(o.status.success(), "{}", out(&o));
    assert_eq!(
        std::fs::read(dest.join("app.wasm")).unwrap(),
        std::fs::read(&wasm).unwrap()
    );

    // Logout removes the entry, and the registry refuses us again.
    let o = user.ecc(&["logout", &host]);
    assert!(o.status.success(), "{}", out(&o));
    let cfg: serde_json::Value =
        serde_json::from_slice(&std::fs::read(user.docker_config()).unwrap()).unwrap();
    assert!(cfg["auths"].get(&host).is_none(), "{cfg}");
    let o = user.ecc(&["pull", "--plain-http", &r, "-o", dest.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));

    // A login another tool wrote (docker's format, with other keys around it) is used,
    // and those keys survive our own login.
    let other = User::new();
    std::fs::create_dir_all(other.docker_config().parent().unwrap()).unwrap();
    std::fs::write(
        other.docker_config(),
        format!(
            r#"{{"auths":{{"http://{host}":{{"auth":"{expected}"}}}},"psFormat":"table {{{{.ID}}}}"}}"#
        ),
    )
    .unwrap();
    let dest2 = work.path().join("out2");
    let o = other.ecc(&["pull", "--plain-http", &r, "-o", dest2.to_str().unwrap()]);
    assert!(o.status.success(), "{}", out(&o));
    let o = other.login(&["--plain-http", &host, "-u", USER], PASSWORD);
    assert!(o.status.success(), "{}", out(&o));
    let cfg: serde_json::Value =
        serde_json::from_slice(&std::fs::read(other.docker_config()).unwrap()).unwrap();
    assert_eq!(cfg["psFormat"], "table {{.ID}}");

    // skopeo reads our login from the same file.
    let login_user = User::new();
    let o = login_user.login(&["--plain-http", &host, "-u", USER], PASSWORD);
    assert!(o.status.success(), "{}", out(&o));
    let sk = Command::new("skopeo")
        .args(["inspect", "--raw", "--tls-verify=false", "--authfile"])
        .arg(login_user.docker_config())
        .arg(format!("docker://{r}"))
        .output()
        .unwrap();
    assert!(
        sk.status.success(),
        "skopeo with our config.json: {}",
        out(&sk)
    );
}

/// With `credsStore` in config.json, the secret goes to the credential helper (docker's
/// protocol), never into the file, and is read back from it for pushes and pulls.
#[test]
fn a_credential_helper_keeps_the_secret() {
    let reg = Registry::start(Security::Htpasswd);
    let user = User::new();
    let store = user.install_credential_helper();
    std::fs::create_dir_all(user.docker_config().parent().unwrap()).unwrap();
    std::fs::write(user.docker_config(), r#"{"credsStore":"ecctest"}"#).unwrap();
    let work = tempfile::tempdir().unwrap();
    let wasm = work.path().join("app.wasm");
    std::fs::write(&wasm, wasm_module(1000)).unwrap();
    let r = reg.reference("ecc/helper:v1");
    let host = reg.host();

    let o = user.login(&["--plain-http", &host, "-u", USER], PASSWORD);
    assert!(o.status.success(), "{}\n{}", out(&o), reg.log());
    let cfg = std::fs::read_to_string(user.docker_config()).unwrap();
    assert!(!cfg.contains(PASSWORD), "{cfg}");
    let v: serde_json::Value = serde_json::from_str(&cfg).unwrap();
    assert_eq!(v["credsStore"], "ecctest");
    assert_eq!(v["auths"][&host], serde_json::json!({}));
    let kept = std::fs::read_to_string(store.join(host.replace(':', "_"))).unwrap();
    assert!(kept.contains(PASSWORD) && kept.contains(USER), "{kept}");

    let o = user.ecc(&["push", "--plain-http", wasm.to_str().unwrap(), &r]);
    assert!(o.status.success(), "{}", out(&o));
    let calls = std::fs::read_to_string(store.join("calls")).unwrap();
    assert!(calls.lines().any(|l| l == "get"), "{calls}");

    // Logout erases it from the helper; the registry refuses us again.
    let o = user.ecc(&["logout", &host]);
    assert!(o.status.success(), "{}", out(&o));
    assert!(!store.join(host.replace(':', "_")).exists());
    let o = user.ecc(&["push", "--plain-http", wasm.to_str().unwrap(), &r]);
    assert_eq!(o.status.code(), Some(1), "{}", out(&o));

    // A helper that is not installed is named in a one-line error.
    std::fs::write(user.docker_config(), r#"{"credsStore":"nosuchhelper"}"#).unwrap();
    let o = user.ecc(&["push", "--plain-http", wasm.to_str().unwrap(), &r]);
    assert_eq!(o.status.code(), Some(1), "{}", out(&o));
    assert!(
        out(&o).contains("docker-credential-nosuchhelper"),
        "{}",
        out(&o)
    );
    assert_eq!(out(&o).lines().count(), 1, "{}", out(&o));
}

#[test]
fn tls_registry_needs_its_ca_and_plain_http_is_not_tried() {
    let reg = Registry::start(Security::Tls { htpasswd: true });
    let user = User::new();
    let work = tempfile::tempdir().unwrap();
    let wasm = work.path().join("app.wasm");
    std::fs::write(&wasm, wasm_module(5000)).unwrap();
    let host = reg.host();
    let ca = reg.ca.clone().unwrap();
    let r = reg.reference("ecc/tls:v1");

    let o = user.login(&[&host, "-u", USER], PASSWORD);
    assert_eq!(o.status.code(), Some(1), "{}", out(&o));
    assert!(
        out(&o).to_lowercase().contains("certificate"),
        "{}",
        out(&o)
    );
    assert!(!user.docker_config().exists());

    let o = user.login(
        &["--ca-file", ca.to_str().unwrap(), &host, "-u", USER],
        PASSWORD,
    );
    assert!(o.status.success(), "{}\n{}", out(&o), reg.log());

    let o = user.ecc(&["push", wasm.to_str().unwrap(), &r]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "untrusted certificate: {}",
        out(&o)
    );
    assert!(
        out(&o).to_lowercase().contains("certificate"),
        "{}",
        out(&o)
    );

    let o = user.ecc(&[
        "push",
        "--ca-file",
        ca.to_str().unwrap(),
        wasm.to_str().unwrap(),
        &r,
    ]);
    assert!(o.status.success(), "{}\n{}", out(&o), reg.log());
    let dest = work.path().join("out");
    let o = user.ecc(&[
        "pull",
        "--ca-file",
        ca.to_str().unwrap(),
        &r,
        "-o",
        dest.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", out(&o));
    assert_eq!(
        std::fs::read(dest.join("app.wasm")).unwrap(),
        std::fs::read(&wasm).unwrap()
    );
    // skopeo trusts the same CA through a certificate directory.
    let certs = work.path().join("certs");
    std::fs::create_dir_all(&certs).unwrap();
    std::fs::copy(&ca, certs.join("ca.crt")).unwrap();
    let m = skopeo_manifest(
        &reg,
        &r,
        &[
            "--cert-dir",
            certs.to_str().unwrap(),
            "--creds",
            &format!("{USER}:{PASSWORD}"),
        ],
    );
    assert_eq!(
        m["layers"][0]["mediaType"],
        "application/vnd.wasm.content.layer.v1+wasm"
    );
}

#[test]
fn bearer_token_flow_against_a_token_service() {
    let reg = Registry::start(Security::Token);
    let tokens = reg.token.as_ref().unwrap();
    let user = User::new();
    let work = tempfile::tempdir().unwrap();
    let wasm = work.path().join("app.wasm");
    std::fs::write(&wasm, wasm_module(3000)).unwrap();
    let host = reg.host();
    let r = reg.reference(&format!("{TOKEN_REPO}:v1"));

    // Without credentials the token service refuses, and so does ecc.
    let o = user.ecc(&["push", "--plain-http", wasm.to_str().unwrap(), &r]);
    assert_eq!(o.status.code(), Some(1), "{}", out(&o));
    assert!(out(&o).contains("ecc login"), "{}", out(&o));

    let o = user.login(&["--plain-http", &host, "-u", USER], "not-it");
    assert_eq!(o.status.code(), Some(1), "{}", out(&o));
    assert!(!user.docker_config().exists());
    let refused = tokens.refused.load(Ordering::Relaxed);
    assert!(refused >= 2, "the token service saw the wrong password");

    let o = user.login(&["--plain-http", &host, "-u", USER], PASSWORD);
    assert!(o.status.success(), "{}\n{}", out(&o), reg.log());
    let before = tokens.requests.load(Ordering::Relaxed);
    let o = user.ecc(&["push", "--plain-http", wasm.to_str().unwrap(), &r]);
    assert!(o.status.success(), "{}\n{}", out(&o), reg.log());
    let dest = work.path().join("out");
    let o = user.ecc(&["pull", "--plain-http", &r, "-o", dest.to_str().unwrap()]);
    assert!(o.status.success(), "{}\n{}", out(&o), reg.log());
    assert_eq!(
        std::fs::read(dest.join("app.wasm")).unwrap(),
        std::fs::read(&wasm).unwrap()
    );
    assert!(tokens.requests.load(Ordering::Relaxed) > before);
    assert_eq!(tokens.refused.load(Ordering::Relaxed), refused);
    // The registry checked the token itself: its log has authorized requests.
    assert!(reg.log().contains("authorized request"), "{}", reg.log());
}

#[test]
fn redirects_are_followed_and_the_cache_saves_the_second_download() {
    let reg = Registry::start(Security::Plain);
    let user = User::new();
    let work = tempfile::tempdir().unwrap();
    let wasm = work.path().join("app.wasm");
    std::fs::write(&wasm, wasm_module(10_000)).unwrap();
    let r = reg.reference("ecc/moved:v1");
    let o = user.ecc(&["push", "--plain-http", wasm.to_str().unwrap(), &r]);
    assert!(o.status.success(), "{}", out(&o));
    let digest = layer_digest(&skopeo_manifest(&reg, &r, &["--tls-verify=false"]));

    let front = Redirector::start(reg.port);
    let via = format!("127.0.0.1:{}/ecc/moved:v1", front.port);
    let dest = work.path().join("out");
    let o = user.ecc(&["pull", "--plain-http", &via, "-o", dest.to_str().unwrap()]);
    assert!(o.status.success(), "{}\n{}", out(&o), reg.log());
    assert!(front.redirected.load(Ordering::Relaxed) >= 2);
    assert_eq!(
        std::fs::read(dest.join("app.wasm")).unwrap(),
        std::fs::read(&wasm).unwrap()
    );
    assert_eq!(reg.blob_gets(&digest), 1);

    // The cache holds the digest now: pulling again fetches the manifest, not the blob.
    let dest2 = work.path().join("out2");
    let o = user.ecc(&["pull", "--plain-http", &r, "-o", dest2.to_str().unwrap()]);
    assert!(o.status.success(), "{}", out(&o));
    assert_eq!(reg.blob_gets(&digest), 1, "{}", reg.log());
    assert_eq!(
        std::fs::read(dest2.join("app.wasm")).unwrap(),
        std::fs::read(&wasm).unwrap()
    );

    // `ecc run` takes the file from the cache too, and hands a Wasm module to the Wasm host
    // (this one has no code, which the host says).
    let o = user.ecc(&["run", "--plain-http", &r]);
    assert_eq!(o.status.code(), Some(1), "{}", out(&o));
    assert!(
        out(&o).contains(&format!("cached app.wasm ({digest})")),
        "{}",
        out(&o)
    );
    assert!(out(&o).contains("app.wasm"), "{}", out(&o));
    assert_eq!(reg.blob_gets(&digest), 1);
}

/// A Wasm app built by `ecc build-wasm`, pushed, then run by reference on our Wasm host:
/// its arguments, output and exit status are the guest's.
#[test]
fn run_ref_of_a_pushed_wasm_app_runs_it_on_the_wasm_host() {
    let reg = Registry::start(Security::Plain);
    let user = User::new();
    let work = tempfile::tempdir().unwrap();
    let src = work.path().join("hello.c");
    std::fs::write(
        &src,
        "#include <stdio.h>\n\
         int main(int argc, char **argv)\n\
         {\n\
         \tprintf(\"hello from the guest: %d %s\\n\", argc, argc > 1 ? argv[1] : \"-\");\n\
         \treturn 7;\n\
         }\n",
    )
    .unwrap();
    let wasm = work.path().join("hello.wasm");
    let o = user.ecc(&[
        "build-wasm",
        "-o",
        wasm.to_str().unwrap(),
        src.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", out(&o));
    let r = reg.reference("ecc/hello:v1");
    let o = user.ecc(&["push", "--plain-http", wasm.to_str().unwrap(), &r]);
    assert!(o.status.success(), "{}", out(&o));
    // Runner options before the reference, guest arguments after it.
    let o = user.ecc(&["run", "--plain-http", "--duration", "20", &r, "world"]);
    assert_eq!(o.status.code(), Some(7), "{}", out(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("hello from the guest: 2 world"),
        "{}",
        out(&o)
    );
    assert!(out(&o).contains("pulled hello.wasm"), "{}", out(&o));
}

/// The promise of the issue: compile once, push, run anywhere by name.
#[test]
fn run_ref_of_a_pushed_exitsnoop_like_package_prints_events_and_uses_the_cache() {
    if !support::kernel_or_skip("run_ref_of_a_pushed_exitsnoop_like_package_prints_events") {
        return;
    }
    let reg = Registry::start(Security::Plain);
    let user = User::new();
    let work = tempfile::tempdir().unwrap();
    let pkg = package(work.path());
    let r = reg.reference("ecc/exitsnoop:latest");
    let o = user.ecc(&["push", "--plain-http", pkg.to_str().unwrap(), &r]);
    assert!(o.status.success(), "{}", out(&o));
    let digest = layer_digest(&skopeo_manifest(&reg, &r, &["--tls-verify=false"]));

    for round in 0..2 {
        let name = support::unique_name("o");
        let bin = support::named_binary(work.path(), &name);
        let child = user
            .cmd()
            .args(["run", "--plain-http", "--duration", "3", &r])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let r_ = support::Running::adopt(child);
        support::spawn_times(&bin, 5);
        let (st, stdout, stderr) = r_.finish();
        assert!(st.success(), "{st}\n{stderr}");
        assert!(
            stdout.lines().any(|l| l.contains(&name)),
            "round {round}: no event for {name}:\n{stdout}\n{stderr}"
        );
        let how = if round == 0 { "pulled" } else { "cached" };
        assert!(
            stderr.contains(&format!("{how} package.json ({digest})")),
            "{stderr}"
        );
        assert_eq!(reg.blob_gets(&digest), 1, "round {round}:\n{}", reg.log());
    }
}
