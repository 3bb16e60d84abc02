//! verity's home directory: where keys, trust anchors and the manifest repository live.

use std::path::{Path, PathBuf};

/// The resolved home directory and the places inside it.
#[derive(Clone, Debug)]
pub struct Home {
    root: PathBuf,
}

impl Home {
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
        Ok(Home { root })
    }

    /// Reads `XDG_CONFIG_HOME` and `HOME` from the environment; only the binary's edge calls this.
    pub fn from_env(flag: Option<PathBuf>) -> anyhow::Result<Home> {
        let nonempty = |k: &str| {
            std::env::var_os(k)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        Home::resolve(flag, nonempty("XDG_CONFIG_HOME"), nonempty("HOME"))
    }

    pub fn root(&self) -> &Path {
        &self.root
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolution_order() -> anyhow::Result<()> {
        let h = Home::resolve(
            Some("/x".into()),
            Some("/xdg".into()),
            Some("/home/u".into()),
        )?;
        assert_eq!(h.root(), Path::new("/x"));
        let h = Home::resolve(None, Some("/xdg".into()), Some("/home/u".into()))?;
        assert_eq!(h.root(), Path::new("/xdg/verity"));
        // A relative XDG_CONFIG_HOME is invalid per the spec and is ignored.
        let h = Home::resolve(None, Some("rel".into()), Some("/home/u".into()))?;
        assert_eq!(h.root(), Path::new("/home/u/.config/verity"));
        assert!(Home::resolve(None, None, None).is_err());
        Ok(())
    }
}
