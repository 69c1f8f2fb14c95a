//! Fixture git repositories built with the `git` CLI in a temporary directory, for the
//! git-backed operations of the fake CodeCommit endpoint ([`super::codecommit`]).
//!
//! Every command runs with an environment independent of the machine's: no system or
//! global configuration, `HOME` inside the temporary directory, no inherited `GIT_*`
//! variables, a fixed identity and a fixed clock. Building the same history therefore
//! gives the same commit ids on every run.

use std::path::{Component, Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Name of the author and committer of every fixture commit.
pub const AUTHOR_NAME: &str = "Test Author";
/// E-mail of the author and committer of every fixture commit.
pub const AUTHOR_EMAIL: &str = "author@example.com";
/// Unix time of the first fixture commit; each later commit, merge or tag is one minute on.
pub const EPOCH: u64 = 1_700_000_000;

/// Source of unique temporary directory names within this process.
static NEXT_DIR: AtomicUsize = AtomicUsize::new(0);

/// Where a repository lives: enough to run git on it from any thread (the fake CodeCommit
/// endpoint keeps one per git-backed repository).
#[derive(Debug, Clone)]
pub struct GitDir {
    work_tree: PathBuf,
    home: PathBuf,
}

impl GitDir {
    /// The working tree (the repository is its `.git`).
    pub fn path(&self) -> &Path {
        &self.work_tree
    }

    /// A `git <args>` command in the working tree with the harness's fixed environment
    /// (identity included, dates not set) and stdin closed.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new("git");
        for (key, _) in std::env::vars_os() {
            // GIT_DIR, GIT_INDEX_FILE, ... from a surrounding hook would redirect git.
            if key.to_string_lossy().starts_with("GIT_") {
                command.env_remove(key);
            }
        }
        command
            .current_dir(&self.work_tree)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_OPTIONAL_LOCKS", "0")
            .env("GIT_TERMINAL_PROMPT", "0")
            .env("HOME", &self.home)
            .env("XDG_CONFIG_HOME", &self.home)
            .env("LC_ALL", "C")
            .env("TZ", "UTC")
            .arg("-c")
            .arg(format!("user.name={AUTHOR_NAME}"))
            .arg("-c")
            .arg(format!("user.email={AUTHOR_EMAIL}"))
            .args(["-c", "commit.gpgSign=false", "-c", "tag.gpgSign=false"])
            .args(["-c", "core.autocrlf=false"])
            .args(args)
            .stdin(Stdio::null());
        command
    }

    /// Run `git <args>` and return its output, whatever its exit status.
    ///
    /// Panics only if git cannot be started at all.
    pub fn output(&self, args: &[&str]) -> Output {
        self.command(args)
            .output()
            .unwrap_or_else(|err| panic!("starting `git {}` failed: {err}", args.join(" ")))
    }

    /// Run `git <args>`, panic (with its stderr) unless it succeeds, and return its stdout
    /// with surrounding whitespace trimmed.
    pub fn run(&self, args: &[&str]) -> String {
        checked(self.output(args), args)
    }
}

/// Stdout of a finished git command, trimmed; panics with stderr if it failed.
fn checked(output: Output, args: &[&str]) -> String {
    assert!(
        output.status.success(),
        "`git {}` failed ({}):\n{}{}",
        args.join(" "),
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .expect("git printed non-UTF-8 output")
        .trim()
        .to_owned()
}

/// A repository with a working tree in a fresh temporary directory, removed on drop.
///
/// Every commit, merge and tag moves a private clock one minute on from [`EPOCH`], so the
/// same sequence of calls always produces the same ids.
#[derive(Debug)]
pub struct GitRepo {
    root: PathBuf,
    dir: GitDir,
    default_branch: String,
    clock: AtomicU64,
}

impl GitRepo {
    /// `git init -b <default_branch>` in a new temporary directory (no commits yet).
    pub fn init(default_branch: &str) -> GitRepo {
        let root = std::env::temp_dir().join(format!(
            "codecommit-build-trigger-git-{}-{}-{}",
            std::process::id(),
            NEXT_DIR.fetch_add(1, Ordering::SeqCst),
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .expect("the system clock is before 1970")
                .as_nanos()
        ));
        std::fs::create_dir(&root).unwrap_or_else(|err| {
            panic!(
                "creating the fixture directory {} failed: {err}",
                root.display()
            )
        });
        let dir = GitDir {
            work_tree: root.join("repo"),
            home: root.join("home"),
        };
        for created in [&dir.work_tree, &dir.home] {
            std::fs::create_dir(created)
                .unwrap_or_else(|err| panic!("creating {} failed: {err}", created.display()));
        }
        let repo = GitRepo {
            root,
            dir,
            default_branch: default_branch.to_owned(),
            clock: AtomicU64::new(EPOCH),
        };
        repo.git(&["init", "-q", "-b", default_branch]);
        repo
    }

    /// The working tree.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The branch given to [`GitRepo::init`] (what `GetRepository` reports as default).
    pub fn default_branch(&self) -> &str {
        &self.default_branch
    }

    /// A handle to run git on this repository from elsewhere (e.g. the fake endpoint).
    pub fn dir(&self) -> GitDir {
        self.dir.clone()
    }

    /// Run `git <args>` in the working tree at the current fixture time and return its
    /// trimmed stdout; panics with stderr if it fails.
    pub fn git(&self, args: &[&str]) -> String {
        let date = format!("@{} +0000", self.clock.load(Ordering::SeqCst));
        let output = self
            .dir
            .command(args)
            .env("GIT_AUTHOR_DATE", &date)
            .env("GIT_COMMITTER_DATE", &date)
            .output()
            .unwrap_or_else(|err| panic!("starting `git {}` failed: {err}", args.join(" ")));
        checked(output, args)
    }

    /// Write `contents` to the working-tree file `path` (relative, `/`-separated),
    /// creating its parent directories.
    pub fn write(&self, path: &str, contents: &str) {
        let file = self.file(path);
        if let Some(parent) = file.parent() {
            std::fs::create_dir_all(parent)
                .unwrap_or_else(|err| panic!("creating {} failed: {err}", parent.display()));
        }
        std::fs::write(&file, contents)
            .unwrap_or_else(|err| panic!("writing {} failed: {err}", file.display()));
    }

    /// `git rm -r` the file or directory `path` (it must be tracked).
    pub fn remove(&self, path: &str) {
        self.file(path);
        self.git(&["rm", "-q", "-r", "--", path]);
    }

    /// `git mv from to`, creating `to`'s parent directories first.
    pub fn rename(&self, from: &str, to: &str) {
        self.file(from);
        if let Some(parent) = self.file(to).parent() {
            std::fs::create_dir_all(parent)
                .unwrap_or_else(|err| panic!("creating {} failed: {err}", parent.display()));
        }
        self.git(&["mv", "--", from, to]);
    }

    /// `git add -A` and commit everything (an empty commit if nothing changed) with
    /// `message`; returns the new commit id.
    ///
    /// Git's default clean-up applies: the stored message ends with one newline.
    pub fn commit(&self, message: &str) -> String {
        self.tick();
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "--allow-empty", "-m", message]);
        self.rev_parse("HEAD")
    }

    /// `git checkout -b name from`.
    pub fn checkout_new_branch(&self, name: &str, from: &str) {
        self.git(&["checkout", "-q", "-b", name, from]);
    }

    /// `git checkout name`.
    pub fn checkout(&self, name: &str) {
        self.git(&["checkout", "-q", name]);
    }

    /// `git merge --no-ff -m message branch` into the current branch; returns the merge
    /// commit id. Panics on conflicts.
    pub fn merge(&self, branch: &str, message: &str) -> String {
        self.tick();
        self.git(&["merge", "-q", "--no-ff", "--no-edit", "-m", message, branch]);
        self.rev_parse("HEAD")
    }

    /// The full commit id `spec` (a branch, tag, id or any git revision) names.
    pub fn rev_parse(&self, spec: &str) -> String {
        self.git(&[
            "rev-parse",
            "--verify",
            "--end-of-options",
            &format!("{spec}^{{commit}}"),
        ])
    }

    /// Create the annotated tag `name` (message = name) on `target`.
    pub fn tag(&self, name: &str, target: &str) {
        self.tick();
        self.git(&["tag", "-a", "-m", name, "--", name, target]);
    }

    /// Move the fixture clock one minute on.
    fn tick(&self) {
        self.clock.fetch_add(60, Ordering::SeqCst);
    }

    /// The working-tree path of `path`, which must be relative and stay inside the tree.
    fn file(&self, path: &str) -> PathBuf {
        let relative = Path::new(path);
        assert!(
            !path.is_empty()
                && relative
                    .components()
                    .all(|component| matches!(component, Component::Normal(_))),
            "fixture path {path:?} must be relative, without `.` or `..`"
        );
        self.path().join(relative)
    }
}

impl Drop for GitRepo {
    fn drop(&mut self) {
        // Best effort: a leftover temporary directory must not fail a test.
        let _ = std::fs::remove_dir_all(&self.root);
    }
}
