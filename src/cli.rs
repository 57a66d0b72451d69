//! Command definitions and their output. Every command loads and compiles
//! through the library; nothing here knows flow semantics.

use clap::{Parser, Subcommand, ValueEnum};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use switchboard::compile::{self, Compiled};
use switchboard::diagnostic::{self, Style};
use switchboard::flow::{self, FlowSet};
use switchboard::{diagram, schema};

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
    },
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
    /// Print the JSON Schema of the flow file format (for editors).
    Schema,
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
        } => check(&dir, format, deny_warnings, style),
        Command::Graph { dir, flow, format } => graph(&dir, flow.as_deref(), format, style),
        Command::Schema => {
            println!("{}", schema::flow_schema_json());
            Ok(ExitCode::SUCCESS)
        }
    };
    match result {
        Ok(code) => code,
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
    format: CheckFormat,
    deny_warnings: bool,
    style: Style,
) -> anyhow::Result<ExitCode> {
    let (set, compiled) = load(dir)?;
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
            println!("{}", serde_json::to_string_pretty(&out)?);
        }
        CheckFormat::Text => {
            let mut err = std::io::stderr().lock();
            write!(
                err,
                "{}",
                diagnostic::render_text(&compiled.diagnostics, &set.sources, style)
            )?;
            if compiled.program.is_some() {
                print!("{}", compile::depth_report(&compiled.depths));
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
    print!("{text}");
    Ok(ExitCode::SUCCESS)
}
