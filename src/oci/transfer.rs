//! `ecc push` and the pull behind `ecc pull` and `ecc run REF`: one file per artifact, one
//! layer per file. Everything pulled is held in memory, checked (manifest size and digest,
//! layer media type, size and digest, file name) and only then written.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::task::{Context, Poll};

use oci_client::client::{Config, ImageLayer};
use oci_client::manifest::{
    OciDescriptor, OciImageManifest, IMAGE_MANIFEST_MEDIA_TYPE, OCI_IMAGE_INDEX_MEDIA_TYPE,
    OCI_IMAGE_MEDIA_TYPE,
};
use oci_client::Reference;

use super::{auth, cache, reference, Env, Error, Transport};
use super::{
    MAX_MANIFEST_BYTES, PACKAGE_CONFIG_MEDIA_TYPE, PACKAGE_LAYER_MEDIA_TYPE, PROGRAM_ANNOTATION,
    TITLE_ANNOTATION, VERSION_ANNOTATION, WASM_CONFIG_MEDIA_TYPE, WASM_LAYER_MEDIA_TYPE,
};

/// What an artifact holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Package,
    Wasm,
}

impl Kind {
    fn layer_media_type(self) -> &'static str {
        match self {
            Kind::Package => PACKAGE_LAYER_MEDIA_TYPE,
            Kind::Wasm => WASM_LAYER_MEDIA_TYPE,
        }
    }

    fn config_media_type(self) -> &'static str {
        match self {
            Kind::Package => PACKAGE_CONFIG_MEDIA_TYPE,
            Kind::Wasm => WASM_CONFIG_MEDIA_TYPE,
        }
    }

    fn from_layer_media_type(m: &str) -> Option<Kind> {
        match m {
            PACKAGE_LAYER_MEDIA_TYPE => Some(Kind::Package),
            WASM_LAYER_MEDIA_TYPE => Some(Kind::Wasm),
            _ => None,
        }
    }

    /// The file name when the artifact carries no usable title.
    fn default_name(self) -> &'static str {
        match self {
            Kind::Package => "package.json",
            Kind::Wasm => "app.wasm",
        }
    }
}

pub fn is_wasm(bytes: &[u8]) -> bool {
    bytes.starts_with(b"\0asm")
}

/// A file ready to push: its bytes, kind, file name and program name.
struct Artifact {
    kind: Kind,
    name: String,
    program: String,
    bytes: Vec<u8>,
}

fn read_artifact(path: &Path) -> Result<Artifact, Error> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .filter(|n| valid_name(n))
        .ok_or_else(|| Error::File {
            path: path.into(),
            msg: "the file name must be plain UTF-8 to travel as the artifact's title".into(),
        })?
        .to_string();
    let stem = |n: &str| n.split('.').next().unwrap_or(n).to_string();
    if is_wasm(&bytes) {
        return Ok(Artifact {
            kind: Kind::Wasm,
            program: stem(&name),
            name,
            bytes,
        });
    }
    if crate::elf::object::is_elf(&bytes) {
        return Err(Error::File {
            path: path.into(),
            msg: "a bare BPF object cannot be pushed; push the package.json `ecc` wrote".into(),
        });
    }
    // The runner's own reader decides what a package is, so nothing unrunnable is pushed.
    let input = crate::runner::read_input(path).map_err(|e| Error::File {
        path: path.into(),
        msg: format!("not a package.json or a Wasm module: {e}"),
    })?;
    Ok(Artifact {
        kind: Kind::Package,
        program: input.obj_name,
        name,
        bytes,
    })
}

/// A title that is safe as a file name in the output directory.
fn valid_name(n: &str) -> bool {
    !n.is_empty()
        && n.len() <= 255
        && n != "."
        && n != ".."
        && !n.contains(['/', '\\', '\0'])
        && !n.chars().any(char::is_control)
}

/// The manifest `ecc push` writes: deterministic (no timestamps), so pushing the same file
/// twice gives the same digest.
fn manifest_for(a: &Artifact, layer: &ImageLayer, config: &Config) -> OciImageManifest {
    let annotations = BTreeMap::from([
        (TITLE_ANNOTATION.to_string(), a.name.clone()),
        (PROGRAM_ANNOTATION.to_string(), a.program.clone()),
        (
            VERSION_ANNOTATION.to_string(),
            env!("CARGO_PKG_VERSION").to_string(),
        ),
    ]);
    let mut m = OciImageManifest::build(std::slice::from_ref(layer), config, Some(annotations));
    m.media_type = Some(OCI_IMAGE_MEDIA_TYPE.to_string());
    m
}

/// Pushes `file` as `reference`; returns the manifest's digest.
pub fn push(env: &Env, file: &Path, reference: &str, t: &Transport) -> Result<String, Error> {
    let r = reference::parse(reference)?;
    if r.digest().is_some() {
        return Err(Error::Usage(format!(
            "{reference}: push to a tag, not a digest (the digest is the registry's to compute)"
        )));
    }
    let a = read_artifact(file)?;
    let layer = ImageLayer::new(
        a.bytes.clone(),
        a.kind.layer_media_type().to_string(),
        Some(BTreeMap::from([(
            TITLE_ANNOTATION.to_string(),
            a.name.clone(),
        )])),
    );
    let config = Config::new(b"{}".to_vec(), a.kind.config_media_type().to_string(), None);
    let manifest = manifest_for(&a, &layer, &config);
    // Serialized here, not by oci-client, so the digest we report is the one we sent.
    let body =
        serde_json::to_vec(&manifest).map_err(|e| Error::io(file, std::io::Error::other(e)))?;
    let digest = cache::sha256_digest(&body);
    let auth = auth::for_reference(env, &r)?;
    let client = t.client()?;
    let registry_err = |e| Error::registry(&r, e);
    super::block_on(async {
        client
            .store_auth_if_needed(r.resolve_registry(), &auth)
            .await;
        client
            .push_blob(&r, layer.data.clone(), &layer.sha256_digest())
            .await
            .map_err(registry_err)?;
        client
            .push_blob(&r, config.data.clone(), &config.sha256_digest())
            .await
            .map_err(registry_err)?;
        let content_type = reqwest::header::HeaderValue::from_static(OCI_IMAGE_MEDIA_TYPE);
        client
            .push_manifest_raw(&r, body, content_type)
            .await
            .map_err(registry_err)?;
        Ok(())
    })?;
    Ok(digest)
}

/// A pulled, verified file.
pub struct Pulled {
    pub kind: Kind,
    pub name: String,
    /// The layer's digest.
    pub digest: String,
    pub bytes: Vec<u8>,
    /// Where the cache keeps it, when there is a cache.
    pub cached: Option<PathBuf>,
    /// False when the cache already held it and nothing was downloaded.
    pub downloaded: bool,
}

/// Limits of one pull.
pub struct Limits {
    pub max_blob: u64,
}

/// Fetches the artifact `reference` names: the manifest from the registry every time (a
/// tag may move), the file from the cache when its digest is there.
pub fn pull(env: &Env, reference: &str, t: &Transport, limits: &Limits) -> Result<Pulled, Error> {
    let r = reference::parse(reference)?;
    let auth = auth::for_reference(env, &r)?;
    let cache_root = env.cache.as_deref();
    let client = t.client()?;
    super::block_on(async {
        let accepted = [
            OCI_IMAGE_MEDIA_TYPE,
            IMAGE_MANIFEST_MEDIA_TYPE,
            OCI_IMAGE_INDEX_MEDIA_TYPE,
        ];
        let body = fetch_manifest(&client, &t.http()?, t, &r, &auth, &accepted).await?;
        let layer = single_layer(&r, &body)?;
        let kind = Kind::from_layer_media_type(&layer.media_type).ok_or_else(|| {
            Error::refused(
                &r,
                format!(
                    "layer {} has media type {}, which is neither a eunomia package ({}) nor a \
                     Wasm app ({})",
                    layer.digest, layer.media_type, PACKAGE_LAYER_MEDIA_TYPE, WASM_LAYER_MEDIA_TYPE
                ),
            )
        })?;
        let name = title_of(&r, &layer)?.unwrap_or_else(|| kind.default_name().to_string());
        let digest = layer.digest.clone();
        if cache::sha256_hex(&digest).is_none() {
            return Err(Error::refused(
                &r,
                format!("layer digest {digest} is not sha256"),
            ));
        }
        let size = u64::try_from(layer.size)
            .map_err(|_| Error::refused(&digest, format!("negative size {}", layer.size)))?;
        if size > limits.max_blob {
            return Err(Error::refused(
                &digest,
                format!(
                    "{size} bytes is over the limit of {} (--max-size)",
                    limits.max_blob
                ),
            ));
        }
        if let Some((path, bytes)) = cache_root.and_then(|c| cache::lookup(c, &digest, &name)) {
            return Ok(Pulled {
                kind,
                name,
                digest,
                bytes,
                cached: Some(path),
                downloaded: false,
            });
        }
        let mut sink = Capped::new(size);
        // oci-client hashes the stream and fails on a mismatch with the descriptor's digest
        // (and the registry's digest header); the sink refuses bytes beyond the size.
        client
            .pull_blob(&r, &layer, &mut sink)
            .await
            .map_err(|e| match e {
                oci_client::errors::OciDistributionError::DigestError(d) => {
                    Error::refused(&digest, format!("blob is corrupted: {d}"))
                }
                e => Error::registry(&digest, e),
            })?;
        let bytes = sink.buf;
        if bytes.len() as u64 != size {
            return Err(Error::refused(
                &digest,
                format!("got {} bytes, the manifest says {size}", bytes.len()),
            ));
        }
        let cached = match cache_root {
            Some(c) => Some(cache::store(c, &digest, &name, &bytes)?),
            None => None,
        };
        Ok(Pulled {
            kind,
            name,
            digest,
            bytes,
            cached,
            downloaded: true,
        })
    })
}

/// The manifest `r` names, read with a size cap: oci-client reads a body whole whatever its
/// size, so a hostile registry could make it allocate without bound. oci-client still does
/// the authentication handshake; this request carries what it negotiated. The body is
/// checked against the registry's digest header and the digest in the reference.
async fn fetch_manifest(
    client: &oci_client::Client,
    http: &reqwest::Client,
    t: &Transport,
    r: &Reference,
    auth: &oci_client::secrets::RegistryAuth,
    accepted: &[&str],
) -> Result<Vec<u8>, Error> {
    use oci_client::secrets::RegistryAuth;
    let token = client
        .auth(r, auth, oci_client::RegistryOperation::Pull)
        .await
        .map_err(|e| Error::registry(r, e))?;
    let url = format!(
        "{}://{}/v2/{}/manifests/{}",
        t.scheme(),
        r.resolve_registry(),
        r.repository(),
        r.digest().or(r.tag()).unwrap_or("latest")
    );
    let mut req = http
        .get(&url)
        .header(reqwest::header::ACCEPT, accepted.join(", "));
    req = match (token, auth) {
        (Some(token), _) => req.bearer_auth(token),
        (None, RegistryAuth::Basic(user, password)) => req.basic_auth(user, Some(password)),
        _ => req,
    };
    let transport = |e: reqwest::Error| Error::refused(r, super::transport_failure(&e));
    let mut res = req.send().await.map_err(transport)?;
    let status = res.status();
    let header_digest = res
        .headers()
        .get("docker-content-digest")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let over = |n: String| {
        Error::refused(
            r,
            format!("manifest of {n} bytes is over the limit of {MAX_MANIFEST_BYTES}"),
        )
    };
    if let Some(len) = res
        .content_length()
        .filter(|&n| n > MAX_MANIFEST_BYTES as u64)
    {
        return Err(over(len.to_string()));
    }
    let mut body = Vec::new();
    while let Some(chunk) = res.chunk().await.map_err(transport)? {
        if body.len().saturating_add(chunk.len()) > MAX_MANIFEST_BYTES {
            return Err(over(format!("more than {}", body.len())));
        }
        body.extend_from_slice(&chunk);
    }
    if !status.is_success() {
        // The registry's error envelope in words, as for every other request.
        return Err(match serde_json::from_slice(&body) {
            Ok(envelope) => Error::registry(
                r,
                oci_client::errors::OciDistributionError::RegistryError { envelope, url },
            ),
            Err(_) => Error::refused(r, format!("HTTP status {status} for the manifest")),
        });
    }
    let actual = cache::sha256_digest(&body);
    for (whose, expected) in [
        ("the reference's", r.digest()),
        ("the registry's", header_digest.as_deref()),
    ] {
        if let Some(d) = expected.filter(|d| d.starts_with("sha256:") && *d != actual) {
            return Err(Error::refused(
                r,
                format!("manifest digest is {actual}, {whose} is {d}"),
            ));
        }
    }
    Ok(body)
}

/// The one layer of an ecc artifact, from a manifest of bounded size.
fn single_layer(r: &Reference, body: &[u8]) -> Result<OciDescriptor, Error> {
    if body.len() > MAX_MANIFEST_BYTES {
        return Err(Error::refused(
            r,
            format!(
                "manifest of {} bytes is over the limit of {MAX_MANIFEST_BYTES}",
                body.len()
            ),
        ));
    }
    let v: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| Error::refused(r, format!("manifest is not JSON: {e}")))?;
    if v.get("manifests").is_some() {
        return Err(Error::refused(
            r,
            "is an image index (a multi-platform container image?), not an ecc artifact",
        ));
    }
    let m: OciImageManifest = serde_json::from_value(v)
        .map_err(|e| Error::refused(r, format!("manifest does not parse: {e}")))?;
    match m.layers.as_slice() {
        [one] => Ok(one.clone()),
        layers => Err(Error::refused(
            r,
            format!(
                "has {} layers; an ecc artifact has exactly one (a container image?)",
                layers.len()
            ),
        )),
    }
}

/// The layer's title annotation, refused when it is not a plain file name.
fn title_of(r: &Reference, layer: &OciDescriptor) -> Result<Option<String>, Error> {
    let Some(t) = layer
        .annotations
        .as_ref()
        .and_then(|a| a.get(TITLE_ANNOTATION))
    else {
        return Ok(None);
    };
    if valid_name(t) {
        Ok(Some(t.clone()))
    } else {
        Err(Error::refused(
            r,
            format!("layer title {t:?} is not a plain file name; refusing to write it"),
        ))
    }
}

/// An in-memory sink that refuses to grow past `limit` bytes.
struct Capped {
    buf: Vec<u8>,
    limit: u64,
}

impl Capped {
    fn new(limit: u64) -> Capped {
        let cap = usize::try_from(limit.min(16 << 20)).unwrap_or(0);
        Capped {
            buf: Vec::with_capacity(cap),
            limit,
        }
    }
}

impl tokio::io::AsyncWrite for Capped {
    fn poll_write(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        if (self.buf.len() + data.len()) as u64 > self.limit {
            return Poll::Ready(Err(std::io::Error::other(format!(
                "the registry sent more than the {} bytes the manifest declares",
                self.limit
            ))));
        }
        self.buf.extend_from_slice(data);
        Poll::Ready(Ok(data.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_must_be_plain_file_names() {
        assert!(valid_name("package.json"));
        assert!(valid_name("app.wasm"));
        for bad in ["", ".", "..", "../x", "a/b", "a\\b", "a\nb"] {
            assert!(!valid_name(bad), "{bad:?}");
        }
    }

    #[test]
    fn manifests_other_than_one_layer_are_refused() {
        let r = reference::parse("localhost:1/x:y").unwrap();
        let index = br#"{"schemaVersion":2,"manifests":[]}"#;
        assert!(single_layer(&r, index)
            .unwrap_err()
            .to_string()
            .contains("image index"));
        let two = serde_json::json!({"schemaVersion":2,
            "config":{"mediaType":"a","digest":"sha256:0","size":2},
            "layers":[{"mediaType":"a","digest":"sha256:0","size":1},
                      {"mediaType":"a","digest":"sha256:0","size":1}]});
        let e = single_layer(&r, two.to_string().as_bytes()).unwrap_err();
        assert!(e.to_string().contains("2 layers"), "{e}");
        let big = vec![b' '; MAX_MANIFEST_BYTES + 1];
        assert!(single_layer(&r, &big)
            .unwrap_err()
            .to_string()
            .contains("over the limit"));
    }
}
