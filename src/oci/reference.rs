//! References (`host[:port]/repo[:tag|@sha256:…]`) and the registry naming rules docker
//! users expect: no host means Docker Hub, a one-word repository there means `library/…`,
//! no tag means `latest`, and Docker Hub's credentials are filed under its legacy key.

use std::path::Path;

use oci_client::Reference;

use super::Error;

/// Parses a reference with docker's default-registry rules.
pub fn parse(s: &str) -> Result<Reference, Error> {
    s.parse::<Reference>().map_err(|e| {
        Error::Usage(format!(
            "{s}: not a registry reference ({e}); expected host[:port]/repository[:tag|@sha256:digest]"
        ))
    })
}

/// The registry part of a `login`/`logout` argument: a bare host[:port], a URL, or a whole
/// reference (docker accepts all three).
pub fn registry_of(arg: &str) -> Result<String, Error> {
    let s = arg
        .trim_start_matches("https://")
        .trim_start_matches("http://")
        .trim_end_matches('/');
    let host = s.split('/').next().unwrap_or("");
    let valid = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
    if !valid {
        return Err(Error::Usage(format!("{arg}: not a registry host[:port]")));
    }
    Ok(normalize_registry(host))
}

/// Docker Hub's many names collapse to `docker.io`.
fn normalize_registry(host: &str) -> String {
    match host {
        "index.docker.io" | "registry-1.docker.io" | "docker.io" => "docker.io".into(),
        h => h.to_string(),
    }
}

/// The key of a registry in config.json's `auths`: docker files Docker Hub under its v1 URL.
pub fn auth_key(registry: &str) -> String {
    if normalize_registry(registry) == "docker.io" {
        "https://index.docker.io/v1/".into()
    } else {
        registry.to_string()
    }
}

/// The keys under which other tools may have filed this registry's credentials, best first.
pub fn auth_key_candidates(registry: &str) -> Vec<String> {
    let key = auth_key(registry);
    let mut v = vec![
        key.clone(),
        format!("https://{key}"),
        format!("http://{key}"),
        format!("https://{key}/v1/"),
        format!("https://{key}/v2/"),
    ];
    if key.starts_with("https://index.docker.io") {
        v.extend(["docker.io".into(), "index.docker.io".into()]);
    }
    v
}

/// Whether `ecc run ARG` means a registry reference rather than a local file: it does not
/// exist as a path, does not end in a file extension the runner reads, and parses as a
/// reference. A missing `out/package.json` therefore stays a missing file.
pub fn is_remote(arg: &str) -> bool {
    if Path::new(arg).exists() || arg.starts_with('.') || arg.starts_with('/') {
        return false;
    }
    let last = arg.rsplit('/').next().unwrap_or(arg);
    let name = last.split([':', '@']).next().unwrap_or(last);
    if [".json", ".o", ".wasm"].iter().any(|x| name.ends_with(x)) && !last.contains([':', '@']) {
        return false;
    }
    // One bare word (`sigsnoop`) is more likely a missing file than a Docker Hub image.
    arg.contains('/') && arg.parse::<Reference>().is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_registry_rules() {
        let r = parse("sigsnoop").unwrap();
        assert_eq!(r.registry(), "docker.io");
        assert_eq!(r.repository(), "library/sigsnoop");
        let r = parse("ghcr.io/eunomia-bpf/sigsnoop:latest").unwrap();
        assert_eq!(
            (r.registry(), r.repository()),
            ("ghcr.io", "eunomia-bpf/sigsnoop")
        );
        assert_eq!(r.tag(), Some("latest"));
        let r = parse("127.0.0.1:5000/ecc/demo:v1").unwrap();
        assert_eq!(r.registry(), "127.0.0.1:5000");
        let r = parse("localhost/demo").unwrap();
        assert_eq!((r.registry(), r.repository()), ("localhost", "demo"));
        let d = format!("localhost:5000/demo@sha256:{}", "a".repeat(64));
        assert_eq!(parse(&d).unwrap().digest().unwrap().len(), 71);
        assert!(parse("Bad/Upper:x").is_err());
        assert!(parse("localhost:5000/demo@sha256:abc").is_err());
    }

    #[test]
    fn docker_hub_credentials_use_the_legacy_key() {
        assert_eq!(auth_key("docker.io"), "https://index.docker.io/v1/");
        assert_eq!(auth_key("index.docker.io"), "https://index.docker.io/v1/");
        assert_eq!(auth_key("ghcr.io"), "ghcr.io");
        assert_eq!(registry_of("https://ghcr.io/").unwrap(), "ghcr.io");
        assert_eq!(
            registry_of("localhost:5000/x/y:1").unwrap(),
            "localhost:5000"
        );
        assert_eq!(registry_of("registry-1.docker.io").unwrap(), "docker.io");
        assert!(registry_of("a b").is_err());
        assert!(auth_key_candidates("ghcr.io").contains(&"https://ghcr.io".to_string()));
    }

    #[test]
    fn run_arguments_that_are_references() {
        assert!(is_remote("ghcr.io/eunomia-bpf/sigsnoop:latest"));
        assert!(is_remote("localhost:5000/ecc/demo"));
        assert!(is_remote("localhost:5000/ecc/demo.json:v1"));
        assert!(!is_remote("out/package.json"));
        assert!(!is_remote("./x/y"));
        assert!(!is_remote("/nonexistent/p.json"));
        assert!(!is_remote("sigsnoop"));
        assert!(!is_remote("app.wasm"));
    }
}
