//! `faceproof config docs`: the settings table (markdown) that `docs/configuration.md` holds,
//! generated from the server's declarations (`faceproof_server::config`).

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    action: Action,
}

#[derive(clap::Subcommand)]
enum Action {
    /// Print every setting (TOML key, environment variable, flag, default, meaning) as markdown.
    Docs,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    match args.action {
        Action::Docs => print!("{}", faceproof_server::config::docs_markdown()),
    }
    Ok(())
}
