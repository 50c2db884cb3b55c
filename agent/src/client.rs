//! Talking to Medic: the long poll and the report, over one kept-alive connection.

use crate::config::Config;
use serde_json::Value;
use std::time::Duration;

pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// The most of an answer read (a job is small).
const MAX_ANSWER: u64 = 1024 * 1024;

pub struct Client {
    agent: ureq::Agent,
    url: String,
    authorization: String,
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
        let mut builder = ureq::builder()
            .timeout_connect(Duration::from_secs(10))
            // The server holds a poll up to `wait` seconds; allow for its answer.
            .timeout_read(Duration::from_secs(config.wait_seconds + 20))
            .timeout_write(Duration::from_secs(20))
            .redirects(0)
            .max_idle_connections(1)
            .user_agent(&format!("medic-agent/{}", VERSION));
        // Plain http to 127.0.0.1 needs no TLS; a CA file given is still checked.
        if config.url.starts_with("https://") || config.ca_file.is_some() {
            builder = builder.tls_connector(crate::tls::connector(config.ca_file.as_deref())?);
        }
        Ok(Client {
            agent: builder.build(),
            url: config.url.clone(),
            authorization: format!("Bearer {}", config.key),
            wait_seconds: config.wait_seconds,
        })
    }

    /// One long poll: the answer's body once a job is there or the wait ran out.
    pub fn poll(&self) -> Result<String, Failure> {
        let url = format!(
            "{}/v2/agent/jobs?wait={}&version={}",
            self.url, self.wait_seconds, VERSION
        );
        let request = self.agent.get(&url).set("Authorization", &self.authorization);
        read(request.call())
    }

    pub fn report(&self, job_id: u64, body: &Value) -> Result<String, Failure> {
        let url = format!("{}/v2/agent/jobs/{}/result", self.url, job_id);
        let request = self
            .agent
            .post(&url)
            .set("Authorization", &self.authorization)
            .set("Content-Type", "application/json");
        read(request.send_string(&body.to_string()))
    }
}

fn read(answer: Result<ureq::Response, ureq::Error>) -> Result<String, Failure> {
    match answer {
        Ok(response) => {
            let mut text = String::new();
            use std::io::Read;
            response
                .into_reader()
                .take(MAX_ANSWER)
                .read_to_string(&mut text)
                .map_err(|e| Failure::Transient(format!("reading the answer: {}", e)))?;
            Ok(text)
        }
        Err(ureq::Error::Status(code, response)) => {
            let text = response.into_string().unwrap_or_default();
            let text: String = text.chars().take(300).collect();
            if code == 401 || code == 403 {
                Err(Failure::Refused(code, text))
            } else if (400..500).contains(&code) && code != 429 {
                Err(Failure::Rejected(code, text))
            } else {
                Err(Failure::Transient(format!("HTTP {}: {}", code, text)))
            }
        }
        Err(other) => Err(Failure::Transient(other.to_string())),
    }
}
