//! The legitimate client: a fresh TLS connection and one request at a fixed rate (open model:
//! each request starts on schedule whether or not earlier ones have finished), from its own
//! address, with latency measured from the intended send time so that a stalled server is not
//! hidden by a stalled client (coordinated omission).
//!
//! What it asks for is a mix ([`Mix`]) of probes ([`Probe`]): `--probe "METHOD PATH
//! [STATUS]"` or the plan's `[[probe]]` tables, else `GET /healthz` when the target's OpenAPI
//! document lists it and `GET /` when not. With a login flow ([`crate::login`]) the client
//! has a session of its own: probes marked `auth` carry it, and it logs in again every
//! `login_every` (rampart's preset: `GET /v1/accounts` for every third request and a login
//! every 6 s).
//!
//! During a DoS scenario it runs on a thread and runtime of its own ([`isolated`]): on the
//! attack's runtime its requests waited behind thousands of attack tasks, so the latency it
//! measured was partly the harness's own scheduling (an `oversize` run at the stress preset
//! read a p99 of 1.9 s while the target's CPU was at 78 %).

pub mod readiness;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use crate::client::{self, Client, Response};
use crate::declared::Declared;
use crate::login::{Flow, Session, Transport};
use crate::request::Request;
use crate::sources::PROBE_ADDR;
use crate::verdict::{self, PhaseStats};

/// The health route: rampart's, and the default probe's when a target's document lists it.
pub const HEALTH_PATH: &str = "/healthz";

/// The probe's `User-Agent`.
pub const PROBE_AGENT: &str = "attack-sim probe";

/// One kind of legitimate request.
#[derive(Debug, Clone, PartialEq)]
pub struct Probe {
    /// As reports name it (`health`, `accounts`, `login`, or `METHOD PATH`).
    pub label: Arc<str>,
    /// The request and the status it expects.
    pub request: Declared,
    /// Sent with the client's session.
    pub auth: bool,
    /// Its share of the mix against the others' (at least 1).
    pub weight: u32,
}

/// `[[probe]]` in a plan: a declared request (see [`Declared`]) and how it joins the mix.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProbeSpec {
    /// Its name in reports (default: `METHOD PATH`).
    pub name: Option<String>,
    /// Sent with the legitimate client's session (needs a `[login]`).
    #[serde(default)]
    pub auth: bool,
    /// Its share of the mix (default 1).
    #[serde(default = "one")]
    pub weight: u32,
    /// The request.
    #[serde(flatten)]
    pub request: Declared,
}

fn one() -> u32 {
    1
}

impl Probe {
    /// From `METHOD PATH [STATUS]` (`--probe`).
    pub fn from_line(line: &str) -> Result<Probe, crate::declared::DeclaredError> {
        let request = Declared::parse_line(line)?;
        Ok(Probe::plain(request))
    }

    /// An unauthenticated probe of weight 1, labelled `health` for `GET /healthz`, else by its
    /// method and path.
    pub fn plain(request: Declared) -> Probe {
        let label = if request.method == "GET" && request.path == HEALTH_PATH {
            "health".into()
        } else {
            request.describe().into()
        };
        Probe {
            label,
            request,
            auth: false,
            weight: 1,
        }
    }

    /// From a plan's `[[probe]]` (the `n`th).
    pub fn from_spec(spec: &ProbeSpec, n: usize) -> Result<Probe, crate::declared::DeclaredError> {
        spec.request.check(&format!("[[probe]] {n}"), &[])?;
        if spec.weight == 0 {
            return Err(crate::declared::DeclaredError::Invalid(format!(
                "[[probe]] {n}: weight must be at least 1"
            )));
        }
        let mut p = Probe::plain(spec.request.clone());
        if let Some(name) = &spec.name {
            p.label = name.as_str().into();
        }
        p.auth = spec.auth;
        p.weight = spec.weight;
        Ok(p)
    }

    /// The default: `GET /healthz` when `doc` lists it, else `GET /`.
    pub fn default_for(doc: Option<&serde_json::Value>) -> Probe {
        let listed = doc.is_some_and(|d| d["paths"][HEALTH_PATH]["get"].is_object());
        Probe::plain(Declared::new(
            "GET",
            if listed { HEALTH_PATH } else { "/" },
            None,
        ))
    }

    /// Rampart's authenticated read: `GET /v1/accounts` with the session.
    pub fn rampart_accounts() -> Probe {
        Probe {
            label: "accounts".into(),
            request: Declared::new("GET", ACCOUNTS_PATH, Some(200)),
            auth: true,
            weight: 1,
        }
    }
}

/// Rampart's authenticated read.
pub const ACCOUNTS_PATH: &str = "/v1/accounts";

/// What one request of the mix is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pick {
    /// The `n`th probe.
    Probe(usize),
    /// A login of the client's user.
    Login,
}

/// The legitimate requests: the probes, weighted; with a session, also a login every
/// `login_every` (the first half way through the baseline, so that the baseline has one).
#[derive(Debug, Clone)]
pub struct Mix {
    /// The probes (at least one).
    pub probes: Vec<Probe>,
    /// The client's session and the flow it came from.
    pub session: Option<(Arc<Flow>, Session)>,
    /// The address the requests come from.
    pub from: IpAddr,
}

impl Default for Mix {
    fn default() -> Self {
        Mix {
            probes: vec![Probe::plain(Declared::new("GET", HEALTH_PATH, None))],
            session: None,
            from: PROBE_ADDR,
        }
    }
}

impl Mix {
    /// The probes that can be sent: all, less the authenticated ones when there is no session.
    fn usable(&self) -> impl Iterator<Item = (usize, &Probe)> {
        self.probes
            .iter()
            .enumerate()
            .filter(|(_, p)| !p.auth || self.session.is_some())
    }

    /// The order probes take, one cycle: smooth weighted round robin (nginx's), so that a
    /// probe of weight 2 beside one of weight 1 goes a, b, a.
    fn cycle(&self) -> Vec<usize> {
        let usable: Vec<(usize, u32)> = self.usable().map(|(i, p)| (i, p.weight.max(1))).collect();
        let total: i64 = usable.iter().map(|(_, w)| i64::from(*w)).sum();
        let mut current = vec![0i64; usable.len()];
        let mut order = Vec::new();
        for _ in 0..total {
            for (c, (_, w)) in current.iter_mut().zip(&usable) {
                *c += i64::from(*w);
            }
            let Some((best, _)) = current
                .iter()
                .enumerate()
                .max_by_key(|(i, c)| (**c, -(*i as i64)))
            else {
                break;
            };
            current[best] -= total;
            order.push(usable[best].0);
        }
        order
    }

    /// What request `k` is, at `rate` per second, for a baseline of `baseline`.
    pub fn pick(&self, k: u64, rate: u32, baseline: Duration) -> Pick {
        if let Some((flow, _)) = &self.session
            && let Some(every) = flow.login_every
        {
            let rate = u64::from(rate.max(1));
            let first_login = (baseline.as_secs_f64() / 2.0 * rate as f64) as u64;
            let every = ((every.as_secs_f64() * rate as f64) as u64).max(1);
            if k >= first_login && (k - first_login).is_multiple_of(every) {
                return Pick::Login;
            }
        }
        let cycle = self.cycle();
        if cycle.is_empty() {
            return Pick::Probe(0);
        }
        Pick::Probe(cycle[(k % cycle.len() as u64) as usize])
    }

    /// The label, request and expectation of `pick`.
    fn request(&self, pick: Pick) -> (Arc<str>, Request, Declared) {
        match (pick, &self.session) {
            (Pick::Login, Some((flow, session))) => (
                "login".into(),
                flow.login_request(&session.credentials),
                flow.login.clone(),
            ),
            (Pick::Probe(i), session) => {
                let p = &self.probes[i.min(self.probes.len() - 1)];
                let mut req = p.request.render(&Default::default());
                if p.auth
                    && let Some((_, s)) = session
                {
                    req = s.authorize(req);
                }
                (p.label.clone(), req, p.request.clone())
            }
            (Pick::Login, None) => self.request(Pick::Probe(0)),
        }
    }

    /// What the mix is, in a line.
    pub fn describe(&self) -> String {
        let cycle = self.cycle();
        let parts: Vec<String> = self
            .usable()
            .map(|(i, p)| {
                let mut text = p.request.describe();
                if p.auth
                    && let Some((_, s)) = &self.session
                {
                    text += &format!(" as {}", s.credentials.username);
                }
                let share = cycle.iter().filter(|&&c| c == i).count();
                if share < cycle.len() && self.probes.len() > 1 {
                    text += &format!(" ({share} in {} requests)", cycle.len());
                }
                text
            })
            .collect();
        match &self.session {
            Some((flow, _)) => match flow.login_every {
                Some(every) => format!(
                    "{}, and a login every {} s",
                    parts.join(", "),
                    every.as_secs_f64()
                ),
                None => parts.join(", "),
            },
            None if parts.len() == 1 => format!("{} only", parts[0]),
            None => parts.join(", "),
        }
    }
}

/// Requests on a fresh connection each, from one address: how the legitimate client logs in
/// (a [`Transport`] for the login flow).
pub struct FreshConnections {
    /// The TLS client.
    pub client: Client,
    /// The source address.
    pub from: IpAddr,
}

/// How long one of the client's own setup requests (registration, login) may take.
const SETUP_TIMEOUT: Duration = Duration::from_secs(30);

impl Transport for FreshConnections {
    async fn exchange(&self, req: &Request) -> Result<Response, String> {
        let work = async {
            let mut tls = self.client.tls_from(self.from).await?;
            client::exchange_full(&mut tls, &req.to_bytes(self.client.host(), PROBE_AGENT)).await
        };
        match tokio::time::timeout(SETUP_TIMEOUT, work).await {
            Ok(Ok(r)) => Ok(r),
            Ok(Err(e)) => {
                Err(crate::trust::explain(&e, self.client.host()).unwrap_or_else(|| e.to_string()))
            }
            Err(_) => Err(format!("no answer within {} s", SETUP_TIMEOUT.as_secs())),
        }
    }
}

/// The phase a request was scheduled in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    /// Before the attack.
    Baseline,
    /// During it.
    Attack,
    /// After it.
    Recovery,
}

/// One legitimate request.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Sample {
    /// Intended start, in ms from the start of the run.
    pub at_ms: f64,
    /// Its phase.
    pub phase: Phase,
    /// What it asked for: the probe's label.
    pub route: Arc<str>,
    /// HTTP status, if a response came in time.
    pub status: Option<u16>,
    /// The status was the one expected (any 2xx or 3xx, unless the probe names one), in time.
    pub ok: bool,
    /// From the intended start to the end of the response (or the timeout).
    pub latency_ms: f64,
}

impl Sample {
    /// Answered as expected, in time.
    pub fn ok(&self) -> bool {
        self.ok
    }
}

/// When the phases start and end, relative to `start`.
#[derive(Debug, Clone, Copy)]
pub struct Schedule {
    /// Start of the run.
    pub start: Instant,
    /// Start of the attack.
    pub attack: Instant,
    /// End of the attack.
    pub recovery: Instant,
    /// End of the run.
    pub end: Instant,
}

impl Schedule {
    /// The phase of instant `at`.
    pub fn phase(&self, at: Instant) -> Phase {
        if at < self.attack {
            Phase::Baseline
        } else if at < self.recovery {
            Phase::Attack
        } else {
            Phase::Recovery
        }
    }
}

/// Runs the probe over the whole schedule; returns every sample in order.
pub async fn run(
    client: Client,
    mix: Mix,
    rate: u32,
    timeout: Duration,
    schedule: Schedule,
) -> Vec<Sample> {
    run_window(
        client,
        mix,
        rate,
        timeout,
        schedule,
        schedule.start,
        schedule.end,
        0,
    )
    .await
}

/// Runs `work` (a legitimate-client window) to its end on a thread with a runtime of its own,
/// so that its requests are not queued behind the attack's tasks; the kernel schedules that
/// thread as any other. `None` if the thread could not be started or its work panicked.
pub async fn isolated<T: Send + 'static>(
    work: impl std::future::Future<Output = T> + Send + 'static,
) -> Option<T> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let started = std::thread::Builder::new()
        .name("attack-sim-legit".to_string())
        .spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            let _ = tx.send(rt.block_on(work));
        });
    match started {
        Ok(_) => rx.await.ok(),
        Err(_) => None,
    }
}

/// [`run`] over `from..until` only, the first request numbered `k0` (the mix's order counts
/// from the schedule's start).
#[allow(clippy::too_many_arguments)]
pub async fn run_window(
    client: Client,
    mix: Mix,
    rate: u32,
    timeout: Duration,
    schedule: Schedule,
    from: Instant,
    until: Instant,
    k0: u64,
) -> Vec<Sample> {
    let mut tick =
        tokio::time::interval_at(from, Duration::from_secs_f64(1.0 / f64::from(rate.max(1))));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut tasks = Vec::new();
    let baseline = schedule.attack - schedule.start;
    for k in k0.. {
        let at = tick.tick().await;
        if at >= until {
            break;
        }
        let (client, from) = (client.clone(), mix.from);
        let (route, request, expect) = mix.request(mix.pick(k, rate, baseline));
        let request = request.to_bytes(client.host(), PROBE_AGENT);
        tasks.push(tokio::spawn(async move {
            let work = async {
                let mut tls = client.tls_from(from).await.ok()?;
                client::exchange(&mut tls, &request).await.ok()
            };
            let status = tokio::time::timeout(timeout, work).await.ok().flatten();
            Sample {
                at_ms: (at - schedule.start).as_secs_f64() * 1000.0,
                phase: schedule.phase(at),
                route,
                status,
                ok: status.is_some_and(|s| expect.expects(s)),
                latency_ms: at.elapsed().as_secs_f64() * 1000.0,
            }
        }));
    }
    let mut samples = Vec::with_capacity(tasks.len());
    for t in tasks {
        if let Ok(s) = t.await {
            samples.push(s);
        }
    }
    samples
}

/// The numbers of one phase; latency percentiles by [`verdict::percentile`].
pub fn stats(samples: &[Sample], phase: Phase) -> PhaseStats {
    let (mut requests, mut ok) = (0u64, 0u64);
    let mut latencies = Vec::new();
    for s in samples.iter().filter(|s| s.phase == phase) {
        requests += 1;
        if s.ok() {
            ok += 1;
            latencies.push(s.latency_ms);
        }
    }
    latencies.sort_by(f64::total_cmp);
    let q = |q: f64| verdict::percentile(&latencies, q).unwrap_or(0.0);
    PhaseStats::new(requests, ok, q(0.5), q(0.99))
}

/// When legitimate requests began to fail under the attack, and how long after it they
/// succeeded again (a failure: no 2xx within the timeout).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Availability {
    /// From the attack's start to the first failed request scheduled during it; `None` when
    /// none failed.
    pub time_to_denial_ms: Option<f64>,
    /// From the attack's end to the first success after the last failure: 0 when nothing
    /// failed from the attack's end on; `None` when requests were still failing at the end of
    /// the run (not recovered).
    pub recovery_ms: Option<f64>,
}

/// [`Availability`] from `samples` (in order) and the attack's window, all in ms from the
/// start of the run.
pub fn availability(samples: &[Sample], attack_from_ms: f64, attack_to_ms: f64) -> Availability {
    let time_to_denial_ms = samples
        .iter()
        .find(|s| s.phase == Phase::Attack && !s.ok())
        .map(|s| s.at_ms - attack_from_ms);
    let last_failure = samples
        .iter()
        .rposition(|s| s.at_ms >= attack_from_ms && !s.ok());
    let recovery_ms = match last_failure {
        Some(i) if samples[i].at_ms >= attack_to_ms => samples[i + 1..]
            .iter()
            .find(|s| s.ok())
            .map(|s| s.at_ms - attack_to_ms),
        _ => Some(0.0),
    };
    Availability {
        time_to_denial_ms,
        recovery_ms,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rampart_mix() -> Mix {
        let session = Session::for_tests(crate::login::Present::Header {
            name: "Authorization".into(),
            prefix: "Bearer ".into(),
        });
        let mut health = Probe::plain(Declared::new("GET", HEALTH_PATH, None));
        health.weight = 2;
        Mix {
            probes: vec![health, Probe::rampart_accounts()],
            session: Some((Arc::new(Flow::rampart()), session)),
            ..Mix::default()
        }
    }

    #[test]
    fn the_mix_logs_in_in_the_baseline_and_every_six_seconds() {
        let none = Mix::default();
        assert!((0..100).all(|k| none.pick(k, 10, Duration::from_secs(2)) == Pick::Probe(0)));
        let mix = rampart_mix();
        let picks: Vec<_> = (0..200)
            .map(|k| mix.pick(k, 10, Duration::from_secs(2)))
            .collect();
        let logins: Vec<_> = (0..200).filter(|&k| picks[k] == Pick::Login).collect();
        assert_eq!(logins, [10, 70, 130, 190]);
        let accounts = picks.iter().filter(|r| **r == Pick::Probe(1)).count();
        assert!((60..=67).contains(&accounts), "{accounts}");
        let (label, req, _) = mix.request(Pick::Probe(0));
        assert_eq!(&*label, "health");
        let req = String::from_utf8(req.to_bytes("h", PROBE_AGENT)).expect("utf-8");
        assert!(req.starts_with("GET /healthz HTTP/1.1\r\nHost: h\r\n"));
        let (label, req, _) = mix.request(Pick::Probe(1));
        assert_eq!(&*label, "accounts");
        assert!(!req.describe("h").contains("not-a-real-token"));
        assert!(
            String::from_utf8_lossy(&req.to_bytes("h", "a")).contains("Bearer not-a-real-token")
        );
        assert!(
            mix.describe().starts_with("GET /healthz (2 in 3 requests), GET /v1/accounts as probe_test (1 in 3 requests), and a login every 6 s"),
            "{}",
            mix.describe()
        );
    }

    #[test]
    fn weights_share_the_mix_and_authenticated_probes_wait_for_a_session() {
        let mut a = Probe::from_line("GET /").expect("probe");
        a.weight = 3;
        let b = Probe::from_line("GET /about 200").expect("probe");
        let mut c = Probe::from_line("GET /me").expect("probe");
        c.auth = true;
        let mix = Mix {
            probes: vec![a, b, c],
            ..Mix::default()
        };
        let picks: Vec<_> = (0..8)
            .map(|k| mix.pick(k, 10, Duration::from_secs(2)))
            .collect();
        assert_eq!(picks.iter().filter(|p| **p == Pick::Probe(0)).count(), 6);
        assert_eq!(picks.iter().filter(|p| **p == Pick::Probe(1)).count(), 2);
        assert!(!picks.contains(&Pick::Probe(2)), "no session: {picks:?}");
        assert_eq!(
            mix.describe(),
            "GET / (3 in 4 requests), GET /about (1 in 4 requests)"
        );
    }

    #[test]
    fn the_default_probe_follows_the_document() {
        let doc = serde_json::json!({"paths": {"/healthz": {"get": {}}}});
        assert_eq!(Probe::default_for(Some(&doc)).request.path, "/healthz");
        assert_eq!(&*Probe::default_for(Some(&doc)).label, "health");
        assert_eq!(Probe::default_for(None).request.path, "/");
        let other = serde_json::json!({"paths": {"/status": {"get": {}}}});
        assert_eq!(&*Probe::default_for(Some(&other)).label, "GET /");
        assert_eq!(Mix::default().describe(), "GET /healthz only");
    }

    #[test]
    fn probes_expect_what_they_say() {
        let any = Probe::from_line("GET /").expect("probe");
        assert!(any.request.expects(301) && !any.request.expects(404));
        let exact = Probe::from_line("GET /missing 404").expect("probe");
        assert!(exact.request.expects(404) && !exact.request.expects(200));
    }

    #[test]
    fn denial_and_recovery_are_timed_from_the_attack_window() {
        let s = |at_ms: f64, ok: bool| Sample {
            at_ms,
            phase: if at_ms < 1000.0 {
                Phase::Baseline
            } else if at_ms < 2000.0 {
                Phase::Attack
            } else {
                Phase::Recovery
            },
            route: "health".into(),
            status: ok.then_some(200),
            ok,
            latency_ms: 1.0,
        };
        let run = |pattern: &[(f64, bool)]| {
            let samples: Vec<_> = pattern.iter().map(|&(t, ok)| s(t, ok)).collect();
            availability(&samples, 1000.0, 2000.0)
        };
        // Held throughout.
        let a = run(&[(500.0, true), (1500.0, true), (2500.0, true)]);
        assert_eq!((a.time_to_denial_ms, a.recovery_ms), (None, Some(0.0)));
        // Failing from 1.3 s into the attack until 0.7 s after it.
        let a = run(&[
            (500.0, true),
            (1100.0, true),
            (1300.0, false),
            (1900.0, false),
            (2300.0, false),
            (2700.0, true),
            (2900.0, true),
        ]);
        assert_eq!(
            (a.time_to_denial_ms, a.recovery_ms),
            (Some(300.0), Some(700.0))
        );
        // Recovered before the attack ended.
        let a = run(&[(1200.0, false), (1500.0, true), (2100.0, true)]);
        assert_eq!(
            (a.time_to_denial_ms, a.recovery_ms),
            (Some(200.0), Some(0.0))
        );
        // Never recovered.
        let a = run(&[(1200.0, false), (2500.0, true), (2900.0, false)]);
        assert_eq!((a.time_to_denial_ms, a.recovery_ms), (Some(200.0), None));
        // A baseline failure is not a denial.
        let a = run(&[(500.0, false), (1500.0, true)]);
        assert_eq!((a.time_to_denial_ms, a.recovery_ms), (None, Some(0.0)));
    }

    #[test]
    fn stats_count_failures_but_time_only_successes() {
        let s = |phase, status: Option<u16>, latency_ms| Sample {
            at_ms: 0.0,
            phase,
            route: "health".into(),
            status,
            ok: status.is_some_and(|s| (200..300).contains(&s)),
            latency_ms,
        };
        let samples = [
            s(Phase::Baseline, Some(200), 2.0),
            s(Phase::Attack, Some(200), 4.0),
            s(Phase::Attack, Some(503), 1.0),
            s(Phase::Attack, None, 5000.0),
            s(Phase::Attack, Some(204), 8.0),
            s(Phase::Attack, Some(200), 6.0),
        ];
        let a = stats(&samples, Phase::Attack);
        assert_eq!((a.requests, a.ok), (5, 3));
        assert!((a.success_rate - 0.6).abs() < 1e-9);
        // Of three, the median is the middle one and the p99 the second slowest.
        assert!((a.p50_ms - 6.0).abs() < 0.01, "{a:?}");
        assert!((a.p99_ms - 6.0).abs() < 0.01, "{a:?}");
        let r = stats(&samples, Phase::Recovery);
        assert_eq!((r.requests, r.success_rate), (0, 0.0));
    }
}
