//! The admin's hand on running calls from a terminal: close and reopen
//! groups (`close`, `open`, `closures`), and work through what callers left
//! (`callbacks`, `voicemails`, each with `done ID`). Every instance on the
//! same database follows a closure within a second.

use super::{CheckFormat, DatabaseArg, with_store};
use clap::Subcommand;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use switchboard::store::admin::{Marked, Tray};

/// `switchboard close`.
#[derive(clap::Args, Debug)]
pub(super) struct CloseArgs {
    /// The group, as named in the flows' `[groups]`.
    group: String,
    /// Closed until then: a time (`2026-12-24T09:00:00-05:00`,
    /// `2026-12-24T14:00:00Z`), a zoned time
    /// (`2026-12-24T09:00[America/New_York]`), a date (UTC midnight) or a
    /// time from now (`2h`, `1d 4h`).
    #[arg(long, value_parser = until)]
    until: jiff::Timestamp,
    /// What callers hear first, before the group's closed route:
    /// `TEXT` in the default language, or `LANG=TEXT` (repeat for each
    /// language).
    #[arg(long)]
    message: Vec<String>,
    /// The flow directory the servers run (to check the group and languages).
    #[arg(long, env = "SWITCHBOARD_FLOWS", default_value = "flows")]
    flows: PathBuf,
    #[command(flatten)]
    db: DatabaseArg,
}

/// `switchboard callbacks` and `switchboard voicemails`.
#[derive(clap::Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub(super) struct TrayArgs {
    #[command(subcommand)]
    action: Option<TrayAction>,
    /// Only this group's.
    #[arg(long)]
    group: Option<String>,
    /// At most this many, oldest first.
    #[arg(long, default_value_t = 1000)]
    limit: u32,
    /// Output format.
    #[arg(long, value_enum, default_value_t = CheckFormat::Text)]
    format: CheckFormat,
    #[command(flatten)]
    db: DatabaseArg,
}

#[derive(Subcommand, Debug)]
enum TrayAction {
    /// Mark one done (a callback made) or handled (a voicemail dealt with).
    Done {
        /// Its id, as the listing shows.
        id: i64,
        #[command(flatten)]
        db: DatabaseArg,
    },
}

/// `--until`: see [`switchboard::routing::parse_until`].
fn until(s: &str) -> Result<jiff::Timestamp, String> {
    switchboard::routing::parse_until(s, jiff::Timestamp::now())
}

pub(super) fn close(a: CloseArgs) -> anyhow::Result<ExitCode> {
    let set = switchboard::flow::load_dir(&a.flows)?;
    let Some(program) = switchboard::compile::compile(&set).program else {
        anyhow::bail!(
            "the flows in {} do not compile (run `switchboard check {}`): the group and languages are checked against them, so point --flows at the set the servers run",
            a.flows.display(),
            a.flows.display()
        );
    };
    let now = jiff::Timestamp::now();
    let (closure, missing) =
        switchboard::routing::closure(&program, &a.group, Ok(a.until), &a.message, now)?;
    with_store(&a.db.url, async |store| {
        Ok(store.close_group(&closure).await?)
    })?;
    outln!(
        "{} is closed until {} ({}): new calls for it take its queues' closed route on every instance within a second; callers already waiting stay in the queue",
        closure.group,
        closure.until.strftime("%Y-%m-%d %H:%M:%S UTC"),
        ago(closure.until.duration_since(now), "from now"),
    );
    if closure.message.is_empty() {
        outln!("callers hear no message of yours before the closed route (add one with --message)");
    }
    if !missing.is_empty() {
        let names: Vec<&str> = missing.iter().map(|l| l.as_str()).collect();
        eprintln!(
            "note: no message in {}: those callers hear the {} one (give LANG=TEXT for each)",
            names.join(", "),
            program.default_language
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub(super) fn open(group: &str, db: &DatabaseArg) -> anyhow::Result<ExitCode> {
    let (was, still) = with_store(&db.url, async |store| {
        let was = store.open_group(group).await?;
        Ok((was, store.closures(jiff::Timestamp::now()).await?))
    })?;
    if was {
        outln!(
            "{group} is open again: new calls for it route normally on every instance within a second"
        );
    } else {
        let names: Vec<&str> = still.iter().map(|c| c.group.as_str()).collect();
        outln!(
            "{group} was not closed: nothing changed ({})",
            if names.is_empty() {
                "no group is closed".to_owned()
            } else {
                format!("closed now: {}", names.join(", "))
            }
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub(super) fn closures(db: &DatabaseArg, format: CheckFormat) -> anyhow::Result<ExitCode> {
    let now = jiff::Timestamp::now();
    let closures = with_store(&db.url, async |store| Ok(store.closures(now).await?))?;
    let list: Vec<_> = closures.iter().collect();
    match format {
        CheckFormat::Json => outln!("{}", serde_json::to_string_pretty(&list)?),
        CheckFormat::Text if list.is_empty() => outln!("no group is closed"),
        CheckFormat::Text => {
            outln!(
                "{:<16} {:<20} {:<12} message",
                "group",
                "until (UTC)",
                "left"
            );
            for c in list {
                let message: Vec<String> =
                    c.message.iter().map(|(l, t)| format!("{l}={t}")).collect();
                outln!(
                    "{:<16} {:<20} {:<12} {}",
                    c.group,
                    c.until.strftime("%Y-%m-%d %H:%M:%S").to_string(),
                    ago(c.until.duration_since(now), ""),
                    if message.is_empty() {
                        "(none)".to_owned()
                    } else {
                        message.join(" | ")
                    }
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `switchboard callbacks` or `switchboard voicemails`.
pub(super) fn tray(tray: Tray, a: TrayArgs) -> anyhow::Result<ExitCode> {
    let (one, marked_word) = match tray {
        Tray::Callbacks => ("callback request", "done"),
        Tray::Voicemails => ("voicemail", "handled"),
    };
    if let Some(TrayAction::Done { id, db }) = a.action {
        let now = jiff::Timestamp::now();
        let marked = with_store(&db.url, async |store| Ok(store.mark(tray, id, now).await?))?;
        return Ok(match marked {
            Marked::Now => {
                outln!("{one} {id} marked {marked_word}");
                ExitCode::SUCCESS
            }
            Marked::Already(at) => {
                let when = at
                    .map(|t| format!(" at {}", t.strftime("%Y-%m-%d %H:%M:%S UTC")))
                    .unwrap_or_default();
                outln!("{one} {id} was already marked {marked_word}{when}: nothing changed");
                ExitCode::SUCCESS
            }
            Marked::Unknown => {
                eprintln!(
                    "error: there is no {one} {id} (check the id in the listing; a purge or an erasure may have removed it)"
                );
                ExitCode::from(1)
            }
        });
    }
    let group = a.group.as_deref();
    let now = jiff::Timestamp::now();
    match tray {
        Tray::Callbacks => {
            let open = with_store(&a.db.url, async |store| {
                Ok(store.open_callbacks(group, a.limit).await?)
            })?;
            if a.format == CheckFormat::Json {
                outln!("{}", serde_json::to_string_pretty(&open)?);
            } else if open.is_empty() {
                outln!("no open callback request{}", of_group(group));
            } else {
                outln!(
                    "{:<8} {:<20} {:<10} {:<16} number",
                    "id",
                    "asked (UTC)",
                    "waiting",
                    "group"
                );
                for c in &open {
                    outln!(
                        "{:<8} {:<20} {:<10} {:<16} {}",
                        c.id,
                        c.at.strftime("%Y-%m-%d %H:%M:%S").to_string(),
                        ago(now.duration_since(c.at), ""),
                        c.group,
                        c.number
                    );
                }
                outln!(
                    "{} open, oldest first: `switchboard callbacks done ID` once called back",
                    open.len()
                );
            }
        }
        Tray::Voicemails => {
            let open = with_store(&a.db.url, async |store| {
                Ok(store.open_voicemails(group, a.limit).await?)
            })?;
            if a.format == CheckFormat::Json {
                outln!("{}", serde_json::to_string_pretty(&open)?);
            } else if open.is_empty() {
                outln!("no voicemail to handle{}", of_group(group));
            } else {
                outln!(
                    "{:<8} {:<20} {:<10} {:<16} {:<16} {:>6}  recording",
                    "id",
                    "left (UTC)",
                    "waiting",
                    "group",
                    "caller",
                    "length"
                );
                for v in &open {
                    outln!(
                        "{:<8} {:<20} {:<10} {:<16} {:<16} {:>5}s  {}",
                        v.id,
                        v.at.strftime("%Y-%m-%d %H:%M:%S").to_string(),
                        ago(now.duration_since(v.at), ""),
                        v.group,
                        v.caller.as_deref().unwrap_or("(erased)"),
                        v.seconds,
                        v.url
                    );
                }
                outln!(
                    "{} to handle, oldest first: `switchboard voicemails done ID` once dealt with",
                    open.len()
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn of_group(group: Option<&str>) -> String {
    group.map(|g| format!(" for {g}")).unwrap_or_default()
}

/// [`switchboard::report::render::span`], then `suffix`.
fn ago(d: jiff::SignedDuration, suffix: &str) -> String {
    let span = switchboard::report::render::span(d);
    if suffix.is_empty() {
        span
    } else {
        format!("{span} {suffix}")
    }
}

/// `switchboard admin-password`: the hash of the password on standard input.
pub(super) fn hash_password() -> anyhow::Result<ExitCode> {
    use std::io::{BufRead, IsTerminal};
    if std::io::stdin().is_terminal() {
        eprintln!("type the admin password (12 characters or more), then Enter:");
    }
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    let password = line.trim_end_matches(['\n', '\r']);
    if password.chars().count() < 12 {
        anyhow::bail!("the password is shorter than 12 characters: choose a longer one");
    }
    let hash = switchboard::server::admin::auth::hash(password).map_err(anyhow::Error::msg)?;
    outln!("{hash}");
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn until_takes_times_zones_dates_and_spans_from_now() {
        let t = |s: &str| until(s).map(|t| t.to_string());
        assert_eq!(t("2026-12-24T14:00:00Z").unwrap(), "2026-12-24T14:00:00Z");
        assert_eq!(
            t("2026-12-24T09:00:00-05:00").unwrap(),
            "2026-12-24T14:00:00Z"
        );
        assert_eq!(
            t("2026-12-24T09:00[America/New_York]").unwrap(),
            "2026-12-24T14:00:00Z"
        );
        assert_eq!(t("2026-12-24").unwrap(), "2026-12-24T00:00:00Z");
        let soon = until("2h").unwrap();
        let ahead = soon.duration_since(jiff::Timestamp::now()).as_secs();
        assert!((7_100..=7_200).contains(&ahead), "{ahead}");
        assert!(until("tomorrow-ish").unwrap_err().contains("is not a time"));
    }

    #[test]
    fn spans_read_as_an_admin_reads_them() {
        let s = jiff::SignedDuration::from_secs;
        assert_eq!(ago(s(40), ""), "40s");
        assert_eq!(ago(s(125), ""), "2m");
        assert_eq!(ago(s(7_500), "from now"), "2h 5m from now");
        assert_eq!(ago(s(3 * 86_400 + 4 * 3600), ""), "3d 4h");
        assert_eq!(ago(s(-5), ""), "0s");
    }
}
