//! A client of a remote C2PA Soft Binding Resolution API, as a [`ManifestStore`]: what
//! `verity verify --resolver URL` consults when the local repository has no match. It speaks
//! only the API (discovery, `byBinding`, `manifests/{id}`); what it brings back is checked by
//! `verify` like any recovered manifest (its soft binding must name the mark's payload, its
//! signature must validate).

use std::io::Read;
use std::time::Duration;

use base64::Engine;
use verity_provenance::ProvenanceError;
use verity_provenance::repository::{ManifestStore, Record, RecordInfo};

/// The largest manifest store taken from a resolver.
const MAX_MANIFEST_BYTES: u64 = verity_provenance::manifest::MAX_SIDECAR_BYTES;

/// A remote resolver.
pub struct RemoteResolver {
    base: reqwest::Url,
    token: Option<String>,
    client: reqwest::blocking::Client,
}

impl std::fmt::Debug for RemoteResolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteResolver")
            .field("base", &self.base.as_str())
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

impl RemoteResolver {
    /// A resolver at `url`: the API's base (`https://host/v1`), or a host whose
    /// `/.well-known/c2pa-soft-binding-resolution` names it. `token` is sent as a bearer token.
    pub fn new(url: &str, token: Option<String>) -> Result<Self, String> {
        let base = crate::net::check_url(url)?;
        let client = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| format!("cannot make an HTTP client: {e}"))?;
        Ok(RemoteResolver {
            base,
            token,
            client,
        })
    }

    fn get(&self, url: reqwest::Url) -> Result<reqwest::blocking::Response, String> {
        let mut req = self.client.get(url.clone());
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        let resp = req
            .send()
            .map_err(|e| format!("{url}: {}", crate::error_chain(&e)))?;
        if !resp.status().is_success() {
            return Err(format!("{url}: the resolver answered {}", resp.status()));
        }
        Ok(resp)
    }

    /// The API's base: the discovery document's `apiEndpoint` when the host has one, else the
    /// URL as given.
    fn api(&self) -> reqwest::Url {
        let discovered = self
            .base
            .join("/.well-known/c2pa-soft-binding-resolution")
            .ok()
            .and_then(|wk| self.get(wk).ok())
            .and_then(|r| r.json::<serde_json::Value>().ok())
            .and_then(|v| v["apiEndpoint"].as_str().map(str::to_string))
            .and_then(|e| self.base.join(&e).ok());
        let mut api = discovered.unwrap_or_else(|| self.base.clone());
        if !api.path().ends_with('/') {
            api.set_path(&format!("{}/", api.path()));
        }
        api
    }

    fn find(&self, alg: &str, value: &str) -> Result<Option<Record>, String> {
        let api = self.api();
        let mut q = api.join("matches/byBinding").map_err(|e| e.to_string())?;
        q.query_pairs_mut()
            .append_pair("alg", alg)
            .append_pair(
                "value",
                &base64::engine::general_purpose::STANDARD.encode(value),
            )
            .append_pair("maxResults", "1");
        let found: serde_json::Value = self
            .get(q)?
            .json()
            .map_err(|e| format!("the resolver's answer is not JSON: {e}"))?;
        let Some(m) = found["matches"].as_array().and_then(|m| m.first()) else {
            return Ok(None);
        };
        let id = m["manifestId"]
            .as_str()
            .ok_or("a match without a manifestId")?;
        let endpoint = match m["endpoint"].as_str() {
            Some(e) => {
                let mut u = crate::net::check_url(e)?;
                if !u.path().ends_with('/') {
                    u.set_path(&format!("{}/", u.path()));
                }
                u
            }
            None => api,
        };
        let mut url = endpoint.join("manifests/").map_err(|e| e.to_string())?;
        url.path_segments_mut()
            .map_err(|()| "the resolver's URL cannot take a path".to_string())?
            .pop_if_empty()
            .push(id);
        let resp = self.get(url)?;
        let mut manifest = Vec::new();
        resp.take(MAX_MANIFEST_BYTES + 1)
            .read_to_end(&mut manifest)
            .map_err(|e| format!("reading the manifest: {e}"))?;
        if manifest.len() as u64 > MAX_MANIFEST_BYTES {
            return Err(format!(
                "the manifest is larger than {MAX_MANIFEST_BYTES} bytes"
            ));
        }
        Ok(Some(Record {
            info: RecordInfo {
                algorithm: alg.to_string(),
                value: value.to_string(),
                title: String::new(),
                file_name: String::new(),
                stored_at: 0,
            },
            manifest,
        }))
    }
}

impl ManifestStore for RemoteResolver {
    fn store(&self, _info: &RecordInfo, _manifest: &[u8]) -> verity_provenance::Result<()> {
        Err(ProvenanceError::Repository {
            path: self.base.as_str().into(),
            reason: "a remote resolver is read-only here".into(),
        })
    }

    fn lookup(&self, alg: &str, value: &str) -> verity_provenance::Result<Option<Record>> {
        self.find(alg, value)
            .map_err(|reason| ProvenanceError::Repository {
                path: self.base.as_str().into(),
                reason,
            })
    }

    fn location(&self) -> String {
        format!("the resolver at {}", self.base)
    }
}
