//! `make bench`: how fast and small the function is, beside the floor.
//!
//! Runs the release binary cold (a fresh process per push) and warm (one
//! process, many pushes) under a local Lambda Runtime API against moto on
//! 127.0.0.1, each run beside its floor: the same StartBuild from a fresh
//! `curl` process (the cold floor) or on a kept-alive connection (the warm
//! floor). Runs it warm once more against a CodeBuild endpoint that answers at
//! once, which leaves the function's own time. Adds the criterion figure of the
//! 4,000-reference decision (run by `make bench` first) and the binary and zip
//! sizes, and prints a Markdown table.

#[path = "../tests/support/mod.rs"]
mod support;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{ExitCode, Stdio};
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::StatusCode;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::{json, Value};
use support::function::Function;
use support::runtime_api::{RuntimeApi, DEADLINE};
use support::{http, moto, PROJECT};
use tokio::time::Instant;

/// Fresh processes measured, for the function and for `curl`.
const COLD_RUNS: usize = 9;
/// Pushes sent to one warm process (and requests on one warm connection).
const WARM_RUNS: usize = 40;
/// How long one invocation may take before the benchmark gives up.
const INVOKE_TIMEOUT: Duration = Duration::from_secs(30);
/// The arm64 deployment zip `cargo lambda build --release --arm64 --output-format zip` writes.
const ARM64_ZIP: &str = "target/lambda/codecommit-build-trigger/bootstrap.zip";
/// Criterion's estimates of the decision benchmark (`benches/decide.rs`).
const DECISION_ESTIMATES: &str = "target/criterion/decide 4000 references/new/estimates.json";

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

async fn run() -> Result<String, String> {
    let bin = support::trigger_bin();
    let moto = moto::Moto::start().await;
    moto::create_project(&moto::codebuild_client(&moto.endpoint()), PROJECT).await;
    let endpoint = moto.endpoint();
    let mut pushes = (0u32..).map(push_master);

    // Each function run is paired with its floor's request, one after the other, so the
    // host's and moto's drift over the run weighs on both alike.
    eprintln!("cold: {COLD_RUNS} fresh processes, one push each, each beside a fresh curl");
    let mut cold = Vec::new();
    let mut cold_floor = Vec::new();
    for (n, event) in pushes.by_ref().take(COLD_RUNS).enumerate() {
        cold.push(cold_start(&bin, &endpoint, &event).await?);
        cold_floor.push(curl_start_build(&endpoint, n).await?);
    }
    eprintln!("warm: one process, {WARM_RUNS} pushes, each beside one kept-alive StartBuild");
    let (warm, warm_floor) = warm_beside_floor(&bin, &endpoint, &mut pushes).await?;
    eprintln!("warm again, against a CodeBuild endpoint that answers at once");
    let instant = InstantCodeBuild::start().await;
    let (instant_warm, instant_floor) =
        warm_beside_floor(&bin, &instant.endpoint, &mut pushes).await?;

    let init = Stats::of(cold.iter().map(|run| run.init));
    let first = Stats::of(cold.iter().map(|run| run.first_invocation));
    let total = Stats::of(cold.iter().map(|run| run.total));
    let rss = Stats::of(cold.iter().map(|run| run.peak_rss_kib as f64 / 1024.0));
    let warm = Stats::of(warm);
    let cold_floor = Stats::of(cold_floor);
    let warm_floor = Stats::of(warm_floor);
    let instant_warm = Stats::of(instant_warm);
    let instant_floor = Stats::of(instant_floor);
    let decision_ms = decision_median_ms()?;
    let binary = file_size(&bin)?;
    let zip = file_size(Path::new(ARM64_ZIP))?;

    let overhead = warm.median - warm_floor.median;
    let own_overhead = instant_warm.median - instant_floor.median;
    let cold_ratio = total.median / cold_floor.median;
    let mib = |bytes: u64| bytes as f64 / (1024.0 * 1024.0);
    let rows = [
        stats_row(
            "init: process start to first `/next`",
            &init,
            "ms",
            "≤ 3 ms",
            Some(init.median <= 3.0),
        ),
        stats_row(
            "first invocation: decision, StartBuild, response",
            &first,
            "ms",
            "",
            None,
        ),
        stats_row(
            "cold: process start to response posted",
            &total,
            "ms",
            "",
            None,
        ),
        stats_row(
            "cold floor: a fresh `curl` sends one StartBuild",
            &cold_floor,
            "ms",
            "",
            None,
        ),
        figure_row(
            "cold ÷ cold floor",
            format!("{cold_ratio:.2}×"),
            "≤ 1.0×",
            cold_ratio <= 1.0,
        ),
        stats_row(
            "warm invocation (one process, one push after another)",
            &warm,
            "ms",
            "",
            None,
        ),
        stats_row(
            "warm floor: one StartBuild from a kept-alive client (moto closes each connection)",
            &warm_floor,
            "ms",
            "",
            None,
        ),
        figure_row(
            "warm − warm floor",
            format!("{overhead:.3} ms"),
            "< 0.5 ms",
            overhead < 0.5,
        ),
        stats_row(
            "warm invocation, CodeBuild answering at once",
            &instant_warm,
            "ms",
            "",
            None,
        ),
        stats_row(
            "warm floor, CodeBuild answering at once",
            &instant_floor,
            "ms",
            "",
            None,
        ),
        figure_row(
            "warm − warm floor, CodeBuild answering at once",
            format!("{own_overhead:.3} ms"),
            "< 0.5 ms",
            own_overhead < 0.5,
        ),
        stats_row(
            "peak RSS, cold",
            &rss,
            "MiB",
            "≤ 8 MiB",
            Some(rss.median <= 8.0),
        ),
        figure_row(
            "decision, 4,000 references (criterion median)",
            format!("{decision_ms:.3} ms"),
            "< 1 ms",
            decision_ms < 1.0,
        ),
        figure_row(
            "stripped x86_64 binary",
            format!("{:.2} MiB ({binary} bytes)", mib(binary)),
            "≤ 5 MiB",
            mib(binary) <= 5.0,
        ),
        figure_row(
            "arm64 deployment zip",
            format!("{:.2} MiB ({zip} bytes)", mib(zip)),
            "≤ 2 MiB",
            mib(zip) <= 2.0,
        ),
    ];
    let mut table = format!(
        "{}, {}; medians of {COLD_RUNS} cold starts and {WARM_RUNS} warm pushes\n\n\
         | measure | median | min–max | target | |\n| --- | --- | --- | --- | --- |\n",
        today(),
        machine()
    );
    for row in rows {
        table.push_str(&row);
        table.push('\n');
    }
    table.push('\n');
    table.push_str(&cost(total.median));
    Ok(table)
}

/// A table row of a sample's median and range, judged against `target` when `met` says.
fn stats_row(measure: &str, stats: &Stats, unit: &str, target: &str, met: Option<bool>) -> String {
    format!(
        "| {measure} | {:.2} {unit} | {:.2}–{:.2} {unit} | {target} | {} |",
        stats.median,
        stats.min,
        stats.max,
        met.map_or("", verdict)
    )
}

/// A table row of one figure, judged against `target`.
fn figure_row(measure: &str, figure: String, target: &str, met: bool) -> String {
    format!("| {measure} | {figure} | | {target} | {} |", verdict(met))
}

fn verdict(met: bool) -> &'static str {
    if met {
        "met"
    } else {
        "missed"
    }
}

/// One cold start: init, first invocation and their sum, and the peak RSS.
struct ColdRun {
    init: f64,
    first_invocation: f64,
    total: f64,
    peak_rss_kib: u64,
}

/// Queues `event`, starts a fresh function process and times it to its answer.
async fn cold_start(bin: &Path, endpoint: &str, event: &Value) -> Result<ColdRun, String> {
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
    let function = Function::spawn(bin, &environment(&runtime, endpoint));
    let (outcome, answered) = answer.await.map_err(|problem| problem.to_string())?;
    check_answer(outcome, &function)?;
    let peak_rss_kib = function.pid().map_or(Ok(0), peak_rss_kib)?;
    let first_poll = runtime
        .first_poll_at()
        .ok_or("the function answered without polling /next")?;
    Ok(ColdRun {
        init: millis(first_poll - started),
        first_invocation: millis(answered - first_poll),
        total: millis(answered - started),
        peak_rss_kib,
    })
}

/// One process, [`WARM_RUNS`] pushes in turn, each followed by one StartBuild of the
/// floor on a kept-alive connection: each push's time from queued to answered, and each
/// floor request's.
async fn warm_beside_floor(
    bin: &Path,
    endpoint: &str,
    pushes: &mut impl Iterator<Item = Value>,
) -> Result<(Vec<f64>, Vec<f64>), String> {
    let runtime = RuntimeApi::start().await;
    let function = Function::spawn(bin, &environment(&runtime, endpoint));
    if !runtime.wait_first_poll(Duration::from_secs(10)).await {
        return Err(format!("the function did not start: {}", function.stderr()));
    }
    let invoker = runtime.invoker();
    let floor = KeptAlive::new();
    // The first request opens the floor's connection, as the first push opens the function's.
    floor.start_build(endpoint, COLD_RUNS).await?;
    let mut times = Vec::new();
    let mut floor_times = Vec::new();
    for (n, event) in pushes.take(WARM_RUNS).enumerate() {
        let queued = Instant::now();
        let outcome = invoker.try_invoke(&event, DEADLINE, INVOKE_TIMEOUT).await;
        times.push(millis(queued.elapsed()));
        check_answer(outcome, &function)?;
        floor_times.push(floor.start_build(endpoint, COLD_RUNS + 1 + n).await?);
    }
    Ok((times, floor_times))
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

/// The function's environment under the emulated Lambda, calling moto directly.
fn environment(runtime: &RuntimeApi, endpoint: &str) -> Vec<(String, String)> {
    [
        ("AWS_LAMBDA_RUNTIME_API", runtime.addr().to_string()),
        (
            "AWS_LAMBDA_FUNCTION_NAME",
            "codecommit-build-trigger".into(),
        ),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128".into()),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".into()),
        ("AWS_REGION", moto::REGION.into()),
        ("AWS_ACCESS_KEY_ID", "testing".into()),
        ("AWS_SECRET_ACCESS_KEY", "testing".into()),
        ("AWS_ENDPOINT_URL", endpoint.into()),
        ("CODEBUILD_PROJECT", PROJECT.into()),
        // The sample commits exist in no repository: no commit message to read.
        ("SKIP_MARKERS", "false".into()),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_owned(), value))
    .collect()
}

/// A push to master of the `n`th commit (events/push-master.json with another commit id).
fn push_master(n: u32) -> Value {
    let mut event = support::sample_event("push-master.json");
    event["Records"][0]["codecommit"]["references"][0]["commit"] = json!(format!("{n:040x}"));
    event
}

/// Fails unless the function answered and started exactly one build.
fn check_answer(
    outcome: Option<Result<Value, support::runtime_api::FunctionError>>,
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

/// The StartBuild request both floors send: the function's own, as to size and fields
/// (token, five environment overrides), for another commit each time.
fn start_build_body(n: usize) -> String {
    let commit = format!("{:040x}", 0xf100 + n);
    let variable =
        |name: &str, value: &str| json!({"name": name, "value": value, "type": "PLAINTEXT"});
    json!({
        "projectName": PROJECT,
        "sourceVersion": commit,
        "idempotencyToken": format!("{:064x}", 0xf100 + n),
        "environmentVariablesOverride": [
            variable("CODECOMMIT_REPOSITORY", "my-app"),
            variable("CODECOMMIT_REF", "refs/heads/master"),
            variable("CODECOMMIT_BRANCH", "master"),
            variable("CODECOMMIT_COMMIT", &commit),
            variable("CODECOMMIT_PUSHER_ARN", "arn:aws:iam::123456789012:user/alice"),
        ],
    })
    .to_string()
}

/// The headers both floors send (moto reads the access key from the authorization).
const FLOOR_HEADERS: [(&str, &str); 3] = [
    ("X-Amz-Target", "CodeBuild_20161006.StartBuild"),
    ("Content-Type", "application/x-amz-json-1.1"),
    (
        "Authorization",
        "AWS4-HMAC-SHA256 Credential=testing/20261128/us-east-1/codebuild/aws4_request, \
         SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=0",
    ),
];

/// A fresh `curl` process sends the `n`th StartBuild: its time from start to exit.
async fn curl_start_build(endpoint: &str, n: usize) -> Result<f64, String> {
    let started = Instant::now();
    let output = tokio::process::Command::new("curl")
        .args([
            "--silent",
            "--output",
            "/dev/null",
            "--write-out",
            "%{http_code}",
        ])
        .args(
            FLOOR_HEADERS
                .iter()
                .flat_map(|(name, value)| ["--header".to_owned(), format!("{name}: {value}")]),
        )
        .args(["--data", &start_build_body(n), endpoint])
        .stdin(Stdio::null())
        .output()
        .await
        .map_err(|problem| format!("running curl: {problem}"))?;
    let elapsed = millis(started.elapsed());
    let status = String::from_utf8_lossy(&output.stdout);
    if status != "200" {
        return Err(format!("curl's StartBuild was answered {status}"));
    }
    Ok(elapsed)
}

/// The warm floor's client: StartBuild requests on one kept-alive connection, where the
/// server keeps it (moto's Werkzeug answers `Connection: close`, so against moto each
/// request opens a connection, as each of the function's does).
struct KeptAlive {
    client: Client<HttpConnector, Full<Bytes>>,
}

impl KeptAlive {
    fn new() -> KeptAlive {
        KeptAlive {
            client: Client::builder(TokioExecutor::new()).build_http(),
        }
    }

    /// Sends the `n`th StartBuild to `endpoint`: its time from sent to answered.
    async fn start_build(&self, endpoint: &str, n: usize) -> Result<f64, String> {
        let mut request = hyper::Request::post(endpoint);
        for (name, value) in FLOOR_HEADERS {
            request = request.header(name, value);
        }
        let request = request
            .body(Full::new(Bytes::from(start_build_body(n))))
            .map_err(|problem| problem.to_string())?;
        let started = Instant::now();
        let response = self
            .client
            .request(request)
            .await
            .map_err(|problem| format!("StartBuild on a kept-alive connection: {problem}"))?;
        let status = response.status();
        response
            .into_body()
            .collect()
            .await
            .map_err(|problem| problem.to_string())?;
        let elapsed = millis(started.elapsed());
        if !status.is_success() {
            return Err(format!("the kept-alive StartBuild was answered {status}"));
        }
        Ok(elapsed)
    }
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
}
