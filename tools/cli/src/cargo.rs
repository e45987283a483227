//! Building an example with cargo, the one place `invoke`, `bench` and
//! `package` do it: the example of that name in the cargo project of the
//! current directory (as `cargo build --example` itself would find it), its
//! own `required-features`, read from `cargo metadata`, merged with the
//! features the command line asks for; the profile and target; rustc flags
//! and a target directory of its own when `package --pgo` asks for them;
//! and where cargo puts the binary.
//!
//! Why the required features are read rather than left to cargo: `cargo
//! build --example NAME` does not turn them on, it refuses to build ("requires
//! the features: ..."), so an example like `api` would never run.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use miniserde::Deserialize;

use crate::failure::Failure;

/// The cargo profile examples are built with unless told otherwise: the
/// one a bootstrap should ship with.
pub const DEFAULT_PROFILE: &str = "size";

/// How to build examples, as the command line gave it.
#[derive(Clone, Debug)]
pub struct Build {
    /// The cargo profile (`--profile`).
    pub profile: String,
    /// Features asked for with `--features`, on top of the example's own.
    pub features: Vec<String>,
    /// `--no-default-features`.
    pub no_default_features: bool,
    /// The target triple to cross-compile for (`--target`), if any.
    pub target: Option<String>,
    /// Where cargo builds, instead of the project's target directory
    /// (`package --pgo` keeps its builds apart from the normal one).
    pub target_dir: Option<PathBuf>,
    /// Flags for rustc, after any the environment's RUSTFLAGS hold.
    pub rustflags: Vec<String>,
}

impl Default for Build {
    fn default() -> Build {
        Build {
            profile: DEFAULT_PROFILE.to_owned(),
            features: Vec::new(),
            no_default_features: false,
            target: None,
            target_dir: None,
            rustflags: Vec::new(),
        }
    }
}

impl Build {
    /// Adds the features of one `--features` value. Like cargo, it takes
    /// them separated by commas or spaces, and the flag may be repeated.
    pub fn add_features(&mut self, list: &str) {
        for feature in list.split([',', ' ']).filter(|f| !f.is_empty()) {
            if !self.features.iter().any(|known| known == feature) {
                self.features.push(feature.to_owned());
            }
        }
    }

    /// Whether anything but the profile was asked for, which only an example
    /// can honour.
    pub fn is_customised(&self) -> bool {
        !self.features.is_empty() || self.no_default_features || self.target.is_some()
    }
}

/// Cargo's target directory for the project in the current directory, as
/// `cargo metadata` reports it (`CARGO_TARGET_DIR` and config included).
pub fn target_dir() -> Result<PathBuf, Failure> {
    Ok(PathBuf::from(metadata()?.target_directory))
}

/// Runs `cargo build -p PACKAGE --example NAME --profile PROFILE [--target
/// TRIPLE] [--no-default-features] [--features LIST]` for the workspace
/// package that has the example, the features being the example's
/// required ones and those asked for, and returns where the binary landed.
pub fn build_example(name: &str, build: &Build) -> Result<PathBuf, Failure> {
    let metadata = metadata()?;
    let Some((package, required)) = find_example(&metadata, name) else {
        return Err(Failure::Bootstrap(format!(
            "no example `{name}` in the cargo project here ({})",
            metadata.workspace_root
        )));
    };
    let features = merge_features(&required, &build.features);
    let mut command = cargo();
    build_args(&mut command, &package, name, build, &features);
    let status = command.status().map_err(|e| {
        Failure::Bootstrap(format!("cannot run cargo to build example `{name}`: {e}"))
    })?;
    if !status.success() {
        return Err(Failure::Bootstrap(format!(
            "cargo could not build example `{name}` ({status})"
        )));
    }
    let mut dir = build
        .target_dir
        .clone()
        .unwrap_or_else(|| PathBuf::from(metadata.target_directory));
    if let Some(target) = &build.target {
        dir.push(target);
    }
    Ok(dir
        .join(profile_dir(&build.profile))
        .join("examples")
        .join(name))
}

/// The arguments and environment of `cargo build` for `example` of
/// `package` with `features`, as `build` says.
fn build_args(
    command: &mut Command,
    package: &str,
    example: &str,
    build: &Build,
    features: &[String],
) {
    command.args([
        "build",
        "-p",
        package,
        "--example",
        example,
        "--profile",
        &build.profile,
    ]);
    if let Some(target) = &build.target {
        command.args(["--target", target]);
    }
    if build.no_default_features {
        command.arg("--no-default-features");
    }
    if !features.is_empty() {
        command.args(["--features", &features.join(",")]);
    }
    if let Some(dir) = &build.target_dir {
        command.env("CARGO_TARGET_DIR", dir);
    }
    if !build.rustflags.is_empty() {
        let env = |name| std::env::var(name).ok();
        let flags = encoded_rustflags(
            env("CARGO_ENCODED_RUSTFLAGS").as_deref(),
            env("RUSTFLAGS").as_deref(),
            &build.rustflags,
        );
        command.env("CARGO_ENCODED_RUSTFLAGS", flags);
    }
}

/// `CARGO_ENCODED_RUSTFLAGS` holding the flags the environment already
/// gives cargo, then `ours`. Cargo reads that variable before RUSTFLAGS
/// and splits it at 0x1f only, so a path with spaces stays one flag. Like
/// any flags from the environment, they replace the `rustflags` of
/// `.cargo/config.toml` (cargo's rule): put those in RUSTFLAGS too.
fn encoded_rustflags(encoded: Option<&str>, rustflags: Option<&str>, ours: &[String]) -> String {
    let theirs: Vec<&str> = match (encoded, rustflags) {
        (Some(encoded), _) => encoded.split('\x1f').filter(|f| !f.is_empty()).collect(),
        (None, Some(flags)) => flags.split_whitespace().collect(),
        (None, None) => Vec::new(),
    };
    let all: Vec<&str> = theirs
        .into_iter()
        .chain(ours.iter().map(String::as_str))
        .collect();
    all.join("\x1f")
}

/// Under `cargo run` this is the very cargo that built us.
fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo")))
}

/// `cargo metadata --no-deps` for the project in the current directory.
fn metadata() -> Result<Metadata, Failure> {
    let output = cargo()
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| Failure::Bootstrap(format!("cannot run cargo metadata: {e}")))?;
    if !output.status.success() {
        return Err(Failure::Bootstrap(format!(
            "cargo metadata failed ({}): run this inside a cargo project",
            output.status
        )));
    }
    parse_metadata(&String::from_utf8_lossy(&output.stdout))
        .ok_or_else(|| Failure::Bootstrap("cannot read the output of cargo metadata".to_owned()))
}

fn parse_metadata(json: &str) -> Option<Metadata> {
    miniserde::json::from_str(json).ok()
}

/// The part of `cargo metadata`'s output read here; the rest is skipped.
#[derive(Deserialize)]
struct Metadata {
    packages: Vec<Package>,
    target_directory: String,
    workspace_root: String,
}

#[derive(Deserialize)]
struct Package {
    name: String,
    targets: Vec<Target>,
}

#[derive(Deserialize)]
struct Target {
    name: String,
    kind: Vec<String>,
    /// Absent when the target declares none.
    #[serde(rename = "required-features")]
    required_features: Option<Vec<String>>,
}

/// The package that has example `example`, and the features the example
/// declares in `required-features` (the manifest stays the one place they
/// are listed); `None` if no package has it.
fn find_example(metadata: &Metadata, example: &str) -> Option<(String, Vec<String>)> {
    metadata.packages.iter().find_map(|package| {
        let target = package
            .targets
            .iter()
            .find(|t| t.name == example && t.kind.iter().any(|k| k == "example"))?;
        let features = target.required_features.clone().unwrap_or_default();
        Some((package.name.clone(), features))
    })
}

/// The example's required features, then each one asked for that is not
/// among them, in the order given: what goes to `--features`.
fn merge_features(required: &[String], asked: &[String]) -> Vec<String> {
    let mut merged = required.to_vec();
    for feature in asked {
        if !merged.contains(feature) {
            merged.push(feature.clone());
        }
    }
    merged
}

/// The directory cargo names after a profile: the two built-in ones have
/// historical names, every custom one its own.
fn profile_dir(profile: &str) -> &str {
    match profile {
        "dev" | "test" => "debug",
        "release" | "bench" => "release",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    /// Trimmed from the real output: an example that requires features,
    /// one that does not (cargo leaves the key out), a test target named
    /// like an example, and another package.
    const METADATA: &str = r#"{
        "packages": [
            {"name": "other", "version": "1.0.0", "targets": [
                {"kind": ["example"], "name": "other_api", "required-features": ["nope"]}
            ]},
            {"name": "tiny-lambda", "version": "0.1.0", "dependencies": [
                {"name": "ureq", "req": "~3.5.2", "features": [], "optional": true}
            ], "targets": [
                {"kind": ["lib"], "crate_types": ["lib"], "name": "tiny_lambda"},
                {"kind": ["bin"], "name": "tiny-lambda", "required-features": ["cli"]},
                {"kind": ["example"], "crate_types": ["bin"], "name": "api",
                 "src_path": "/work/main/examples/api.rs", "edition": "2024",
                 "required-features": ["http-adapter"], "doc": false,
                 "doctest": false, "test": false},
                {"kind": ["example"], "name": "orders",
                 "required-features": ["aws", "http-adapter"]},
                {"kind": ["example"], "name": "echo"},
                {"kind": ["test"], "name": "modes", "required-features": ["cli"]}
            ], "features": {"cli": ["emulator"]}}
        ],
        "workspace_members": ["path+file:///work/main#tiny-lambda@0.1.0"],
        "target_directory": "/work/main/target",
        "workspace_root": "/work/main",
        "resolve": null,
        "version": 1
    }"#;

    fn strings(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn finds_the_package_of_an_example_and_its_required_features() {
        let metadata = parse_metadata(METADATA).unwrap();
        let find = |example| find_example(&metadata, example);
        let ours = |features: &[&str]| Some(("tiny-lambda".to_owned(), strings(features)));
        assert_eq!(find("api"), ours(&["http-adapter"]));
        assert_eq!(find("orders"), ours(&["aws", "http-adapter"]));
        assert_eq!(find("echo"), ours(&[]));
        assert_eq!(
            find("other_api"),
            Some(("other".to_owned(), strings(&["nope"])))
        );
        // Only examples count.
        assert_eq!(find("modes"), None);
        assert_eq!(find("missing"), None);
        assert_eq!(metadata.target_directory, "/work/main/target");
        assert!(parse_metadata("not json").is_none());
    }

    #[test]
    fn merges_required_and_asked_features_once_each() {
        let required = strings(&["aws", "http-adapter"]);
        let asked = strings(&["http-adapter", "events-sqs"]);
        assert_eq!(
            merge_features(&required, &asked),
            strings(&["aws", "http-adapter", "events-sqs"])
        );
        assert_eq!(merge_features(&[], &asked), asked);
        assert_eq!(merge_features(&required, &[]), required);
    }

    #[test]
    fn takes_features_by_comma_or_space_like_cargo() {
        let mut build = Build::default();
        build.add_features("aws,http-adapter");
        build.add_features(" events-sqs  aws ");
        assert_eq!(
            build.features,
            strings(&["aws", "http-adapter", "events-sqs"])
        );
        assert!(build.is_customised());
        assert!(!Build::default().is_customised());
    }

    #[test]
    fn builds_in_a_target_dir_of_its_own_with_more_rustc_flags() {
        let build = Build {
            target: Some("x86_64-unknown-linux-gnu".to_owned()),
            target_dir: Some(PathBuf::from("/t/pgo/echo/instrumented")),
            rustflags: vec!["-Cprofile-generate=/t/pgo/my dir/raw".to_owned()],
            ..Build::default()
        };
        let mut command = Command::new("cargo");
        build_args(&mut command, "tiny-lambda", "echo", &build, &[]);
        let args: Vec<_> = command.get_args().collect();
        assert_eq!(
            args,
            [
                "build",
                "-p",
                "tiny-lambda",
                "--example",
                "echo",
                "--profile",
                "size",
                "--target",
                "x86_64-unknown-linux-gnu"
            ]
        );
        let envs: Vec<_> = command.get_envs().map(|(k, _)| k.to_owned()).collect();
        assert!(envs.contains(&"CARGO_TARGET_DIR".into()));
        assert!(envs.contains(&"CARGO_ENCODED_RUSTFLAGS".into()));
        let dir = command
            .get_envs()
            .find(|(k, _)| *k == "CARGO_TARGET_DIR")
            .and_then(|(_, v)| v);
        assert_eq!(dir, Some(Path::new("/t/pgo/echo/instrumented").as_os_str()));
        // A plain build sets neither.
        let mut plain = Command::new("cargo");
        build_args(&mut plain, "tiny-lambda", "echo", &Build::default(), &[]);
        assert_eq!(plain.get_envs().count(), 0);
    }

    #[test]
    fn puts_our_rustc_flags_after_the_environments() {
        let ours = strings(&["-Cprofile-use=/a b/p.profdata"]);
        assert_eq!(
            encoded_rustflags(None, None, &ours),
            "-Cprofile-use=/a b/p.profdata"
        );
        assert_eq!(
            encoded_rustflags(None, Some(" -Ctarget-cpu=native  -g "), &ours),
            "-Ctarget-cpu=native\x1f-g\x1f-Cprofile-use=/a b/p.profdata"
        );
        // The encoded form wins over RUSTFLAGS, as in cargo.
        assert_eq!(
            encoded_rustflags(Some("-Cx=1 2"), Some("-Cignored"), &ours),
            "-Cx=1 2\x1f-Cprofile-use=/a b/p.profdata"
        );
    }

    #[test]
    fn names_profile_dirs_like_cargo() {
        assert_eq!(profile_dir("dev"), "debug");
        assert_eq!(profile_dir("release"), "release");
        assert_eq!(profile_dir("size"), "size");
    }
}
