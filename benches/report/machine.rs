//! The machine and toolchain a run happened on, for the report.

use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

/// What the report says about where it was measured.
pub struct Machine {
    /// `model name` from /proc/cpuinfo.
    pub cpu: String,
    /// Logical CPUs the OS reports.
    pub logical_cpus: usize,
    /// Cores in this process's affinity mask (what the threads are pinned to).
    pub pinned_cores: usize,
    /// `uname -a`.
    pub uname: String,
    /// `rustc -vV`.
    pub rustc: String,
    /// The kernel's clock source (how cheap `Instant::now()` is).
    pub clocksource: String,
    /// /proc/loadavg when the run started: other tenants of a shared machine.
    pub loadavg: String,
    /// `git rev-parse HEAD`, and whether the tree had uncommitted changes.
    pub commit: String,
    /// UTC start time, ISO 8601.
    pub date: String,
    /// (crate, version) of ackring and every peer and bench tool.
    pub crates: Vec<(String, String)>,
}

/// Runs `cmd` in the source tree the bench was built from, or where it is
/// started when that tree is not on this machine (a bench binary carried
/// to another machine).
fn run(cmd: &str, args: &[&str]) -> Option<String> {
    let mut command = Command::new(cmd);
    let tree = env!("CARGO_MANIFEST_DIR");
    if std::path::Path::new(tree).is_dir() {
        command.current_dir(tree);
    }
    let out = command.args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// The 1-minute load average now (NaN where the OS does not say).
pub fn load1() -> f64 {
    read("/proc/loadavg")
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(f64::NAN)
}

fn read(path: &str) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_string())
}

/// `YYYY-MM-DDTHH:MM:SSZ` for a Unix time (days-from-civil, inverted).
fn iso8601(secs: u64) -> String {
    let (days, rem) = ((secs / 86_400) as i64, secs % 86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// The crates this package depends on (normal, target-specific and dev
/// dependencies), read from its manifest: every peer and bench tool.
fn dependencies(manifest: &str) -> Vec<&str> {
    let mut names = Vec::new();
    let mut in_deps = false;
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            in_deps = line.ends_with("dependencies]");
        } else if let Some((name, _)) = line.split_once('=').filter(|_| in_deps) {
            let name = name.trim();
            if !name.is_empty() && !name.starts_with('#') {
                names.push(name);
            }
        }
    }
    names
}

/// Versions from Cargo.lock of ackring's dependencies.
fn crate_versions() -> Vec<(String, String)> {
    // Compiled in: the versions of this very build, wherever it runs.
    let manifest = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"));
    let lock = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.lock"));
    let names = dependencies(manifest);
    let mut found = vec![("ackring".to_string(), env!("CARGO_PKG_VERSION").to_string())];
    let mut name = None;
    for line in lock.lines() {
        if let Some(n) = line.strip_prefix("name = ") {
            name = Some(n.trim_matches('"').to_string());
        } else if let (Some(v), Some(n)) = (line.strip_prefix("version = "), name.take()) {
            if names.contains(&n.as_str()) && !found.iter().any(|f| f.0 == n) {
                found.push((n, v.trim_matches('"').to_string()));
            }
        }
    }
    found
}

impl Machine {
    /// Reads everything; what cannot be read says so.
    pub fn detect(pinned_cores: usize) -> Machine {
        let unknown = || "unknown".to_string();
        let cpu = read("/proc/cpuinfo")
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("model name"))
                    .and_then(|l| l.split(':').nth(1))
                    .map(|m| m.trim().to_string())
            })
            .unwrap_or_else(unknown);
        // A carried binary runs where the tree (if any) is not the one it
        // was built from: the runner then says which commit that was.
        let commit = match std::env::var("ACKRING_COMMIT") {
            Ok(commit) => commit,
            Err(_) => match run("git", &["rev-parse", "HEAD"]) {
                Some(head) => {
                    let dirty = run("git", &["--no-optional-locks", "status", "--porcelain"])
                        .is_some_and(|s| !s.is_empty());
                    if dirty {
                        format!("{head} (with uncommitted changes)")
                    } else {
                        head
                    }
                }
                None => unknown(),
            },
        };
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        Machine {
            cpu,
            logical_cpus: std::thread::available_parallelism().map_or(0, |n| n.get()),
            pinned_cores,
            uname: run("uname", &["-a"]).unwrap_or_else(unknown),
            rustc: std::env::var("ACKRING_RUSTC")
                .ok()
                .or_else(|| run("rustc", &["-vV"]))
                .unwrap_or_else(unknown),
            clocksource: read("/sys/devices/system/clocksource/clocksource0/current_clocksource")
                .unwrap_or_else(unknown),
            loadavg: read("/proc/loadavg").unwrap_or_else(unknown),
            commit,
            date: iso8601(now),
            crates: crate_versions(),
        }
    }
}
