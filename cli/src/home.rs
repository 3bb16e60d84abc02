//! Which folder is verity's home: the flag or the environment, read once at the edge. What is
//! inside it is the library's business ([`verity_provenance::Home`]).

use std::path::PathBuf;

use verity_provenance::Home;

/// Finds the home folder.
pub struct HomeDir;

impl HomeDir {
    /// Resolves the home: `--home` or `VERITY_HOME` (already merged by clap into `flag`), else
    /// `$XDG_CONFIG_HOME/verity`, else `$HOME/.config/verity`.
    pub fn resolve(
        flag: Option<PathBuf>,
        xdg_config_home: Option<PathBuf>,
        home: Option<PathBuf>,
    ) -> anyhow::Result<Home> {
        let root = match (flag, xdg_config_home, home) {
            (Some(dir), _, _) => dir,
            (None, Some(xdg), _) if xdg.is_absolute() => xdg.join("verity"),
            (None, _, Some(home)) => home.join(".config").join("verity"),
            (None, _, None) => anyhow::bail!(
                "cannot find a home directory for verity: set --home DIR or VERITY_HOME"
            ),
        };
        Ok(Home::new(root))
    }

    /// Reads `XDG_CONFIG_HOME` and `HOME` from the environment; only the binary's edge calls this.
    pub fn from_env(flag: Option<PathBuf>) -> anyhow::Result<Home> {
        let nonempty = |k: &str| {
            std::env::var_os(k)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        HomeDir::resolve(flag, nonempty("XDG_CONFIG_HOME"), nonempty("HOME"))
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    #[test]
    fn resolution_order() -> anyhow::Result<()> {
        let h = HomeDir::resolve(
            Some("/x".into()),
            Some("/xdg".into()),
            Some("/home/u".into()),
        )?;
        assert_eq!(h.root(), Path::new("/x"));
        let h = HomeDir::resolve(None, Some("/xdg".into()), Some("/home/u".into()))?;
        assert_eq!(h.root(), Path::new("/xdg/verity"));
        // A relative XDG_CONFIG_HOME is invalid per the spec and is ignored.
        let h = HomeDir::resolve(None, Some("rel".into()), Some("/home/u".into()))?;
        assert_eq!(h.root(), Path::new("/home/u/.config/verity"));
        assert!(HomeDir::resolve(None, None, None).is_err());
        Ok(())
    }
}
