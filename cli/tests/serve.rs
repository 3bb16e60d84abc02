//! `verity serve` as operators run it: the binary on a loopback port, driven by a real HTTP
//! client; keys and webhook endpoints made with the CLI; a webhook received and its signature
//! checked by a receiver on another port; idempotency, auth failures and 413; SIGTERM stops it.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)] // tests fail by panicking

#[path = "../../crates/media/tests/common/mod.rs"]
mod common;
mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use support::{json, verity};

/// The service, stopped (SIGTERM, then waited for) when dropped.
struct Server {
    child: Child,
    base: String,
}

impl Server {
    fn start(home: &Path, config: &Path) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_verity"))
            .env("VERITY_HOME", home)
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--workers",
                "2",
                "--config",
            ])
            .arg(config)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let base = line
            .trim()
            .strip_prefix("verity serve: listening on ")
            .unwrap_or_else(|| panic!("unexpected first line: {line:?}"))
            .to_string();
        Server { child, base }
    }

    fn stop(&mut self) -> std::process::ExitStatus {
        // SAFETY: sending SIGTERM to our own child by its pid.
        unsafe {
            libc::kill(self.child.id() as i32, libc::SIGTERM);
        }
        self.child.wait().unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.stop();
        }
    }
}

/// A one-request-at-a-time HTTP receiver: sends (headers, body) of each POST to the channel and
/// answers 204.
/// One request the receiver got: its headers (lower-case names) and body.
type Received = (Vec<(String, String)>, String);

fn receiver() -> (String, mpsc::Receiver<Received>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut headers = Vec::new();
            let mut len = 0usize;
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            loop {
                line.clear();
                reader.read_line(&mut line).unwrap();
                let l = line.trim_end();
                if l.is_empty() {
                    break;
                }
                if let Some((k, v)) = l.split_once(':') {
                    let (k, v) = (k.trim().to_ascii_lowercase(), v.trim().to_string());
                    if k == "content-length" {
                        len = v.parse().unwrap();
                    }
                    headers.push((k, v));
                }
            }
            let mut body = vec![0u8; len];
            reader.read_exact(&mut body).unwrap();
            stream
                .write_all(b"HTTP/1.1 204 No Content\r\nconnection: close\r\n\r\n")
                .unwrap();
            if tx
                .send((headers, String::from_utf8(body).unwrap()))
                .is_err()
            {
                return;
            }
        }
    });
    (url, rx)
}

#[test]
fn serve_jobs_webhooks_idempotency_auth_and_limits() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let home = d.join("home");
    let clip = common::short_clip(d, "clip.mp4").unwrap();
    verity(&home)
        .args(["keys", "init", "--org", "Serve Test"])
        .assert()
        .success();
    let key = json(
        &verity(&home)
            .args([
                "serve", "keys", "create", "--name", "ci", "--scope", "jobs", "--json",
            ])
            .assert()
            .success()
            .get_output()
            .stdout
            .clone(),
    );
    let token = key["token"].as_str().unwrap().to_string();
    assert!(token.starts_with("vty_"));
    // The key list never shows a token.
    let list = verity(&home)
        .args(["serve", "keys", "list"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    assert!(!String::from_utf8_lossy(&list).contains(&token));
    let (hook, deliveries) = receiver();
    let ep = json(
        &verity(&home)
            .args(["serve", "webhooks", "add", &hook, "--json"])
            .assert()
            .success()
            .get_output()
            .stdout
            .clone(),
    );
    let secret = ep["secret"].as_str().unwrap().to_string();
    let config = d.join("serve.toml");
    std::fs::write(
        &config,
        "[limits]\nmax_upload_bytes = 200000\n[jobs]\npoll_interval = 0.05\n[webhooks]\nallow_private = true\n",
    )
    .unwrap();
    let mut server = Server::start(&home, &config);
    let http = reqwest::blocking::Client::builder()
        // A connection per request: after a 413 the server closes the connection without
        // reading the body, and a pooled connection could race that close.
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    let base = server.base.clone();

    // Auth failures.
    let r = http.get(format!("{base}/v1/jobs")).send().unwrap();
    assert_eq!(r.status(), 401);
    let r = http
        .get(format!("{base}/v1/jobs"))
        .bearer_auth("vty_nope")
        .send()
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = http
        .post(format!("{base}/v1/sign"))
        .bearer_auth(&token)
        .body(std::fs::read(&clip).unwrap())
        .send()
        .unwrap();
    assert_eq!(r.status(), 403);
    // 413 on a body over the configured limit.
    let r = http
        .post(format!("{base}/v1/verify"))
        .bearer_auth(&token)
        .body(vec![0u8; 300_000])
        .send()
        .unwrap();
    assert_eq!(r.status(), 413);
    let err: serde_json::Value = r.json().unwrap();
    assert_eq!(err["error"]["code"], "payload_too_large");

    // A job with a webhook, submitted twice with one idempotency key.
    let submit = || {
        let form = reqwest::blocking::multipart::Form::new()
            .part(
                "file",
                reqwest::blocking::multipart::Part::bytes(std::fs::read(&clip).unwrap())
                    .file_name("clip.mp4"),
            )
            .text("callback_url", hook.clone());
        http.post(format!("{base}/v1/jobs"))
            .bearer_auth(&token)
            .header("Idempotency-Key", "order-1")
            .multipart(form)
            .send()
            .unwrap()
    };
    let first = submit();
    assert_eq!(first.status(), 202);
    let job: serde_json::Value = first.json().unwrap();
    let again = submit();
    assert_eq!(again.status(), 200);
    let again: serde_json::Value = again.json().unwrap();
    assert_eq!(again["id"], job["id"]);
    let id = job["id"].as_str().unwrap().to_string();

    // The webhook arrives, signed with the endpoint's secret.
    let (headers, body) = deliveries
        .recv_timeout(Duration::from_secs(120))
        .expect("no webhook");
    let h = |k: &str| {
        headers
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap()
    };
    let ts: i64 = h("webhook-timestamp").parse().unwrap();
    assert_eq!(
        h("webhook-signature"),
        verity_service::webhooks::sign(&secret, &h("webhook-id"), ts, &body).unwrap()
    );
    let event: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(event["type"], "job.succeeded");
    assert_eq!(event["data"]["job_id"], id.as_str());
    // Only one job ran, and its report is the CLI's.
    let done: serde_json::Value = http
        .get(format!("{base}/v1/jobs/{id}"))
        .bearer_auth(&token)
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(done["status"], "succeeded");
    assert_eq!(done["report"]["verdict"]["label"], "no-evidence");
    let page: serde_json::Value = http
        .get(format!("{base}/v1/jobs"))
        .bearer_auth(&token)
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(page["jobs"].as_array().unwrap().len(), 1);
    // The receiver has answered; the service records the delivery once it reads that answer.
    let mut done = done;
    for _ in 0..600 {
        if done["webhooks"][0]["delivered_at"].is_string() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
        done = http
            .get(format!("{base}/v1/jobs/{id}"))
            .bearer_auth(&token)
            .send()
            .unwrap()
            .json()
            .unwrap();
    }
    let log = done["webhooks"].as_array().unwrap();
    assert_eq!(log.len(), 1, "{done}");
    assert_eq!(log[0]["attempts"], 1);
    assert_eq!(log[0]["id"].as_str(), Some(h("webhook-id").as_str()));

    // SIGTERM: a graceful stop, exit 0.
    let status = server.stop();
    assert!(status.success(), "{status:?}");
}

/// A service (no workers) under a home made for `org` with key algorithm `alg`, its admin
/// token, and a clip signed through its `POST /v1/sign`, then stripped of its manifest and
/// re-encoded (what a platform does).
struct Signed {
    server: Server,
    token: String,
    home: std::path::PathBuf,
    stripped: std::path::PathBuf,
}

fn sign_and_strip(d: &Path, org: &str, alg: &str) -> Signed {
    let home = d.join("home");
    let clip = common::short_clip(d, "clip.mp4").unwrap();
    verity(&home)
        .args(["keys", "init", "--org", org, "--alg", alg])
        .assert()
        .success();
    let token = json(
        &verity(&home)
            .args([
                "serve", "keys", "create", "--name", "r", "--scope", "admin", "--json",
            ])
            .assert()
            .success()
            .get_output()
            .stdout
            .clone(),
    )["token"]
        .as_str()
        .unwrap()
        .to_string();
    let config = d.join("serve.toml");
    std::fs::write(&config, "workers = 0\n").unwrap();
    let server = Server::start(&home, &config);
    let http = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(120))
        .build()
        .unwrap();
    let signed = http
        .post(format!("{}/v1/sign?filename=clip.mp4", server.base))
        .bearer_auth(&token)
        .body(std::fs::read(&clip).unwrap())
        .send()
        .unwrap();
    assert_eq!(signed.status(), 200);
    let signed_path = d.join("signed.mp4");
    std::fs::write(&signed_path, signed.bytes().unwrap()).unwrap();
    let stripped = d.join("stripped.mp4");
    common::ffmpeg(&[
        "-i",
        signed_path.to_str().unwrap(),
        "-map_metadata",
        "-1",
        "-c:v",
        "libx264",
        "-crf",
        "23",
        stripped.to_str().unwrap(),
    ])
    .unwrap();
    Signed {
        server,
        token,
        home,
        stripped,
    }
}

/// The Resolution API from a client that speaks only it (c2pa-python's driver): a signed clip,
/// stripped of its manifest and re-encoded, gets its manifest back from the service, whose soft
/// binding is the mark verity reads in the clip, and whose signature c2pa-python validates.
#[test]
fn a_resolution_api_client_recovers_a_stripped_clips_manifest() {
    #[path = "../../tests/interop/python.rs"]
    mod python;
    let Some(py) = python::python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let Signed {
        mut server,
        token,
        home,
        stripped,
    } = sign_and_strip(d, "Resolver Org", "es256");
    // verity's own reading of the stripped clip: no manifest, the mark's payload.
    let ours = verity(&home)
        .args(["verify", "--json", "--no-classifier"])
        .arg(&stripped)
        .assert()
        .get_output()
        .stdout
        .clone();
    let ours = json(&ours);
    let payload = ours["watermark"]["payload"].as_str().unwrap().to_string();

    let anchor = home.join("trust/resolver-org-root.pem");
    let theirs: serde_json::Value = serde_json::from_str(&python::py(
        &py,
        &[
            "resolve".as_ref(),
            server.base.as_ref(),
            token.as_ref(),
            stripped.as_os_str(),
            anchor.as_os_str(),
        ],
    ))
    .unwrap();
    assert_eq!(theirs["content_type"], "application/c2pa", "{theirs}");
    assert!(
        theirs["algorithms"]
            .as_array()
            .unwrap()
            .contains(&"org.verity.spectral.3".into())
    );
    assert_eq!(
        theirs["soft_binding"]["alg"], "org.verity.spectral.3",
        "{theirs}"
    );
    assert_eq!(
        theirs["soft_binding"]["value"],
        payload.as_str(),
        "{theirs}"
    );
    assert_eq!(
        theirs["round_trip"],
        serde_json::json!([theirs["manifest_id"]]),
        "{theirs}"
    );
    // The signature is good and trusted; only the hard binding fails (the pixels were re-encoded).
    assert_eq!(
        theirs["reading"]["signer"], "Resolver Org C2PA Signer",
        "{theirs}"
    );
    assert!(
        theirs["success"]
            .as_array()
            .unwrap()
            .contains(&"claimSignature.validated".into()),
        "{theirs}"
    );
    for f in theirs["reading"]["failures"].as_array().unwrap() {
        assert!(f.as_str().unwrap().contains("Hash.mismatch"), "{theirs}");
    }
    assert!(server.stop().success());
}

/// `verity verify --resolver`: a verifier with an empty home gets a stripped clip's credentials
/// back from a service's Resolution API, checked as any recovered manifest is.
#[test]
fn verify_asks_a_remote_resolver_when_nothing_local_matches() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let Signed {
        mut server,
        token,
        home,
        stripped,
    } = sign_and_strip(d, "Remote Org", "ed25519");
    // Another verifier: no repository; it trusts the service's CA and was given its mark key.
    let wkey = home.join("keys/watermark.key");
    let other = d.join("other");
    std::fs::create_dir_all(other.join("trust")).unwrap();
    std::fs::copy(
        home.join("trust/remote-org-root.pem"),
        other.join("trust/remote-org-root.pem"),
    )
    .unwrap();
    let alone = verity(&other)
        .args(["verify", "--json", "--no-classifier", "--watermark-key"])
        .arg(&wkey)
        .arg(&stripped)
        .assert()
        .code(5)
        .get_output()
        .stdout
        .clone();
    assert!(json(&alone)["c2pa"]["recovered_via"].is_null());
    // A bad token is an error of the resolver's, reported; the rest of the report stands.
    let bad = verity(&other)
        .args([
            "verify",
            "--json",
            "--no-classifier",
            "--resolver",
            &server.base,
            "--resolver-token",
            "vty_wrong",
            "--watermark-key",
        ])
        .arg(&wkey)
        .arg(&stripped)
        .assert()
        .code(5)
        .get_output()
        .stdout
        .clone();
    assert!(
        json(&bad)["c2pa"]["repository_error"]
            .as_str()
            .unwrap()
            .contains("401"),
        "{}",
        json(&bad)
    );
    let r = verity(&other)
        .args([
            "verify",
            "--json",
            "--no-classifier",
            "--resolver",
            &server.base,
        ])
        .arg("--watermark-key")
        .arg(&wkey)
        .env("VERITY_RESOLVER_TOKEN", &token)
        .arg(&stripped)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let r = json(&r);
    assert_eq!(r["verdict"]["label"], "watermarked-recovered", "{r}");
    assert_eq!(
        r["c2pa"]["signer"]["common_name"]
            .as_str()
            .map(|s| s.contains("Remote Org")),
        Some(true),
        "{r}"
    );
    assert_eq!(r["c2pa"]["recovered_via"], "watermark", "{r}");
    assert!(server.stop().success());
}
