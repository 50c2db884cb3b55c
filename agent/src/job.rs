//! The protocol's data: a job as Medic sends it, and the report the agent sends back.
//!
//! `GET /v2/agent/jobs?wait=30` answers `{"success": true, "message": …, "results":
//! {"job": null}}` or, with a job, `"job": {"job_id": 7, "script": "restart", "args":
//! ["--", "web"], "timeout_seconds": 60, "env": {"MEDIC_EXECUTION_ID": "12"}}`; the report goes to
//! `POST /v2/agent/jobs/{job_id}/result`.

use crate::allowlist::valid_name;
use serde_json::{json, Map, Value};

pub const MAX_ARGS: usize = 100;
pub const MAX_ARG_BYTES: usize = 4096;
pub const MAX_ENV: usize = 16;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub id: u64,
    pub script: String,
    pub args: Vec<String>,
    pub timeout_seconds: u64,
    pub env: Vec<(String, String)>,
}

/// A job the agent cannot take as sent; `id` when it is known, so it can be reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub id: Option<u64>,
    pub script: String,
    pub message: String,
}

fn invalid(id: Option<u64>, script: &str, message: &str) -> Invalid {
    Invalid { id, script: script.into(), message: message.into() }
}

/// The job in a poll's answer, if any. The script's name is checked later against the
/// allow-list; here only the shape (a name that is not a plain name is still reported
/// as a job, so the skip names it).
pub fn parse_poll(body: &str, max_timeout: u64) -> Result<Option<Job>, Invalid> {
    let value: Value = serde_json::from_str(body)
        .map_err(|_| invalid(None, "", "the answer is not JSON"))?;
    // Medic's answers are enveloped: {"success", "message", "results": {"job": …}}.
    let holder = match value.get("results") {
        Some(results) if results.is_object() => results,
        _ => &value,
    };
    let job = match holder.get("job") {
        None => return Err(invalid(None, "", "the answer has no \"job\" field")),
        Some(Value::Null) => return Ok(None),
        Some(Value::Object(job)) => job,
        Some(_) => return Err(invalid(None, "", "\"job\" must be an object or null")),
    };
    let id = match job.get("job_id").and_then(Value::as_u64) {
        Some(id) => id,
        None => return Err(invalid(None, "", "a job needs a numeric job_id")),
    };
    let script = match job.get("script").and_then(Value::as_str) {
        Some(script) => script.to_string(),
        None => return Err(invalid(Some(id), "", "a job needs a script name")),
    };
    let short: String = script.chars().take(crate::allowlist::MAX_NAME).collect();
    let timeout_seconds = match job.get("timeout_seconds").and_then(Value::as_u64) {
        Some(t) if t >= 1 && t <= max_timeout => t,
        _ => {
            let why = format!("timeout_seconds must be 1 to {}", max_timeout);
            return Err(invalid(Some(id), &short, &why));
        }
    };
    let args = match args(job.get("args")) {
        Ok(args) => args,
        Err(why) => return Err(invalid(Some(id), &short, why)),
    };
    let env = match env(job.get("env")) {
        Ok(env) => env,
        Err(why) => return Err(invalid(Some(id), &short, why)),
    };
    Ok(Some(Job { id, script, args, timeout_seconds, env }))
}

fn args(value: Option<&Value>) -> Result<Vec<String>, &'static str> {
    let items = match value {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(items)) => items,
        Some(_) => return Err("args must be a list of strings"),
    };
    if items.len() > MAX_ARGS {
        return Err("too many args");
    }
    items
        .iter()
        .map(|item| match item.as_str() {
            Some(text) if text.len() <= MAX_ARG_BYTES && !text.contains('\0') => {
                Ok(text.to_string())
            }
            Some(_) => Err("an argument is too long or contains NUL"),
            None => Err("args must be a list of strings"),
        })
        .collect()
}

/// Only `MEDIC_*` variables with plain names: a job can describe itself to a script,
/// never set `PATH`, `LD_PRELOAD` or the like.
fn env(value: Option<&Value>) -> Result<Vec<(String, String)>, &'static str> {
    let map = match value {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Object(map)) => map,
        Some(_) => return Err("env must be an object"),
    };
    if map.len() > MAX_ENV {
        return Err("too many env variables");
    }
    let mut env = Vec::new();
    for (name, value) in map {
        let plain = name.starts_with("MEDIC_")
            && name.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
        let text = value.as_str().unwrap_or("\0");
        if !plain || text.contains('\0') || text.len() > MAX_ARG_BYTES {
            return Err("env names must be MEDIC_* and values strings");
        }
        env.push((name.clone(), text.to_string()));
    }
    Ok(env)
}

/// How a run ended: `ok` (exit 0), `failed` (another exit status, or killed by a
/// signal), `timeout` (killed at the deadline), `error` (could not start).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub status: &'static str,
    pub exit_code: Option<i32>,
    pub duration_ms: u64,
    pub output: String,
    pub output_bytes: u64,
    pub message: String,
}

pub fn result_body(outcome: &Outcome, counters: Value) -> Value {
    json!({
        "status": outcome.status,
        "exit_code": outcome.exit_code,
        "duration_ms": outcome.duration_ms,
        "output": outcome.output,
        "output_bytes": outcome.output_bytes,
        "message": outcome.message,
        "counters": counters,
    })
}

pub fn skipped_body(reason: &str, message: &str, counters: Value) -> Value {
    let mut body = Map::new();
    body.insert("status".into(), json!("skipped"));
    body.insert("reason".into(), json!(reason));
    body.insert("message".into(), json!(message));
    body.insert("counters".into(), counters);
    Value::Object(body)
}

/// Whether a name could be logged as-is: a job's script name is the server's word.
pub fn printable_script(job: &Job) -> String {
    if valid_name(&job.script) {
        job.script.clone()
    } else {
        job.script.chars().take(64).collect::<String>().escape_default().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_job_is_null() {
        assert_eq!(parse_poll(r#"{"job": null}"#, 3600), Ok(None));
        let enveloped = r#"{"success": true, "message": "no job", "results": {"job": null}}"#;
        assert_eq!(parse_poll(enveloped, 3600), Ok(None));
        let with_job = r#"{"success": true, "message": "a job", "results": {"job":
            {"job_id": 3, "script": "x", "timeout_seconds": 5}}}"#;
        assert_eq!(parse_poll(with_job, 3600).unwrap().unwrap().id, 3);
    }

    #[test]
    fn a_job_is_read_with_its_arguments_as_argv() {
        let body = r#"{"job": {"job_id": 7, "script": "restart", "args": ["--", "web; rm -rf /"],
            "timeout_seconds": 60, "env": {"MEDIC_EXECUTION_ID": "12"}}}"#;
        let job = parse_poll(body, 3600).unwrap().unwrap();
        assert_eq!(job.id, 7);
        assert_eq!(job.script, "restart");
        assert_eq!(job.args, vec!["--".to_string(), "web; rm -rf /".to_string()]);
        assert_eq!(job.timeout_seconds, 60);
        assert_eq!(job.env, vec![("MEDIC_EXECUTION_ID".to_string(), "12".to_string())]);
    }

    #[test]
    fn a_malformed_job_is_refused_naming_its_id_when_known() {
        let cases = [
            (r#"not json"#, None),
            (r#"{"jobs": []}"#, None),
            (r#"{"job": {"script": "x", "timeout_seconds": 5}}"#, None),
            (r#"{"job": {"job_id": 1, "timeout_seconds": 5}}"#, Some(1)),
            (r#"{"job": {"job_id": 2, "script": "x", "timeout_seconds": 0}}"#, Some(2)),
            (r#"{"job": {"job_id": 3, "script": "x", "timeout_seconds": 99999}}"#, Some(3)),
            (r#"{"job": {"job_id": 4, "script": "x", "timeout_seconds": 5, "args": "a b"}}"#, Some(4)),
            (r#"{"job": {"job_id": 5, "script": "x", "timeout_seconds": 5, "args": [1]}}"#, Some(5)),
            (
                r#"{"job": {"job_id": 6, "script": "x", "timeout_seconds": 5, "env": {"LD_PRELOAD": "/x.so"}}}"#,
                Some(6),
            ),
            (
                r#"{"job": {"job_id": 7, "script": "x", "timeout_seconds": 5, "env": {"MEDIC_PATH": 3}}}"#,
                Some(7),
            ),
        ];
        for (body, id) in cases {
            let error = parse_poll(body, 3600).unwrap_err();
            assert_eq!(error.id, id, "{}", body);
        }
    }

    #[test]
    fn too_many_arguments_are_refused() {
        let args: Vec<String> = (0..=MAX_ARGS).map(|i| format!("\"{}\"", i)).collect();
        let body = format!(
            r#"{{"job": {{"job_id": 9, "script": "x", "timeout_seconds": 5, "args": [{}]}}}}"#,
            args.join(",")
        );
        assert_eq!(parse_poll(&body, 3600).unwrap_err().id, Some(9));
    }

    #[test]
    fn reports_carry_status_and_counters() {
        let outcome = Outcome {
            status: "ok",
            exit_code: Some(0),
            duration_ms: 12,
            output: "done".into(),
            output_bytes: 4,
            message: String::new(),
        };
        let body = result_body(&outcome, json!({"x": 1}));
        assert_eq!(body["status"], "ok");
        assert_eq!(body["exit_code"], 0);
        assert_eq!(body["counters"]["x"], 1);
        let skipped = skipped_body("not_registered", "no such script", json!({}));
        assert_eq!(skipped["status"], "skipped");
        assert_eq!(skipped["reason"], "not_registered");
    }
}
