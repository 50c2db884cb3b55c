//! Settings, from the environment (systemd reads `/etc/medic-agent/agent.env`).

use std::path::PathBuf;

pub const DEFAULT_KEY_FILE: &str = "/etc/medic-agent/key";
pub const DEFAULT_SCRIPTS_DIR: &str = "/etc/medic-agent/scripts.d";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Medic's base URL: https, or http only to the loopback address.
    pub url: String,
    pub key: String,
    pub scripts_dir: PathBuf,
    /// How long one poll may wait on the server for a job (seconds).
    pub wait_seconds: u64,
    /// How much of a script's output (its tail) is sent back.
    pub output_bytes: usize,
    /// The longest timeout a job may ask for.
    pub max_timeout_seconds: u64,
    /// A PEM bundle to trust instead of the system's CAs (a private CA).
    pub ca_file: Option<PathBuf>,
}

fn number(value: Option<String>, name: &str, default: u64, low: u64, high: u64) -> Result<u64, String> {
    match value {
        None => Ok(default),
        Some(text) => match text.trim().parse::<u64>() {
            Ok(n) if n >= low && n <= high => Ok(n),
            _ => Err(format!("{} must be a whole number from {} to {}", name, low, high)),
        },
    }
}

/// Whether `url` may carry the key: https anywhere, plain http only to this machine.
pub fn check_url(url: &str) -> Result<String, String> {
    let url = url.trim().trim_end_matches('/');
    let target = crate::http::Target::parse(url)?;
    if !target.tls && !target.is_loopback() {
        return Err("MEDIC_AGENT_URL must be https:// (plain http only to 127.0.0.1)".into());
    }
    Ok(url.to_string())
}

impl Config {
    pub fn from_lookup<F>(get: F) -> Result<Config, String>
    where
        F: Fn(&str) -> Option<String>,
    {
        let url = check_url(&get("MEDIC_AGENT_URL").ok_or("MEDIC_AGENT_URL is not set")?)?;
        let key = match get("MEDIC_AGENT_KEY") {
            Some(key) => key,
            None => {
                let path = get("MEDIC_AGENT_KEY_FILE").unwrap_or_else(|| DEFAULT_KEY_FILE.into());
                std::fs::read_to_string(&path)
                    .map_err(|e| format!("cannot read the key file {}: {}", path, e))?
            }
        };
        let key = key.trim().to_string();
        if key.is_empty() || !key.chars().all(|c| c.is_ascii_graphic()) {
            return Err("the agent key is empty or not one printable word".into());
        }
        Ok(Config {
            url,
            key,
            scripts_dir: PathBuf::from(
                get("MEDIC_AGENT_SCRIPTS_DIR").unwrap_or_else(|| DEFAULT_SCRIPTS_DIR.into()),
            ),
            wait_seconds: number(get("MEDIC_AGENT_WAIT"), "MEDIC_AGENT_WAIT", 30, 1, 60)?,
            output_bytes: number(
                get("MEDIC_AGENT_OUTPUT_BYTES"),
                "MEDIC_AGENT_OUTPUT_BYTES",
                16 * 1024,
                0,
                1024 * 1024,
            )? as usize,
            max_timeout_seconds: number(
                get("MEDIC_AGENT_MAX_TIMEOUT"),
                "MEDIC_AGENT_MAX_TIMEOUT",
                3600,
                1,
                24 * 3600,
            )?,
            ca_file: get("MEDIC_AGENT_CA_FILE").map(PathBuf::from),
        })
    }

    pub fn from_env() -> Result<Config, String> {
        Config::from_lookup(|name| std::env::var(name).ok().filter(|v| !v.is_empty()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(pairs: &[(&str, &str)]) -> Result<Config, String> {
        let map: HashMap<String, String> =
            pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::from_lookup(|name| map.get(name).cloned())
    }

    #[test]
    fn https_anywhere_http_only_on_loopback() {
        assert_eq!(check_url("https://medic.example.com/").unwrap(), "https://medic.example.com");
        assert!(check_url("http://127.0.0.1:8080").is_ok());
        assert!(check_url("http://localhost/medic").is_ok());
        assert!(check_url("http://[::1]:8080").is_ok());
        for bad in [
            "http://medic.example.com",
            "http://127.0.0.1.evil.com",
            "http://127.0.0.1:80@evil.com",
            "http://localhost\\@evil.com",
            "http://10.0.0.1",
            "ftp://x",
            "https://",
            "medic.example.com",
        ] {
            assert!(check_url(bad).is_err(), "{} must be refused", bad);
        }
    }

    #[test]
    fn defaults_and_bounds() {
        let ok = config(&[("MEDIC_AGENT_URL", "https://m"), ("MEDIC_AGENT_KEY", "mdk_x_y\n")]).unwrap();
        assert_eq!(ok.key, "mdk_x_y");
        assert_eq!(ok.wait_seconds, 30);
        assert_eq!(ok.scripts_dir, PathBuf::from(DEFAULT_SCRIPTS_DIR));
        assert_eq!(ok.max_timeout_seconds, 3600);
        let too_long = config(&[
            ("MEDIC_AGENT_URL", "https://m"),
            ("MEDIC_AGENT_KEY", "k"),
            ("MEDIC_AGENT_WAIT", "600"),
        ]);
        assert!(too_long.unwrap_err().contains("MEDIC_AGENT_WAIT"));
        assert!(config(&[("MEDIC_AGENT_KEY", "k")]).is_err());
        assert!(config(&[("MEDIC_AGENT_URL", "https://m"), ("MEDIC_AGENT_KEY", "a b")]).is_err());
        let missing_file = config(&[
            ("MEDIC_AGENT_URL", "https://m"),
            ("MEDIC_AGENT_KEY_FILE", "/nonexistent/key"),
        ]);
        assert!(missing_file.unwrap_err().contains("/nonexistent/key"));
    }
}
