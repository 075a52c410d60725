//! obsctl as the tests run it: with none of the test environment's AWS configuration.

use std::process::Command;

/// obsctl with no AWS configuration at all: no `AWS_*` variable of the test's environment, no config
/// or credentials file, no instance metadata. Callers add what they test.
pub fn obsctl_without_aws_configuration() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_obsctl"));
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("AWS_") {
            command.env_remove(name);
        }
    }
    command
        .env("AWS_CONFIG_FILE", "/nonexistent")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
        .env("AWS_EC2_METADATA_DISABLED", "true");
    command
}

/// The same, with test credentials and `region`.
pub fn obsctl_with_test_credentials(region: &str) -> Command {
    let mut command = obsctl_without_aws_configuration();
    command
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", region);
    command
}
