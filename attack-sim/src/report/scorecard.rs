//! The terminal scorecard: one line per scenario as it finishes, and a table at the end;
//! then, when scans found anything, every finding on a line of its own.

use crate::dos::runner::ScenarioResult;
use crate::findings::Finding;
use crate::outcome::Outcome;
use crate::scans::{CheckResult, ScanResult};

/// One scenario, on one line.
pub fn line(o: &Outcome) -> String {
    match o {
        Outcome::Dos(r) => dos_line(r),
        Outcome::Scan(r) => scan_line(r),
    }
}

/// How many checks, and what they found, in a few words.
pub fn scan_summary(r: &ScanResult) -> String {
    let count = |res| r.checks.iter().filter(|c| c.result == res).count();
    let mut s = format!(
        "{} checks: {} passed, {} failed, {} not made",
        r.checks.len(),
        count(CheckResult::Passed),
        count(CheckResult::Failed),
        count(CheckResult::Unmade)
    );
    let skipped = count(CheckResult::Skipped);
    if skipped > 0 {
        s += &format!(", {skipped} skipped");
    }
    if let Some(worst) = r.findings.iter().map(|f| f.severity).max() {
        s += &format!(
            "; {} finding(s), worst {}",
            r.findings.len(),
            worst.as_str()
        );
    }
    s
}

/// A scan, on one line.
pub fn scan_line(r: &ScanResult) -> String {
    let mut s = format!(
        "{:<21} {:<12} {}",
        r.name,
        r.verdict.as_str().to_uppercase(),
        scan_summary(r)
    );
    if let Some(note) = &r.note {
        s += &format!(" [{note}]");
    }
    s
}

/// One finding, on one line.
pub fn finding_line(scenario: &str, f: &Finding) -> String {
    format!(
        "  {:<8} {:<21} {} {}{}: {}",
        f.severity.as_str().to_uppercase(),
        scenario,
        f.technique,
        f.endpoint,
        f.parameter
            .as_deref()
            .map(|p| format!(" [{p}]"))
            .unwrap_or_default(),
        f.summary
    )
}

/// A DoS scenario, on one line.
pub fn dos_line(r: &ScenarioResult) -> String {
    let a = &r.attack;
    let mut s = format!(
        "{:<21} {:<12} legit {:>6.2}% of {} (p50 {:.1} ms, p99 {:.1} ms, baseline p99 {:.1} ms); attack {} connects, {} refused, {} open at peak, {} cut",
        r.name,
        r.verdict.as_str().to_uppercase(),
        r.legit.success_rate * 100.0,
        r.legit.requests,
        r.legit.p50_ms,
        r.legit.p99_ms,
        r.legit.baseline_p99_ms,
        a.connects,
        a.refused,
        a.open_peak,
        a.cut,
    );
    if a.sent > 0 {
        s += &format!(", {} sent", a.sent);
    }
    if a.responses > 0 {
        s += &format!(", {} responses ({} throttled)", a.responses, a.throttled);
    }
    let av = &r.legit.availability;
    if let Some(denial) = av.time_to_denial_ms {
        s += &format!("; first failure {:.1} s into the attack", denial / 1000.0);
        match av.recovery_ms {
            Some(rec) => s += &format!(", recovered {:.1} s after it", rec / 1000.0),
            None => s += ", NOT recovered by the end",
        }
    }
    if let (Some(rss), Some(fds)) = (r.server.rss_peak_bytes, r.server.fds_peak) {
        s += &format!(
            "; server peak RSS {} MiB, {fds} fds, CPU {:.0}%",
            mib(rss),
            r.server.cpu_peak_percent.unwrap_or(0.0)
        );
        if r.server.alive_at_end == Some(false) {
            s += ", EXITED during the run";
        }
    }
    if let Some(note) = &r.note {
        s += &format!(" [{note}]");
    }
    s
}

/// The summary table, then the findings.
pub fn table(results: &[Outcome]) -> String {
    let mut out = format!(
        "{:<21} {:<6} {:<12} {:>8} {:>9} {:>9} {:>12} {:>10} {:>8}\n",
        "SCENARIO",
        "KIND",
        "VERDICT",
        "LEGIT %",
        "P99 MS",
        "BASE P99",
        "RSS PEAK MiB",
        "FDS PEAK",
        "FINDINGS"
    );
    for o in results {
        let Some(r) = o.dos() else {
            out += &format!(
                "{:<21} {:<6} {:<12} {:>8} {:>9} {:>9} {:>12} {:>10} {:>8}\n",
                o.name(),
                o.kind(),
                o.verdict().as_str(),
                "-",
                "-",
                "-",
                "-",
                "-",
                o.findings().len()
            );
            continue;
        };
        let rss = r.server.rss_peak_bytes.map_or("-".to_string(), mib);
        let fds = r.server.fds_peak.map_or("-".to_string(), |f| f.to_string());
        out += &format!(
            "{:<21} {:<6} {:<12} {:>8.2} {:>9.1} {:>9.1} {:>12} {:>10} {:>8}\n",
            r.name,
            r.kind,
            r.verdict.as_str(),
            r.legit.success_rate * 100.0,
            r.legit.p99_ms,
            r.legit.baseline_p99_ms,
            rss,
            fds,
            "-"
        );
    }
    let findings: Vec<_> = results
        .iter()
        .flat_map(|o| o.findings().iter().map(move |f| (o.name(), f)))
        .collect();
    if !findings.is_empty() {
        out += "\nFINDINGS\n";
        for (scenario, f) in findings {
            out += &finding_line(scenario, f);
            out.push('\n');
        }
    }
    out
}

/// Bytes as MiB with one decimal.
pub fn mib(bytes: u64) -> String {
    format!("{:.1}", bytes as f64 / (1024.0 * 1024.0))
}
