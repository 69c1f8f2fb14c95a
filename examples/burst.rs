//! `make bench`'s burst: 1,000 pushes from 100 repositories, each with its own
//! `.codecommit-build-trigger.yml`, through 8 processes of the starter's release binary at once
//! (as `many-repositories.yaml` configures it), each under a local Lambda Runtime API, against
//! the tests' local CodeCommit (real git repositories, `GetFile` and `GetCommit`) and moto's
//! CodeBuild behind the recording proxy, which answers every StartBuild with
//! `ThrottlingException` for the burst's first seconds. An invocation that fails is sent again,
//! twice at most, as Lambda retries an asynchronous event.
//!
//! Fails unless every push started exactly one build, of its commit, in the project its
//! repository's file names, from its own repository. Prints the wall time, the time from each
//! event to its StartBuild's answer (p50, p99), the starter's CPU per push and the cost per
//! 1,000 pushes, as a Markdown table.

use std::collections::{HashMap, VecDeque};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;
use testkit::codecommit::LocalCodeCommit;
use testkit::function::Function;
use testkit::git::GitRepo;
use testkit::proxy::{Fault, Proxy};
use testkit::runtime_api::{RuntimeApi, DEADLINE};
use testkit::{events, moto, now};
use tokio::time::Instant;

/// Repositories, each with its own file.
const REPOSITORIES: usize = 100;
/// Pushes of each repository, each of a commit of its own.
const PUSHES_PER_REPOSITORY: usize = 10;
/// Starter processes taking events at once.
const PROCESSES: usize = 8;
/// How long every StartBuild is answered `ThrottlingException` once the burst starts.
const THROTTLED_FOR: Duration = Duration::from_secs(3);
/// The projects the files name, one per repository in turn.
const PROJECTS: [&str; 4] = ["team-api", "team-web", "team-data", "team-docs"];
/// Where the starters' metric lines go (relative to the workspace, where `make bench` runs).
const METRICS_FILE: &str = "target/burst-metrics.jsonl";
/// How many times an event that failed is sent again (Lambda's asynchronous retries).
const RETRIES: usize = 2;
/// How long one invocation may take before the burst gives up.
const INVOKE_TIMEOUT: Duration = Duration::from_secs(60);
/// The file every repository keeps its rules in.
const FILE: &str = ".codecommit-build-trigger.yml";
/// Lambda's arm64 price per GB-second and per request (us-east-1, list price), at 128 MB.
const ARM64_PRICE_PER_GB_SECOND: f64 = 0.000_013_333_4;
const PRICE_PER_REQUEST: f64 = 0.20 / 1_000_000.0;
const MEMORY_GB: f64 = 128.0 / 1024.0;

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(report) => {
            println!("{report}");
            ExitCode::SUCCESS
        }
        Err(problem) => {
            eprintln!("burst: {problem}");
            ExitCode::FAILURE
        }
    }
}

/// One push of the burst.
struct Push {
    repository: String,
    commit: String,
    project: &'static str,
}

/// What the workers share: the events still to send (index, attempt), when each was first
/// queued, each invocation's time, and how many invocations failed.
#[derive(Default)]
struct Dispatch {
    queue: VecDeque<(usize, usize)>,
    first_queued: HashMap<usize, Instant>,
    invocations: Vec<Duration>,
    failed: usize,
    dropped: Vec<String>,
}

async fn run() -> Result<String, String> {
    let moto = moto::Moto::start().await;
    let codebuild = moto::codebuild_client(&moto.endpoint());
    for project in PROJECTS {
        moto::create_project(&codebuild, project).await;
    }
    let proxy = Proxy::start(moto.addr()).await;
    let codecommit = LocalCodeCommit::start().await;
    eprintln!("burst: {REPOSITORIES} repositories of {PUSHES_PER_REPOSITORY} commits each");
    let (repositories, pushes) = repositories(&codecommit);

    let env = environment(&proxy.endpoint(), &codecommit.endpoint());
    let mut processes = Vec::new();
    for _ in 0..PROCESSES {
        let runtime = RuntimeApi::start().await;
        let mut env = env.clone();
        env.push(("AWS_LAMBDA_RUNTIME_API".into(), runtime.addr().to_string()));
        let function = Function::spawn(&testkit::starter_bin(), &env);
        if !runtime.wait_first_poll(Duration::from_secs(10)).await {
            return Err(format!("a starter did not start: {}", function.stderr()));
        }
        processes.push((runtime, function));
    }

    let dispatch = Arc::new(Mutex::new(Dispatch {
        queue: (0..pushes.len()).map(|index| (index, 0)).collect(),
        ..Dispatch::default()
    }));
    let pushes = Arc::new(pushes);
    eprintln!(
        "burst: {} pushes through {PROCESSES} starters, StartBuild throttled for {THROTTLED_FOR:?}",
        pushes.len()
    );
    proxy.inject(Fault::throttling("StartBuild").for_period(THROTTLED_FOR));
    let started = Instant::now();
    let workers: Vec<_> = processes
        .iter()
        .map(|(runtime, _)| {
            let invoker = runtime.invoker();
            let dispatch = Arc::clone(&dispatch);
            let pushes = Arc::clone(&pushes);
            tokio::spawn(async move { work(&invoker, &dispatch, &pushes).await })
        })
        .collect();
    for worker in workers {
        worker.await.map_err(|problem| problem.to_string())?;
    }
    let wall = started.elapsed();

    let cpu = processes
        .iter()
        .map(|(_, function)| function.pid().map_or(Ok(0.0), cpu_seconds))
        .sum::<Result<f64, String>>()?;
    write_metrics(&processes)?;
    let dispatch = std::mem::take(&mut *dispatch.lock().map_err(|_| "dispatch poisoned")?);
    if !dispatch.dropped.is_empty() {
        return Err(format!(
            "{} events failed after {RETRIES} retries: {}",
            dispatch.dropped.len(),
            dispatch.dropped.join("; ")
        ));
    }
    let to_start = check_builds(&proxy, &codebuild, &pushes, &dispatch.first_queued).await?;
    let throttled = proxy
        .requests()
        .iter()
        .filter(|request| request.operation() == "StartBuild" && request.faulted)
        .count();
    drop(repositories);
    Ok(report(&Figures {
        pushes: pushes.len(),
        wall,
        to_start,
        invocations: dispatch.invocations,
        failed: dispatch.failed,
        throttled,
        cpu_seconds: cpu,
    }))
}

/// Writes the starters' Embedded Metric Format lines to [`METRICS_FILE`], from which
/// `tools/render-dashboard` draws the dashboard of the docs.
fn write_metrics(processes: &[(RuntimeApi, Function)]) -> Result<(), String> {
    let lines: Vec<String> = processes
        .iter()
        .flat_map(|(_, function)| function.stdout_lines())
        .filter(|line| line.contains("\"_aws\""))
        .collect();
    std::fs::write(METRICS_FILE, lines.join("\n") + "\n")
        .map_err(|problem| format!("{METRICS_FILE}: {problem}"))?;
    eprintln!("burst: {} metric lines in {METRICS_FILE}", lines.len());
    Ok(())
}

/// Takes events off the queue until it is empty, sending each to the starter behind
/// `invoker`; a failed one goes back on the queue, [`RETRIES`] times at most.
async fn work(
    invoker: &testkit::runtime_api::Invoker,
    dispatch: &Mutex<Dispatch>,
    pushes: &[Push],
) {
    loop {
        let Some((index, attempt)) = ({
            let mut shared = dispatch.lock().expect("dispatch poisoned");
            let next = shared.queue.pop_front();
            if let Some((index, _)) = next {
                shared
                    .first_queued
                    .entry(index)
                    .or_insert_with(Instant::now);
            }
            next
        }) else {
            return;
        };
        let push = &pushes[index];
        let event = json!({"Records": [events::trigger_record(
            &push.repository,
            Some("arn:aws:iam::123456789012:user/alice"),
            &now(),
            json!([{"ref": "refs/heads/main", "commit": push.commit}]),
        )]});
        let sent = Instant::now();
        let outcome = invoker.try_invoke(&event, DEADLINE, INVOKE_TIMEOUT).await;
        let mut shared = dispatch.lock().expect("dispatch poisoned");
        shared.invocations.push(sent.elapsed());
        match outcome {
            Some(Ok(answer)) if answer["started"].as_array().map(Vec::len) == Some(1) => {}
            other => {
                shared.failed += 1;
                if attempt < RETRIES {
                    shared.queue.push_back((index, attempt + 1));
                } else {
                    shared
                        .dropped
                        .push(format!("{} at {}: {other:?}", push.repository, push.commit));
                }
            }
        }
    }
}

/// The repositories, served by `codecommit`, and their pushes, in the order they are sent:
/// every repository's first commit, then every repository's second, and so on.
fn repositories(codecommit: &LocalCodeCommit) -> (Vec<GitRepo>, Vec<Push>) {
    let mut repositories = Vec::new();
    let mut commits = Vec::new();
    for number in 0..REPOSITORIES {
        let name = format!("service-{number:03}");
        let project = PROJECTS[number % PROJECTS.len()];
        let repo = GitRepo::init("main");
        repo.write(
            FILE,
            &format!("rules:\n  - name: main\n    project: {project}\n    branches: [main]\n"),
        );
        let mut own = Vec::new();
        for push in 0..PUSHES_PER_REPOSITORY {
            repo.write("CHANGES", &format!("change {push} of {name}\n"));
            own.push(repo.commit(&format!("Change {push}")));
        }
        codecommit.add_git_repository(&name, &repo);
        commits.push((name, project, own));
        repositories.push(repo);
    }
    let pushes = (0..PUSHES_PER_REPOSITORY)
        .flat_map(|push| {
            commits.iter().map(move |(name, project, own)| Push {
                repository: name.clone(),
                commit: own[push].clone(),
                project,
            })
        })
        .collect();
    (repositories, pushes)
}

/// The starters' environment, as `many-repositories.yaml` sets it (skip markers on).
fn environment(codebuild: &str, codecommit: &str) -> Vec<(String, String)> {
    [
        ("AWS_LAMBDA_FUNCTION_NAME", "codecommit-build-trigger"),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
        ("AWS_REGION", moto::REGION),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_ENDPOINT_URL", codebuild),
        (testkit::CODECOMMIT_ENDPOINT_VAR, codecommit),
        ("REPOSITORY_CONFIG", FILE),
        ("ALLOWED_PROJECTS", "team-*"),
        ("_HANDLER", "starter"),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_owned(), value.to_owned()))
    .collect()
}

/// Fails unless moto holds exactly one build of each push, in its project, and the proxy saw
/// each started from its own repository; returns each push's time from first queued to its
/// StartBuild's answer.
async fn check_builds(
    proxy: &Proxy,
    codebuild: &aws_sdk_codebuild::Client,
    pushes: &[Push],
    first_queued: &HashMap<usize, Instant>,
) -> Result<Vec<Duration>, String> {
    let mut built: HashMap<(String, String), usize> = HashMap::new();
    for project in PROJECTS {
        for build in testkit::builds_in(codebuild, project).await {
            let commit = build.source_version().unwrap_or_default().to_owned();
            *built.entry((project.to_owned(), commit)).or_default() += 1;
        }
    }
    let started: HashMap<String, testkit::proxy::Started> = proxy
        .started()
        .into_iter()
        .filter_map(|started| {
            let commit = started.request["sourceVersion"].as_str()?.to_owned();
            Some((commit, started))
        })
        .collect();
    let mut to_start = Vec::with_capacity(pushes.len());
    for (index, push) in pushes.iter().enumerate() {
        let key = (push.project.to_owned(), push.commit.clone());
        let count = built.remove(&key).unwrap_or(0);
        if count != 1 {
            return Err(format!(
                "{} at {} has {count} builds in {}, not one",
                push.repository, push.commit, push.project
            ));
        }
        let start = started
            .get(&push.commit)
            .ok_or_else(|| format!("the proxy saw no StartBuild of {}", push.commit))?;
        let location = start.request["sourceLocationOverride"]
            .as_str()
            .unwrap_or("");
        if !location.ends_with(&format!("/v1/repos/{}", push.repository)) {
            return Err(format!("{} was built from {location}", push.commit));
        }
        let queued = first_queued
            .get(&index)
            .ok_or_else(|| format!("push {index} was never sent"))?;
        to_start.push(start.at.saturating_duration_since(*queued));
    }
    if let Some(((project, commit), count)) = built.into_iter().next() {
        return Err(format!(
            "{count} build(s) of {commit} in {project} that no push asked for"
        ));
    }
    Ok(to_start)
}

/// User plus system CPU time of process `pid` so far, in seconds (`/proc/PID/stat`).
fn cpu_seconds(pid: u32) -> Result<f64, String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map_err(|problem| format!("reading /proc/{pid}/stat: {problem}"))?;
    // The fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks = |index: usize| -> Result<f64, String> {
        fields
            .get(index)
            .and_then(|field| field.parse::<f64>().ok())
            .ok_or_else(|| format!("/proc/{pid}/stat has no field {}", index + 3))
    };
    // utime and stime are the 14th and 15th fields: 12th and 13th after the name.
    Ok((ticks(11)? + ticks(12)?) / clock_ticks_per_second())
}

/// `sysconf(_SC_CLK_TCK)`, as `getconf` prints it; 100 on Linux.
fn clock_ticks_per_second() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|output| String::from_utf8_lossy(&output.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

/// What the burst measured.
struct Figures {
    pushes: usize,
    wall: Duration,
    to_start: Vec<Duration>,
    invocations: Vec<Duration>,
    failed: usize,
    throttled: usize,
    cpu_seconds: f64,
}

/// The figures as a Markdown table.
fn report(figures: &Figures) -> String {
    let millis = |duration: Duration| duration.as_secs_f64() * 1000.0;
    let mut to_start: Vec<f64> = figures.to_start.iter().copied().map(millis).collect();
    to_start.sort_by(f64::total_cmp);
    let percentile = |sorted: &[f64], p: f64| {
        let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
        sorted[rank.clamp(1, sorted.len()) - 1]
    };
    let billed_ms: f64 = figures
        .invocations
        .iter()
        .map(|duration| millis(*duration).ceil())
        .sum();
    let per_thousand = 1000.0 / figures.pushes as f64;
    let cost = (billed_ms / 1000.0 * MEMORY_GB * ARM64_PRICE_PER_GB_SECOND
        + figures.invocations.len() as f64 * PRICE_PER_REQUEST)
        * per_thousand;
    let mut table = String::from("| burst | figure |\n| --- | --- |\n");
    for (what, figure) in [
        (
            "pushes (repositories × pushes)",
            format!(
                "{} ({REPOSITORIES} × {PUSHES_PER_REPOSITORY}), each built exactly once",
                figures.pushes
            ),
        ),
        ("starter processes at once", PROCESSES.to_string()),
        (
            "StartBuild throttled",
            format!(
                "{} answers in the first {} s",
                figures.throttled,
                THROTTLED_FOR.as_secs()
            ),
        ),
        (
            "invocations failed and sent again",
            figures.failed.to_string(),
        ),
        ("wall time", format!("{:.1} s", figures.wall.as_secs_f64())),
        (
            "event to StartBuild answered, p50",
            format!("{:.0} ms", percentile(&to_start, 50.0)),
        ),
        (
            "event to StartBuild answered, p99",
            format!("{:.0} ms", percentile(&to_start, 99.0)),
        ),
        (
            "event to StartBuild answered, slowest (one throttled throughout)",
            format!("{:.0} ms", to_start.last().copied().unwrap_or_default()),
        ),
        (
            "the starter's CPU per push",
            format!(
                "{:.2} ms",
                figures.cpu_seconds * 1000.0 / figures.pushes as f64
            ),
        ),
        (
            "cost per 1,000 pushes (arm64, 128 MB, as billed here)",
            format!("${cost:.6}"),
        ),
    ] {
        table.push_str(&format!("| {what} | {figure} |\n"));
    }
    table
}
