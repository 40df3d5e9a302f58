//! Shipping packages and Wasm apps through OCI registries: `ecc login/logout`, `ecc push`,
//! `ecc pull` and `ecc run REF`.
//!
//! The distribution protocol (token challenges, chunked uploads, redirects, digest checks
//! while streaming) is `oci-client`'s; this module decides what an artifact looks like
//! (media types, annotations, one layer per file), where credentials live (docker's
//! config.json), what may be trusted (TLS roots, size limits, digests) and where pulled
//! files are cached.

pub mod auth;
pub mod cache;
pub mod cli;
mod helper;
pub mod reference;
pub mod transfer;

use std::path::PathBuf;

use oci_client::client::{Certificate, CertificateEncoding, ClientConfig, ClientProtocol};
use oci_client::errors::{OciDistributionError, OciErrorCode};

/// Layer of a eunomia package (`package.json`), as `ecc push` writes it.
pub const PACKAGE_LAYER_MEDIA_TYPE: &str = "application/vnd.eunomia.package.v1+json";
/// Config of a package artifact: `{}` (all metadata is in the layer and the annotations).
pub const PACKAGE_CONFIG_MEDIA_TYPE: &str = "application/vnd.eunomia.package.config.v1+json";
/// Layer and config of a Wasm app, the wasm-to-oci convention that ecli follows.
pub const WASM_LAYER_MEDIA_TYPE: &str = oci_client::manifest::WASM_LAYER_MEDIA_TYPE;
pub const WASM_CONFIG_MEDIA_TYPE: &str = oci_client::manifest::WASM_CONFIG_MEDIA_TYPE;
/// Manifest annotation: the program's name (the package's `obj_name`, or the .wasm's stem).
pub const PROGRAM_ANNOTATION: &str = "org.eunomia-bpf.ecc.program";
/// Manifest annotation: the version of ecc that pushed the artifact.
pub const VERSION_ANNOTATION: &str = "org.eunomia-bpf.ecc.version";
pub use oci_client::annotations::ORG_OPENCONTAINERS_IMAGE_TITLE as TITLE_ANNOTATION;

/// Manifests larger than this are refused (the distribution spec's suggested limit).
pub const MAX_MANIFEST_BYTES: usize = 4 << 20;
pub use cli::DEFAULT_MAX_BLOB_BYTES;

/// Errors of the registry commands. Each names the file, registry or reference it is about.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Usage(String),
    /// The environment lacks what a command needs (a home directory for config or cache).
    #[error("{0}")]
    Env(String),
    #[error("{path}: {msg}")]
    File { path: PathBuf, msg: String },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The registry (or the way to it) failed; `what` is the reference or registry.
    #[error("{what}: {}", describe(.source))]
    Registry {
        what: String,
        #[source]
        source: OciDistributionError,
    },
    /// A check of ours on what the registry sent (size, media type, digest, name).
    #[error("{what}: {msg}")]
    Refused { what: String, msg: String },
    #[error("{registry}: {msg}")]
    Login { registry: String, msg: String },
}

impl Error {
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    pub fn registry(what: impl std::fmt::Display, source: OciDistributionError) -> Error {
        Error::Registry {
            what: what.to_string(),
            source,
        }
    }

    pub fn refused(what: impl std::fmt::Display, msg: impl Into<String>) -> Error {
        Error::Refused {
            what: what.to_string(),
            msg: msg.into(),
        }
    }
}

/// A one-line account of a registry failure: the registry's own error codes in words, and
/// for transport failures the whole cause chain (a TLS refusal is several levels down).
fn describe(e: &OciDistributionError) -> String {
    use OciDistributionError as E;
    match e {
        E::RegistryError { envelope, .. } => {
            let parts: Vec<String> = envelope
                .errors
                .iter()
                .map(|err| match err.code {
                    OciErrorCode::ManifestUnknown => "no such tag or digest".to_string(),
                    OciErrorCode::NameUnknown => "no such repository".to_string(),
                    OciErrorCode::BlobUnknown => "blob unknown to the registry".to_string(),
                    OciErrorCode::Unauthorized | OciErrorCode::Denied => {
                        "access denied (log in with `ecc login`)".to_string()
                    }
                    _ => format!("{:?}: {}", err.code, err.message),
                })
                .collect();
            parts.join("; ")
        }
        E::UnauthorizedError { .. } => "authentication required or refused (log in with \
                                        `ecc login`)"
            .to_string(),
        E::AuthenticationFailure(_) => "the registry's token service refused the credentials \
                                        (log in with `ecc login`)"
            .to_string(),
        E::DigestError(d) => format!("digest verification failed: {d}"),
        E::ServerError { code: 401, .. } => {
            "authentication required or refused (log in with `ecc login`)".to_string()
        }
        E::ServerError { code: 403, .. } => {
            "access denied for these credentials (log in with `ecc login`)".to_string()
        }
        E::ServerError { code, message, .. } => {
            // Registries put their reasons in a JSON error envelope; show just the messages.
            let reasons: Vec<String> = serde_json::from_str::<serde_json::Value>(message)
                .ok()
                .and_then(|v| {
                    let errs = v.get("errors")?.as_array()?.clone();
                    Some(
                        errs.iter()
                            .filter_map(|e| e.get("message")?.as_str().map(str::to_string))
                            .collect(),
                    )
                })
                .unwrap_or_default();
            let m = message.trim();
            if !reasons.is_empty() {
                format!("HTTP status {code}: {}", reasons.join("; "))
            } else if m.is_empty() {
                format!("HTTP status {code}")
            } else {
                format!("HTTP status {code}: {}", first_line(m))
            }
        }
        other => transport_failure(other),
    }
}

/// A failure to talk to the registry, with its causes on one line and the usual causes in
/// words: a private CA, or HTTPS spoken to a plain server.
fn transport_failure(e: &dyn std::error::Error) -> String {
    let text = chain(e);
    let hint = if text.contains("certificate verify failed") {
        " (trust the registry's CA with --ca-file FILE)"
    } else if text.contains("wrong version number") {
        " (the registry may speak plain HTTP: --plain-http)"
    } else {
        ""
    };
    format!("{text}{hint}")
}

/// An error and its causes on one line, each cause once.
fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let t = c.to_string();
        if !s.contains(&t) {
            s.push_str(": ");
            s.push_str(&t);
        }
        cur = c.source();
    }
    s
}

/// The certificates of a CA file: PEM (one or more) or a single DER certificate.
fn read_certificates(path: &std::path::Path) -> Result<Vec<Certificate>, Error> {
    let data = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    const END: &str = "-----END CERTIFICATE-----";
    let text = String::from_utf8_lossy(&data);
    let certs: Vec<Certificate> = if text.contains("-----BEGIN CERTIFICATE-----") {
        text.split_inclusive(END)
            .filter(|c| c.contains("-----BEGIN CERTIFICATE-----"))
            .map(|c| Certificate {
                encoding: CertificateEncoding::Pem,
                data: c.trim_start().as_bytes().to_vec(),
            })
            .collect()
    } else if data.first() == Some(&0x30) {
        vec![Certificate {
            encoding: CertificateEncoding::Der,
            data,
        }]
    } else {
        Vec::new()
    };
    if certs.is_empty() {
        return Err(Error::File {
            path: path.to_path_buf(),
            msg: "not a PEM or DER certificate file".into(),
        });
    }
    Ok(certs)
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or("")
}

/// Where the user's registry state lives. The binary fills it in from the environment
/// (`$DOCKER_CONFIG`, `$HOME`, `$XDG_CACHE_HOME`); the library reads no environment.
#[derive(Debug, Clone, Default)]
pub struct Env {
    /// docker's `config.json` (credentials), read and written.
    pub docker_config: Option<PathBuf>,
    /// The pull cache's root (`…/ecc/oci`); without one, `ecc run REF` cannot run.
    pub cache: Option<PathBuf>,
}

/// How to reach registries: HTTPS with the system roots (plus `ca_file`), or plain HTTP
/// when the user says so. Never both silently.
#[derive(Debug, Clone, Default)]
pub struct Transport {
    pub plain_http: bool,
    pub ca_file: Option<PathBuf>,
}

impl Transport {
    fn client_config(&self) -> Result<ClientConfig, Error> {
        let mut cfg = ClientConfig {
            protocol: if self.plain_http {
                ClientProtocol::Http
            } else {
                ClientProtocol::Https
            },
            // One connection at a time is plenty for one-layer artifacts.
            max_concurrent_upload: 1,
            max_concurrent_download: 1,
            connect_timeout: Some(std::time::Duration::from_secs(30)),
            read_timeout: Some(std::time::Duration::from_secs(120)),
            user_agent: concat!("ecc/", env!("CARGO_PKG_VERSION")),
            ..ClientConfig::default()
        };
        if let Some(ca) = &self.ca_file {
            cfg.extra_root_certificates = read_certificates(ca)?;
        }
        Ok(cfg)
    }

    /// The oci-client for this transport.
    pub fn client(&self) -> Result<oci_client::Client, Error> {
        let cfg = self.client_config()?;
        oci_client::Client::try_from(cfg).map_err(|e| Error::registry("TLS setup", e))
    }

    /// A plain HTTP client with the same trust, for the one request oci-client does not
    /// make: `GET /v2/` with Basic credentials, which is how `docker login` checks them.
    fn http(&self) -> Result<reqwest::Client, Error> {
        let mut b = reqwest::Client::builder()
            .connect_timeout(std::time::Duration::from_secs(30))
            .timeout(std::time::Duration::from_secs(60))
            .user_agent(concat!("ecc/", env!("CARGO_PKG_VERSION")));
        if let Some(ca) = &self.ca_file {
            let mut certs = Vec::new();
            for c in read_certificates(ca)? {
                let parsed = match c.encoding {
                    CertificateEncoding::Pem => reqwest::Certificate::from_pem(&c.data),
                    CertificateEncoding::Der => reqwest::Certificate::from_der(&c.data),
                };
                certs.push(parsed.map_err(|e| Error::File {
                    path: ca.clone(),
                    msg: format!("bad certificate: {e}"),
                })?);
            }
            b = b.tls_certs_merge(certs);
        }
        b.build().map_err(|e| Error::Login {
            registry: "TLS setup".into(),
            msg: e.to_string(),
        })
    }

    fn scheme(&self) -> &'static str {
        if self.plain_http {
            "http"
        } else {
            "https"
        }
    }
}

/// Runs one registry operation to completion on a runtime of its own (the commands are
/// one-shot; nothing else in ecc is async).
fn block_on<T>(f: impl std::future::Future<Output = Result<T, Error>>) -> Result<T, Error> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::io("tokio runtime", e))?;
    rt.block_on(f)
}
