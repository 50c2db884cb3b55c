//! Running one allowed script: no shell (the arguments are its argv), a clean
//! environment, its own session and process group, no core dumps, a CPU limit, a
//! wall-clock timeout after which the whole group is killed, stdout and stderr merged
//! and only their tail kept.

use crate::job::{Job, Outcome};
use std::fs::File;
use std::io::Read;
use std::os::unix::io::{AsRawFd, FromRawFd};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

pub const PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
/// After the script exits, how long output still in the pipe is read.
const DRAIN: Duration = Duration::from_millis(500);
const TICK: Duration = Duration::from_millis(20);

/// The last `cap` bytes of a stream, and how many bytes went by in all.
pub struct Tail {
    cap: usize,
    kept: Vec<u8>,
    total: u64,
}

impl Tail {
    pub fn new(cap: usize) -> Tail {
        Tail { cap, kept: Vec::new(), total: 0 }
    }

    pub fn push(&mut self, chunk: &[u8]) {
        self.total += chunk.len() as u64;
        self.kept.extend_from_slice(chunk);
        if self.kept.len() > self.cap * 2 {
            let extra = self.kept.len() - self.cap;
            self.kept.drain(..extra);
        }
    }

    pub fn text(&self) -> String {
        let start = self.kept.len().saturating_sub(self.cap);
        let kept = &self.kept[start..];
        let text = String::from_utf8_lossy(kept);
        if self.total > kept.len() as u64 {
            format!(
                "[output truncated: {} bytes, the last {} kept]\n{}",
                self.total,
                kept.len(),
                text
            )
        } else {
            text.into_owned()
        }
    }

    pub fn total(&self) -> u64 {
        self.total
    }
}

fn pipe() -> std::io::Result<(File, File)> {
    let mut fds = [0; 2];
    // SAFETY: pipe2 writes two new descriptors, owned by the Files from here on.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(unsafe { (File::from_raw_fd(fds[0]), File::from_raw_fd(fds[1])) })
}

fn outcome(status: &'static str, started: Instant, message: String) -> Outcome {
    Outcome {
        status,
        exit_code: None,
        duration_ms: started.elapsed().as_millis() as u64,
        output: String::new(),
        output_bytes: 0,
        message,
    }
}

pub fn run(path: &Path, job: &Job, tail_bytes: usize) -> Outcome {
    let started = Instant::now();
    let (mut reader, writer) = match pipe() {
        Ok(pair) => pair,
        Err(e) => return outcome("error", started, format!("no pipe: {}", e)),
    };
    let cpu_seconds = job.timeout_seconds + 1;
    let spawned = {
        let stderr = match writer.try_clone() {
            Ok(file) => file,
            Err(e) => return outcome("error", started, format!("no pipe: {}", e)),
        };
        let mut command = Command::new(path);
        command
            .args(&job.args)
            .env_clear()
            .env("PATH", PATH)
            .env("LANG", "C.UTF-8")
            .envs(job.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .current_dir("/")
            .stdin(Stdio::null())
            .stdout(Stdio::from(writer))
            .stderr(Stdio::from(stderr));
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            command.pre_exec(move || {
                libc::setsid();
                let core = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
                libc::setrlimit(libc::RLIMIT_CORE, &core);
                let cpu = libc::rlimit { rlim_cur: cpu_seconds, rlim_max: cpu_seconds + 1 };
                libc::setrlimit(libc::RLIMIT_CPU, &cpu);
                Ok(())
            });
        }
        command.spawn()
        // The command, and with it the parent's copies of the pipe's write end, is
        // dropped here: the reader sees the end of output when the script's group is gone.
    };
    let mut child = match spawned {
        Ok(child) => child,
        Err(e) => return outcome("error", started, format!("could not start: {}", e)),
    };
    let pid = child.id() as libc::pid_t;

    // The output is read here, between checks on the script, rather than by a thread:
    // no second stack for the agent to hold.
    let mut tail = Tail::new(tail_bytes);
    let mut buffer = [0u8; 4096];
    let mut open = true;
    let deadline = started + Duration::from_secs(job.timeout_seconds);
    let mut timed_out = false;
    while !has_exited(pid) {
        if Instant::now() >= deadline {
            timed_out = true;
            break;
        }
        if open {
            open = read_some(&mut reader, &mut buffer, &mut tail, TICK);
        } else {
            thread::sleep(TICK);
        }
    }
    // The leader is not reaped yet, so its group id cannot have been reused: kill the
    // group (the script at its deadline, or whatever it left running).
    unsafe {
        libc::kill(-pid, libc::SIGKILL);
    }
    let status = child.wait();
    let drained = Instant::now() + DRAIN;
    while open {
        let left = drained.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        open = read_some(&mut reader, &mut buffer, &mut tail, left);
    }
    let duration_ms = started.elapsed().as_millis() as u64;
    let (status, exit_code, message) = match status {
        _ if timed_out => ("timeout", None, format!("timed out after {}s", job.timeout_seconds)),
        Ok(status) => match (status.code(), status.signal()) {
            (Some(0), _) => ("ok", Some(0), String::new()),
            (Some(code), _) => ("failed", Some(code), format!("exit status {}", code)),
            (None, signal) => (
                "failed",
                None,
                format!("killed by signal {}", signal.unwrap_or_default()),
            ),
        },
        Err(e) => ("error", None, format!("could not wait: {}", e)),
    };
    Outcome {
        status,
        exit_code,
        duration_ms,
        output: tail.text(),
        output_bytes: tail.total(),
        message,
    }
}

/// Waits up to `wait` for output and keeps what came; false once the pipe is closed
/// (every writer gone) or broken.
fn read_some(reader: &mut File, buffer: &mut [u8], tail: &mut Tail, wait: Duration) -> bool {
    let mut fd = libc::pollfd { fd: reader.as_raw_fd(), events: libc::POLLIN, revents: 0 };
    let millis = wait.as_millis().min(i32::MAX as u128) as libc::c_int;
    // SAFETY: one pollfd, valid for the call.
    let ready = unsafe { libc::poll(&mut fd, 1, millis) };
    if ready < 0 {
        return std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted;
    }
    if ready == 0 {
        return true;
    }
    match reader.read(buffer) {
        Ok(0) => false,
        Ok(n) => {
            tail.push(&buffer[..n]);
            true
        }
        Err(e) => e.kind() == std::io::ErrorKind::Interrupted,
    }
}

/// Whether `pid` has exited, without reaping it (so its process group stays ours).
fn has_exited(pid: libc::pid_t) -> bool {
    // SAFETY: waitid fills `info`, which is zeroed first.
    unsafe {
        let mut info: libc::siginfo_t = std::mem::zeroed();
        let flags = libc::WEXITED | libc::WNOHANG | libc::WNOWAIT;
        if libc::waitid(libc::P_PID, pid as libc::id_t, &mut info, flags) != 0 {
            return true;
        }
        info.si_pid() != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(args: &[&str], timeout_seconds: u64) -> Job {
        Job {
            id: 1,
            script: "sh".into(),
            args: args.iter().map(|a| a.to_string()).collect(),
            timeout_seconds,
            env: vec![("MEDIC_EXECUTION_ID".into(), "42".into())],
        }
    }

    #[test]
    fn the_tail_keeps_the_last_bytes() {
        let mut tail = Tail::new(4);
        tail.push(b"hello ");
        tail.push(b"world");
        assert_eq!(tail.total(), 11);
        assert!(tail.text().ends_with("orld"));
        assert!(tail.text().starts_with("[output truncated: 11 bytes, the last 4 kept]"));
        let mut short = Tail::new(64);
        short.push(b"ok");
        assert_eq!(short.text(), "ok");
    }

    #[test]
    fn arguments_are_argv_and_the_environment_is_clean() {
        let done = run(
            Path::new("/bin/sh"),
            &job(&["-c", "echo \"$1|$MEDIC_EXECUTION_ID|${HOME:-none}\"; exit 3", "x", "a; b"], 10),
            1024,
        );
        assert_eq!(done.status, "failed");
        assert_eq!(done.exit_code, Some(3));
        assert_eq!(done.output, "a; b|42|none\n");
    }

    #[test]
    fn stderr_is_merged_and_success_is_exit_zero() {
        let done = run(Path::new("/bin/sh"), &job(&["-c", "echo out; echo err >&2"], 10), 1024);
        assert_eq!(done.status, "ok");
        assert_eq!(done.exit_code, Some(0));
        assert!(done.output.contains("out") && done.output.contains("err"));
    }

    #[test]
    fn a_script_past_its_timeout_is_killed_with_its_children() {
        let done = run(Path::new("/bin/sh"), &job(&["-c", "sleep 30 & sleep 30"], 1), 1024);
        assert_eq!(done.status, "timeout");
        assert_eq!(done.exit_code, None);
        assert!(done.duration_ms < 10_000);
    }

    #[test]
    fn a_missing_program_is_an_error() {
        let done = run(Path::new("/nonexistent/x"), &job(&[], 5), 1024);
        assert_eq!(done.status, "error");
    }
}
