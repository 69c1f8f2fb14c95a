//! `make bench`: how fast and small the function is, beside the least a function can do.
//!
//! The floor is a minimal native program (`testkit/minimal_function.rs`, built here
//! with `rustc`): the Runtime API loop with fixed plain-HTTP requests and nothing else. The
//! starter's release binary (the function every push invokes) and the floor run in turn
//! under the same kind of local Lambda Runtime API, against moto's CodeBuild and the tests' local CodeCommit (a real git repository), in two
//! configurations: the shipped defaults (skip markers on: `GetCommit`, then `StartBuild`)
//! and skip markers off (`StartBuild` alone), the floor making the same requests. Cold: a
//! fresh process per push; warm: one process, one push after another. Warm once more
//! against a CodeBuild endpoint that answers at once, which leaves each program's own time.
//! Adds the criterion figure of the 4,000-reference decision (run by `make bench` first)
//! and the binary and zip sizes, and prints Markdown tables.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use http_body_util::BodyExt;
use hyper::StatusCode;
use serde_json::{json, Value};
use testkit::codecommit::LocalCodeCommit;
use testkit::function::Function;
use testkit::git::GitRepo;
use testkit::runtime_api::{RuntimeApi, DEADLINE};
use testkit::{http, moto, PROJECT};
use tokio::time::Instant;

/// Fresh processes measured, for each program and configuration.
const COLD_RUNS: usize = 11;
/// Pushes sent to one warm process of each program and configuration.
const WARM_RUNS: usize = 40;
/// How long one invocation may take before the benchmark gives up.
const INVOKE_TIMEOUT: Duration = Duration::from_secs(30);
/// The starter's arm64 deployment zip, as `cargo lambda build --release --arm64 --output-format
/// zip --bin starter` writes it.
const ARM64_ZIP: &str = "target/lambda/starter/bootstrap.zip";
/// Criterion's estimates of the decision benchmark (`benches/decide.rs`).
const DECISION_ESTIMATES: &str = "target/criterion/decide 4000 references/new/estimates.json";
/// The floor's source, and where the bench builds it.
const MINIMAL_SOURCE: &str = "testkit/minimal_function.rs";
const MINIMAL_BIN: &str = "target/minimal-function/bootstrap";
/// The repository of `events/push-master.json`.
const REPOSITORY: &str = "my-app";

/// Lambda's arm64 price per GB-second and per request (us-east-1, list price).
const ARM64_PRICE_PER_GB_SECOND: f64 = 0.000_013_333_4;
const PRICE_PER_REQUEST: f64 = 0.20 / 1_000_000.0;
const MEMORY_GB: f64 = 128.0 / 1024.0;
/// CodePipeline V2's price per action-execution minute, and the minutes of one push through
/// a source action (under a minute, billed as one) and a build action of
/// [`BUILD_MINUTES`].
const PIPELINE_V2_PER_ACTION_MINUTE: f64 = 0.002;
const BUILD_MINUTES: f64 = 5.0;

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(report) => {
            println!("{report}");
            ExitCode::SUCCESS
        }
        Err(problem) => {
            eprintln!("bench: {problem}");
            ExitCode::FAILURE
        }
    }
}

/// What is measured against what: the two programs and the two configurations.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Configuration {
    /// As shipped: skip markers on, so `GetCommit` before `StartBuild`.
    Defaults,
    /// `SKIP_MARKERS=false`: `StartBuild` alone.
    SkipMarkersOff,
}

impl Configuration {
    const ALL: [Configuration; 2] = [Configuration::Defaults, Configuration::SkipMarkersOff];

    fn label(self) -> &'static str {
        match self {
            Configuration::Defaults => "shipped defaults (GetCommit, StartBuild)",
            Configuration::SkipMarkersOff => "skip markers off (StartBuild)",
        }
    }
}

/// The local services both programs call, and the commit every push pushes.
struct Services {
    moto: moto::Moto,
    codecommit: LocalCodeCommit,
    _repo: GitRepo,
    commit: String,
}

/// The programs measured.
struct Programs {
    function: PathBuf,
    minimal: PathBuf,
}

/// A program's samples in one configuration.
#[derive(Default)]
struct Samples {
    cold: Vec<ColdRun>,
    warm: Vec<f64>,
}

async fn run() -> Result<String, String> {
    let programs = Programs {
        function: testkit::starter_bin(),
        minimal: build_minimal_function()?,
    };
    let services = Services::start().await;
    let mut function = [Samples::default(), Samples::default()];
    let mut minimal = [Samples::default(), Samples::default()];
    // Each function run is followed by the floor's, so drift in the host and the services
    // weighs on both alike.
    eprintln!(
        "cold: {COLD_RUNS} rounds of fresh processes, the function's and the floor's in turn"
    );
    for _ in 0..COLD_RUNS {
        for (index, configuration) in Configuration::ALL.into_iter().enumerate() {
            let env = services.environment(configuration, &services.codebuild_endpoint());
            function[index]
                .cold
                .push(cold_start(&programs.function, &env, &services.push()).await?);
            minimal[index]
                .cold
                .push(cold_start(&programs.minimal, &env, &services.push()).await?);
        }
    }
    for (index, configuration) in Configuration::ALL.into_iter().enumerate() {
        eprintln!(
            "warm, {}: {WARM_RUNS} pushes to each program in turn",
            configuration.label()
        );
        let env = services.environment(configuration, &services.codebuild_endpoint());
        let (own, floor) = warm_in_turn(&programs, &env, &services.push()).await?;
        function[index].warm = own;
        minimal[index].warm = floor;
    }
    eprintln!("warm again, skip markers off, against a CodeBuild endpoint that answers at once");
    let instant = InstantCodeBuild::start().await;
    let env = services.environment(Configuration::SkipMarkersOff, &instant.endpoint);
    let (instant_own, instant_floor) = warm_in_turn(&programs, &env, &services.push()).await?;

    let mut report = format!(
        "{}, {}; medians (min–max) of {COLD_RUNS} cold starts and {WARM_RUNS} warm pushes each\n\n",
        today(),
        machine()
    );
    report.push_str(&ratio_table(
        &function,
        &minimal,
        &instant_own,
        &instant_floor,
    ));
    report.push('\n');
    let defaults_cold = Stats::of(function[0].cold.iter().map(|run| run.total));
    report.push_str(&figures_table(&function[0])?);
    report.push('\n');
    report.push_str(&cost(defaults_cold.median));
    Ok(report)
}

/// The table of the function beside the floor: init, cold and warm in each configuration.
fn ratio_table(
    function: &[Samples; 2],
    minimal: &[Samples; 2],
    instant_own: &[f64],
    instant_floor: &[f64],
) -> String {
    let mut table = String::from(
        "| measure | function | minimal program | ratio | target | |\n| --- | --- | --- | --- | --- | --- |\n",
    );
    for (index, configuration) in Configuration::ALL.into_iter().enumerate() {
        let (own, floor) = (&function[index], &minimal[index]);
        let label = configuration.label();
        let rows = [
            (
                "init: process start to first `/next`",
                cold_stats(own, |run| run.init),
                cold_stats(floor, |run| run.init),
                1.25,
            ),
            (
                "cold: process start to response posted",
                cold_stats(own, |run| run.total),
                cold_stats(floor, |run| run.total),
                1.25,
            ),
            (
                "warm: one push after another",
                Stats::of(own.warm.iter().copied()),
                Stats::of(floor.warm.iter().copied()),
                1.5,
            ),
        ];
        for (measure, own, floor, target) in rows {
            table.push_str(&pair_row(
                &format!("{measure}, {label}"),
                &own,
                &floor,
                Some(target),
            ));
        }
    }
    let own = Stats::of(instant_own.iter().copied());
    let floor = Stats::of(instant_floor.iter().copied());
    table.push_str(&pair_row(
        &format!(
            "warm, CodeBuild answering at once (skip markers off): own time, {:.3} ms more than the floor's",
            own.median - floor.median
        ),
        &own,
        &floor,
        None,
    ));
    table
}

fn cold_stats(samples: &Samples, measure: impl Fn(&ColdRun) -> f64) -> Stats {
    Stats::of(samples.cold.iter().map(measure))
}

/// A row of two samples' medians and ranges and their ratio, judged against `target`.
fn pair_row(measure: &str, own: &Stats, floor: &Stats, target: Option<f64>) -> String {
    let ratio = own.median / floor.median;
    let (target, verdict) = match target {
        Some(target) => (format!("≤ {target}×"), verdict(ratio <= target)),
        None => (String::new(), ""),
    };
    format!(
        "| {measure} | {} | {} | {ratio:.2}× | {target} | {verdict} |\n",
        own.ms(),
        floor.ms()
    )
}

/// The table of the other figures: memory, the decision, sizes.
fn figures_table(defaults: &Samples) -> Result<String, String> {
    let rss = Stats::of(
        defaults
            .cold
            .iter()
            .map(|run| run.peak_rss_kib as f64 / 1024.0),
    );
    let decision_ms = decision_median_ms()?;
    let binary = file_size(&testkit::starter_bin())?;
    let zip = file_size(Path::new(ARM64_ZIP))?;
    let mib = |bytes: u64| bytes as f64 / (1024.0 * 1024.0);
    let rows = [
        (
            "peak RSS, cold, shipped defaults".to_owned(),
            format!("{:.2} MiB ({:.2}–{:.2})", rss.median, rss.min, rss.max),
            "≤ 6 MiB",
            rss.median <= 6.0,
        ),
        (
            "decision, 4,000 references (criterion median)".to_owned(),
            format!("{decision_ms:.3} ms"),
            "< 1 ms",
            decision_ms < 1.0,
        ),
        (
            "stripped x86_64 binary (starter)".to_owned(),
            format!("{:.2} MiB ({binary} bytes)", mib(binary)),
            "≤ 5 MiB",
            mib(binary) <= 5.0,
        ),
        (
            "arm64 deployment zip (starter)".to_owned(),
            format!("{:.2} MiB ({zip} bytes)", mib(zip)),
            "≤ 2 MiB",
            mib(zip) <= 2.0,
        ),
    ];
    let mut table = String::from("| measure | value | target | |\n| --- | --- | --- | --- |\n");
    for (measure, value, target, met) in rows {
        let _ = writeln!(
            table,
            "| {measure} | {value} | {target} | {} |",
            verdict(met)
        );
    }
    Ok(table)
}

fn verdict(met: bool) -> &'static str {
    if met {
        "met"
    } else {
        "missed"
    }
}

/// Builds the floor from its source with `rustc` alone, optimised for speed and linked
/// statically (no dynamic loader: the least a process can do at start).
fn build_minimal_function() -> Result<PathBuf, String> {
    let bin = crate_path(MINIMAL_BIN);
    let dir = bin.parent().ok_or("the floor's path has a directory")?;
    std::fs::create_dir_all(dir).map_err(|problem| format!("{}: {problem}", dir.display()))?;
    let status =
        std::process::Command::new(std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into()))
            .args([
                "--edition",
                "2021",
                "-C",
                "opt-level=3",
                "-C",
                "panic=abort",
                "-C",
                "strip=symbols",
            ])
            .args(["-C", "target-feature=+crt-static", "-o"])
            .arg(&bin)
            .arg(crate_path(MINIMAL_SOURCE))
            .status()
            .map_err(|problem| format!("running rustc: {problem}"))?;
    if status.success() {
        Ok(bin)
    } else {
        Err(format!("rustc could not build {MINIMAL_SOURCE}: {status}"))
    }
}

impl Services {
    /// moto with the project, and the local CodeCommit serving a repository of one commit.
    async fn start() -> Services {
        let moto = moto::Moto::start().await;
        moto::create_project(&moto::codebuild_client(&moto.endpoint()), PROJECT).await;
        let repo = GitRepo::init("master");
        repo.write("src/main.rs", "fn main() {}\n");
        let commit = repo.commit("Add the service");
        let codecommit = LocalCodeCommit::start().await;
        codecommit.add_git_repository(REPOSITORY, &repo);
        Services {
            moto,
            codecommit,
            _repo: repo,
            commit,
        }
    }

    fn codebuild_endpoint(&self) -> String {
        self.moto.endpoint()
    }

    /// The push every run gets: master at the repository's commit.
    fn push(&self) -> Value {
        testkit::push_master_of(&self.commit)
    }

    /// The environment of both programs under the emulated Lambda, calling `codebuild`.
    fn environment(&self, configuration: Configuration, codebuild: &str) -> Vec<(String, String)> {
        let mut env: Vec<(String, String)> = [
            ("AWS_LAMBDA_FUNCTION_NAME", "codecommit-build-trigger"),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"),
            ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
            ("AWS_REGION", moto::REGION),
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing"),
            ("AWS_ENDPOINT_URL", codebuild),
            (
                testkit::CODECOMMIT_ENDPOINT_VAR,
                &self.codecommit.endpoint(),
            ),
            ("CODEBUILD_PROJECT", PROJECT),
            ("MINIMAL_FUNCTION_COMMIT", &self.commit),
        ]
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .collect();
        if configuration == Configuration::SkipMarkersOff {
            env.push(("SKIP_MARKERS".into(), "false".into()));
        }
        env
    }
}

/// One cold start: init, init and first invocation, and the peak RSS.
struct ColdRun {
    init: f64,
    total: f64,
    peak_rss_kib: u64,
}

/// Queues `event`, starts a fresh process of `bin` and times it to its answer.
async fn cold_start(
    bin: &Path,
    env: &[(String, String)],
    event: &Value,
) -> Result<ColdRun, String> {
    let runtime = RuntimeApi::start().await;
    let invoker = runtime.invoker();
    let event = event.clone();
    let answer = tokio::spawn(async move {
        let outcome = invoker.try_invoke(&event, DEADLINE, INVOKE_TIMEOUT).await;
        (outcome, Instant::now())
    });
    // Let the invocation be queued, so the first `/next` takes it at once.
    tokio::time::sleep(Duration::from_millis(20)).await;
    let started = Instant::now();
    let function = Function::spawn(bin, &with_runtime_api(env, &runtime));
    let (outcome, answered) = answer.await.map_err(|problem| problem.to_string())?;
    check_answer(outcome, &function)?;
    let peak_rss_kib = function.pid().map_or(Ok(0), peak_rss_kib)?;
    let first_poll = runtime
        .first_poll_at()
        .ok_or("the function answered without polling /next")?;
    Ok(ColdRun {
        init: millis(first_poll - started),
        total: millis(answered - started),
        peak_rss_kib,
    })
}

/// One process of each program, [`WARM_RUNS`] pushes to each in turn: each push's time
/// from queued to answered, the function's and the floor's.
async fn warm_in_turn(
    programs: &Programs,
    env: &[(String, String)],
    event: &Value,
) -> Result<(Vec<f64>, Vec<f64>), String> {
    let mut started = Vec::new();
    for bin in [&programs.function, &programs.minimal] {
        let runtime = RuntimeApi::start().await;
        let process = Function::spawn(bin, &with_runtime_api(env, &runtime));
        if !runtime.wait_first_poll(Duration::from_secs(10)).await {
            return Err(format!(
                "{} did not start: {}",
                bin.display(),
                process.stderr()
            ));
        }
        started.push((runtime, process));
    }
    let mut times = [Vec::new(), Vec::new()];
    for _ in 0..WARM_RUNS {
        for ((runtime, process), times) in started.iter().zip(&mut times) {
            let queued = Instant::now();
            let outcome = runtime
                .invoker()
                .try_invoke(event, DEADLINE, INVOKE_TIMEOUT)
                .await;
            times.push(millis(queued.elapsed()));
            check_answer(outcome, process)?;
        }
    }
    let [own, floor] = times;
    Ok((own, floor))
}

/// `env` with `AWS_LAMBDA_RUNTIME_API` pointing at `runtime`.
fn with_runtime_api(env: &[(String, String)], runtime: &RuntimeApi) -> Vec<(String, String)> {
    let mut env = env.to_vec();
    env.push(("AWS_LAMBDA_RUNTIME_API".into(), runtime.addr().to_string()));
    env
}

/// A CodeBuild endpoint that answers every request at once with a build of the commit
/// asked for: what is left of a warm invocation beside its floor is the function's own
/// time, without moto's (several milliseconds, jittering by as much).
struct InstantCodeBuild {
    endpoint: String,
    _server: tokio::task::JoinHandle<()>,
}

impl InstantCodeBuild {
    async fn start() -> InstantCodeBuild {
        let (listener, addr) = http::bind_local("instant CodeBuild endpoint").await;
        let server = http::serve(listener, |request| async move {
            let body = request
                .into_body()
                .collect()
                .await
                .map(|body| body.to_bytes());
            let asked: Value = body
                .ok()
                .and_then(|body| serde_json::from_slice(&body).ok())
                .unwrap_or_default();
            let commit = asked["sourceVersion"].as_str().unwrap_or_default();
            let id = format!("{PROJECT}:{commit}");
            let build = json!({"build": {
                "id": id,
                "arn": format!("arn:aws:codebuild:{}:123456789012:build/{id}", moto::REGION),
                "projectName": PROJECT,
                "sourceVersion": commit,
                "buildStatus": "IN_PROGRESS",
            }});
            http::response(
                StatusCode::OK,
                "application/x-amz-json-1.1",
                build.to_string(),
            )
        });
        InstantCodeBuild {
            endpoint: format!("http://{addr}"),
            _server: server,
        }
    }
}

/// Fails unless the function answered and started exactly one build.
fn check_answer(
    outcome: Option<Result<Value, testkit::runtime_api::FunctionError>>,
    function: &Function,
) -> Result<(), String> {
    match outcome {
        Some(Ok(response)) if response["started"].as_array().map(Vec::len) == Some(1) => Ok(()),
        Some(Ok(response)) => Err(format!("the function started no build: {response}")),
        Some(Err(error)) => Err(format!("the function failed: {error}")),
        None => Err(format!(
            "the function did not answer within {INVOKE_TIMEOUT:?}: {}",
            function.stderr()
        )),
    }
}

/// `VmHWM`, the peak resident set of a live process, in KiB.
fn peak_rss_kib(pid: u32) -> Result<u64, String> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .map_err(|problem| format!("reading /proc/{pid}/status: {problem}"))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| format!("/proc/{pid}/status has no VmHWM"))
}

/// The median of the decision benchmark, in ms, from criterion's estimates.
fn decision_median_ms() -> Result<f64, String> {
    let path = crate_path(DECISION_ESTIMATES);
    let text = std::fs::read_to_string(&path).map_err(|problem| {
        format!(
            "reading {}: {problem} (make bench runs `cargo bench --bench decide` first)",
            path.display()
        )
    })?;
    let estimates: Value = serde_json::from_str(&text).map_err(|problem| problem.to_string())?;
    estimates["median"]["point_estimate"]
        .as_f64()
        .map(|nanos| nanos / 1e6)
        .ok_or_else(|| format!("{} has no median", path.display()))
}

fn file_size(path: &Path) -> Result<u64, String> {
    let path = crate_path(path);
    std::fs::metadata(&path)
        .map(|metadata| metadata.len())
        .map_err(|problem| format!("{}: {problem}", path.display()))
}

fn crate_path(path: impl AsRef<Path>) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// The cost of one triggered build and of a month of pushes, beside CodePipeline's.
fn cost(cold_ms: f64) -> String {
    // Billed duration: init plus invocation, rounded up to the millisecond; every push is
    // taken as a cold start, as pushes are usually minutes apart.
    let billed_ms = cold_ms.ceil();
    let per_push = PRICE_PER_REQUEST + billed_ms / 1000.0 * MEMORY_GB * ARM64_PRICE_PER_GB_SECOND;
    let pipeline_v2_per_push = (1.0 + BUILD_MINUTES) * PIPELINE_V2_PER_ACTION_MINUTE;
    let mut text = format!(
        "Cost (list prices, free tiers ignored; the CodeBuild minutes are the same either way): \
         one push costs ${per_push:.10} on arm64 at 128 MB ({billed_ms:.0} ms billed, cold).\n\n\
         | pushes a month | this function | CodePipeline V1 | CodePipeline V2 ({BUILD_MINUTES:.0}-minute build) |\n\
         | --- | --- | --- | --- |\n"
    );
    for pushes in [100.0, 10_000.0] {
        let _ = writeln!(
            text,
            "| {pushes:.0} | ${:.6} | $1.00 | ${:.2} |",
            pushes * per_push,
            pushes * pipeline_v2_per_push
        );
    }
    text
}

/// Today's date (UTC), as `date` prints it.
fn today() -> String {
    std::process::Command::new("date")
        .args(["-u", "+%Y-%m-%d"])
        .output()
        .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_owned())
        .unwrap_or_else(|_| "date unknown".to_owned())
}

/// Cores and CPU model of this machine.
fn machine() -> String {
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find_map(|line| line.strip_prefix("model name"))
                .map(|rest| rest.trim_start_matches([' ', '\t', ':']).to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned());
    format!("{cores} cores, {model}")
}

fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// Median, minimum and maximum of a sample.
struct Stats {
    median: f64,
    min: f64,
    max: f64,
}

impl Stats {
    fn of(sample: impl IntoIterator<Item = f64>) -> Stats {
        let mut sample: Vec<f64> = sample.into_iter().collect();
        sample.sort_by(f64::total_cmp);
        let middle = sample.len() / 2;
        let median = match sample.len() {
            0 => f64::NAN,
            len if len % 2 == 1 => sample[middle],
            _ => (sample[middle - 1] + sample[middle]) / 2.0,
        };
        Stats {
            median,
            min: sample.first().copied().unwrap_or(f64::NAN),
            max: sample.last().copied().unwrap_or(f64::NAN),
        }
    }

    /// `median ms (min–max)`.
    fn ms(&self) -> String {
        format!("{:.2} ms ({:.2}–{:.2})", self.median, self.min, self.max)
    }
}
