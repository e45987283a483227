//! The `package` verb: a bootstrap binary zipped the way Lambda's
//! `provided.al2023` runtime wants it, one executable file named
//! `bootstrap`. The zipping is also used by `bench` to report zipped bytes.

use std::fs;
use std::io::{Cursor, Write};
use std::path::PathBuf;

use lexopt::{Arg, ValueExt};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

use crate::cargo::{self, Build};
use crate::failure::Failure;

const HELP: &str = "\
Usage: tiny-lambda package --example NAME [--target TRIPLE] [--profile P]
                           [--features LIST] [--no-default-features]
       tiny-lambda package --binary PATH --name NAME

Builds the example, with the features its `required-features` lists (or
takes the binary), and writes
target/lambda/NAME/bootstrap.zip, holding one deflated, executable file named
`bootstrap`. Prints the zip's path and bytes and the binary's bytes.

Options:
  --example NAME    Build this example of the crate with cargo
  --target TRIPLE   Cross-compile for this target, such as aarch64-unknown-linux-musl
  --profile P       Cargo profile to build with [default: size]
  --features LIST   More cargo features to build with, comma- or
                    space-separated (repeatable)
  --no-default-features
                    Build without the crate's default features
  --binary PATH     Package this binary instead of building one
  --name NAME       The function's directory under target/lambda (with --binary)
  -h, --help        Print this help

Exit codes: 0 written, 2 usage error, 3 the build failed, 4 I/O error.
";

/// What to package, as parsed from the command line.
enum Input {
    Example { name: String, build: Build },
    Binary { path: PathBuf, name: String },
}

/// Runs `tiny-lambda package`.
pub fn run(args: &mut lexopt::Parser) -> Result<(), Failure> {
    let Some(input) = parse(args)? else {
        print!("{HELP}");
        return Ok(());
    };
    let (binary, name) = match input {
        Input::Example { name, build } => (cargo::build_example(&name, &build)?, name),
        Input::Binary { path, name } => (path, name),
    };
    let bytes = fs::read(&binary)
        .map_err(|e| Failure::Bootstrap(format!("cannot read {}: {e}", binary.display())))?;
    let zipped = zip_bootstrap(&bytes)?;
    // Beside the project's own build output; outside any cargo project (a
    // `--binary` from elsewhere), under `target/` here.
    let target = cargo::target_dir().unwrap_or_else(|_| PathBuf::from("target"));
    let dir = target.join("lambda").join(&name);
    let path = dir.join("bootstrap.zip");
    fs::create_dir_all(&dir)
        .and_then(|()| fs::write(&path, &zipped))
        .map_err(|e| Failure::Internal(format!("cannot write {}: {e}", path.display())))?;
    println!("{}", path.display());
    println!("zip:    {} bytes", zipped.len());
    println!("binary: {} bytes", bytes.len());
    Ok(())
}

/// The command line, or `None` when help was asked for.
fn parse(args: &mut lexopt::Parser) -> Result<Option<Input>, Failure> {
    let mut example = None;
    // The profile is told apart from its default: `--binary` takes none.
    let mut profile = None;
    let mut build = Build::default();
    let mut binary = None;
    let mut name = None;
    while let Some(arg) = args.next()? {
        match arg {
            Arg::Long("example") => example = Some(args.value()?.string()?),
            Arg::Long("target") => build.target = Some(args.value()?.string()?),
            Arg::Long("profile") => profile = Some(args.value()?.string()?),
            Arg::Long("features") => build.add_features(&args.value()?.string()?),
            Arg::Long("no-default-features") => build.no_default_features = true,
            Arg::Long("binary") => binary = Some(PathBuf::from(args.value()?)),
            Arg::Long("name") => name = Some(args.value()?.string()?),
            Arg::Long("help") | Arg::Short('h') => return Ok(None),
            other => return Err(other.unexpected().into()),
        }
    }
    match (example, binary, name) {
        (Some(example), None, None) => {
            if let Some(profile) = profile {
                build.profile = profile;
            }
            Ok(Some(Input::Example {
                name: example,
                build,
            }))
        }
        (None, Some(path), Some(name)) if !build.is_customised() && profile.is_none() => {
            Ok(Some(Input::Binary { path, name }))
        }
        (None, Some(_), None) => Err(Failure::Usage("--binary needs --name".to_owned())),
        _ => Err(Failure::Usage(
            "give either --example NAME [--target T] [--profile P] [--features LIST] \
             [--no-default-features], or --binary PATH --name NAME"
                .to_owned(),
        )),
    }
}

/// Zips `binary` in memory as one deflated file named `bootstrap`, with
/// mode 0755 so that Lambda can execute it.
pub fn zip_bootstrap(binary: &[u8]) -> Result<Vec<u8>, Failure> {
    let failed =
        |e: &dyn std::fmt::Display| Failure::Internal(format!("cannot zip the bootstrap: {e}"));
    let options = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .unix_permissions(0o755);
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    zip.start_file("bootstrap", options)
        .map_err(|e| failed(&e))?;
    zip.write_all(binary).map_err(|e| failed(&e))?;
    let cursor = zip.finish().map_err(|e| failed(&e))?;
    Ok(cursor.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use zip::ZipArchive;

    #[test]
    fn zips_one_executable_bootstrap() {
        let binary = vec![7u8; 10_000];
        let zipped = zip_bootstrap(&binary).unwrap();
        assert!(zipped.len() < binary.len());
        let mut archive = ZipArchive::new(Cursor::new(zipped)).unwrap();
        assert_eq!(archive.len(), 1);
        let file = archive.by_index(0).unwrap();
        assert_eq!(file.name().unwrap(), "bootstrap");
        assert_eq!(file.compression(), CompressionMethod::Deflated);
        assert_eq!(file.unix_mode().map(|m| m & 0o777), Some(0o755));
    }
}
