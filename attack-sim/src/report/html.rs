//! `report.html`: one self-contained page (no script, no network) with the summary table and,
//! per DoS scenario, inline SVG charts of the legitimate client's latency and success rate
//! over time with the attack shaded, the attack's own rate, and the server's memory,
//! descriptors and CPU when the harness spawned it; per scan, its checks and its findings
//! with their evidence.

use std::fmt::Write;
use std::path::Path;

use super::RunInfo;
use super::svg::{Chart, Series, esc};
use crate::campaign::capacity::Capacity;
use crate::campaign::regression::Comparison;
use crate::dos::runner::ScenarioResult;
use crate::outcome::Outcome;
use crate::probe::{Availability, Phase, Sample};
use crate::scans::ScanResult;
use crate::verdict::{self, PhaseStats, Verdict};

/// Width of the time buckets the legitimate samples are grouped in.
const BUCKET_MS: f64 = 1000.0;

const STYLE: &str = "body{font:14px/1.45 system-ui,sans-serif;margin:24px;color:#1b1b1b;max-width:1100px}\
h1{font-size:22px}h2{font-size:18px;margin-top:36px;border-top:1px solid #ddd;padding-top:16px}\
table{border-collapse:collapse;margin:8px 0}td,th{padding:4px 10px;border-bottom:1px solid #e4e4e4;text-align:right}\
th:first-child,td:first-child{text-align:left}.v{font-weight:600;padding:2px 8px;border-radius:4px;color:#fff}\
.held,.passed{background:#2e7d32}.degraded,.suspected{background:#ef6c00}.denied,.vulnerable{background:#c62828}.inconclusive{background:#616161}\
pre{white-space:pre-wrap;word-break:break-all;background:#f4f4f4;padding:6px 8px;margin:4px 0;font-size:12px}\
.sev{font-weight:600}.critical,.high{color:#c62828}.medium{color:#ef6c00}.low,.info{color:#555}\
.charts{display:flex;flex-wrap:wrap;gap:8px}svg{background:#fafafa;border:1px solid #e4e4e4}\
.t{font-size:13px;font-weight:600}.yl{font-size:10px;text-anchor:end;fill:#555}.xl{font-size:10px;text-anchor:middle;fill:#555}\
.lg{font-size:11px}.grid{stroke:#e4e4e4}.attack{fill:#c62828;fill-opacity:.08}.meta{color:#555}\
.warn{background:#fff3e0;border-left:4px solid #ef6c00;padding:8px 12px}";

/// The page for `results`, with the capacity search's chart and the comparison with a
/// baseline when there are.
pub fn render(
    run: &RunInfo,
    results: &[Outcome],
    capacity: Option<&Capacity>,
    comparison: Option<&Comparison>,
) -> String {
    let target = run.target.as_str();
    let started_at = run.started_at.as_str();
    let intensity = format!("{:?}", run.intensity).to_lowercase();
    let intensity = intensity.as_str();
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>attack-sim report: {}</title><style>{STYLE}</style></head><body>",
        esc(target)
    );
    // The intensity and the charts are the DoS scenarios'; a run of scans has neither.
    let dos = results.iter().any(|o| o.dos().is_some());
    let intensity = if dos || capacity.is_some() {
        format!(", intensity {}", esc(intensity))
    } else {
        String::new()
    };
    let band = if dos {
        " The shaded band in every scenario's chart is the attack."
    } else {
        ""
    };
    let _ = write!(
        h,
        "<h1>attack-sim report</h1><p class=\"meta\">Target <b>{}</b>, started {}{intensity}, {} {}.{band}</p>",
        esc(target),
        esc(started_at),
        env!("CARGO_PKG_NAME"),
        env!("CARGO_PKG_VERSION")
    );
    if !run.tls_verified {
        let _ = write!(
            h,
            "<p class=\"warn\"><b>TLS not verified:</b> {} The target's identity was not checked; a result here says nothing about who answered.</p>",
            esc(&run.trust)
        );
    } else {
        let _ = write!(h, "<p class=\"meta\">TLS: {}.</p>", esc(&run.trust));
    }
    if let Some(legit) = &run.legit_client {
        let _ = write!(
            h,
            "<p class=\"meta\">Legitimate client: {}.</p>",
            esc(legit)
        );
    }
    if !run.notes.is_empty() {
        h.push_str("<ul class=\"meta\">");
        for n in &run.notes {
            let _ = write!(h, "<li>{}</li>", esc(n));
        }
        h.push_str("</ul>");
    }
    if let Some(c) = comparison {
        comparison_section(&mut h, c);
    }
    if let Some(c) = capacity {
        capacity_section(&mut h, c);
    }
    if results.is_empty() {
        h.push_str("</body></html>\n");
        return h;
    }
    h.push_str("<table><tr><th>scenario</th><th>kind</th><th>verdict</th><th>legit success</th><th>p50 ms</th><th>p99 ms</th><th>baseline p99 ms</th><th>first failure</th><th>recovered</th><th>server RSS peak</th><th>fds peak</th></tr>");
    for o in results {
        let Some(r) = o.dos() else {
            let Outcome::Scan(scan) = o else { continue };
            let _ = write!(
                h,
                "<tr><td><a href=\"#{0}\">{0}</a></td><td>{1}</td><td>{2}</td><td colspan=\"8\">{3}</td></tr>",
                esc(scan.name),
                esc(scan.kind),
                badge(scan.verdict),
                esc(&super::scorecard::scan_summary(scan)),
            );
            continue;
        };
        let _ = write!(
            h,
            "<tr><td><a href=\"#{0}\">{0}</a></td><td>{1}</td><td>{2}</td><td>{3:.2}%</td><td>{4:.1}</td><td>{5:.1}</td><td>{6:.1}</td><td>{7}</td><td>{8}</td><td>{9}</td><td>{10}</td></tr>",
            esc(r.name),
            esc(r.kind),
            badge(r.verdict),
            r.legit.success_rate * 100.0,
            r.legit.p50_ms,
            r.legit.p99_ms,
            r.legit.baseline_p99_ms,
            first_failure(&r.legit.availability),
            recovered(&r.legit.availability),
            r.server
                .rss_peak_bytes
                .map_or("-".into(), |b| format!("{} MiB", super::scorecard::mib(b))),
            r.server.fds_peak.map_or("-".into(), |f| f.to_string()),
        );
    }
    h.push_str("</table>");
    for o in results {
        match o {
            Outcome::Dos(r) => section(&mut h, r),
            Outcome::Scan(r) => scan_section(&mut h, r),
        }
    }
    h.push_str("</body></html>\n");
    h
}

/// The comparison with an earlier run: its regressions first, then every scenario side by
/// side, then the findings gone since.
fn comparison_section(h: &mut String, c: &Comparison) {
    let _ = write!(
        h,
        "<h2 id=\"baseline\">Against the baseline {}</h2><p class=\"meta\">Run of {}.</p>",
        esc(&c.report),
        esc(&c.started_at)
    );
    if c.regressions.is_empty() {
        h.push_str("<p><span class=\"v passed\">no regression</span></p>");
    } else {
        h.push_str("<table><tr><th>regression</th><th>scenario</th><th>what</th></tr>");
        for r in &c.regressions {
            let _ = write!(
                h,
                "<tr><td><span class=\"v denied\">{}</span></td><td>{}</td><td style=\"text-align:left\">{}</td></tr>",
                esc(r.kind),
                esc(&r.scenario),
                esc(&r.detail)
            );
        }
        h.push_str("</table>");
    }
    if !c.scenarios.is_empty() {
        h.push_str("<table><tr><th>scenario</th><th>verdict then</th><th>now</th><th>legit success then</th><th>now</th><th>p99 / baseline then</th><th>now</th></tr>");
        let pct = |v: Option<f64>| v.map_or("-".into(), |v| format!("{:.2}%", v * 100.0));
        let ratio = |v: Option<f64>| v.map_or("-".into(), |v| format!("{v:.2}x"));
        for d in &c.scenarios {
            let _ = write!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&d.scenario),
                esc(&d.verdict_before),
                esc(&d.verdict_now),
                pct(d.success_before),
                pct(d.success_now),
                ratio(d.p99_ratio_before),
                ratio(d.p99_ratio_now),
            );
        }
        h.push_str("</table>");
    }
    if !c.absent.is_empty() {
        h.push_str("<p>Findings of the earlier run not found now:</p><ul>");
        for f in &c.absent {
            let _ = write!(
                h,
                "<li>{} {} on {}{}</li>",
                esc(&f.severity),
                esc(&f.technique),
                esc(&f.endpoint),
                f.parameter
                    .as_deref()
                    .map_or(String::new(), |p| format!(" ({})", esc(p)))
            );
        }
        h.push_str("</ul>");
    }
}

/// The capacity search: the result, a chart of each step's legitimate success and p99
/// against the load, and the steps.
fn capacity_section(h: &mut String, c: &Capacity) {
    let _ = write!(
        h,
        "<h2 id=\"capacity\">Capacity: {}</h2><p class=\"meta\">{}{}</p>",
        esc(c.scenario),
        esc(&c.describe()),
        c.note
            .as_deref()
            .map_or(String::new(), |n| format!(" {}", esc(n)))
    );
    let mut steps: Vec<&crate::campaign::capacity::Step> = c.steps.iter().collect();
    steps.sort_by_key(|s| s.load);
    let x_max = steps.last().map_or(1.0, |s| s.load as f64);
    let band = (
        c.held_up_to.unwrap_or(0) as f64,
        c.failed_at.map_or(x_max, |f| f as f64),
    );
    let chart = |title, unit, y_max, series| {
        Chart {
            title,
            unit,
            x_max,
            shade: band,
            series,
            y_max,
            x_suffix: "",
        }
        .render()
    };
    h.push_str("<div class=\"charts\">");
    h.push_str(&chart(
        "Legitimate success by load (shaded: between held and failed)",
        "%",
        Some(100.0),
        vec![Series {
            label: "success",
            color: "#2e7d32",
            points: steps
                .iter()
                .map(|s| (s.load as f64, s.success_rate * 100.0))
                .collect(),
        }],
    ));
    h.push_str(&chart(
        "Legitimate p99 by load",
        "ms",
        None,
        vec![
            Series {
                label: "p99 under attack",
                color: "#c62828",
                points: steps.iter().map(|s| (s.load as f64, s.p99_ms)).collect(),
            },
            Series {
                label: "baseline p99",
                color: "#1565c0",
                points: steps
                    .iter()
                    .map(|s| (s.load as f64, s.baseline_p99_ms))
                    .collect(),
            },
        ],
    ));
    h.push_str("</div><table><tr><th>step</th><th>load</th><th>verdict</th><th>legit success</th><th>p99 ms</th><th>baseline p99 ms</th></tr>");
    for (i, s) in c.steps.iter().enumerate() {
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{} {}</td><td>{}</td><td>{:.2}%</td><td>{:.1}</td><td>{:.1}</td></tr>",
            i + 1,
            s.load,
            esc(c.unit),
            badge(s.verdict),
            s.success_rate * 100.0,
            s.p99_ms,
            s.baseline_p99_ms
        );
    }
    h.push_str("</table>");
}

/// A scan: its checks, then each finding with its evidence.
fn scan_section(h: &mut String, r: &ScanResult) {
    let _ = write!(
        h,
        "<h2 id=\"{0}\">{0} {1}</h2><p class=\"meta\">{2}</p>",
        esc(r.name),
        badge(r.verdict),
        esc(&super::scorecard::scan_line(r))
    );
    h.push_str("<table><tr><th>check</th><th>result</th><th>what was seen</th></tr>");
    for c in &r.checks {
        let result = serde_json::to_value(c.result)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td style=\"text-align:left\">{}</td></tr>",
            esc(&c.name),
            esc(&result),
            esc(&c.detail)
        );
    }
    h.push_str("</table>");
    for f in &r.findings {
        let sev = f.severity.as_str();
        let _ = write!(
            h,
            "<h3><span class=\"sev {sev}\">{sev}</span> {} <code>{}</code>{}</h3><p>{}</p><p class=\"meta\">request</p><pre>{}</pre><p class=\"meta\">response</p><pre>{}</pre>",
            esc(f.technique),
            esc(&f.endpoint),
            f.parameter
                .as_deref()
                .map(|p| format!(" parameter <code>{}</code>", esc(p)))
                .unwrap_or_default(),
            esc(&f.summary),
            esc(&f.evidence.request),
            esc(&f.evidence.response),
        );
    }
}

fn badge(v: Verdict) -> String {
    format!("<span class=\"v {0}\">{0}</span>", v.as_str())
}

fn section(h: &mut String, r: &ScenarioResult) {
    let _ = write!(
        h,
        "<h2 id=\"{0}\">{0} {1}</h2><p class=\"meta\">{2}</p>",
        esc(r.name),
        badge(r.verdict),
        esc(&super::scorecard::dos_line(r))
    );
    if let Some(words) = crate::campaign::aftermath(r) {
        let _ = write!(h, "<p class=\"warn\">{}</p>", esc(&words));
    }
    h.push_str("<table><tr><th>phase</th><th>requests</th><th>ok</th><th>success</th><th>p50 ms</th><th>p99 ms</th></tr>");
    for (name, p) in [
        ("baseline", &r.legit.baseline),
        ("attack", &r.legit.attack),
        ("recovery", &r.legit.recovery),
    ] {
        phase_row(h, name, p);
    }
    h.push_str("</table>");
    route_table(h, &r.samples);
    h.push_str("<div class=\"charts\">");
    let x_max = r.elapsed_ms / 1000.0;
    let shade = (r.attack_from_ms / 1000.0, r.attack_to_ms / 1000.0);
    let chart = |title, unit, y_max, series| {
        Chart {
            title,
            unit,
            x_max,
            shade,
            series,
            y_max,
            x_suffix: "s",
        }
        .render()
    };
    let buckets = legit_buckets(&r.samples);
    h.push_str(&chart(
        "Legitimate latency (successful requests; gaps: none succeeded)",
        "ms",
        None,
        vec![
            Series {
                label: "p50",
                color: "#1565c0",
                points: gapped(&buckets, |b| b.p50),
            },
            Series {
                label: "p99",
                color: "#c62828",
                points: gapped(&buckets, |b| b.p99),
            },
        ],
    ));
    h.push_str(&chart(
        "Legitimate success rate",
        "%",
        Some(100.0),
        vec![Series {
            label: "answered as expected, in time",
            color: "#2e7d32",
            points: buckets.iter().map(|b| (b.mid_s, b.success_pct)).collect(),
        }],
    ));
    let attack = &r.attack_samples;
    let rate = |f: fn(&crate::dos::AttackSample) -> u64| -> Vec<(f64, f64)> {
        attack
            .windows(2)
            .filter(|w| w[1].at_ms > w[0].at_ms)
            .map(|w| {
                let per_s =
                    (f(&w[1]).saturating_sub(f(&w[0]))) as f64 * 1000.0 / (w[1].at_ms - w[0].at_ms);
                (w[1].at_ms / 1000.0, per_s)
            })
            .collect()
    };
    h.push_str(&chart(
        "Attack connections open",
        "connections",
        None,
        vec![Series {
            label: "open",
            color: "#6a1b9a",
            points: attack
                .iter()
                .map(|a| (a.at_ms / 1000.0, a.open as f64))
                .collect(),
        }],
    ));
    h.push_str(&chart(
        "Attack rate",
        "per second",
        None,
        vec![
            Series {
                label: "connects/s",
                color: "#ef6c00",
                points: rate(|a| a.connects),
            },
            Series {
                label: "responses/s",
                color: "#00838f",
                points: rate(|a| a.responses),
            },
        ],
    ));
    let server = &r.server.samples;
    if !server.is_empty() {
        h.push_str(&chart(
            "Server resident memory",
            "MiB",
            None,
            vec![Series {
                label: "RSS",
                color: "#37474f",
                points: server
                    .iter()
                    .map(|s| (s.at_ms / 1000.0, s.rss_bytes as f64 / 1048576.0))
                    .collect(),
            }],
        ));
        h.push_str(&chart(
            "Server descriptors and CPU",
            "count, % of a core",
            None,
            vec![
                Series {
                    label: "open fds",
                    color: "#5d4037",
                    points: server
                        .iter()
                        .map(|s| (s.at_ms / 1000.0, s.fds as f64))
                        .collect(),
                },
                Series {
                    label: "CPU %",
                    color: "#f9a825",
                    points: server
                        .iter()
                        .map(|s| (s.at_ms / 1000.0, s.cpu_percent))
                        .collect(),
                },
            ],
        ));
    }
    h.push_str("</div>");
}

fn phase_row(h: &mut String, name: &str, p: &PhaseStats) {
    let _ = write!(
        h,
        "<tr><td>{name}</td><td>{}</td><td>{}</td><td>{:.2}%</td><td>{:.1}</td><td>{:.1}</td></tr>",
        p.requests,
        p.ok,
        p.success_rate * 100.0,
        p.p50_ms,
        p.p99_ms
    );
}

/// When the legitimate requests began to fail, in seconds into the attack ("-": never).
fn first_failure(av: &Availability) -> String {
    av.time_to_denial_ms
        .map_or("-".into(), |ms| format!("{:.1} s", ms / 1000.0))
}

/// How long after the attack they recovered ("-": nothing failed; "never": not by the end).
fn recovered(av: &Availability) -> String {
    match (av.time_to_denial_ms, av.recovery_ms) {
        (None, _) => "-".into(),
        (Some(_), Some(ms)) => format!("{:.1} s", ms / 1000.0),
        (Some(_), None) => "never".into(),
    }
}

/// The legitimate requests by probe (in the order first sent): how many, how many were
/// answered as expected, and during the attack.
fn route_table(h: &mut String, samples: &[Sample]) {
    h.push_str("<table><tr><th>request</th><th>requests</th><th>ok</th><th>during the attack</th><th>attack p99 ms</th></tr>");
    let mut routes: Vec<&str> = Vec::new();
    for s in samples {
        if !routes.contains(&&*s.route) {
            routes.push(&s.route);
        }
    }
    for route in routes {
        let all: Vec<&Sample> = samples.iter().filter(|s| &*s.route == route).collect();
        if all.is_empty() {
            continue;
        }
        let attack: Vec<&Sample> = all
            .iter()
            .copied()
            .filter(|s| s.phase == Phase::Attack)
            .collect();
        let mut ok_ms: Vec<f64> = attack
            .iter()
            .filter(|s| s.ok())
            .map(|s| s.latency_ms)
            .collect();
        ok_ms.sort_by(f64::total_cmp);
        let p99 = verdict::percentile(&ok_ms, 0.99).map_or("-".into(), |v| format!("{v:.1}"));
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{} of {}</td><td>{p99}</td></tr>",
            esc(route),
            all.len(),
            all.iter().filter(|s| s.ok()).count(),
            ok_ms.len(),
            attack.len()
        );
    }
    h.push_str("</table>");
}

/// The legitimate samples of one time bucket.
struct Bucket {
    mid_s: f64,
    success_pct: f64,
    p50: Option<f64>,
    p99: Option<f64>,
}

/// A latency line over the buckets, with a gap (NaN) wherever no request succeeded, so that
/// the chart does not draw a line across an outage.
fn gapped(buckets: &[Bucket], pick: impl Fn(&Bucket) -> Option<f64>) -> Vec<(f64, f64)> {
    buckets
        .iter()
        .map(|b| (b.mid_s, pick(b).unwrap_or(f64::NAN)))
        .collect()
}

/// Groups samples by intended start into [`BUCKET_MS`] buckets.
fn legit_buckets(samples: &[Sample]) -> Vec<Bucket> {
    let last = samples.iter().map(|s| s.at_ms).fold(0.0, f64::max);
    let n = (last / BUCKET_MS).floor() as usize + 1;
    let mut groups: Vec<Vec<&Sample>> = (0..n).map(|_| Vec::new()).collect();
    for s in samples {
        groups[((s.at_ms / BUCKET_MS).floor() as usize).min(n - 1)].push(s);
    }
    groups
        .iter()
        .enumerate()
        .filter(|(_, g)| !g.is_empty())
        .map(|(i, g)| {
            let mut ok: Vec<f64> = g.iter().filter(|s| s.ok()).map(|s| s.latency_ms).collect();
            ok.sort_by(f64::total_cmp);
            let q = |q: f64| verdict::percentile(&ok, q);
            Bucket {
                mid_s: (i as f64 + 0.5) * BUCKET_MS / 1000.0,
                success_pct: ok.len() as f64 * 100.0 / g.len() as f64,
                p50: q(0.5),
                p99: q(0.99),
            }
        })
        .collect()
}

/// Writes `report.html` into `dir`, atomically.
pub fn write(
    dir: &Path,
    run: &RunInfo,
    results: &[Outcome],
    capacity: Option<&Capacity>,
    comparison: Option<&Comparison>,
) -> std::io::Result<std::path::PathBuf> {
    let page = render(run, results, capacity, comparison);
    super::write_atomically(dir, "report.html", page.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_split_successes_from_failures() {
        let s = |at_ms, status: Option<u16>, latency_ms| Sample {
            at_ms,
            phase: Phase::Attack,
            route: "health".into(),
            status,
            ok: status.is_some_and(|s| (200..300).contains(&s)),
            latency_ms,
        };
        let b = legit_buckets(&[
            s(100.0, Some(200), 5.0),
            s(600.0, None, 2000.0),
            s(1500.0, Some(200), 7.0),
        ]);
        assert_eq!(b.len(), 2);
        assert_eq!(b[0].success_pct, 50.0);
        assert_eq!((b[0].p50, b[0].p99), (Some(5.0), Some(5.0)));
        assert_eq!(b[1].success_pct, 100.0);
        assert!(legit_buckets(&[]).is_empty() || legit_buckets(&[])[0].p50.is_none());
        // An outage is a gap in the latency line, not a slope across it.
        let b = legit_buckets(&[
            s(100.0, Some(200), 5.0),
            s(1100.0, None, 2000.0),
            s(2100.0, Some(200), 7.0),
        ]);
        let line = gapped(&b, |b| b.p50);
        assert_eq!((line[0], line[2]), ((0.5, 5.0), (2.5, 7.0)));
        assert!(line[1].1.is_nan());
    }

    #[test]
    fn routes_are_tabled_with_their_attack_share_and_failures_are_timed() {
        let s = |phase, route: &str, status: Option<u16>, latency_ms| Sample {
            at_ms: 0.0,
            phase,
            route: route.into(),
            status,
            ok: status.is_some_and(|s| (200..300).contains(&s)),
            latency_ms,
        };
        let mut h = String::new();
        route_table(
            &mut h,
            &[
                s(Phase::Baseline, "login", Some(201), 80.0),
                s(Phase::Attack, "login", Some(503), 3.0),
                s(Phase::Attack, "login", Some(201), 90.0),
                s(Phase::Attack, "GET /", Some(200), 2.0),
            ],
        );
        assert!(
            h.contains("<tr><td>login</td><td>3</td><td>2</td><td>1 of 2</td><td>90.0</td></tr>"),
            "{h}"
        );
        assert!(h.contains("<td>GET /</td><td>1</td><td>1</td><td>1 of 1</td>"));
        assert!(
            !h.contains("/v1/accounts"),
            "no row for a route never asked"
        );
        let av = |d, r| Availability {
            time_to_denial_ms: d,
            recovery_ms: r,
        };
        assert_eq!(
            (
                first_failure(&av(None, Some(0.0))),
                recovered(&av(None, Some(0.0)))
            ),
            ("-".into(), "-".into())
        );
        assert_eq!(first_failure(&av(Some(1500.0), None)), "1.5 s");
        assert_eq!(recovered(&av(Some(1500.0), None)), "never");
        assert_eq!(recovered(&av(Some(1500.0), Some(2250.0))), "2.2 s");
    }
}
