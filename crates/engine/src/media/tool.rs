//! Running ffmpeg and ffprobe under a wall-clock budget: the child is killed when the budget is
//! spent, and the caller gets [`EngineError::TooLarge`] (a property of the media, reported per
//! media, never a server fault).

use std::io::Read;
use std::process::{ChildStdout, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::error::{EngineError, Result};

/// What a finished run left: its exit status, the value its stdout consumer returned, and the
/// start of its stderr (at most 64 KiB kept).
pub(crate) struct Finished<T> {
    pub status: ExitStatus,
    pub output: T,
    pub stderr: Vec<u8>,
}

const STDERR_KEPT: usize = 64 * 1024;

/// Run `cmd` with stdin closed, handing its stdout to `consume` on a thread of its own, and kill
/// it when `budget` is spent.
pub(crate) fn run<T: Send>(
    tool: &str,
    cmd: &mut Command,
    budget: Duration,
    consume: impl FnOnce(ChildStdout) -> T + Send,
) -> Result<Finished<T>> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| {
            EngineError::Tool(format!(
                "cannot run {tool} ({e}); install the Debian package ffmpeg"
            ))
        })?;
    let stdout = child.stdout.take().expect("piped");
    let mut stderr_pipe = child.stderr.take().expect("piped");
    let deadline = Instant::now() + budget;
    std::thread::scope(|scope| {
        let out = scope.spawn(move || consume(stdout));
        let err = scope.spawn(move || {
            let mut kept = Vec::new();
            let mut buf = [0u8; 8192];
            // Keep draining past the kept part, so the child never blocks on a full pipe.
            while let Ok(n) = stderr_pipe.read(&mut buf) {
                if n == 0 {
                    break;
                }
                let room = STDERR_KEPT.saturating_sub(kept.len());
                kept.extend_from_slice(&buf[..n.min(room)]);
            }
            kept
        });
        let mut timed_out = false;
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break Ok(status),
                Ok(None) if Instant::now() >= deadline => {
                    timed_out = true;
                    let _ = child.kill();
                    break child.wait();
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(10)),
                Err(e) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    break Err(e);
                }
            }
        };
        let output = out.join().expect("stdout consumer panicked");
        let stderr = err.join().expect("stderr reader panicked");
        let status = status?;
        if timed_out {
            return Err(EngineError::TooLarge(format!(
                "{tool} did not finish within the budget of {} s",
                budget.as_secs_f32()
            )));
        }
        Ok(Finished {
            status,
            output,
            stderr,
        })
    })
}

/// Read all of a stdout into memory, at most `cap` bytes (the rest is drained and dropped).
pub(crate) fn read_capped(mut stdout: ChildStdout, cap: usize) -> std::io::Result<Vec<u8>> {
    let mut kept = Vec::new();
    (&mut stdout).take(cap as u64).read_to_end(&mut kept)?;
    std::io::copy(&mut stdout, &mut std::io::sink())?;
    Ok(kept)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_child_over_budget_is_killed_and_reported_as_too_large() {
        let started = Instant::now();
        let err = run(
            "sleep",
            Command::new("sleep").arg("30"),
            Duration::from_millis(200),
            |out| read_capped(out, 1024),
        )
        .err()
        .expect("killed");
        assert!(matches!(err, EngineError::TooLarge(_)), "{err:?}");
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn output_and_status_of_a_finished_child() {
        let done = run(
            "sh",
            Command::new("sh").args(["-c", "echo hello; echo oops >&2; exit 3"]),
            Duration::from_secs(10),
            |out| read_capped(out, 3),
        )
        .unwrap();
        assert_eq!(done.output.unwrap(), b"hel");
        assert_eq!(done.stderr, b"oops\n");
        assert_eq!(done.status.code(), Some(3));
    }
}
