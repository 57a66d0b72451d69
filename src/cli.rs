//! Command definitions and their output. Every command loads and compiles
//! through the library; nothing here knows flow semantics.

use clap::{Parser, Subcommand, ValueEnum};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;
use switchboard::compile::{self, Compiled};
use switchboard::diagnostic::{self, Style};
use switchboard::flow::{self, FlowSet};
use switchboard::{diagram, schema};

/// Write to standard output; a closed pipe (`| head`) becomes an error that
/// `main` ends quietly on, instead of a panic.
macro_rules! out {
    ($($t:tt)*) => { write!(std::io::stdout().lock(), $($t)*)? };
}
macro_rules! outln {
    ($($t:tt)*) => { writeln!(std::io::stdout().lock(), $($t)*)? };
}

mod admin;
mod providers;

/// Switchboard: IVR phone trees as reviewable, checked files.
#[derive(Parser, Debug)]
#[command(name = "switchboard", version, about, propagate_version = true)]
struct Cli {
    /// When to colour terminal output.
    #[arg(long, value_enum, default_value_t = Color::Auto, global = true)]
    color: Color,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Check a flow directory: every diagnostic, a summary, and key presses to each group.
    Check {
        /// Flow directory.
        #[arg(default_value = "flows")]
        dir: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value_t = CheckFormat::Text)]
        format: CheckFormat,
        /// Fail (exit 1) on warnings too.
        #[arg(long)]
        deny_warnings: bool,
        /// Also prove every flow callers enter suits these providers
        /// (comma-separated): a feature one cannot do is an error at its
        /// node. `[numbers]` entries may name their own `provider`.
        #[arg(long, value_enum, value_delimiter = ',')]
        provider: Vec<providers::Name>,
    },
    /// Print what each provider can do with each flow feature (the table of docs/providers.md).
    Providers,
    /// Draw the phone tree as a Mermaid or Graphviz DOT diagram.
    Graph {
        /// Flow directory.
        #[arg(default_value = "flows")]
        dir: PathBuf,
        /// Draw only this flow (and the groups it reaches).
        #[arg(long)]
        flow: Option<String>,
        /// Diagram language.
        #[arg(long, value_enum, default_value_t = GraphFormat::Mermaid)]
        format: GraphFormat,
    },
    /// Rehearse a call in the terminal: what the caller hears, each key, each branch and why.
    Simulate {
        /// Flow directory.
        #[arg(default_value = "flows")]
        dir: PathBuf,
        #[command(flatten)]
        args: SimulateArgs,
    },
    /// Run scenario files (caller journeys with expected ends) and report coverage.
    Test {
        /// Flow directory.
        #[arg(default_value = "flows")]
        dir: PathBuf,
        /// Scenario directory (default: DIR/tests).
        #[arg(long)]
        scenarios: Option<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = CheckFormat::Text)]
        format: CheckFormat,
    },
    /// Run the webhook server: Twilio numbers point their voice URL here.
    Serve(ServeArgs),
    /// Play N signed calls against a running server and report throughput and latency.
    Loadtest(LoadtestArgs),
    /// Create or upgrade the database's tables, then exit (for deploy pipelines).
    Migrate {
        #[command(flatten)]
        db: DatabaseArg,
    },
    /// List the flow versions stored in the database: first seen, calls started, calls live now.
    Versions {
        #[command(flatten)]
        db: DatabaseArg,
        /// Output format.
        #[arg(long, value_enum, default_value_t = CheckFormat::Text)]
        format: CheckFormat,
    },
    /// Print the JSON Schema of the flow file format (for editors).
    Schema,
    /// Delete stored calls started before a date, with their steps, voicemails, callbacks and survey answers.
    Purge {
        /// Calls started before this are deleted: a date (`2026-09-01`, UTC
        /// midnight), a time (`2026-09-01T12:00:00Z`) or a time ago (`90d`),
        /// at least a day ago.
        #[arg(long, value_parser = purge_before)]
        before: jiff::Timestamp,
        #[command(flatten)]
        db: DatabaseArg,
        /// Count what would be deleted, and delete nothing.
        #[arg(long)]
        dry_run: bool,
        /// Output format.
        #[arg(long, value_enum, default_value_t = CheckFormat::Text)]
        format: CheckFormat,
    },
    /// What the stored calls say: outcomes per group and kind, queues
    /// (abandonment, speed of answer, service level, overflows),
    /// escalations, self-service containment and topics, CSAT.
    Report {
        #[command(flatten)]
        db: DatabaseArg,
        /// Calls started at or after this: a date (`2026-09-01`, UTC
        /// midnight), a time (`2026-09-01T12:00:00Z`) or a time ago (`7d`,
        /// `12h`). Default: every stored call.
        #[arg(long, value_parser = moment)]
        since: Option<jiff::Timestamp>,
        /// Calls started before this (the same forms). Default: now.
        #[arg(long, value_parser = moment)]
        until: Option<jiff::Timestamp>,
        /// Only this group's figures.
        #[arg(long)]
        group: Option<String>,
        /// Only customer service or customer support groups.
        #[arg(long, value_enum)]
        kind: Option<ReportKind>,
        /// A call its caller calls again about (the same group, from the
        /// same number) within this long was not resolved at the first
        /// contact, e.g. `7d`, `48h`.
        #[arg(long, value_parser = repeat_window, default_value = "7d")]
        repeat_window: Duration,
        /// Output format: a terminal report, JSON, or CSV (a table per section).
        #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
        format: ReportFormat,
    },
    /// Close a group until a time, without editing flows: its queues take
    /// their closed route (on_closed, else on_no_answer) on every instance
    /// within a second, after an optional message.
    Close(admin::CloseArgs),
    /// Reopen a group closed with `switchboard close`.
    Open {
        /// The group.
        group: String,
        #[command(flatten)]
        db: DatabaseArg,
    },
    /// List the groups closed now, until when, and their messages.
    Closures {
        #[command(flatten)]
        db: DatabaseArg,
        /// Output format.
        #[arg(long, value_enum, default_value_t = CheckFormat::Text)]
        format: CheckFormat,
    },
    /// List open callback requests, oldest first; `callbacks done ID` closes one.
    Callbacks(admin::TrayArgs),
    /// List voicemails not yet handled, oldest first; `voicemails done ID` marks one.
    Voicemails(admin::TrayArgs),
    /// What is stored about one caller's number: export it, or erase it.
    Caller {
        #[command(subcommand)]
        action: CallerAction,
    },
    /// Print an argon2 hash of the admin password read from standard input,
    /// to set as SWITCHBOARD_ADMIN_PASSWORD instead of the password itself.
    AdminPassword,
    /// Data keys for sensitive entries (SWITCHBOARD_DATA_KEY).
    DataKey {
        #[command(subcommand)]
        action: DataKeyAction,
    },
}

#[derive(Subcommand, Debug)]
enum CallerAction {
    /// Print everything stored about NUMBER as JSON: calls, steps, outcomes,
    /// voicemails, callbacks and survey answers (the right of access).
    Export {
        /// The caller's number as stored, e.g. +15550001234.
        number: String,
        #[command(flatten)]
        db: DatabaseArg,
    },
    /// Erase NUMBER (the right to erasure): its calls' steps, voicemails and
    /// callbacks are deleted, and the number in the call rows kept for
    /// reports is replaced by a keyed hash (docs/privacy.md).
    Erase {
        /// The caller's number as stored, e.g. +15550001234.
        number: String,
        #[command(flatten)]
        db: DatabaseArg,
        /// The server's uploads folder (`serve --uploads`): the caller's
        /// VoiceXML recordings kept there are deleted too.
        #[arg(long, env = "SWITCHBOARD_UPLOADS")]
        uploads: Option<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = CheckFormat::Text)]
        format: CheckFormat,
    },
}

#[derive(Subcommand, Debug)]
enum DataKeyAction {
    /// Print a new random data key: set it as SWITCHBOARD_DATA_KEY on every
    /// instance (docs/privacy.md says how to rotate one).
    New,
}

/// Which database: one flag (and variable) for every command that opens one.
#[derive(clap::Args, Debug)]
struct DatabaseArg {
    /// Database URL: sqlite://FILE (embedded) or postgres://USER@HOST:PORT/DATABASE
    /// (add ?sslmode=require for TLS; a password in the URL is never printed).
    #[arg(
        long = "database",
        env = "SWITCHBOARD_DATABASE",
        default_value = "sqlite://switchboard.db",
        hide_env_values = true
    )]
    url: String,
}

#[derive(clap::Args, Debug)]
struct LoadtestArgs {
    /// Base URL of the server under test; several, separated by commas,
    /// for instances over one database: each call's requests then go to
    /// them in turn (call k's first to the k-th, mod their number), the
    /// action URLs of each answer moved onto the next instance.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    target: switchboard::loadtest::Targets,
    /// Calls to place.
    #[arg(long, default_value_t = 1000)]
    calls: usize,
    /// Calls in flight at once.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// The provider to play: its routes, callbacks and signatures.
    #[arg(long, value_enum, default_value = "twilio")]
    provider: providers::Name,
    /// The credential to sign with: the server's TWILIO_AUTH_TOKEN,
    /// PLIVO_AUTH_TOKEN, SIGNALWIRE_SIGNING_KEY or SWITCHBOARD_VXML_TOKEN
    /// (read from that variable when not given), or for Telnyx the base64
    /// 32-byte seed of a test key pair whose public key the server has as
    /// TELNYX_PUBLIC_KEY. None: unsigned (a server on loopback without one).
    #[arg(long, hide_env_values = true)]
    token: Option<String>,
    /// The dialled number.
    #[arg(long, default_value = "+18005550100")]
    to: String,
    /// Most callbacks per call before the caller hangs up.
    #[arg(long, default_value_t = 12)]
    max_steps: usize,
    /// How long a caller listens before answering, e.g. `1s` (jittered by
    /// ±50%): with it, `--concurrency` is the number of live calls and the
    /// callback rate is about concurrency / think.
    #[arg(long, value_parser = humantime::parse_duration, default_value = "0s")]
    think: std::time::Duration,
    /// Send requests at this many per second on average, e.g. `10000`, with
    /// Poisson-distributed start times as independent callers make them;
    /// latency then counts waiting for a free connection. Needs callers
    /// ready faster than the rate (about concurrency / think), else the
    /// report counts late requests. Default: each caller answers as soon as
    /// it has listened.
    #[arg(long, value_parser = positive_rate)]
    rate: Option<f64>,
    /// Most requests in flight (HTTP connections) at once; 0: as many as
    /// `--concurrency`.
    #[arg(long, default_value_t = 0)]
    connections: usize,
    /// Seed of the random walks.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// The server's database: check that every call ended with its event log written.
    #[arg(long)]
    database: Option<String>,
    /// Allow a target that is not on this machine (only servers you own).
    #[arg(long)]
    allow_remote: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = CheckFormat::Text)]
    format: CheckFormat,
}

#[derive(clap::Args, Debug)]
struct ServeArgs {
    /// Flow directory.
    #[arg(long, env = "SWITCHBOARD_FLOWS", default_value = "flows")]
    flows: PathBuf,
    /// Address to listen on.
    #[arg(long, env = "SWITCHBOARD_LISTEN", default_value = "127.0.0.1:8080")]
    listen: std::net::SocketAddr,
    #[command(flatten)]
    database: DatabaseArg,
    /// The URL providers use to reach this server (behind a proxy or tunnel),
    /// e.g. https://ivr.example.com; default: the request's Host.
    #[arg(long, env = "SWITCHBOARD_PUBLIC_URL")]
    public_url: Option<String>,
    #[command(flatten)]
    providers: providers::ProviderArgs,
    /// Where recordings uploaded by providers are kept (VoiceXML
    /// voicemails), served to supervisors at /admin/recordings/…;
    /// default: `uploads` beside the recordings folder.
    #[arg(long, env = "SWITCHBOARD_UPLOADS")]
    uploads: Option<PathBuf>,
    /// Accept unsigned requests on a non-loopback address (never in production).
    #[arg(long)]
    allow_unsigned: bool,
    /// The admin page's password (12 characters or more), or its argon2
    /// hash from `switchboard admin-password`; without it there is no
    /// admin page.
    #[arg(long, env = "SWITCHBOARD_ADMIN_PASSWORD", hide_env_values = true)]
    admin_password: Option<String>,
    /// Serve Prometheus metrics (`/metrics`) on this address instead of the
    /// server's port, e.g. a monitoring network's 10.0.0.5:9090.
    #[arg(long, env = "SWITCHBOARD_METRICS_LISTEN")]
    metrics_listen: Option<std::net::SocketAddr>,
    /// Answer every voice request within this long, e.g. `5s`: a step that
    /// could not be stored by then (a locked or slow database) gets the
    /// apology and the fallback route. Keep it well below the provider's
    /// webhook timeout (Twilio: 15 s).
    #[arg(long, env = "SWITCHBOARD_ANSWER_WITHIN", value_parser = answer_within, default_value = "5s")]
    answer_within: Duration,
    /// How long stored calls are kept, at least a day (e.g. `90d`): older
    /// calls and everything of theirs are deleted, checked hourly, in small
    /// batches. Overrides `[settings] retention`; without either, calls are
    /// kept until `switchboard purge`.
    #[arg(long, env = "SWITCHBOARD_RETENTION", value_parser = switchboard::privacy::retention)]
    retention: Option<Duration>,
    /// How long a request's headers may take from its first byte, e.g. `10s`;
    /// slower ones are closed.
    #[arg(long, env = "SWITCHBOARD_HEADER_TIMEOUT", value_parser = positive_duration, default_value = "10s")]
    header_timeout: Duration,
    /// How long a connection, new or kept alive, may wait for a request,
    /// e.g. `30s`.
    #[arg(long, env = "SWITCHBOARD_IDLE_TIMEOUT", value_parser = positive_duration, default_value = "30s")]
    idle_timeout: Duration,
    /// Most connections open at once; at the cap each new one closes the
    /// connection idle longest. Default: three quarters of the open-file
    /// limit, at most 65536.
    #[arg(long, env = "SWITCHBOARD_MAX_CONNECTIONS", value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    max_connections: Option<usize>,
}

/// An `--answer-within`: from 100 ms to 14 s (Twilio gives up at 15 s).
fn answer_within(s: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(s)
        .map_err(|e| format!("`{s}` is not a duration ({e}): write e.g. 5s or 2500ms"))?;
    if d < Duration::from_millis(100) || d > switchboard::server::guard::LONGEST_ANSWER_WITHIN {
        return Err(format!(
            "{s} is out of range: give 100ms to 14s, below the provider's 15 s webhook timeout"
        ));
    }
    Ok(d)
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Color {
    Auto,
    Always,
    Never,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum CheckFormat {
    Text,
    Json,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum ReportKind {
    Service,
    Support,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum ReportFormat {
    Text,
    Json,
    Csv,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum GraphFormat {
    Mermaid,
    Dot,
}

pub(crate) fn main() -> ExitCode {
    let cli = Cli::parse();
    let style = match cli.color {
        Color::Always => Style::Color,
        Color::Never => Style::Plain,
        Color::Auto
            if std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none() =>
        {
            Style::Color
        }
        Color::Auto => Style::Plain,
    };
    let result = match cli.command {
        Command::Check {
            dir,
            format,
            deny_warnings,
            provider,
        } => {
            let kinds: Vec<_> = provider.iter().map(|p| p.kind()).collect();
            check(&dir, &kinds, format, deny_warnings, style)
        }
        Command::Providers => (|| -> anyhow::Result<ExitCode> {
            out!("{}", switchboard::provider::capability::table());
            Ok(ExitCode::SUCCESS)
        })(),
        Command::Graph { dir, flow, format } => graph(&dir, flow.as_deref(), format, style),
        Command::Simulate { dir, args } => simulate(&dir, args, style),
        Command::Test {
            dir,
            scenarios,
            format,
        } => {
            let scenarios = scenarios.unwrap_or_else(|| dir.join("tests"));
            test(&dir, &scenarios, format, style)
        }
        Command::Serve(args) => serve(args, style),
        Command::Loadtest(args) => loadtest(args),
        Command::Migrate { db } => migrate(&db.url),
        Command::Versions { db, format } => versions(&db.url, format),
        Command::Schema => (|| -> anyhow::Result<ExitCode> {
            outln!("{}", schema::flow_schema_json());
            Ok(ExitCode::SUCCESS)
        })(),
        Command::Purge {
            before,
            db,
            dry_run,
            format,
        } => purge(&db.url, before, dry_run, format),
        Command::Report {
            db,
            since,
            until,
            group,
            kind,
            repeat_window,
            format,
        } => report(&db.url, (since, until), group, kind, repeat_window, format),
        Command::Close(args) => admin::close(args),
        Command::Open { group, db } => admin::open(&group, &db),
        Command::Closures { db, format } => admin::closures(&db, format),
        Command::Callbacks(args) => admin::tray(switchboard::store::admin::Tray::Callbacks, args),
        Command::Voicemails(args) => admin::tray(switchboard::store::admin::Tray::Voicemails, args),
        Command::Caller {
            action: CallerAction::Export { number, db },
        } => export_caller(&db.url, &number),
        Command::Caller {
            action:
                CallerAction::Erase {
                    number,
                    db,
                    uploads,
                    format,
                },
        } => erase_caller(&db.url, &number, uploads.as_deref(), format),
        Command::AdminPassword => admin::hash_password(),
        Command::DataKey {
            action: DataKeyAction::New,
        } => (|| -> anyhow::Result<ExitCode> {
            outln!("{}", switchboard::privacy::DataKeys::generate());
            Ok(ExitCode::SUCCESS)
        })(),
    };
    match result {
        Ok(code) => code,
        Err(e)
            if e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) =>
        {
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn load(dir: &Path) -> anyhow::Result<(FlowSet, Compiled)> {
    let set = flow::load_dir(dir)?;
    let compiled = compile::compile(&set);
    Ok((set, compiled))
}

fn check(
    dir: &Path,
    providers: &[switchboard::provider::capability::Kind],
    format: CheckFormat,
    deny_warnings: bool,
    style: Style,
) -> anyhow::Result<ExitCode> {
    let set = flow::load_dir(dir)?;
    let compiled = compile::compile_for(&set, providers);
    let failed = compiled.summary.counts.errors > 0
        || (deny_warnings && compiled.summary.counts.warnings > 0);
    match format {
        CheckFormat::Json => {
            let out = serde_json::json!({
                "ok": !failed,
                "summary": compiled.summary,
                "diagnostics": diagnostic::to_json(&compiled.diagnostics, &set.sources),
                "depths": compiled.depths,
            });
            outln!("{}", serde_json::to_string_pretty(&out)?);
        }
        CheckFormat::Text => {
            let mut err = std::io::stderr().lock();
            write!(
                err,
                "{}",
                diagnostic::render_text(&compiled.diagnostics, &set.sources, style)
            )?;
            if compiled.program.is_some() {
                out!("{}", compile::depth_report(&compiled.depths));
            }
            writeln!(
                err,
                "{}",
                compile::summary_line(&compiled.summary, deny_warnings)
            )?;
        }
    }
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn graph(
    dir: &Path,
    flow: Option<&str>,
    format: GraphFormat,
    style: Style,
) -> anyhow::Result<ExitCode> {
    let (set, compiled) = load(dir)?;
    let Some(program) = compiled.program else {
        eprint!(
            "{}",
            diagnostic::render_text(&compiled.diagnostics, &set.sources, style)
        );
        eprintln!("{}", compile::summary_line(&compiled.summary, false));
        return Ok(ExitCode::from(1));
    };
    let only = match flow {
        Some(name) => match program.flow_by_name(name) {
            Some(id) => Some(id),
            None => {
                let names: Vec<_> = program.flows.iter().map(|f| f.name.as_str()).collect();
                anyhow::bail!(
                    "there is no flow `{name}` in {} (flows: {})",
                    dir.display(),
                    names.join(", ")
                );
            }
        },
        None => None,
    };
    let text = match format {
        GraphFormat::Mermaid => diagram::mermaid(&program, only),
        GraphFormat::Dot => diagram::dot(&program, only),
    };
    out!("{text}");
    Ok(ExitCode::SUCCESS)
}

#[derive(clap::Args, Debug)]
struct SimulateArgs {
    /// Start in this flow instead of the one the called number maps to.
    #[arg(long)]
    flow: Option<String>,
    /// Caller ID.
    #[arg(long, default_value = "+15555550123")]
    from: String,
    /// Dialled number (default: a number mapped to --flow, else the default flow's).
    #[arg(long)]
    to: Option<String>,
    /// The caller's time, e.g. `2026-03-07 14:05 America/New_York` (default: now).
    #[arg(long)]
    at: Option<String>,
    /// Language to start in (default: the flow set's default).
    #[arg(long)]
    lang: Option<String>,
    /// An earlier call of this caller: `AGO` or `AGO:GROUP`, e.g. `3h:support_tier1` (repeatable).
    #[arg(long)]
    history: Vec<String>,
    /// Caller moves, e.g. "1 2 12345678# queue:bridged 5". Without it: interactive on a
    /// terminal, else read from standard input.
    #[arg(long)]
    input: Option<String>,
    /// The call id; it picks the route through `split` nodes.
    #[arg(long, default_value = "CA-simulated")]
    call_id: String,
    /// A group closed by an admin for the whole call, as `switchboard
    /// close` would (repeatable).
    #[arg(long)]
    closed: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = CheckFormat::Text)]
    format: CheckFormat,
}

/// Load and compile, or print the diagnostics and return `None`. Also
/// returns the flow set it was compiled from.
fn program(
    dir: &Path,
    style: Style,
) -> anyhow::Result<Option<(switchboard::program::Program, FlowSet)>> {
    let (set, compiled) = load(dir)?;
    if compiled.program.is_none() {
        eprint!(
            "{}",
            diagnostic::render_text(&compiled.diagnostics, &set.sources, style)
        );
        eprintln!("{}", compile::summary_line(&compiled.summary, false));
    }
    Ok(compiled.program.map(|p| (p, set)))
}

fn simulate(dir: &Path, a: SimulateArgs, style: Style) -> anyhow::Result<ExitCode> {
    use anyhow::Context;
    use switchboard::simulate::{self, Session, Setup};
    let Some((p, _)) = program(dir, style)? else {
        return Ok(ExitCode::from(1));
    };
    let flow = match &a.flow {
        Some(name) => Some(p.flow_by_name(name).with_context(|| {
            let names: Vec<_> = p.flows.iter().map(|f| f.name.as_str()).collect();
            format!("there is no flow `{name}` (flows: {})", names.join(", "))
        })?),
        None => None,
    };
    let to = a.to.clone().unwrap_or_else(|| {
        let target = flow.unwrap_or(p.default_flow);
        p.numbers
            .iter()
            .find(|(_, f)| **f == target)
            .map_or_else(|| "+15555550100".to_owned(), |(n, _)| n.clone())
    });
    let at = match &a.at {
        Some(t) => simulate::parse_time(t).map_err(anyhow::Error::msg)?,
        None => jiff::Timestamp::now(),
    };
    let language = match &a.lang {
        Some(l) => Some(
            switchboard::program::Lang::parse(l)
                .filter(|l| p.languages.contains(l))
                .with_context(|| {
                    format!(
                        "`{l}` is not one of the flow set's languages ({})",
                        langs(&p)
                    )
                })?,
        ),
        None => None,
    };
    let history = a
        .history
        .iter()
        .map(|h| simulate::parse_history(&p, h, at))
        .collect::<Result<Vec<_>, _>>()
        .map_err(anyhow::Error::msg)?;
    for g in &a.closed {
        switchboard::routing::closure(&p, g, Ok(jiff::Timestamp::MAX), &[], at)?;
    }
    let setup = Setup {
        flow,
        from: a.from.clone(),
        to,
        at,
        language,
        history,
        call_id: a.call_id.clone(),
        closed: a.closed.clone(),
    };
    let color = style == Style::Color && a.format == CheckFormat::Text;
    let mut session = Session::start(&p, &setup);
    let interactive =
        a.input.is_none() && std::io::stdin().is_terminal() && a.format == CheckFormat::Text;
    if interactive {
        return interactive_loop(&p, session, color);
    }
    let script = match a.input {
        Some(s) => s,
        None => std::io::read_to_string(std::io::stdin())?,
    };
    let moves = simulate::parse_moves(&script).map_err(anyhow::Error::msg)?;
    for (token, m) in moves {
        if session.ended() {
            eprintln!("note: the call ended before `{token}`; the rest of the script is not used");
            break;
        }
        session.play(&token, m);
    }
    match a.format {
        CheckFormat::Json => outln!(
            "{}",
            serde_json::to_string_pretty(&simulate::to_json(&p, &session))?
        ),
        CheckFormat::Text => out!("{}", simulate::render_text(&p, &session, color)),
    }
    Ok(ExitCode::SUCCESS)
}

fn langs(p: &switchboard::program::Program) -> String {
    p.languages
        .iter()
        .map(|l| l.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

fn interactive_loop(
    p: &switchboard::program::Program,
    mut session: switchboard::simulate::Session<'_>,
    color: bool,
) -> anyhow::Result<ExitCode> {
    use std::io::BufRead;
    use switchboard::simulate;
    let mut out = std::io::stdout().lock();
    write!(out, "{}", simulate::render_entry(p, &session.log[0], color))?;
    let stdin = std::io::stdin();
    let mut lines = stdin.lock().lines();
    while !session.ended() {
        write!(
            out,
            "waiting for {} — move (t = no input, q = quit, ? = help)> ",
            session.waiting_for()
        )?;
        out.flush()?;
        let Some(line) = lines.next().transpose()? else {
            break;
        };
        let line = line.trim();
        match line {
            "q" | "quit" => break,
            "?" | "help" => {
                writeln!(out, "moves: {}", simulate::MOVES_HELP)?;
                continue;
            }
            "" => continue,
            _ => {}
        }
        match simulate::parse_moves(line) {
            Ok(moves) => {
                for (token, m) in moves {
                    if session.ended() {
                        break;
                    }
                    if let Some(entry) = session.play(&token, m).cloned() {
                        write!(out, "{}", simulate::render_entry(p, &entry, color))?;
                    }
                }
            }
            Err(e) => writeln!(out, "{e}")?,
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn test(
    dir: &Path,
    scenario_dir: &Path,
    format: CheckFormat,
    style: Style,
) -> anyhow::Result<ExitCode> {
    use anyhow::Context;
    use switchboard::scenario::{self, Coverage};
    let Some((p, _)) = program(dir, style)? else {
        return Ok(ExitCode::from(1));
    };
    let mut paths: Vec<PathBuf> = std::fs::read_dir(scenario_dir)
        .with_context(|| format!("cannot read scenario directory {}", scenario_dir.display()))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    paths.sort();
    let mut sources = switchboard::source::Sources::new();
    let mut scenarios = Vec::new();
    let mut diags = Vec::new();
    for path in paths {
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let id = sources.add(path.display().to_string(), text);
        let (found, d) = scenario::parse(&p, id, &sources.get(id).text);
        scenarios.extend(found);
        diags.extend(d);
    }
    if !diags.is_empty() {
        diagnostic::sort(&mut diags);
        eprint!("{}", diagnostic::render_text(&diags, &sources, style));
        eprintln!(
            "test failed: {} problems in the scenario files",
            diags.len()
        );
        return Ok(ExitCode::from(1));
    }
    let mut coverage = Coverage::default();
    let verdicts: Vec<_> = scenarios
        .iter()
        .map(|s| scenario::run(&p, s, sources.location(s.span), &mut coverage))
        .collect();
    let report = coverage.report(&p);
    let failed = verdicts.iter().filter(|v| !v.failures.is_empty()).count();
    let passed = verdicts.len() - failed;
    match format {
        CheckFormat::Json => {
            let out = serde_json::json!({ "passed": passed, "failed": failed, "scenarios": verdicts, "coverage": report });
            outln!("{}", serde_json::to_string_pretty(&out)?);
        }
        CheckFormat::Text => {
            let color = style == Style::Color;
            let (ok, bad) = if color {
                ("\x1b[32mok\x1b[0m", "\x1b[31mFAILED\x1b[0m")
            } else {
                ("ok", "FAILED")
            };
            outln!(
                "running {} scenarios from {}",
                verdicts.len(),
                scenario_dir.display()
            );
            for v in &verdicts {
                outln!(
                    "test {} ... {}",
                    v.name,
                    if v.failures.is_empty() { ok } else { bad }
                );
            }
            for v in verdicts.iter().filter(|v| !v.failures.is_empty()) {
                outln!("\n---- {} ({})", v.name, v.location);
                for f in &v.failures {
                    outln!("  {f}");
                }
                outln!("  path: {}", v.path.join(" → "));
                outln!("  transcript:");
                for line in v.transcript.lines() {
                    outln!("    {line}");
                }
            }
            outln!("\ncoverage:");
            for c in &report {
                outln!(
                    "  {:<14} {:>3}/{:<3} nodes  {:>3}/{:<3} exits",
                    c.flow,
                    c.nodes_reached,
                    c.nodes,
                    c.exits_taken,
                    c.exits
                );
                for m in &c.missing {
                    outln!("    not reached: {m}");
                }
                for i in &c.impossible {
                    outln!("    impossible: {}: {}", i.exit, i.reason);
                }
            }
            outln!("\n{passed} passed, {failed} failed");
        }
    }
    Ok(if failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn serve(a: ServeArgs, style: Style) -> anyhow::Result<ExitCode> {
    use anyhow::Context;
    use switchboard::server::{self, AppState};
    use switchboard::store::Store;
    use tracing::info;
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SWITCHBOARD_LOG")
                .unwrap_or_else(|_| "info,tower_http=warn".into()),
        )
        .with_ansi(style == Style::Color)
        .with_writer(std::io::stderr)
        .init();
    server::connections::raise_open_file_limit();
    let limits = server::Limits {
        header_timeout: a.header_timeout,
        idle_timeout: a.idle_timeout,
        max_connections: a
            .max_connections
            .unwrap_or_else(server::connections::default_max_connections),
    };
    let mounted = a.providers.mount(a.listen, a.allow_unsigned)?;
    let keys = switchboard::privacy::DataKeys::from_env()?;
    let Some((program, set)) = program(&a.flows, style)? else {
        return Ok(ExitCode::from(1));
    };
    let recordings = set.recordings.root.clone();
    let database = a.database.url.clone();
    let shown = switchboard::store::redacted(&database);
    if let Some(path) = database
        .strip_prefix("sqlite://")
        .or_else(|| database.strip_prefix("sqlite:"))
    {
        let path = path.split('?').next().unwrap_or(path);
        switchboard::store::sqlite::files::explain_sigbus(Path::new(path));
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        // Signals are caught from here on, before the banner says the
        // server listens: a SIGTERM that arrives while it is still starting
        // stops it cleanly instead of killing it.
        let mut term =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        let mut interrupt =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt()).ok();
        let key_line = match keys.ids().as_slice() {
            [] => format!(
                "none: sensitive entries are kept in memory only (set {} to keep them across instances)",
                switchboard::privacy::DATA_KEY_VAR
            ),
            [one] => format!("sensitive entries sealed with key {one}"),
            [first, rest @ ..] => format!(
                "sensitive entries sealed with key {first}; also opening {}",
                rest.join(", ")
            ),
        };
        let store = Store::open(&database)
            .await
            .with_context(|| format!("cannot open the database {shown}"))?
            .with_keys(keys);
        let flows = program.flows.len();
        let version = program.version.clone();
        let state = AppState::new(
            program,
            store,
            recordings,
            None,
            a.public_url.clone(),
        )
        .with_providers(mounted.iter().map(|m| m.provider.clone()).collect())
        .answering_within(a.answer_within);
        let state = match a.uploads.clone() {
            Some(dir) => state.with_uploads(dir),
            None => state,
        };
        let state = match a.metrics_listen {
            Some(_) => state.with_metrics_elsewhere(),
            None => state,
        };
        let admin = a.admin_password.as_deref().filter(|p| !p.is_empty());
        let state = match admin {
            Some(p) => state.with_admin(
                server::admin::auth::AdminAuth::from_setting(p).map_err(anyhow::Error::msg)?,
            ),
            None => state,
        };
        state
            .save_current(&set)
            .await
            .with_context(|| format!("cannot store flow version {version} in {shown}"))?;
        let listener = tokio::net::TcpListener::bind(a.listen)
            .await
            .with_context(|| format!("cannot listen on {}", a.listen))?;
        let addr = listener.local_addr()?;
        outln!("switchboard listening on http://{addr}");
        outln!(
            "  flows     {} ({flows} flows, version {version})",
            a.flows.display()
        );
        outln!("  database  {shown}");
        outln!("  data key  {key_line}");
        match a.metrics_listen {
            Some(at) => {
                let metrics = tokio::net::TcpListener::bind(at)
                    .await
                    .with_context(|| format!("cannot listen for metrics on {at}"))?;
                let shown = metrics.local_addr()?;
                outln!("  metrics   http://{shown}/metrics (not on the server's port)");
                let app = server::metrics_app(state.clone());
                tokio::spawn(async move {
                    if let Err(e) = axum::serve(metrics, app).await {
                        tracing::error!("the metrics listener stopped: {e}");
                    }
                });
            }
            None => outln!("  metrics   http://{addr}/metrics"),
        }
        match admin {
            Some(_) => outln!("  admin     {base_shown}/admin", base_shown = a.public_url.clone().unwrap_or_else(|| format!("http://{addr}"))),
            None => outln!("  admin     off (set SWITCHBOARD_ADMIN_PASSWORD for the admin page)"),
        }
        let flag = a.retention;
        let kept = flag.or(state.program().retention);
        match kept {
            Some(d) => outln!(
                "  retention {}: older calls are deleted hourly",
                humantime::format_duration(d)
            ),
            None => outln!("  retention none: calls are kept until `switchboard purge`"),
        }
        {
            let serving = state.clone();
            tokio::spawn(switchboard::store::retention::keep_for(
                state.store().clone(),
                move || flag.or(serving.program().retention),
            ));
        }
        let base = a
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{addr}"));
        if mounted.is_empty() {
            outln!("  providers none mounted: every provider route answers 404");
        }
        for m in &mounted {
            for line in m.describe(&base) {
                outln!("{line}");
            }
        }
        // Reload on SIGHUP and when a flow file changes: a set that compiles
        // serves new calls; one with errors is refused and the last good one stays.
        let (reload_tx, mut reload_rx) = tokio::sync::mpsc::channel::<&'static str>(8);
        let hup_tx = reload_tx.clone();
        tokio::spawn(async move {
            let Ok(mut hup) =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
            else {
                return;
            };
            while hup.recv().await.is_some() {
                let _ = hup_tx.send("SIGHUP").await;
            }
        });
        let reloader = std::sync::Arc::new(server::reload::Reloader::new(
            state.clone(),
            a.flows.clone(),
        ));
        let _watcher = server::reload::watch(reloader.clone())
            .with_context(|| format!("cannot watch {}", a.flows.display()))?;
        tokio::spawn(async move {
            while let Some(why) = reload_rx.recv().await {
                reloader.reload_logged(why).await;
            }
        });
        let shutdown = async move {
            let wait = |s: Option<tokio::signal::unix::Signal>| async move {
                match s {
                    Some(mut s) => {
                        s.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                _ = wait(interrupt.take()) => {}
                _ = wait(term.take()) => {}
            }
            info!("shutting down: finishing callbacks in flight and flushing the store");
        };
        server::serve(listener, state, limits, shutdown).await?;
        Ok::<_, anyhow::Error>(ExitCode::SUCCESS)
    })
}

/// Run `job` on a store opened at `url`, on a runtime of its own, and close it.
fn with_store<T>(
    url: &str,
    job: impl AsyncFnOnce(&switchboard::store::Store) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    use anyhow::Context;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let store = switchboard::store::Store::open(url)
            .await
            .with_context(|| {
                format!(
                    "cannot open the database {}",
                    switchboard::store::redacted(url)
                )
            })?;
        let result = job(&store).await;
        store.close().await;
        result
    })
}

fn migrate(url: &str) -> anyhow::Result<ExitCode> {
    with_store(url, async |_| Ok(()))?;
    outln!(
        "{}: the schema is up to date",
        switchboard::store::redacted(url)
    );
    Ok(ExitCode::SUCCESS)
}

fn versions(url: &str, format: CheckFormat) -> anyhow::Result<ExitCode> {
    let now = jiff::Timestamp::now();
    let versions = with_store(url, async |store| Ok(store.versions(now).await?))?;
    match format {
        CheckFormat::Json => outln!("{}", serde_json::to_string_pretty(&versions)?),
        CheckFormat::Text => {
            outln!(
                "{:<14} {:<20} {:>8} {:>6}",
                "version",
                "first seen (UTC)",
                "calls",
                "live"
            );
            for v in &versions {
                outln!(
                    "{:<14} {:<20} {:>8} {:>6}",
                    v.version,
                    v.first_seen.strftime("%Y-%m-%d %H:%M:%S").to_string(),
                    v.calls,
                    v.live
                );
            }
            if versions.is_empty() {
                outln!("(no flow version stored yet: `switchboard serve` stores one as it starts)");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// A date (UTC midnight), a time, or a time ago (`7d`): `--since`,
/// `--until`, `--before`.
fn moment(s: &str) -> Result<jiff::Timestamp, String> {
    let t = s.trim();
    if let Ok(at) = t.parse::<jiff::Timestamp>() {
        return Ok(at);
    }
    if let Ok(d) = t.parse::<jiff::civil::Date>() {
        return jiff::tz::TimeZone::UTC
            .to_timestamp(d.to_datetime(jiff::civil::Time::midnight()))
            .map_err(|e| format!("`{s}`: {e}"));
    }
    match humantime::parse_duration(t) {
        Ok(ago) => Ok(switchboard::store::retention::cutoff(
            jiff::Timestamp::now(),
            ago,
        )),
        Err(_) => Err(format!(
            "`{s}` is not a date, a time or a time ago: give one like 2026-09-01, 2026-09-01T12:00:00Z or 7d"
        )),
    }
}

/// `purge --before`: a date (UTC midnight) or a time, at least a day ago,
/// so a purge never reaches calls that may be in progress or unreported.
fn purge_before(s: &str) -> Result<jiff::Timestamp, String> {
    let at = moment(s)?;
    let latest = switchboard::store::retention::cutoff(
        jiff::Timestamp::now(),
        switchboard::privacy::MIN_RETENTION,
    );
    if at > latest {
        return Err(format!(
            "`{s}` is less than a day ago: a purge keeps at least the last day's calls (give a date before {})",
            latest.strftime("%Y-%m-%d %H:%M UTC")
        ));
    }
    Ok(at)
}

fn report(
    url: &str,
    (since, until): (Option<jiff::Timestamp>, Option<jiff::Timestamp>),
    group: Option<String>,
    kind: Option<ReportKind>,
    repeat_window: Duration,
    format: ReportFormat,
) -> anyhow::Result<ExitCode> {
    use switchboard::report::{Report, Scope, render};
    use switchboard::store::reports::Period;
    let since = since.unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    let until = until.unwrap_or_else(jiff::Timestamp::now);
    if since >= until {
        anyhow::bail!(
            "--since ({}) is not before --until ({}): give a period that starts before it ends",
            since,
            until
        );
    }
    let kind = kind.map(|k| match k {
        ReportKind::Service => "service".to_owned(),
        ReportKind::Support => "support".to_owned(),
    });
    let period = Period {
        repeat_window: jiff::SignedDuration::try_from(repeat_window)?,
        ..Period::new(since, until)
    };
    let (rows, purged_before) = with_store(url, async |store| {
        let rows = store.report_rows(&period).await?;
        Ok((rows, store.purged_before().await?))
    })?;
    if let Some(g) = &group {
        let known: Vec<&str> = rows
            .classes
            .iter()
            .filter_map(|(_, g, _, _)| g.as_deref())
            .chain(rows.waits.iter().map(|w| w.0.as_str()))
            .collect();
        if !known.contains(&g.as_str()) {
            eprintln!("note: no call in this period reached or waited for a group `{g}`");
        }
    }
    let scope = Scope {
        group,
        kind,
        purged_before,
        repeat_window: period.repeat_window,
        ..Scope::new(since, until)
    };
    let r = Report::of(&rows, &scope);
    match format {
        ReportFormat::Text => out!("{}", render::text(&r)),
        ReportFormat::Json => outln!("{}", serde_json::to_string_pretty(&r)?),
        ReportFormat::Csv => out!("{}", render::csv(&r)?),
    }
    Ok(ExitCode::SUCCESS)
}

fn purge(
    url: &str,
    before: jiff::Timestamp,
    dry_run: bool,
    format: CheckFormat,
) -> anyhow::Result<ExitCode> {
    use switchboard::store::retention;
    let removed = with_store(url, async |store| {
        let removed = if dry_run {
            store.purgeable(before).await
        } else {
            retention::purge(store, before, retention::Pace::Gentle).await
        };
        anyhow::Context::context(
            removed,
            "cannot purge (the calls deleted before this stay deleted: run it again to finish)",
        )
    })?;
    match format {
        CheckFormat::Json => outln!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "before": before.to_string(),
                "dry_run": dry_run,
                "removed": removed,
            }))?
        ),
        CheckFormat::Text => {
            let shown = before.strftime("%Y-%m-%d %H:%M:%S UTC");
            if dry_run {
                outln!("would delete, of calls started before {shown} (dry run: nothing deleted):");
            } else {
                outln!("deleted, of calls started before {shown}:");
            }
            for (table, n) in removed.tables() {
                outln!("  {table:<12} {n:>9} rows");
            }
            if !dry_run && !removed.is_empty() {
                outln!("reports now cover calls from {shown} on");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn export_caller(url: &str, number: &str) -> anyhow::Result<ExitCode> {
    let doc = with_store(url, async |store| Ok(store.export_caller(number).await?))?;
    match doc {
        Some(doc) => outln!("{}", serde_json::to_string_pretty(&doc)?),
        None => {
            eprintln!(
                "nothing is stored about {number} (numbers are matched exactly as stored, e.g. +15550001234)"
            );
            outln!(
                "{}",
                serde_json::json!({ "number": number, "calls": [], "callbacks_to_this_number": [] })
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn erase_caller(
    url: &str,
    number: &str,
    uploads: Option<&Path>,
    format: CheckFormat,
) -> anyhow::Result<ExitCode> {
    let keys = switchboard::privacy::DataKeys::from_env()?;
    let now = jiff::Timestamp::now();
    let erased = with_store(url, async |store| {
        let store = store.clone().with_keys(keys);
        let erased = store.erase_caller(number, now).await;
        let mut erased =
            anyhow::Context::with_context(erased, || format!("cannot erase {number}"))?;
        if let Some(dir) = uploads {
            switchboard::server::uploads::forget(dir, &mut erased.recordings).await;
        }
        Ok(erased)
    })?;
    if let CheckFormat::Json = format {
        outln!("{}", serde_json::to_string_pretty(&erased)?);
        return Ok(ExitCode::SUCCESS);
    }
    if !erased.found_anything() {
        outln!(
            "nothing is stored about {number}: nothing to erase (numbers are matched exactly as stored, e.g. +15550001234)"
        );
        return Ok(ExitCode::SUCCESS);
    }
    outln!("erased {number}:");
    outln!(
        "  calls       {:>6} kept for reports, the number replaced by {}",
        erased.calls,
        erased.hash
    );
    outln!(
        "  steps       {:>6} deleted (states, event logs, voice XML)",
        erased.steps
    );
    outln!("  voicemails  {:>6} deleted", erased.voicemails);
    outln!("  callbacks   {:>6} deleted", erased.callbacks);
    if erased.live > 0 {
        outln!(
            "  {} call(s) still in progress were left: run this again once they have ended",
            erased.live
        );
    }
    let (ours, theirs): (Vec<&String>, Vec<&String>) = erased
        .recordings
        .iter()
        .partition(|r| r.contains("/admin/recordings/"));
    if !theirs.is_empty() {
        outln!("the provider still keeps these recordings: delete them there");
        for r in theirs {
            outln!("  {r}");
        }
    }
    if !ours.is_empty() {
        outln!(
            "serve's uploads folder still keeps these recordings: delete these files from it by hand (with --uploads DIR, erasing deletes them)"
        );
        for r in ours {
            outln!("  {r}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// A `--repeat-window`: an hour to a year.
fn repeat_window(s: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(s)
        .map_err(|e| format!("`{s}` is not a duration ({e}): write e.g. 7d or 48h"))?;
    if d < Duration::from_secs(3600) || d > Duration::from_secs(366 * 86_400) {
        return Err(format!(
            "{s} is out of range: give a window from 1h to 366d (the default is 7d)"
        ));
    }
    Ok(d)
}

/// A duration longer than zero, e.g. `30s` or `1m 30s`.
fn positive_duration(s: &str) -> Result<Duration, String> {
    match humantime::parse_duration(s) {
        Ok(d) if !d.is_zero() => Ok(d),
        Ok(_) => Err("give a duration longer than zero, e.g. 30s".to_owned()),
        Err(e) => Err(format!(
            "`{s}` is not a duration ({e}): give one like 30s or 1m 30s"
        )),
    }
}

/// A `--rate`: a finite number of requests per second, at least
/// `loadtest::MIN_RATE`.
fn positive_rate(s: &str) -> Result<f64, String> {
    let least = switchboard::loadtest::MIN_RATE;
    match s.parse::<f64>() {
        Ok(r) if r.is_finite() && r >= least => Ok(r),
        _ => Err(format!(
            "`{s}` is not a rate: give requests per second as a number of at least {least}, e.g. 10000"
        )),
    }
}

fn loadtest(a: LoadtestArgs) -> anyhow::Result<ExitCode> {
    use switchboard::loadtest::{self, Plan};
    let remote = a.target.not_local();
    if !remote.is_empty() && !a.allow_remote {
        anyhow::bail!(
            "refusing to load-test {}: only targets on this machine, unless --allow-remote for a server you own",
            remote.join(", ")
        );
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let kind = a.provider.kind();
        let token = a
            .token
            .clone()
            .or_else(|| a.provider.credential_from_env())
            .filter(|t| !t.is_empty());
        if let Some(why) = token.as_deref().and_then(|t| loadtest::key_problem(kind, t)) {
            anyhow::bail!(why);
        }
        let plan = Plan {
            targets: a.target.clone(),
            calls: a.calls,
            concurrency: a.concurrency,
            provider: kind,
            token,
            to: a.to.clone(),
            max_steps: a.max_steps,
            seed: a.seed,
            think: a.think,
            rate: a.rate,
            connections: a.connections,
        };
        let report = loadtest::run(plan).await;
        let mut complete = None;
        if let Some(url) = &a.database {
            let store = switchboard::store::Store::open(url).await?;
            let mut ok = 0;
            for id in &report.call_ids {
                if store.log_complete(id).await? {
                    ok += 1;
                }
            }
            store.close().await;
            complete = Some(ok);
        }
        match a.format {
            CheckFormat::Json => {
                let mut v = serde_json::to_value(&report)?;
                if let (Some(c), serde_json::Value::Object(m)) = (complete, &mut v) {
                    m.insert("complete_event_logs".into(), c.into());
                }
                outln!("{}", serde_json::to_string_pretty(&v)?);
            }
            CheckFormat::Text => {
                outln!(
                    "{} calls, {} requests in {:.2}s: {:.0} callbacks/s",
                    report.calls,
                    report.requests,
                    report.seconds,
                    report.per_second
                );
                outln!(
                    "latency p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
                    report.p50_ms,
                    report.p99_ms,
                    report.max_ms
                );
                outln!("HTTP errors: {}", report.errors);
                if let Some(rate) = a.rate {
                    outln!(
                        "target rate {rate}/s: {} requests late (sent over 2 ms after their start time and timed from then, the schedule moving on rather than catching up: a few while calls ramp up and drain; more means too few callers for the rate (raise --concurrency or lower --think), callers tied up by a server too slow for it, or this end running behind, and the latencies above understate)",
                        report.late,
                    );
                }
                if let Some(c) = complete {
                    outln!("event logs complete: {c} of {} calls", report.calls);
                }
            }
        }
        let failed = report.errors > 0 || complete.is_some_and(|c| c < report.calls);
        Ok::<_, anyhow::Error>(if failed {
            ExitCode::from(1)
        } else {
            ExitCode::SUCCESS
        })
    })
}
