//! Reporting a failed init to the Lambda Runtime API.
//!
//! `lambda_runtime` reports init errors only for SnapStart hooks, so a bad
//! configuration is reported here: Lambda then answers the invocation with
//! this `errorType` and message instead of a bare "Runtime exited".

use lambda_runtime::{Diagnostic, Error};
use lambda_runtime_api_client::{build_request, Client};

/// Posts `diagnostic` to `/runtime/init/error`. Outside Lambda (no
/// `AWS_LAMBDA_RUNTIME_API`) there is nobody to tell, and this does nothing.
pub async fn report_init_error(diagnostic: &Diagnostic) -> Result<(), Error> {
    if std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_none() {
        return Ok(());
    }
    let body = serde_json::to_vec(diagnostic)?;
    let request = build_request()
        .method("POST")
        .uri("/2018-06-01/runtime/init/error")
        .header(
            "Lambda-Runtime-Function-Error-Type",
            diagnostic.error_type.as_str(),
        )
        .header("Content-Type", "application/json")
        .body(std::borrow::Cow::<'static, [u8]>::Owned(body).into())?;
    let response = Client::builder().build()?.call(request).await?;
    if !response.status().is_success() {
        return Err(format!("/runtime/init/error answered {}", response.status()).into());
    }
    Ok(())
}
