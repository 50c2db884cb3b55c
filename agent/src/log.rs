//! Structured logs: one JSON object per line on stderr (journald keeps them), each with
//! `ts`, `level` and `event`, plus the event's own fields (a skip carries its `reason`).

use serde_json::{Map, Value};
use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

pub fn info(event: &str, fields: Value) {
    emit("info", event, fields);
}

pub fn warn(event: &str, fields: Value) {
    emit("warn", event, fields);
}

pub fn error(event: &str, fields: Value) {
    emit("error", event, fields);
}

fn emit(level: &str, event: &str, fields: Value) {
    let line = render(&now_rfc3339(), level, event, fields);
    let stderr = std::io::stderr();
    let mut out = stderr.lock();
    let _ = out.write_all(line.as_bytes());
    let _ = out.write_all(b"\n");
}

/// One log line; the standard keys come first and cannot be overwritten by a field.
pub fn render(ts: &str, level: &str, event: &str, fields: Value) -> String {
    let mut line = Map::new();
    line.insert("ts".into(), Value::from(ts));
    line.insert("level".into(), Value::from(level));
    line.insert("event".into(), Value::from(event));
    if let Value::Object(extra) = fields {
        for (key, value) in extra {
            line.entry(key).or_insert(value);
        }
    }
    Value::Object(line).to_string()
}

pub fn now_rfc3339() -> String {
    let elapsed = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    rfc3339(elapsed.as_secs(), elapsed.subsec_millis())
}

/// UTC `YYYY-MM-DDTHH:MM:SS.mmmZ` from Unix seconds (days to civil date: H. Hinnant).
pub fn rfc3339(seconds: u64, millis: u32) -> String {
    let days = (seconds / 86_400) as i64;
    let rest = seconds % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + if month <= 2 { 1 } else { 0 };
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        year,
        month,
        day,
        rest / 3600,
        rest % 3600 / 60,
        rest % 60,
        millis
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn formats_utc_instants() {
        assert_eq!(rfc3339(0, 0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(951_782_400, 5), "2000-02-29T00:00:00.005Z");
        assert_eq!(rfc3339(1_767_225_599, 999), "2025-12-31T23:59:59.999Z");
    }

    #[test]
    fn a_line_is_one_json_object_whose_standard_keys_win() {
        let line = render(
            "t",
            "warn",
            "job.skipped",
            json!({"event": "forged", "reason": "not_registered", "note": "a\nb"}),
        );
        assert!(!line.contains('\n'));
        let parsed: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(parsed["event"], "job.skipped");
        assert_eq!(parsed["level"], "warn");
        assert_eq!(parsed["reason"], "not_registered");
    }
}
