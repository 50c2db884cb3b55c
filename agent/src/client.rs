//! Talking to Medic: the long poll and the report, over one kept-alive connection.

use crate::config::Config;
use crate::http::{Http, Response, Target};
use serde_json::Value;
use std::time::Duration;

pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// The most of an answer read (a job is small).
const MAX_ANSWER: usize = 1024 * 1024;

pub struct Client {
    http: Http,
    authorization: String,
    user_agent: String,
    wait_seconds: u64,
}

pub enum Failure {
    /// Medic refused the key (revoked, expired, not an agent key): 401 or 403.
    Refused(u16, String),
    /// The request itself was refused (a job already settled or expired): not retried.
    Rejected(u16, String),
    /// Anything else: the network, a 5xx, a 429.
    Transient(String),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Refused(code, text) => write!(f, "refused ({}): {}", code, text),
            Failure::Rejected(code, text) => write!(f, "rejected ({}): {}", code, text),
            Failure::Transient(text) => write!(f, "{}", text),
        }
    }
}

impl Client {
    pub fn new(config: &Config) -> Result<Client, String> {
        let target = Target::parse(&config.url)?;
        // Plain http to 127.0.0.1 needs no TLS; a CA file given is still checked.
        let tls = if target.tls || config.ca_file.is_some() {
            Some(crate::tls::config(config.ca_file.as_deref())?)
        } else {
            None
        };
        let tls = if target.tls { tls } else { None };
        // The server holds a poll up to `wait` seconds; allow for its answer.
        let read_timeout = Duration::from_secs(config.wait_seconds + 20);
        Ok(Client {
            http: Http::new(target, tls, read_timeout, MAX_ANSWER),
            authorization: format!("Bearer {}", config.key),
            user_agent: format!("medic-agent/{}", VERSION),
            wait_seconds: config.wait_seconds,
        })
    }

    /// One long poll: the answer's body once a job is there or the wait ran out.
    pub fn poll(&self) -> Result<String, Failure> {
        let path = format!("/v2/agent/jobs?wait={}&version={}", self.wait_seconds, VERSION);
        read(self.http.request("GET", &path, &self.headers(None), None))
    }

    pub fn report(&self, job_id: u64, body: &Value) -> Result<String, Failure> {
        let path = format!("/v2/agent/jobs/{}/result", job_id);
        let body = body.to_string();
        let headers = self.headers(Some("application/json"));
        read(self.http.request("POST", &path, &headers, Some(body.as_bytes())))
    }

    fn headers<'a>(&'a self, content_type: Option<&'a str>) -> Vec<(&'a str, &'a str)> {
        let mut headers = vec![
            ("Authorization", self.authorization.as_str()),
            ("User-Agent", self.user_agent.as_str()),
            ("Accept", "application/json"),
        ];
        if let Some(content_type) = content_type {
            headers.push(("Content-Type", content_type));
        }
        headers
    }
}

fn read(answer: Result<Response, String>) -> Result<String, Failure> {
    let response = answer.map_err(Failure::Transient)?;
    let code = response.status;
    if (200..300).contains(&code) {
        return String::from_utf8(response.body)
            .map_err(|_| Failure::Transient("the answer is not UTF-8".into()));
    }
    let text: String = String::from_utf8_lossy(&response.body).chars().take(300).collect();
    if code == 401 || code == 403 {
        Err(Failure::Refused(code, text))
    } else if (400..500).contains(&code) && code != 429 {
        Err(Failure::Rejected(code, text))
    } else {
        // 5xx, 429, and redirects, which are not followed.
        Err(Failure::Transient(format!("HTTP {}: {}", code, text)))
    }
}
