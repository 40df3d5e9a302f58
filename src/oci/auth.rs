//! Credentials where docker, podman, oras and skopeo keep them: the `auths` map of
//! `$DOCKER_CONFIG/config.json` (default `~/.docker/config.json`), each entry base64 of
//! `user:password`, or a credential helper's keychain when the file names one
//! (`credsStore`, `credHelpers`). Everything else in the file is kept as it is.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use oci_client::secrets::RegistryAuth;
use oci_client::{Reference, RegistryOperation};
use serde_json::{Map, Value};

use super::reference::{auth_key, auth_key_candidates};
use super::{block_on, chain, helper, Env, Error, Transport};

/// The config file to read and write.
pub fn config_path(env: &Env) -> Result<PathBuf, Error> {
    env.docker_config.clone().ok_or_else(|| {
        Error::Env("neither DOCKER_CONFIG nor HOME is set: nowhere to keep credentials".into())
    })
}

fn read_config(path: &Path) -> Result<Map<String, Value>, Error> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Map::new()),
        Err(e) => return Err(Error::io(path, e)),
    };
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(Error::File {
            path: path.to_path_buf(),
            msg: "not a JSON object".into(),
        }),
        Err(e) => Err(Error::File {
            path: path.to_path_buf(),
            msg: format!("line {}, column {}: {e}", e.line(), e.column()),
        }),
    }
}

fn write_config(path: &Path, cfg: Map<String, Value>) -> Result<(), Error> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    let mut text = serde_json::to_string_pretty(&Value::Object(cfg))
        .map_err(|e| Error::io(path, std::io::Error::other(e)))?;
    text.push('\n');
    crate::util::fs::write_atomic_private(path, text.as_bytes()).map_err(|e| Error::io(path, e))
}

/// The credentials stored for `registry`, if any.
pub fn lookup(env: &Env, registry: &str) -> Result<Option<(String, String)>, Error> {
    let path = config_path(env)?;
    let cfg = read_config(&path)?;
    if let Some(h) = helper::for_registry(&cfg, registry) {
        if let Some(creds) = helper::get(&h, &auth_key(registry))? {
            return Ok(Some(creds));
        }
    }
    let Some(auths) = cfg.get("auths").and_then(Value::as_object) else {
        return Ok(None);
    };
    for key in auth_key_candidates(registry) {
        let Some(entry) = auths.get(&key).and_then(Value::as_object) else {
            continue;
        };
        if let Some(creds) = decode_entry(entry) {
            return Ok(Some(creds));
        }
        // An entry without a usable secret (a credential helper's placeholder) is not ours.
    }
    Ok(None)
}

/// `auth` is base64 of `user:password`; older files spell out `username`/`password`.
fn decode_entry(entry: &Map<String, Value>) -> Option<(String, String)> {
    if let Some(a) = entry
        .get("auth")
        .and_then(Value::as_str)
        .filter(|a| !a.is_empty())
    {
        let raw = base64::engine::general_purpose::STANDARD
            .decode(a.trim())
            .ok()?;
        let s = String::from_utf8(raw).ok()?;
        let (u, p) = s.split_once(':')?;
        return Some((u.to_string(), p.to_string()));
    }
    let u = entry.get("username")?.as_str()?;
    let p = entry.get("password")?.as_str()?;
    Some((u.to_string(), p.to_string()))
}

/// The authentication to use for `reference`: stored credentials, else anonymous.
pub fn for_reference(env: &Env, reference: &Reference) -> Result<RegistryAuth, Error> {
    if env.docker_config.is_none() {
        return Ok(RegistryAuth::Anonymous);
    }
    Ok(match lookup(env, reference.registry())? {
        Some((u, p)) => RegistryAuth::Basic(u, p),
        None => RegistryAuth::Anonymous,
    })
}

/// Checks `user`/`password` against `registry` and stores them only when it accepts them.
pub fn login(
    env: &Env,
    registry: &str,
    user: &str,
    password: &str,
    t: &Transport,
) -> Result<(), Error> {
    if user.is_empty() || password.is_empty() {
        return Err(Error::Usage(
            "user name and password must not be empty".into(),
        ));
    }
    if user.contains(':') {
        return Err(Error::Usage("a user name cannot contain ':'".into()));
    }
    let path = config_path(env)?;
    check(registry, user, password, t)?;
    let mut cfg = read_config(&path)?;
    let mut entry = Map::new();
    if let Some(h) = helper::for_registry(&cfg, registry) {
        // The secret goes to the keychain; the file keeps an empty entry, as docker's does.
        helper::store(&h, &auth_key(registry), user, password)?;
    } else {
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        entry.insert("auth".into(), Value::String(token));
    }
    let auths = cfg
        .entry("auths")
        .or_insert_with(|| Value::Object(Map::new()));
    if !auths.is_object() {
        *auths = Value::Object(Map::new());
    }
    if let Some(m) = auths.as_object_mut() {
        for k in auth_key_candidates(registry) {
            m.remove(&k);
        }
        m.insert(auth_key(registry), Value::Object(entry));
    }
    write_config(&path, cfg)
}

/// Removes the stored credentials of `registry`; returns whether there were any.
pub fn logout(env: &Env, registry: &str) -> Result<bool, Error> {
    let path = config_path(env)?;
    let mut cfg = read_config(&path)?;
    let mut removed = false;
    if let Some(h) = helper::for_registry(&cfg, registry) {
        removed |= helper::erase(&h, &auth_key(registry))?;
    }
    if let Some(m) = cfg.get_mut("auths").and_then(Value::as_object_mut) {
        for k in auth_key_candidates(registry) {
            removed |= m.remove(&k).is_some();
        }
    }
    if removed {
        write_config(&path, cfg)?;
    }
    Ok(removed)
}

/// Asks the registry whether it accepts the credentials: through its token service when it
/// answers with a Bearer challenge (oci-client runs that flow), else with `GET /v2/` and
/// Basic authentication, as `docker login` does.
fn check(registry: &str, user: &str, password: &str, t: &Transport) -> Result<(), Error> {
    let client = t.client()?;
    // The token service wants a scope; any repository name will do for a pull scope.
    let probe = Reference::with_tag(registry.into(), "library/ecc".into(), "latest".into());
    let basic = RegistryAuth::Basic(user.into(), password.into());
    let refused = |msg: &str| Error::Login {
        registry: registry.into(),
        msg: msg.into(),
    };
    block_on(async {
        match client.auth(&probe, &basic, RegistryOperation::Pull).await {
            Ok(Some(_bearer)) => return Ok(()),
            Ok(None) => {}
            Err(oci_client::errors::OciDistributionError::AuthenticationFailure(_)) => {
                return Err(refused("login refused: wrong user name or password"))
            }
            Err(e) => return Err(Error::registry(registry, e)),
        }
        let url = format!("{}://{}/v2/", t.scheme(), probe.resolve_registry());
        let res = t
            .http()?
            .get(&url)
            .basic_auth(user, Some(password))
            .send()
            .await
            .map_err(|e| refused(&chain(&e)))?;
        match res.status().as_u16() {
            200..=299 => Ok(()),
            401 | 403 => Err(refused("login refused: wrong user name or password")),
            s => Err(refused(&format!("GET {url}: HTTP status {s}"))),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_decode_both_spellings() {
        let e: Map<String, Value> = serde_json::from_str(r#"{"auth":"dTpwOnE="}"#).unwrap();
        assert_eq!(decode_entry(&e), Some(("u".into(), "p:q".into())));
        let e: Map<String, Value> =
            serde_json::from_str(r#"{"username":"a","password":"b"}"#).unwrap();
        assert_eq!(decode_entry(&e), Some(("a".into(), "b".into())));
        let e: Map<String, Value> = serde_json::from_str(r#"{"auth":""}"#).unwrap();
        assert_eq!(decode_entry(&e), None);
    }
}
