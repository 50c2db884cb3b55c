//! The agent's own counters, reported to Medic with every result:
//! `medic_agent_script_executions_total{script,status}` and
//! `medic_agent_script_skipped_total{script,reason}`.

use serde_json::{json, Value};
use std::collections::BTreeMap;

#[derive(Default)]
pub struct Counters {
    executions: BTreeMap<(String, String), u64>,
    skipped: BTreeMap<(String, String), u64>,
}

impl Counters {
    pub fn executed(&mut self, script: &str, status: &str) {
        *self.executions.entry((script.into(), status.into())).or_insert(0) += 1;
    }

    pub fn skipped(&mut self, script: &str, reason: &str) {
        *self.skipped.entry((script.into(), reason.into())).or_insert(0) += 1;
    }

    pub fn to_json(&self) -> Value {
        let rows = |map: &BTreeMap<(String, String), u64>, label: &str| -> Value {
            Value::Array(
                map.iter()
                    .map(|((script, value), count)| {
                        json!({"script": script, label: value, "count": count})
                    })
                    .collect(),
            )
        };
        json!({
            "medic_agent_script_executions_total": rows(&self.executions, "status"),
            "medic_agent_script_skipped_total": rows(&self.skipped, "reason"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_by_script_and_label() {
        let mut counters = Counters::default();
        counters.executed("restart", "ok");
        counters.executed("restart", "ok");
        counters.executed("restart", "failed");
        counters.skipped("rm-rf", "not_registered");
        let report = counters.to_json();
        let executions = report["medic_agent_script_executions_total"].as_array().unwrap();
        assert_eq!(executions.len(), 2);
        assert_eq!(executions[1]["status"], "ok");
        assert_eq!(executions[1]["count"], 2);
        let skipped = &report["medic_agent_script_skipped_total"][0];
        assert_eq!(skipped["reason"], "not_registered");
        assert_eq!(skipped["script"], "rm-rf");
    }
}
