//! Docker credential helpers (`credsStore`, `credHelpers` in config.json): programs named
//! `docker-credential-NAME` that keep secrets in the system's keychain. Their protocol: the
//! action (`get`, `store`, `erase`) as the argument, the server on standard input (JSON
//! `{"ServerURL","Username","Secret"}` for `store`), and for `get` that JSON on standard
//! output.

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::{Map, Value};

use super::reference::auth_key_candidates;
use super::Error;

/// The helper that keeps `registry`'s credentials: its own `credHelpers` entry, else the
/// default `credsStore`.
pub fn for_registry(cfg: &Map<String, Value>, registry: &str) -> Option<String> {
    let own = cfg
        .get("credHelpers")
        .and_then(Value::as_object)
        .and_then(|m| {
            auth_key_candidates(registry)
                .iter()
                .find_map(|k| m.get(k).and_then(Value::as_str).map(str::to_string))
        });
    own.or_else(|| {
        cfg.get("credsStore")
            .and_then(Value::as_str)
            .map(str::to_string)
    })
    .filter(|h| !h.is_empty() && !h.contains('/'))
}

/// Runs `docker-credential-HELPER ACTION` with `input` on standard input; returns its
/// standard output, or `None` when it says it has no credentials for the server.
fn call(helper: &str, action: &str, input: &[u8]) -> Result<Option<Vec<u8>>, Error> {
    let program = format!("docker-credential-{helper}");
    let failed = |msg: String| Error::Env(format!("credential helper {program} {action}: {msg}"));
    let mut child = Command::new(&program)
        .arg(action)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| failed(e.to_string()))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(input).map_err(|e| failed(e.to_string()))?;
    }
    let out = child
        .wait_with_output()
        .map_err(|e| failed(e.to_string()))?;
    if out.status.success() {
        return Ok(Some(out.stdout));
    }
    // Helpers print this (on stdout or stderr) for an unknown server.
    let said = String::from_utf8_lossy(if out.stdout.is_empty() {
        &out.stderr
    } else {
        &out.stdout
    })
    .trim()
    .to_string();
    if said.contains("credentials not found") {
        return Ok(None);
    }
    // The first line only: a helper's message never carries the secret we sent it.
    Err(failed(said.lines().next().unwrap_or("failed").to_string()))
}

/// The user name and secret the helper keeps for `server`. An identity token (user
/// `<token>`) is not a password this client can use, so it counts as none.
pub fn get(helper: &str, server: &str) -> Result<Option<(String, String)>, Error> {
    let Some(out) = call(helper, "get", server.as_bytes())? else {
        return Ok(None);
    };
    let v: Value = serde_json::from_slice(&out).map_err(|e| {
        Error::Env(format!(
            "credential helper docker-credential-{helper} get: not JSON: {e}"
        ))
    })?;
    let field = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
    Ok(match (field("Username"), field("Secret")) {
        (Some(u), Some(s)) if u != "<token>" && !s.is_empty() => Some((u, s)),
        _ => None,
    })
}

/// Hands the credentials of `server` to the helper.
pub fn store(helper: &str, server: &str, user: &str, secret: &str) -> Result<(), Error> {
    let body = serde_json::json!({ "ServerURL": server, "Username": user, "Secret": secret });
    call(helper, "store", body.to_string().as_bytes()).map(drop)
}

/// Asks the helper to forget `server`; returns whether it had credentials.
pub fn erase(helper: &str, server: &str) -> Result<bool, Error> {
    call(helper, "erase", server.as_bytes()).map(|o| o.is_some())
}
