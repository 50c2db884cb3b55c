//! medic-agent: runs Medic playbooks' `agent` steps on this host.
//!
//! It long-polls Medic over HTTPS for a job, runs it only when the script is in the
//! local allow-list (`/etc/medic-agent/scripts.d/`), and reports the result; a script
//! not in the list is refused here and reported as skipped. Its polling is its
//! heartbeat: Medic watches it as the service `agent-<host>`.

mod allowlist;
mod client;
mod config;
mod counters;
mod http;
mod job;
mod log;
mod runner;
mod tls;

use client::{Client, Failure, VERSION};
use config::Config;
use counters::Counters;
use serde_json::{json, Value};
use std::thread::sleep;
use std::time::Duration;

const USAGE: &str = "usage: medic-agent [run | scripts | --version | --help]

  run       long-poll Medic and run allowed scripts (the default)
  scripts   list the scripts this host allows, then exit

Settings (environment): MEDIC_AGENT_URL (https://…; http only to 127.0.0.1),
MEDIC_AGENT_KEY or MEDIC_AGENT_KEY_FILE (default /etc/medic-agent/key),
MEDIC_AGENT_SCRIPTS_DIR (default /etc/medic-agent/scripts.d), MEDIC_AGENT_WAIT (30),
MEDIC_AGENT_OUTPUT_BYTES (16384), MEDIC_AGENT_MAX_TIMEOUT (3600), MEDIC_AGENT_CA_FILE.";

/// Waits between failed polls: 1 s doubling to a minute, reset by any answer.
struct Backoff(u64);

impl Backoff {
    fn next(&mut self) -> Duration {
        let wait = self.0.max(1);
        self.0 = (wait * 2).min(60);
        Duration::from_secs(wait)
    }
}

fn main() {
    let command = std::env::args().nth(1).unwrap_or_else(|| "run".into());
    match command.as_str() {
        "--version" | "-V" => println!("medic-agent {}", VERSION),
        "--help" | "-h" | "help" => println!("{}", USAGE),
        "scripts" => {
            let dir = std::env::var("MEDIC_AGENT_SCRIPTS_DIR")
                .unwrap_or_else(|_| config::DEFAULT_SCRIPTS_DIR.into());
            for name in allowlist::registered(std::path::Path::new(&dir)) {
                println!("{}", name);
            }
        }
        "run" => run(),
        other => {
            eprintln!("unknown command {:?}\n{}", other, USAGE);
            std::process::exit(2);
        }
    }
}

fn run() {
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(message) => {
            log::error("agent.config_invalid", json!({ "error": message }));
            std::process::exit(2);
        }
    };
    let client = match Client::new(&config) {
        Ok(client) => client,
        Err(message) => {
            log::error("agent.config_invalid", json!({ "error": message }));
            std::process::exit(2);
        }
    };
    log::info(
        "agent.started",
        json!({
            "version": VERSION,
            "url": config.url,
            "scripts_dir": config.scripts_dir.display().to_string(),
            "scripts": allowlist::registered(&config.scripts_dir),
        }),
    );
    let mut counters = Counters::default();
    let mut backoff = Backoff(1);
    loop {
        match client.poll() {
            Ok(body) => {
                backoff = Backoff(1);
                match job::parse_poll(&body, config.max_timeout_seconds) {
                    Ok(None) => {}
                    Ok(Some(job)) => handle(&client, &config, &mut counters, job),
                    Err(invalid) => refuse_invalid(&client, &mut counters, invalid),
                }
            }
            Err(failure) => {
                let wait = backoff.next();
                let event = match failure {
                    Failure::Refused(..) => "poll.refused",
                    _ => "poll.failed",
                };
                log::warn(
                    event,
                    json!({"error": failure.to_string(), "retry_in_seconds": wait.as_secs()}),
                );
                sleep(wait);
            }
        }
    }
}

fn handle(client: &Client, config: &Config, counters: &mut Counters, job: job::Job) {
    let script = job::printable_script(&job);
    let path = match allowlist::resolve(&config.scripts_dir, &job.script) {
        Ok(path) => path,
        Err(skip) => {
            let reason = skip.reason();
            counters.skipped(&script, reason);
            log::warn(
                "job.skipped",
                json!({"job_id": job.id, "script": script, "reason": reason,
                       "scripts_dir": config.scripts_dir.display().to_string()}),
            );
            let message = format!(
                "script {:?} is not allowed on this host ({})",
                script, reason
            );
            let body = job::skipped_body(reason, &message, counters.to_json());
            report(client, job.id, &body);
            return;
        }
    };
    log::info(
        "job.started",
        json!({"job_id": job.id, "script": script, "args": job.args.len(),
               "timeout_seconds": job.timeout_seconds}),
    );
    let outcome = runner::run(&path, &job, config.output_bytes);
    counters.executed(&script, outcome.status);
    log::info(
        "job.finished",
        json!({"job_id": job.id, "script": script, "status": outcome.status,
               "exit_code": outcome.exit_code, "duration_ms": outcome.duration_ms,
               "output_bytes": outcome.output_bytes, "message": outcome.message}),
    );
    report(client, job.id, &job::result_body(&outcome, counters.to_json()));
}

fn refuse_invalid(client: &Client, counters: &mut Counters, invalid: job::Invalid) {
    let reason = allowlist::Skip::InvalidJob.reason();
    log::warn(
        "job.skipped",
        json!({"job_id": invalid.id, "script": invalid.script, "reason": reason,
               "error": invalid.message}),
    );
    if let Some(id) = invalid.id {
        counters.skipped(&invalid.script, reason);
        report(client, id, &job::skipped_body(reason, &invalid.message, counters.to_json()));
    }
}

/// Sends a job's report, retrying a few times: Medic fails the step at its deadline if
/// the report never arrives.
fn report(client: &Client, job_id: u64, body: &Value) {
    let mut backoff = Backoff(1);
    for attempt in 1..=5 {
        match client.report(job_id, body) {
            Ok(_) => return,
            Err(Failure::Transient(error)) if attempt < 5 => {
                let wait = backoff.next();
                log::warn(
                    "report.failed",
                    json!({"job_id": job_id, "error": error, "attempt": attempt,
                           "retry_in_seconds": wait.as_secs()}),
                );
                sleep(wait);
            }
            Err(failure) => {
                log::error(
                    "report.dropped",
                    json!({"job_id": job_id, "error": failure.to_string()}),
                );
                return;
            }
        }
    }
}
