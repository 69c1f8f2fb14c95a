//! The pure decision for a 4,000-reference push: parse the event, plan,
//! finish. Part of `make bench`; the target is under 1 ms.

use codecommit_build_trigger::config::Config;
use codecommit_build_trigger::decide::files::Files;
use codecommit_build_trigger::decide::needs::Facts;
use codecommit_build_trigger::decide::{finish, plan};
use codecommit_build_trigger::event;
use criterion::{criterion_group, criterion_main, Criterion};
use serde_json::json;
use std::hint::black_box;

use testkit::events;

fn push_of(references: usize) -> String {
    let references: Vec<_> = (0..references)
        .map(|i| {
            let kind = if i % 10 == 0 {
                "tags/v1."
            } else {
                "heads/feature/"
            };
            json!({"ref": format!("refs/{kind}{i}"), "commit": format!("{i:040x}")})
        })
        .collect();
    let pusher = Some("arn:aws:iam::123456789012:user/alice");
    json!({"Records": [events::trigger_record("my-app", pusher, events::EVENT_TIME, json!(references))]})
        .to_string()
}

fn config() -> Config {
    Config::from_lookup(|name| {
        Ok(match name {
            "CODEBUILD_PROJECT" => Some("my-project".into()),
            "BRANCHES" => Some("main,release/**,!release/old-*,feature/*1".into()),
            "TAGS" => Some("v*".into()),
            "SKIP_MARKERS" => Some("false".into()),
            _ => None,
        })
    })
    .expect("valid configuration")
}

fn decide_4000(c: &mut Criterion) {
    let config = config();
    let text = push_of(4000);
    let push = event::parse(&text).expect("a valid event");
    let facts = Facts::default();
    c.bench_function("decide 4000 references", |b| {
        b.iter(|| {
            finish(
                plan(
                    black_box(&config),
                    &Files::default(),
                    black_box(push.records()),
                ),
                &facts,
            )
            .len()
        })
    });
    c.bench_function("parse and decide 4000 references", |b| {
        b.iter(|| {
            let push = event::parse(black_box(&text)).expect("a valid event");
            finish(plan(&config, &Files::default(), push.records()), &facts).len()
        })
    });
}

criterion_group!(benches, decide_4000);
criterion_main!(benches);
