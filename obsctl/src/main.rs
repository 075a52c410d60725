//! `obsctl`: render, lint, diff and apply the dashboards and alarms of ddb-stream-processor.
//!
//! Exit codes: 0 when everything is as it should be; 1 when `render --check` finds a stale file,
//! `lint` a problem, `diff` a drift, `apply` a dashboard CloudWatch has remarks about, or `redrive`
//! records it could not recover (lost, failed again, unreadable); 2 when the command cannot do its job (a file cannot be read, a definition is broken, AWS cannot be reached
//! or refuses).

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{ArgGroup, Args, Parser, Subcommand};
use obsctl::cloud::Cloud;
use obsctl::definitions::Definitions;
use obsctl::lint::{self, Problem};
use obsctl::plan::{self, Plan, State};
use obsctl::render;
use obsctl::resolve::{ResolveError, Values};

/// Render, lint, diff and apply the dashboards and alarms kept next to the code.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    /// The repository root (where template.yaml, dashboards/ and alarms/ are).
    #[arg(long, global = true, default_value = ".")]
    repo: PathBuf,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Write template.yaml's generated regions and the README's alarm table from dashboards/ and alarms/.
    Render {
        /// Change nothing; exit 1 when a generated region is stale.
        #[arg(long)]
        check: bool,
    },
    /// Check dashboards/ and alarms/ offline: dashboard and alarm rules, and the metric catalog contract.
    Lint,
    /// Compare the deployed dashboards and alarms with the repository (exit 1 on drift).
    Diff(Target),
    /// Rehearse an incident: run a scenario through the real handler on a simulated clock and show
    /// which alarms fire, and when.
    Rehearse {
        /// The scenario file (see scenarios/).
        scenario: PathBuf,
        /// Also write the report, the dashboards drawn over the rehearsal, as one HTML file.
        #[arg(long, value_name = "FILE.html")]
        report: Option<PathBuf>,
        /// Also render that report with headless Chromium into a PNG file (CHROMIUM names the
        /// binary; Debian's chromium by default), as docs/rehearsal-report.png is made.
        #[arg(long, value_name = "FILE.png")]
        picture: Option<PathBuf>,
        /// A template parameter or placeholder value, e.g. `--var BatchSize=500`.
        #[arg(long = "var", value_name = "NAME=VALUE", value_parser = parse_var)]
        vars: Vec<(String, String)>,
    },
    /// Recover the records behind the on-failure destination (SQS pointers or S3 objects), in stream
    /// order, skipping those a later change of the same item superseded.
    Redrive(RedriveArgs),
    /// Create or update the deployed dashboards and alarms to match the repository.
    Apply {
        #[command(flatten)]
        target: Target,
        /// Show what would change; change nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

/// Where the dashboards and alarms live, and what their placeholders resolve to.
#[derive(Debug, Args)]
struct Target {
    /// The CloudFormation stack of the function: its outputs and parameters give the placeholders' values.
    #[arg(long)]
    stack_name: Option<String>,
    /// A placeholder's value, e.g. `--var StreamProcessorFunction=orders-processor` (wins over the stack).
    #[arg(long = "var", value_name = "NAME=VALUE", value_parser = parse_var)]
    vars: Vec<(String, String)>,
    /// Alarms whose names start with this are compared (default: `<stack name>-`).
    #[arg(long)]
    alarm_prefix: Option<String>,
    /// The AWS region (default: the standard chain, e.g. AWS_REGION).
    #[arg(long)]
    region: Option<String>,
    /// Another endpoint for every AWS API (a local emulator, a VPC endpoint).
    #[arg(long)]
    endpoint_url: Option<String>,
}

/// `obsctl redrive`'s arguments.
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("mode").required(true).args(["invoke", "to_dir", "dry_run"])))]
struct RedriveArgs {
    /// The function's stack: its outputs name the destination (DeadLetterQueueUrl or
    /// FailureBucketName), the event source mapping (EventSourceMappingId) and the function
    /// (FunctionName).
    #[arg(long)]
    stack_name: Option<String>,
    /// The event source mapping whose failures to redrive (instead of the stack's): only its
    /// failures are replayed, with its FilterCriteria.
    #[arg(long, value_name = "UUID")]
    event_source_mapping: Option<String>,
    /// The SQS queue of failure pointers (instead of the stack's).
    #[arg(long, conflicts_with = "bucket")]
    queue_url: Option<String>,
    /// The S3 bucket of failure objects (instead of the stack's).
    #[arg(long)]
    bucket: Option<String>,
    /// Only the S3 objects under this prefix (default: the mapping's, `aws/lambda/<UUID>/`).
    #[arg(long)]
    prefix: Option<String>,
    /// The queue the failure bucket notifies of each object (instead of the stack's
    /// FailureNotificationsQueueUrl): after a replay, the notifications of replayed objects are
    /// removed, so the failures-waiting alarms see what still waits (S3 destinations only).
    #[arg(long)]
    notifications_queue_url: Option<String>,
    /// Replay by invoking the function (a name or ARN; without a value, the stack's FunctionName,
    /// else the mapping's function), and settle each failure whose whole range succeeded.
    #[arg(long, value_name = "FUNCTION", num_args = 0..=1, default_missing_value = "")]
    invoke: Option<String>,
    /// Write the events into this folder for `ddb-stream-processor --event`; settle nothing.
    #[arg(long, value_name = "DIR")]
    to_dir: Option<PathBuf>,
    /// Only report what would be replayed, skipped and lost; change nothing.
    #[arg(long)]
    dry_run: bool,
    /// Replay records that a later change of the same item superseded (old data over new), and
    /// records whose currency cannot be told.
    #[arg(long)]
    include_superseded: bool,
    /// Retries of a batch that fails again, as the mapping's MaximumRetryAttempts.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(0..=10_000))]
    max_retries: u32,
    /// Seconds a received SQS message stays hidden should the redrive stop without releasing it
    /// (2 to 43200); the hold is extended while the redrive works on the message.
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(i32).range(2..=43_200))]
    visibility_timeout: i32,
    /// Seconds one read of the stream may take: a range not read to its last record within it is
    /// neither replayed nor settled, and a read of later changes cut short leaves the table to decide.
    #[arg(long, default_value_t = 120, value_parser = clap::value_parser!(u64).range(1..=3600))]
    stream_read_timeout: u64,
    /// The AWS region (default: the standard chain, e.g. AWS_REGION).
    #[arg(long)]
    region: Option<String>,
    /// Another endpoint for every AWS API (AWS_ENDPOINT_URL_<SERVICE> sets one service's).
    #[arg(long)]
    endpoint_url: Option<String>,
}

fn parse_var(text: &str) -> Result<(String, String), String> {
    text.split_once('=')
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .filter(|(name, _)| !name.is_empty())
        .ok_or_else(|| format!("{text:?} is not NAME=VALUE"))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Render { check } => run_render(&cli.repo, check),
        Command::Lint => run_lint(&cli.repo),
        Command::Diff(target) => run_remote(&cli.repo, &target, Action::Diff),
        Command::Rehearse {
            scenario,
            report,
            picture,
            vars,
        } => run_rehearse(
            &cli.repo,
            &scenario,
            Outputs {
                report: report.as_deref(),
                picture: picture.as_deref(),
            },
            &vars,
        ),
        Command::Redrive(args) => run_redrive(&args),
        Command::Apply { target, dry_run } => run_remote(
            &cli.repo,
            &target,
            if dry_run { Action::DryRun } else { Action::Apply },
        ),
    }
}

fn run_redrive(args: &RedriveArgs) -> ExitCode {
    let runtime = tokio::runtime::Runtime::new().expect("a Tokio runtime starts");
    let progress = RedriveProgress(indicatif::ProgressBar::new(0));
    progress.0.set_style(
        indicatif::ProgressStyle::with_template("redrive [{bar:30}] {pos}/{len} failures  {msg}")
            .expect("the template is valid")
            .progress_chars("#> "),
    );
    let outcome = runtime.block_on(async {
        let (services, action) = redrive_setup(args).await.map_err(|error| (None, error))?;
        obsctl::redrive::run(&services, &action, args.include_superseded, &progress)
            .await
            .map_err(|stopped| (stopped.report, stopped.error.to_string()))
    });
    progress.0.finish_and_clear();
    match outcome {
        Ok(report) => {
            print!("{}", obsctl::redrive::summary::text(&report));
            if report.complete() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err((report, error)) => {
            // What was done before the stop is said, whatever stopped it.
            if let Some(report) = report {
                print!("{}", obsctl::redrive::summary::text(&report));
            }
            eprintln!("obsctl redrive: {error}");
            ExitCode::from(2)
        }
    }
}

/// The clients, the mapping, the destination and the action, from the flags and the stack's outputs.
async fn redrive_setup(
    args: &RedriveArgs,
) -> Result<(obsctl::redrive::Services, obsctl::redrive::Action), String> {
    use obsctl::redrive::destination::{Destination, LAMBDA_PREFIX};
    use obsctl::redrive::hold::Holds;
    use obsctl::redrive::mapping::Mapping;
    use obsctl::redrive::{Action, Services, replay::Invoker, stream::Stream, table::Table};

    let config = obsctl::cloud::sdk_config(args.region.clone(), args.endpoint_url.clone())
        .await
        .map_err(|error| error.to_string())?;
    let outputs = match &args.stack_name {
        Some(name) => {
            let cloud = Cloud::from_config(&config).map_err(|error| error.to_string())?;
            cloud
                .stack(name)
                .await
                .map_err(|error| error.to_string())?
                .outputs
        }
        None => BTreeMap::new(),
    };
    let output = |name: &str| outputs.get(name).filter(|value| !value.is_empty()).cloned();
    if args.queue_url.is_none() && args.bucket.is_none() && args.stack_name.is_none() {
        return Err("say where the failures are: --stack-name, --queue-url or --bucket".to_owned());
    }
    let mapping_id = args
        .event_source_mapping
        .clone()
        .or_else(|| output("EventSourceMappingId"))
        .ok_or(
            "say which event source mapping the failures are of: --stack-name, or --event-source-mapping UUID              (`aws lambda list-event-source-mappings --function-name NAME` lists a function's)",
        )?;
    let lambda = aws_sdk_lambda::Client::new(&config);
    let mapping = Mapping::read(&lambda, &mapping_id)
        .await
        .map_err(|error| error.to_string())?;
    // Lambda writes a mapping's failures under aws/lambda/<mapping UUID>/.
    let mapping_prefix = args
        .prefix
        .clone()
        .unwrap_or_else(|| format!("{LAMBDA_PREFIX}{}/", mapping.uuid));
    let queue = |url: String| Destination::Queue {
        client: aws_sdk_sqs::Client::new(&config),
        url,
        holds: Holds::new(args.visibility_timeout),
    };
    let notifications = args
        .notifications_queue_url
        .clone()
        .or_else(|| output("FailureNotificationsQueueUrl"));
    let destination = match (&args.queue_url, &args.bucket) {
        (Some(url), _) => queue(url.clone()),
        (None, Some(bucket)) => {
            bucket_destination(&config, args, bucket.clone(), mapping_prefix, notifications)
        }
        (None, None) => match (output("DeadLetterQueueUrl"), output("FailureBucketName")) {
            (Some(url), _) => queue(url),
            (None, Some(bucket)) => bucket_destination(&config, args, bucket, mapping_prefix, notifications),
            (None, None) => {
                return Err(format!(
                    "stack {:?} has no DeadLetterQueueUrl or FailureBucketName output: pass --queue-url or --bucket",
                    args.stack_name.as_deref().unwrap_or_default()
                ));
            }
        },
    };
    let action = if args.dry_run {
        Action::DryRun
    } else if let Some(folder) = &args.to_dir {
        Action::ToDir(folder.clone())
    } else {
        let function = args
            .invoke
            .clone()
            .filter(|function| !function.is_empty())
            .or_else(|| output("FunctionName"))
            .or_else(|| mapping.function_arn.clone())
            .ok_or(
                "--invoke needs the function: --invoke NAME, or --stack-name with a FunctionName output",
            )?;
        Action::Invoke(Invoker::new(&config, function, args.max_retries))
    };
    let services = Services {
        destination,
        stream: Stream::new(&config, std::time::Duration::from_secs(args.stream_read_timeout)),
        table: Table::new(&config),
        mapping,
    };
    Ok((services, action))
}

/// An S3 destination; path-style addressing when the endpoint is not AWS's (an emulator or a proxy
/// answers at one host, not at `<bucket>.<host>`).
fn bucket_destination(
    config: &aws_config::SdkConfig,
    args: &RedriveArgs,
    bucket: String,
    prefix: String,
    notifications: Option<String>,
) -> obsctl::redrive::destination::Destination {
    let custom_endpoint = args.endpoint_url.is_some()
        || std::env::var_os("AWS_ENDPOINT_URL_S3").is_some()
        || std::env::var_os("AWS_ENDPOINT_URL").is_some();
    let s3 = aws_sdk_s3::config::Builder::from(config)
        .force_path_style(custom_endpoint)
        .build();
    obsctl::redrive::destination::Destination::Bucket {
        client: aws_sdk_s3::Client::from_conf(s3),
        bucket,
        prefix,
        notifications: notifications.map(|url| (aws_sdk_sqs::Client::new(config), url)),
    }
}

/// The redrive's progress bar on stderr (hidden when stderr is not a terminal).
struct RedriveProgress(indicatif::ProgressBar);

impl obsctl::redrive::Progress for RedriveProgress {
    fn start(&self, total: usize) {
        self.0.set_length(total as u64);
    }

    fn advance(&self, label: &str) {
        self.0.set_message(label.to_owned());
        self.0.inc(1);
    }
}

/// What `obsctl rehearse` writes besides its text report.
struct Outputs<'a> {
    report: Option<&'a Path>,
    picture: Option<&'a Path>,
}

fn run_rehearse(repo: &Path, scenario: &Path, outputs: Outputs<'_>, vars: &[(String, String)]) -> ExitCode {
    if let Err(code) = check_repository(repo, "rehearse") {
        return code;
    }
    let vars: BTreeMap<String, String> = vars.iter().cloned().collect();
    let interactive = std::io::stderr().is_terminal();
    let progress = |done: f64| {
        if interactive {
            let width = 30;
            let filled = (done * width as f64).round() as usize;
            eprint!(
                "\rrehearsing [{}{}] {:>3.0} %",
                "#".repeat(filled),
                " ".repeat(width - filled.min(width)),
                done * 100.0
            );
        }
    };
    let started = std::time::Instant::now();
    let outcome = obsctl::rehearse::run(repo, scenario, &vars, &progress);
    if interactive {
        eprintln!();
    }
    let outcome = match outcome {
        Ok(outcome) => outcome,
        Err(error) => {
            eprintln!("obsctl rehearse: {error}");
            return ExitCode::from(2);
        }
    };
    print!("{}", obsctl::rehearse::report::text(&outcome, started.elapsed()));
    if outputs.report.is_none() && outputs.picture.is_none() {
        return ExitCode::SUCCESS;
    }
    let written = obsctl::rehearse::report_html::page(&outcome, &outcome.dashboards).and_then(|page| {
        if let Some(path) = outputs.report {
            std::fs::write(path, &page)
                .map_err(|error| format!("cannot write {}: {error}", path.display()))?;
            println!("report: {}", path.display());
        }
        if let Some(path) = outputs.picture {
            obsctl::rehearse::picture::take(&page, path)?;
            println!("picture: {}", path.display());
        }
        Ok(())
    });
    match written {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("obsctl rehearse: {error}");
            ExitCode::from(2)
        }
    }
}

fn run_render(repo: &Path, check: bool) -> ExitCode {
    if let Err(code) = check_repository(repo, "render") {
        return code;
    }
    let files = match render::render(repo) {
        Ok(files) => files,
        Err(error) => {
            eprintln!("obsctl render: {error}");
            return ExitCode::from(2);
        }
    };
    let stale: Vec<_> = files.iter().filter(|file| file.is_stale()).collect();
    if check {
        if stale.is_empty() {
            let names: Vec<String> = files.iter().map(|file| file.path.display().to_string()).collect();
            println!("up to date: {}", names.join(", "));
            return ExitCode::SUCCESS;
        }
        for file in stale {
            eprintln!(
                "obsctl render --check: {} is stale; run `cargo run -p obsctl -- render` and commit the result",
                file.path.display()
            );
        }
        return ExitCode::from(1);
    }
    match render::write(&files) {
        Ok(written) if written.is_empty() => {
            println!("nothing to do: the generated regions are up to date");
            ExitCode::SUCCESS
        }
        Ok(written) => {
            for path in written {
                println!("wrote {}", path.display());
            }
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("obsctl render: {error}");
            ExitCode::from(2)
        }
    }
}

/// Says so when `repo` is not a repository of the template at all (obsctl run from elsewhere), rather
/// than reporting the first folder it could not read.
fn check_repository(repo: &Path, command: &str) -> Result<(), ExitCode> {
    if repo.join("dashboards").is_dir()
        || repo.join("alarms").is_dir()
        || repo.join("template.yaml").is_file()
    {
        return Ok(());
    }
    eprintln!(
        "obsctl {command}: {} has no template.yaml, dashboards/ or alarms/: run obsctl in the \
         repository of the function, or pass --repo DIR",
        repo.display()
    );
    Err(ExitCode::from(2))
}

fn load(repo: &Path, command: &str) -> Result<Definitions, ExitCode> {
    check_repository(repo, command)?;
    Definitions::load(repo).map_err(|error| {
        eprintln!("obsctl {command}: {error}");
        ExitCode::from(2)
    })
}

fn run_lint(repo: &Path) -> ExitCode {
    let definitions = match load(repo, "lint") {
        Ok(definitions) => definitions,
        Err(code) => return code,
    };
    let problems: Vec<Problem> = lint::all(&definitions);
    if problems.is_empty() {
        println!(
            "{} dashboard(s) and {} alarm(s): no problem",
            definitions.dashboards.len(),
            definitions.alarms.len()
        );
        return ExitCode::SUCCESS;
    }
    for problem in &problems {
        eprintln!("{problem}");
    }
    eprintln!("{} problem(s)", problems.len());
    ExitCode::from(1)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Diff,
    DryRun,
    Apply,
}

impl Action {
    fn name(self) -> &'static str {
        match self {
            Action::Diff => "diff",
            Action::DryRun | Action::Apply => "apply",
        }
    }
}

fn run_remote(repo: &Path, target: &Target, action: Action) -> ExitCode {
    let definitions = match load(repo, action.name()) {
        Ok(definitions) => definitions,
        Err(code) => return code,
    };
    let problems = lint::all(&definitions);
    if !problems.is_empty() {
        for problem in &problems {
            eprintln!("{problem}");
        }
        eprintln!(
            "obsctl {}: the definitions have problems (see `obsctl lint`); nothing was compared",
            action.name()
        );
        return ExitCode::from(2);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    match runtime.block_on(remote(&definitions, target, action)) {
        Ok(code) => code,
        Err(message) => {
            eprintln!("obsctl {}: {message}", action.name());
            ExitCode::from(2)
        }
    }
}

async fn remote(definitions: &Definitions, target: &Target, action: Action) -> Result<ExitCode, String> {
    let cloud = Cloud::connect(target.region.clone(), target.endpoint_url.clone())
        .await
        .map_err(|error| error.to_string())?;
    let stack = match &target.stack_name {
        Some(name) => Some(cloud.stack(name).await.map_err(|error| error.to_string())?),
        None => None,
    };
    let overrides: BTreeMap<String, String> = target.vars.iter().cloned().collect();
    let variables = render::variables_for(definitions);
    let values = Values::gather(
        definitions,
        &variables,
        cloud.region(),
        stack.as_ref(),
        &overrides,
    )
    .map_err(|error| match (&error, &stack) {
        (ResolveError::Missing { names }, None) => format!(
            "no value for {names}: pass --stack-name NAME to read them from the deployed stack, or \
             --var NAME=VALUE for each"
        ),
        _ => error.to_string(),
    })?;
    let prefix = match (
        &target.alarm_prefix,
        stack.as_ref().map(|stack| &stack.name),
        overrides.get("AWS::StackName"),
    ) {
        (Some(prefix), _, _) => prefix.clone(),
        (None, _, Some(name)) | (None, Some(name), None) => format!("{name}-"),
        (None, None, None) => {
            return Err("give --stack-name, or --alarm-prefix with --var AWS::StackName=…".into());
        }
    };
    let plan = plan::plan(&cloud, definitions, &values, &prefix)
        .await
        .map_err(|error| error.to_string())?;
    match action {
        Action::Diff => {
            print!("{}", plan.report());
            Ok(if plan.has_drift() {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            })
        }
        Action::DryRun => {
            print!("{}", plan.report());
            println!("dry run: nothing was changed");
            Ok(ExitCode::SUCCESS)
        }
        Action::Apply => apply(&cloud, &plan).await,
    }
}

async fn apply(cloud: &Cloud, plan: &Plan) -> Result<ExitCode, String> {
    let mut remarks = 0;
    let mut changed = 0;
    for item in &plan.items {
        let verb = match &item.state {
            State::Same => continue,
            State::Missing => "created",
            State::Drifted(_) => "updated",
        };
        if item.kind == "dashboard" {
            let messages = cloud
                .put_dashboard(&item.name, &item.wanted)
                .await
                .map_err(|error| error.to_string())?;
            for message in &messages {
                eprintln!("dashboard {}: CloudWatch says: {message}", item.name);
            }
            remarks += messages.len();
        } else {
            cloud
                .put_alarm(&item.wanted)
                .await
                .map_err(|error| error.to_string())?;
        }
        changed += 1;
        println!("{verb} {} {}", item.kind, item.name);
    }
    for name in &plan.unknown_alarms {
        println!(
            "left alone: alarm {name} (deployed, not in the repository; delete it by hand if it is obsolete)"
        );
    }
    if changed == 0 {
        println!(
            "nothing to change: {} object(s) are as the repository says",
            plan.items.len()
        );
    }
    Ok(if remarks > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
