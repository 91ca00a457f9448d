//! A progress bar on stderr, drawn only when stderr is a terminal and `--quiet` is off.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;

pub struct Progress {
    bar: Option<ProgressBar>,
}

impl Progress {
    /// `total` is the number of bytes expected (0 when unknown, e.g. standard input).
    pub fn new(total: u64, enabled: bool) -> Self {
        if !enabled || !std::io::stderr().is_terminal() {
            return Progress { bar: None };
        }
        let bar = if total > 0 {
            ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr())
        } else {
            ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr())
        };
        let style = if total > 0 {
            ProgressStyle::with_template(
                "{spinner} reading [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
            )
        } else {
            ProgressStyle::with_template("{spinner} reading {bytes} {bytes_per_sec}")
        };
        if let Ok(style) = style {
            bar.set_style(style.progress_chars("=> "));
        }
        Progress { bar: Some(bar) }
    }

    pub fn inc(&self, n: u64) {
        if let Some(b) = &self.bar {
            b.inc(n);
        }
    }

    pub fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}

/// A phase of a run whose duration is printed on stderr when the environment variable
/// `MAILSCOPE_TIMINGS` is set (for profiling; see benches/README.md).
pub struct Phase(Option<(&'static str, std::time::Instant, f64)>);

impl Phase {
    pub fn start(name: &'static str) -> Phase {
        static ON: std::sync::LazyLock<bool> =
            std::sync::LazyLock::new(|| std::env::var_os("MAILSCOPE_TIMINGS").is_some());
        Phase(ON.then(|| (name, std::time::Instant::now(), cpu_seconds())))
    }
}

impl Drop for Phase {
    fn drop(&mut self) {
        if let Some((name, t, cpu)) = self.0 {
            eprintln!(
                "timing: {name}: {:.3} s, CPU {:.3} s{}",
                t.elapsed().as_secs_f64(),
                cpu_seconds() - cpu,
                memory_now()
            );
        }
    }
}

/// `, resident X MB (peak Y MB)` from /proc/self/status on Linux; empty elsewhere.
fn memory_now() -> String {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
    };
    match (field("VmRSS:"), field("VmHWM:")) {
        (Some(now), Some(peak)) => {
            format!(", resident {} MB (peak {} MB)", now / 1024, peak / 1024)
        }
        _ => String::new(),
    }
}

/// User and system CPU time of the whole process so far (0 where unavailable).
fn cpu_seconds() -> f64 {
    #[cfg(unix)]
    {
        let mut u = std::mem::MaybeUninit::<libc::rusage>::zeroed();
        // SAFETY: getrusage writes one rusage into the buffer it is given.
        if unsafe { libc::getrusage(libc::RUSAGE_SELF, u.as_mut_ptr()) } == 0 {
            // SAFETY: initialized by the successful call.
            let u = unsafe { u.assume_init() };
            let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
            return secs(u.ru_utime) + secs(u.ru_stime);
        }
    }
    0.0
}
