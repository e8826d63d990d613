//! `warden serve`: the platform server (inventory, registry, access control, audit log, web UI).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use warden_server::config::{AlertThresholds, OidcConfig, ServerConfig};

use super::ExitStatus;
use crate::cli::GlobalArgs;

/// Arguments of `warden serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080", env = "WARDEN_LISTEN")]
    pub listen: SocketAddr,
    /// Where the database (SQLite), the server keys and the registry's encrypted blobs live
    /// [default: $XDG_DATA_HOME/warden/server or ~/.local/share/warden/server].
    #[arg(long, value_name = "DIR", env = "WARDEN_SERVER_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Database URL: `sqlite://PATH` (default: warden.db in the data directory) or
    /// `postgres://USER:PASSWORD@HOST/DB` so several instances share one database (they must then
    /// share the data directory's `keys/` and `blobs/` too).
    #[arg(long, value_name = "URL", env = "WARDEN_DATABASE_URL")]
    pub database: Option<String>,
    /// The URL users reach the server at (links, cookies, the single sign-on redirect);
    /// default http://<listen address>/.
    #[arg(long, value_name = "URL", env = "WARDEN_PUBLIC_URL")]
    pub public_url: Option<url::Url>,
    /// A reverse proxy or load balancer whose X-Forwarded-For is believed (repeatable, CIDR).
    #[arg(long = "trusted-proxy", value_name = "CIDR")]
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Largest model upload accepted, in MiB.
    #[arg(long, default_value_t = 4096, value_name = "MIB")]
    pub max_upload_mib: u64,
    /// How long a browser session lasts, in hours.
    #[arg(long, default_value_t = 12, value_name = "HOURS")]
    pub session_hours: u64,
    /// Read the first-administrator bootstrap token from this file instead of generating one.
    #[arg(long, value_name = "FILE")]
    pub bootstrap_token_file: Option<PathBuf>,
    /// Failed sign-ins (per user or address) within the alert window that raise an alert.
    #[arg(long, default_value_t = 5, value_name = "N")]
    pub alert_failed_logins: u32,
    /// Model downloads by one principal within the alert window that raise an alert.
    #[arg(long, default_value_t = 20, value_name = "N")]
    pub alert_downloads: u32,
    /// The alert window in minutes.
    #[arg(long, default_value_t = 10, value_name = "MINUTES")]
    pub alert_window_minutes: u64,
    /// Hours of the day (UTC) when access is expected, like `7-19`; access outside raises an alert.
    #[arg(long, value_name = "START-END", value_parser = parse_hours)]
    pub alert_hours: Option<(u8, u8)>,
    /// The name audit checkpoints are signed under (set once, when the key is created).
    #[arg(long, value_name = "NAME")]
    pub audit_origin: Option<String>,
    /// Incident rules to use instead of the shipped ones (YAML; checked at start, with every
    /// rule's examples). `--print-incident-rules` gives the shipped file to start from.
    #[arg(long, value_name = "FILE", env = "WARDEN_INCIDENT_RULES")]
    pub incident_rules: Option<PathBuf>,
    /// Print the shipped incident rules and exit.
    #[arg(long)]
    pub print_incident_rules: bool,
    /// OpenID Connect issuer URL for single sign-on (authorization code + PKCE).
    #[arg(long, value_name = "URL", env = "WARDEN_OIDC_ISSUER", requires = "oidc_client_id")]
    pub oidc_issuer: Option<url::Url>,
    /// The client id registered at the OpenID provider.
    #[arg(long, value_name = "ID", env = "WARDEN_OIDC_CLIENT_ID")]
    pub oidc_client_id: Option<String>,
    /// File holding the client secret (or set WARDEN_OIDC_CLIENT_SECRET).
    #[arg(long, value_name = "FILE")]
    pub oidc_client_secret_file: Option<PathBuf>,
    /// The provider's name on the login button.
    #[arg(long, default_value = "single sign-on", value_name = "NAME")]
    pub oidc_name: String,
    /// Roles of users the provider signs in for the first time (repeatable).
    #[arg(long = "oidc-default-role", value_name = "ROLE")]
    pub oidc_default_roles: Vec<String>,
    /// A provider group mapped to a role, `GROUP=ROLE` (repeatable).
    #[arg(long = "oidc-group-role", value_name = "GROUP=ROLE")]
    pub oidc_group_roles: Vec<String>,
}

fn parse_hours(text: &str) -> Result<(u8, u8), String> {
    let (start, end) = text.split_once('-').ok_or("expected START-END, like 7-19")?;
    let parse = |s: &str| s.trim().parse::<u8>().ok().filter(|h| *h <= 24).ok_or(format!("`{s}` is not an hour 0-24"));
    Ok((parse(start)?, parse(end)?))
}

/// Runs `warden serve` until SIGINT/SIGTERM.
pub fn run(args: &ServeArgs, _global: &GlobalArgs) -> anyhow::Result<ExitStatus> {
    if args.print_incident_rules {
        #[allow(clippy::print_stdout)]
        {
            print!("{}", warden_server::incidents::rules::SHIPPED);
        }
        return Ok(ExitStatus::Success);
    }
    let config = config(args)?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("starting the async runtime")?;
    runtime.block_on(async move {
        let server = warden_server::app::start(config).await?;
        #[allow(clippy::print_stderr)]
        {
            eprintln!("warden: serving on {} (API: {}api/v1/openapi.json)", server.url, server.url);
            if let Some(link) = server.bootstrap_link() {
                eprintln!("warden: no administrator yet; create one within 24 hours at:\n\n    {link}\n");
            }
        }
        server.wait().await.context("serving")?;
        Ok::<_, anyhow::Error>(())
    })?;
    Ok(ExitStatus::Success)
}

fn config(args: &ServeArgs) -> anyhow::Result<ServerConfig> {
    let data_dir = match &args.data_dir {
        Some(dir) => dir.clone(),
        None => super::assess::data_dir(None)?.join("server"),
    };
    let mut config = ServerConfig::new(args.listen, data_dir);
    config.database_url = args.database.clone();
    config.public_url = args.public_url.clone();
    config.trusted_proxies = args.trusted_proxies.clone();
    config.max_upload_bytes = args.max_upload_mib.saturating_mul(1 << 20);
    config.session_ttl = Duration::from_secs(args.session_hours.max(1) * 3600);
    config.audit_origin = args.audit_origin.clone();
    if let Some(path) = &args.incident_rules {
        let rules = warden_server::incidents::rules::read(path).map_err(|e| anyhow::anyhow!("--incident-rules {e}"))?;
        config.incident_rules = Some(std::sync::Arc::new(rules));
    }
    config.alerts = AlertThresholds {
        failed_logins: args.alert_failed_logins.max(1),
        downloads: args.alert_downloads.max(1),
        window: Duration::from_secs(args.alert_window_minutes.max(1) * 60),
        allowed_hours: args.alert_hours,
    };
    if let Some(path) = &args.bootstrap_token_file {
        let token = std::fs::read_to_string(path).with_context(|| format!("reading `{}`", path.display()))?;
        let token = token.trim().to_owned();
        anyhow::ensure!(token.len() >= 32, "the bootstrap token in `{}` is shorter than 32 characters", path.display());
        config.bootstrap_token = Some(token);
    }
    if let Some(issuer) = &args.oidc_issuer {
        let client_id = args.oidc_client_id.clone().context("--oidc-client-id is required with --oidc-issuer")?;
        let client_secret = match (&args.oidc_client_secret_file, std::env::var("WARDEN_OIDC_CLIENT_SECRET")) {
            (Some(path), _) => std::fs::read_to_string(path).with_context(|| format!("reading `{}`", path.display()))?.trim().to_owned(),
            (None, Ok(secret)) => secret,
            (None, Err(_)) => anyhow::bail!("single sign-on needs the client secret: --oidc-client-secret-file or WARDEN_OIDC_CLIENT_SECRET"),
        };
        let mut group_roles = BTreeMap::new();
        for mapping in &args.oidc_group_roles {
            let (group, role) = mapping.split_once('=').with_context(|| format!("`{mapping}` is not GROUP=ROLE"))?;
            check_role(role)?;
            group_roles.insert(group.to_owned(), role.to_owned());
        }
        for role in &args.oidc_default_roles {
            check_role(role)?;
        }
        config.oidc = Some(OidcConfig {
            issuer: issuer.clone(),
            client_id,
            client_secret,
            display_name: args.oidc_name.clone(),
            default_roles: args.oidc_default_roles.clone(),
            group_roles,
        });
    }
    Ok(config)
}

fn check_role(role: &str) -> anyhow::Result<()> {
    anyhow::ensure!(
        warden_server::authz::ROLES.contains(&role),
        "unknown role `{role}` (roles: {})",
        warden_server::authz::ROLES.join(", ")
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hours_parse() {
        assert_eq!(parse_hours("7-19"), Ok((7, 19)));
        assert_eq!(parse_hours("22-6"), Ok((22, 6)));
        assert!(parse_hours("7").is_err());
        assert!(parse_hours("7-25").is_err());
    }
}
