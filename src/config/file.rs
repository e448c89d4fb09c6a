//! `--config FILE`: a TOML file whose keys are the long flag names (`listen`, `cache-bytes`,
//! `signing-key`, …). Precedence: flags > env vars > file > defaults.
//!
//! The file is not a second configuration schema: its settings become flags appended to the
//! command line, but only for flags that neither the command line nor the environment set (clap
//! reports where each value came from). So every flag clap knows is a valid key the moment it
//! is declared, its value goes through the same parser and validation as on the command line,
//! and the precedence falls out of clap's own (command line over env over default).

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::parser::ValueSource;
use clap::{ArgAction, ArgMatches, Command, Parser};

/// The flag (and id) naming the file; it cannot name itself inside the file.
pub const CONFIG_ARG: &str = "config";

/// Parses the command line, merging in the `--config` file (or `QR_ORIGIN_CONFIG`) when given.
/// Errors of the command line itself are clap's (`--help` included); errors in the file name
/// the file and the key.
pub fn parse<P: Parser>(argv: Vec<OsString>) -> Result<P, ParseError> {
    let mut cmd = P::command();
    cmd.build();
    let matches = cmd.clone().try_get_matches_from(&argv)?;
    let Some(path) = matches.get_one::<PathBuf>(CONFIG_ARG).cloned() else {
        return Ok(P::from_arg_matches(&matches)?);
    };
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("--config {}: cannot read the file", path.display()))?;
    let extra = flags_from_file(&cmd, &matches, &text)
        .with_context(|| format!("--config {}", path.display()))?;
    let mut merged = argv;
    merged.extend(extra);
    let matches = cmd
        .try_get_matches_from(&merged)
        .map_err(|e| in_file(&path, &e))?;
    P::from_arg_matches(&matches).map_err(|e| in_file(&path, &e))
}

/// Why the command line could not be parsed.
#[derive(Debug)]
pub enum ParseError {
    /// clap's own: printed and exited by clap (usage, `--help`, `--version`).
    Cli(clap::Error),
    /// The config file: missing, malformed, an unknown key or a bad value.
    File(anyhow::Error),
}

impl From<clap::Error> for ParseError {
    fn from(e: clap::Error) -> Self {
        ParseError::Cli(e)
    }
}

impl From<anyhow::Error> for ParseError {
    fn from(e: anyhow::Error) -> Self {
        ParseError::File(e)
    }
}

/// A value from the file that clap refused: clap's first line, said to come from the file.
fn in_file(path: &Path, e: &clap::Error) -> ParseError {
    let rendered = e.to_string();
    let first = rendered.lines().next().unwrap_or_default();
    let msg = first.strip_prefix("error: ").unwrap_or(first);
    ParseError::File(anyhow::anyhow!("--config {}: {msg}", path.display()))
}

/// The file's settings as `--flag=value` arguments for the subcommand being run, leaving out
/// what the command line or the environment already set.
fn flags_from_file(
    cli: &Command,
    matches: &ArgMatches,
    text: &str,
) -> anyhow::Result<Vec<OsString>> {
    let table: toml::Table = text.parse().context("not valid TOML")?;
    let (leaf, leaf_matches) = active_subcommand(cli, matches);
    let mut out = Vec::new();
    for (key, value) in &table {
        if key == CONFIG_ARG {
            bail!("key `{key}`: a config file cannot name another one");
        }
        let Some(arg) = leaf
            .get_arguments()
            .find(|a| a.get_long() == Some(key.as_str()))
        else {
            // A serve setting in a file also read by `token` or `merchant` (keys, data dir):
            // meaningful, just not to this subcommand.
            if long_flag(cli, key) {
                continue;
            }
            bail!(
                "unknown key `{key}` (keys are the long flag names, as in `qr-origin serve --help`)"
            );
        };
        let id = arg.get_id().as_str();
        if matches!(
            leaf_matches.value_source(id),
            Some(ValueSource::CommandLine | ValueSource::EnvVariable)
        ) {
            continue;
        }
        match arg.get_action() {
            ArgAction::SetTrue => match value {
                toml::Value::Boolean(true) => out.push(OsString::from(format!("--{key}"))),
                toml::Value::Boolean(false) => {}
                _ => bail!("key `{key}`: expected true or false"),
            },
            ArgAction::Append => match value {
                toml::Value::Array(items) => {
                    for item in items {
                        out.push(flag(key, item)?);
                    }
                }
                one => out.push(flag(key, one)?),
            },
            ArgAction::Set => out.push(flag(key, value)?),
            _ => bail!("key `{key}`: not settable from a file"),
        }
    }
    Ok(out)
}

/// `--key=value`: the `=` keeps a value starting with `-` from reading as a flag.
fn flag(key: &str, value: &toml::Value) -> anyhow::Result<OsString> {
    let v = match value {
        toml::Value::String(s) => s.clone(),
        toml::Value::Integer(i) => i.to_string(),
        toml::Value::Float(f) => f.to_string(),
        toml::Value::Boolean(b) => b.to_string(),
        _ => bail!("key `{key}`: expected a string, number or boolean"),
    };
    Ok(OsString::from(format!("--{key}={v}")))
}

/// The subcommand clap matched (the top level when none), with its matches.
fn active_subcommand<'a>(
    cli: &'a Command,
    matches: &'a ArgMatches,
) -> (&'a Command, &'a ArgMatches) {
    let (mut cmd, mut m) = (cli, matches);
    while let Some((name, sub)) = m.subcommand() {
        match cmd.find_subcommand(name) {
            Some(c) => (cmd, m) = (c, sub),
            None => break,
        }
    }
    (cmd, m)
}

/// Whether any (sub)command declares `--key`.
fn long_flag(cmd: &Command, key: &str) -> bool {
    cmd.get_arguments().any(|a| a.get_long() == Some(key))
        || cmd.get_subcommands().any(|c| long_flag(c, key))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmd::{Cli, Command as Sub};

    fn write(text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("qr-origin.toml");
        std::fs::write(&path, text).expect("write");
        (dir, path)
    }

    fn cli(args: &[&str], path: &Path) -> Result<Cli, ParseError> {
        let mut argv: Vec<OsString> = vec!["qr-origin".into()];
        argv.extend(args.iter().map(OsString::from));
        argv.push("--config".into());
        argv.push(path.into());
        parse(argv)
    }

    fn err(r: Result<Cli, ParseError>) -> String {
        match r {
            Err(ParseError::File(e)) => format!("{e:#}"),
            Err(ParseError::Cli(e)) => panic!("clap error, not a file error: {e}"),
            Ok(_) => panic!("accepted"),
        }
    }

    #[test]
    fn file_fills_what_flags_leave_unset() {
        let (_d, path) = write(
            "listen = \"127.0.0.1:9999\"\ncache-bytes = 2097152\nshutdown-delay = \"1h\"\n\
             signing-key = [\"a=first-secret\", \"b=second-secret\"]\nallow-insecure-webhooks = true\n\
             log-format = \"json\"\n",
        );
        let c = cli(&["serve", "--cache-bytes", "3145728"], &path).unwrap();
        assert_eq!(c.log_format, "json");
        let Some(Sub::Serve(args)) = c.command else {
            panic!("serve")
        };
        let config = args.into_config().unwrap();
        assert_eq!(config.listen.port(), 9999);
        assert_eq!(config.cache_bytes, 3_145_728, "the flag wins over the file");
        assert_eq!(config.shutdown_delay, std::time::Duration::from_secs(3600));
        assert_eq!(config.signing_keys.len(), 2);
        assert_eq!(config.signing_keys[0].0, "a");
        assert!(config.webhooks.allow_insecure);
    }

    #[test]
    fn the_top_level_serve_takes_the_file_too() {
        let (_d, path) = write("listen = \"127.0.0.1:9998\"\n");
        let c = cli(&[], &path).unwrap();
        assert!(c.command.is_none());
        assert_eq!(c.serve.listen.port(), 9998);
    }

    #[test]
    fn other_subcommands_take_only_their_keys() {
        let (_d, path) = write("public-url = \"https://cdn.example\"\ncache-bytes = 2097152\n");
        let c = cli(&["token", "--url", "https://x.example"], &path).unwrap();
        let Some(Sub::Token(t)) = c.command else {
            panic!("token")
        };
        assert_eq!(t.keys.public_url.as_deref(), Some("https://cdn.example"));
    }

    #[test]
    fn unknown_keys_and_bad_values_are_named() {
        let (_d, path) = write("listen = \"127.0.0.1:0\"\ncache-byts = 5\n");
        let e = err(cli(&[], &path));
        assert!(e.contains("unknown key `cache-byts`"), "{e}");
        assert!(e.contains("qr-origin.toml"), "{e}");

        let (_d, path) = write("shutdown-delay = 5\n");
        let e = err(cli(&[], &path));
        assert!(
            e.contains("has no unit") && e.contains("shutdown-delay"),
            "{e}"
        );

        let (_d, path) = write("listen = [\"a\", \"b\"]\n");
        let e = err(cli(&[], &path));
        assert!(e.contains("listen"), "{e}");

        let (_d, path) = write("allow-insecure-webhooks = \"yes\"\n");
        assert!(err(cli(&[], &path)).contains("true or false"));

        let (_d, path) = write("config = \"other.toml\"\n");
        assert!(err(cli(&[], &path)).contains("cannot name another"));

        let (_d, path) = write("listen = \n");
        assert!(err(cli(&[], &path)).contains("not valid TOML"));
    }

    #[test]
    fn a_missing_file_is_an_error() {
        let e = err(cli(&[], Path::new("/nonexistent/qr-origin.toml")));
        assert!(e.contains("cannot read"), "{e}");
    }

    /// The example in deploy/ stays valid: its settings, and every commented-out `# key = value`
    /// line once uncommented, are accepted by `serve`.
    #[test]
    fn the_deploy_example_is_valid() {
        let example = include_str!("../../deploy/qr-origin.toml");
        let (_d, path) = write(example);
        cli(&[], &path).unwrap_or_else(|e| panic!("{}", err(Err(e))));
        let mut uncommented = String::new();
        let mut seen = std::collections::HashSet::new();
        for line in example.lines() {
            let l = line.trim_start_matches("# ").trim_start_matches('#');
            if let Some((k, _)) = l.split_once(" = ")
                && !k.is_empty()
                && k.bytes().all(|b| b.is_ascii_lowercase() || b == b'-')
                && seen.insert(k.to_owned())
            {
                uncommented.push_str(l);
                uncommented.push('\n');
            }
        }
        assert!(uncommented.lines().count() > 10, "{uncommented}");
        let (_d, path) = write(&uncommented);
        let c = cli(&[], &path).unwrap_or_else(|e| panic!("{}", err(Err(e))));
        c.serve.into_config().expect("valid values");
    }
}
