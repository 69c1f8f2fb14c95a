//! End-to-end demo: runs the release binary against moto and pushes one sample
//! CodeCommit event through a local Lambda Runtime API. Run it with `make demo`.

#[path = "../tests/support/mod.rs"]
mod support;

use std::process::ExitCode;
use std::time::Duration;

use serde_json::Value;
use support::Harness;

const EVENT: &str = "push-master.json";

#[tokio::main]
async fn main() -> ExitCode {
    // The sample event's commit exists in no local repository, so there is no commit message
    // to read for skip markers: switch them off rather than show "not checked" in the reason.
    let mut harness = Harness::builder()
        .env("SKIP_MARKERS", "false")
        .start()
        .await;
    println!(
        "moto on {}, function {} (pid {}), proxy on {}, Runtime API on {}",
        harness.moto.endpoint(),
        support::trigger_bin().display(),
        harness
            .function
            .pid()
            .map_or_else(|| "?".to_owned(), |pid| pid.to_string()),
        harness.proxy.endpoint(),
        harness.runtime.addr()
    );

    if harness.runtime.init_error().is_some() || harness.function.has_exited() {
        println!("\nthe function did not start:\n{}", harness.diagnostics());
        return ExitCode::FAILURE;
    }

    println!("\ninvoking with events/{EVENT}");
    let event = support::sample_event(EVENT);
    let outcome = harness.invoke(&event).await;
    let invoked = match &outcome {
        Ok(response) => {
            println!("function response:\n{}", pretty(response));
            true
        }
        Err(error) => {
            println!(
                "function error: {} - {}",
                error.error_type, error.error_message
            );
            false
        }
    };

    let builds = harness.builds().await;
    println!(
        "\nbuilds in moto for project {}: {}",
        harness.project,
        builds.len()
    );
    // StartBuild requests that reached moto, in order: one per build. moto does not keep
    // environmentVariablesOverride, so the overrides come from the proxy's recording.
    let sent: Vec<Value> = harness
        .proxy
        .requests()
        .into_iter()
        .filter(|request| request.operation() == "StartBuild" && !request.faulted)
        .map(|request| request.body)
        .collect();
    for (index, build) in builds.iter().enumerate() {
        println!("- id: {}", build.id().unwrap_or("?"));
        println!("  sourceVersion: {}", build.source_version().unwrap_or("?"));
        println!("  environment overrides (as sent in StartBuild):");
        let overrides = sent
            .get(index)
            .and_then(|body| body.get("environmentVariablesOverride"))
            .and_then(Value::as_array);
        match overrides {
            Some(overrides) if !overrides.is_empty() => {
                for variable in overrides {
                    println!(
                        "    {}={} ({})",
                        variable["name"].as_str().unwrap_or("?"),
                        variable["value"].as_str().unwrap_or("?"),
                        variable["type"].as_str().unwrap_or("PLAINTEXT")
                    );
                }
            }
            _ => println!("    (none)"),
        }
    }

    // Let the output threads catch the last lines written before the answer.
    tokio::time::sleep(Duration::from_millis(200)).await;
    println!("\nfunction log lines:");
    for line in harness.function.stdout_lines() {
        println!("  {line}");
    }
    let stderr = harness.function.stderr();
    if !stderr.is_empty() {
        println!("function stderr:\n{stderr}");
    }

    if invoked && !builds.is_empty() {
        ExitCode::SUCCESS
    } else {
        println!(
            "\ndemo failed: {}",
            if invoked {
                "no build exists in moto"
            } else {
                "the invocation failed"
            }
        );
        ExitCode::FAILURE
    }
}

fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
}
