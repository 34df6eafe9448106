//! Headless Chromium for the browser tests: found on the machine, or installed from the
//! distribution's packages (Debian: `chromium` and `chromium-driver`) when missing. Nothing is
//! downloaded from anywhere but the package archive.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::{Result, run_step};

/// Environment variable carrying ChromeDriver's path to the tests.
pub const CHROMEDRIVER_ENV: &str = "ROSTER_TEST_CHROMEDRIVER";
/// Environment variable carrying Chromium's path to the tests.
pub const CHROMIUM_ENV: &str = "ROSTER_TEST_CHROMIUM";

/// The browser the tests drive.
#[derive(Debug)]
pub struct Browser {
    pub chromium: PathBuf,
    pub chromedriver: PathBuf,
}

impl Browser {
    /// Exports the paths to a test command.
    pub fn export(&self, command: &mut Command) {
        command.env(CHROMIUM_ENV, &self.chromium).env(CHROMEDRIVER_ENV, &self.chromedriver);
    }
}

/// Finds Chromium and ChromeDriver, installing them with apt-get when they are missing.
pub fn ensure() -> Result<Browser> {
    if let Some(browser) = find() {
        return Ok(browser);
    }
    eprintln!("xtask: Chromium or ChromeDriver not found: installing Debian's chromium and chromium-driver");
    let mut install = Command::new("sh");
    let sudo = if is_root() { "" } else { "sudo -n " };
    install
        .arg("-c")
        .arg(format!(
            "{sudo}apt-get update -q && {sudo}apt-get install -y -q --no-install-recommends chromium chromium-driver"
        ))
        .env("DEBIAN_FRONTEND", "noninteractive")
        .stdin(Stdio::null());
    if !run_step(&mut install)? {
        return Err("cannot install chromium and chromium-driver with apt-get (needed by the browser tests); \
                    install them and run again"
            .to_owned());
    }
    find().ok_or_else(|| "chromium and chromium-driver were installed but are not on PATH".to_owned())
}

fn find() -> Option<Browser> {
    let chromium = ["chromium", "chromium-browser"].iter().find_map(|name| on_path(name))?;
    let chromedriver = on_path("chromedriver")?;
    Some(Browser { chromium, chromedriver })
}

fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|dir| dir.join(name)).find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    path.metadata().is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|out| out.stdout.trim_ascii() == b"0")
}
