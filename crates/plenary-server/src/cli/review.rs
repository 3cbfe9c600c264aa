//! `plenary check` and `plenary compile`: the drafting checks and the compilation text (SPEC §2)
//! of a plain-text draft or of a stored document, the same views the HTTP API serves at
//! `/api/docs/{doc}/checks` and `/api/docs/{doc}/compilation`.
//!
//! `check` is meant for scripts as much as for people: it exits 1 when there are findings, so a
//! secretariat can refuse to circulate a text that breaks the editorial rules.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::bail;
use clap::Args;
use plenary_doc::Resolution;
use plenary_doc::checks::check as drafting_checks;
use plenary_doc::compilation::{compile as compilation, render_html, render_plain};

use super::config::CommonArgs;
use super::serve::{read_resolution, write_export};

/// Where the resolution comes from: a text file, or a stored document.
#[derive(Debug, Args)]
pub(crate) struct Source {
    /// A plain-text draft to read (imported as `plenary import` reads it) …
    #[arg(conflicts_with_all = ["doc", "from"])]
    file: Option<PathBuf>,
    /// … the same, given as `--from` like `plenary export` takes it …
    #[arg(long, conflicts_with = "doc")]
    from: Option<PathBuf>,
    /// … or a stored document (in --data-dir or --redis), as it stands now.
    #[arg(long)]
    doc: Option<String>,
    #[arg(long, env = "PLENARY_REDIS")]
    redis: Option<String>,
    #[command(flatten)]
    common: CommonArgs,
}

impl Source {
    fn read(&self) -> anyhow::Result<Resolution> {
        if self.doc.is_none() && self.file.is_none() && self.from.is_none() {
            bail!("give a text file or --doc <name>");
        }
        read_resolution(
            self.doc.as_deref(),
            self.file.as_deref().or(self.from.as_deref()),
            self.redis.as_deref(),
            &self.common,
            true,
        )
    }
}

#[derive(Debug, Args)]
#[command(
    after_help = "Exit status: 0 when the draft passes every check, 1 when there are \
findings, 2 when the draft could not be read."
)]
pub(crate) struct CheckArgs {
    #[command(flatten)]
    source: Source,
    /// Print the findings as JSON (`[{paragraphId, label, rule, message, sentence}]`).
    #[arg(long)]
    json: bool,
}

/// Runs the drafting checks; the exit status says whether there were findings (1) or the draft
/// could not be read (2), so it is decided here rather than by the shared error path.
pub(crate) fn check(args: CheckArgs) -> ExitCode {
    match run_check(&args) {
        Ok(clean) if clean => ExitCode::SUCCESS,
        Ok(_) => ExitCode::from(1),
        Err(e) => {
            eprintln!("plenary: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// Prints the findings; `Ok(true)` when there are none.
fn run_check(args: &CheckArgs) -> anyhow::Result<bool> {
    let resolution = args.source.read()?;
    let findings = drafting_checks(&resolution);
    if args.json {
        let out: Vec<serde_json::Value> = findings
            .iter()
            .map(|f| {
                let mut v = serde_json::to_value(f)?;
                if let Some(o) = v.as_object_mut() {
                    o.insert("sentence".into(), f.sentence().into());
                }
                Ok(v)
            })
            .collect::<Result<_, serde_json::Error>>()?;
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        for f in &findings {
            println!("{}", f.sentence());
        }
        let n = resolution.paragraphs.len();
        let paragraphs = if n == 1 { "paragraph" } else { "paragraphs" };
        match findings.len() {
            0 => println!("No findings in {n} {paragraphs}."),
            1 => println!("1 finding in {n} {paragraphs}."),
            k => println!("{k} findings in {n} {paragraphs}."),
        }
    }
    Ok(findings.is_empty())
}

#[derive(Debug, Args)]
pub(crate) struct CompileArgs {
    #[command(flatten)]
    source: Source,
    /// text | html | json
    #[arg(long, default_value = "text")]
    format: String,
    /// Write it to this file instead of standard output.
    #[arg(long)]
    out: Option<PathBuf>,
}

/// Prints the compilation text: each paragraph with its pending proposals as bracketed
/// alternatives attributed to their delegations.
pub(crate) fn compile(args: CompileArgs) -> anyhow::Result<()> {
    let resolution = args.source.read()?;
    let c = compilation(&resolution);
    let out = match args.format.as_str() {
        "text" | "txt" => render_plain(&c),
        "html" => render_html(&c, &title(&resolution)),
        "json" => serde_json::to_string_pretty(&c)? + "\n",
        other => bail!("unknown format {other}: use text, html or json"),
    };
    write_export(out.as_bytes(), args.out.as_deref(), false)
}

/// What the HTML page is headed with: the title, else the symbol.
fn title(r: &Resolution) -> String {
    r.meta
        .title
        .clone()
        .or_else(|| r.meta.symbol.clone())
        .unwrap_or_else(|| "draft resolution".to_owned())
}
