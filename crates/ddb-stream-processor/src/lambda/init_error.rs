//! Start-up failures reach Lambda: under a Runtime API, a function that cannot start posts why to
//! `/runtime/init/error` before it exits.
//!
//! A process that exits during init without telling the Runtime API leaves Lambda with
//! `Runtime.ExitError` and nothing else to show, and cargo-lambda's `invoke` waits for an answer
//! that never comes. Posted first, the failure becomes the invocation's error: a stable `errorType`
//! (`InvalidConfiguration`, `InvalidRuntimeEnvironment`) and a message that names the variable.

use std::time::Duration;

use lambda_runtime::Diagnostic;
use lambda_runtime_api_client::PooledClient;
use lambda_runtime_api_client::body::Body;

/// The path of the Runtime API's init error endpoint.
pub const INIT_ERROR_PATH: &str = "/2018-06-01/runtime/init/error";

/// The header Lambda reads the error type from, beside the body's `errorType`.
const ERROR_TYPE_HEADER: &str = "Lambda-Runtime-Function-Error-Type";

/// The longest the report may take: the process is about to exit either way.
const REPORT_TIMEOUT: Duration = Duration::from_secs(2);

/// The `errorType` of a setting that is missing or not valid.
pub const INVALID_CONFIGURATION: &str = "InvalidConfiguration";

/// The `errorType` of a Runtime API without the variables Lambda always sets.
pub const INVALID_RUNTIME_ENVIRONMENT: &str = "InvalidRuntimeEnvironment";

/// Posts `diagnostic` to the init error endpoint of the Runtime API at `runtime_api` (the value of
/// `AWS_LAMBDA_RUNTIME_API`, `host:port`). The error says why the report did not arrive.
pub async fn report_init_error(runtime_api: &str, diagnostic: &Diagnostic) -> Result<(), String> {
    let endpoint: http::Uri = format!("http://{runtime_api}")
        .parse()
        .map_err(|error| format!("AWS_LAMBDA_RUNTIME_API={runtime_api:?} is not host:port ({error})"))?;
    let body = serde_json::to_vec(diagnostic).map_err(|error| error.to_string())?;
    let request = lambda_runtime_api_client::build_request()
        .method(http::Method::POST)
        .uri(INIT_ERROR_PATH)
        .header(ERROR_TYPE_HEADER, &diagnostic.error_type)
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(Body::from(body))
        .map_err(|error| error.to_string())?;
    let client = PooledClient::builder().with_endpoint(endpoint).build();
    let response = tokio::time::timeout(REPORT_TIMEOUT, client.call(request))
        .await
        .map_err(|_| format!("the Runtime API did not answer within {REPORT_TIMEOUT:?}"))?
        .map_err(|error| error.to_string())?;
    if response.status().is_success() {
        Ok(())
    } else {
        Err(format!("the Runtime API answered {}", response.status()))
    }
}
