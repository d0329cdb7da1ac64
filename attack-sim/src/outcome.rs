//! One scenario's outcome, whichever its kind: a DoS run (legitimate client, attack,
//! verdict by availability) or a scan (checks, findings). The reports take these.

use serde::Serialize;
use serde::ser::SerializeMap;

use crate::dos::runner::ScenarioResult;
use crate::findings::Finding;
use crate::scans::ScanResult;
use crate::verdict::Verdict;

/// A scenario's outcome.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// A DoS scenario's.
    Dos(Box<ScenarioResult>),
    /// A scanner's.
    Scan(ScanResult),
}

impl Outcome {
    /// The scenario's name.
    pub fn name(&self) -> &'static str {
        match self {
            Outcome::Dos(r) => r.name,
            Outcome::Scan(r) => r.name,
        }
    }

    /// Its kind.
    pub fn kind(&self) -> &'static str {
        match self {
            Outcome::Dos(r) => r.kind,
            Outcome::Scan(r) => r.kind,
        }
    }

    /// Its verdict.
    pub fn verdict(&self) -> Verdict {
        match self {
            Outcome::Dos(r) => r.verdict,
            Outcome::Scan(r) => r.verdict,
        }
    }

    /// How long it took.
    pub fn elapsed_ms(&self) -> f64 {
        match self {
            Outcome::Dos(r) => r.elapsed_ms,
            Outcome::Scan(r) => r.elapsed_ms,
        }
    }

    /// Its findings (none for DoS scenarios: their verdict is the result).
    pub fn findings(&self) -> &[Finding] {
        match self {
            Outcome::Dos(_) => &[],
            Outcome::Scan(r) => &r.findings,
        }
    }

    /// The DoS result, if it is one.
    pub fn dos(&self) -> Option<&ScenarioResult> {
        match self {
            Outcome::Dos(r) => Some(r),
            Outcome::Scan(_) => None,
        }
    }
}

/// In report.json every scenario has the same top-level fields: a DoS scenario's `checks`
/// are empty and its `findings` too; a scan's `legit`, `attack` and `server` are null.
impl Serialize for Outcome {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Dos<'a> {
            #[serde(flatten)]
            result: &'a ScenarioResult,
            checks: [(); 0],
            findings: [(); 0],
        }
        match self {
            Outcome::Dos(result) => Dos {
                result,
                checks: [],
                findings: [],
            }
            .serialize(serializer),
            Outcome::Scan(r) => {
                let mut m = serializer.serialize_map(None)?;
                m.serialize_entry("name", r.name)?;
                m.serialize_entry("kind", r.kind)?;
                m.serialize_entry("verdict", &r.verdict)?;
                m.serialize_entry("note", &r.note)?;
                m.serialize_entry("elapsed_ms", &r.elapsed_ms)?;
                m.serialize_entry("legit", &())?;
                m.serialize_entry("attack", &())?;
                m.serialize_entry("server", &())?;
                m.serialize_entry("checks", &r.checks)?;
                m.serialize_entry("findings", &r.findings)?;
                m.end()
            }
        }
    }
}
